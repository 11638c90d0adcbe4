// Projective resampling kernels: bit-identical for every thread count (forward and the backward
// scatter), float vs double agreement, backward = the transpose of forward (<dy, F x> == <F^T dy, x>).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/threads.hpp"
#include "ember/kernels/cpu/image.hpp"

namespace {

using namespace ember::kernels::cpu;

std::vector<double> random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(-1, 1);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng);
  return v;
}

// Big enough to go parallel (kParallelGrain), several images with their own transforms.
const ProjectiveGeometry kGeom{.batch = 6, .in_h = 40, .in_w = 37, .channels = 5, .out_h = 33, .out_w = 41,
                               .fill_mode = FillMode::Reflect, .interpolation = Interpolation::Bilinear,
                               .fill_value = 0.5};

std::vector<double> transforms() {
  std::vector<double> t;
  for (int i = 0; i < kGeom.batch; ++i) {
    const double a = 0.3 * i - 0.7, s = 1.0 + 0.1 * i;
    for (double v : {std::cos(a) * s, -std::sin(a), 3.0 - i, std::sin(a), std::cos(a) * s, -2.0 + i, 1e-3 * i, -5e-4 * i}) {
      t.push_back(v);
    }
  }
  return t;
}

TEST(ProjectiveKernel, SameBitsForEveryThreadCount) {
  const size_t nin = kGeom.batch * kGeom.in_h * kGeom.in_w * kGeom.channels;
  const size_t nout = kGeom.batch * kGeom.out_h * kGeom.out_w * kGeom.channels;
  const auto x = random_values(nin, 1), dy = random_values(nout, 2), t = transforms();
  std::vector<std::vector<double>> ys, dxs;
  for (int threads : {1, 2, 3}) {
    ember::set_num_threads(threads);
    std::vector<double> y(nout), dx(nin);
    projective_transform_forward<double>(kGeom, t.data(), kGeom.batch, x.data(), y.data());
    projective_transform_backward<double>(kGeom, t.data(), kGeom.batch, dy.data(), dx.data());
    ys.push_back(y);
    dxs.push_back(dx);
  }
  ember::set_automatic_threads();
  for (size_t i = 1; i < ys.size(); ++i) {
    EXPECT_EQ(ys[i], ys[0]);
    EXPECT_EQ(dxs[i], dxs[0]);
  }
}

TEST(ProjectiveKernel, BackwardIsTheTransposeAndFloatAgrees) {
  for (FillMode m : {FillMode::Constant, FillMode::Nearest, FillMode::Reflect, FillMode::Wrap}) {
    for (Interpolation in : {Interpolation::Bilinear, Interpolation::Nearest}) {
      ProjectiveGeometry g = kGeom;
      g.fill_mode = m;
      g.interpolation = in;
      g.fill_value = 0;  // with fill 0 the map is linear, so <dy, F x> == <F^T dy, x> exactly in math
      const size_t nin = g.batch * g.in_h * g.in_w * g.channels, nout = g.batch * g.out_h * g.out_w * g.channels;
      const auto x = random_values(nin, 3), dy = random_values(nout, 4), t = transforms();
      std::vector<double> y(nout), dx(nin);
      projective_transform_forward<double>(g, t.data(), g.batch, x.data(), y.data());
      projective_transform_backward<double>(g, t.data(), g.batch, dy.data(), dx.data());
      double lhs = 0, rhs = 0;
      for (size_t i = 0; i < nout; ++i) lhs += dy[i] * y[i];
      for (size_t i = 0; i < nin; ++i) rhs += dx[i] * x[i];
      EXPECT_NEAR(lhs, rhs, 1e-9 * (std::abs(lhs) + 1)) << static_cast<int>(m) << " " << static_cast<int>(in);
      std::vector<float> xf(x.begin(), x.end()), yf(nout);
      projective_transform_forward<float>(g, t.data(), g.batch, xf.data(), yf.data());
      for (size_t i = 0; i < nout; ++i) ASSERT_NEAR(yf[i], y[i], 1e-5) << i;
    }
  }
}

TEST(ProjectiveKernel, GeometryChecks) {
  ProjectiveGeometry g = kGeom;
  EXPECT_THROW(check_projective_geometry(g, 2), ember::ValueError);
  EXPECT_NO_THROW(check_projective_geometry(g, 1));
  g.in_h = 0;
  EXPECT_THROW(check_projective_geometry(g, 1), ember::ValueError);
  g.out_h = 0;
  EXPECT_NO_THROW(check_projective_geometry(g, 1));  // nothing to sample
}

}  // namespace
