// Pooling kernels: geometry, hand-computed cases (TensorFlow border semantics), the vectorised kernels
// vs a one-element-at-a-time oracle on random shapes, and finite differences of the backward kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/kernels/cpu/pool.hpp"
#include "test_support.hpp"

namespace {

using namespace ember::kernels::cpu;
using ember::testing::numeric_gradient;
using ember::testing::rel_error;

int64_t in_size(const Pool2dGeometry& g) { return g.batch * g.in_h * g.in_w * g.channels; }
int64_t out_size(const Pool2dGeometry& g) { return g.batch * g.out_h * g.out_w * g.channels; }

TEST(PoolGeometry, TensorFlowRules) {
  auto g = make_pool2d_geometry({.batch = 1, .in_h = 28, .in_w = 28, .channels = 32, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2});
  EXPECT_EQ(g.out_h, 14);
  EXPECT_EQ(g.out_w, 14);
  g = make_pool2d_geometry({.batch = 1, .in_h = 5, .in_w = 5, .channels = 1, .k_h = 3, .k_w = 3, .stride_h = 2, .stride_w = 2, .padding = Padding::Same});
  EXPECT_EQ(g.out_h, 3);
  EXPECT_EQ(g.pad_top, 1);
  EXPECT_EQ(g.pad_bottom, 1);
  g = make_pool2d_geometry({.batch = 1, .in_h = 7, .in_w = 6, .channels = 1, .k_h = 2, .k_w = 3, .stride_h = 2, .stride_w = 2, .padding = Padding::Same});
  EXPECT_EQ(g.out_h, 4);
  EXPECT_EQ(g.pad_top, 0);
  EXPECT_EQ(g.pad_bottom, 1);
  EXPECT_EQ(g.out_w, 3);
  EXPECT_EQ(g.pad_left, 0);
  EXPECT_EQ(g.pad_right, 1);
  g = make_pool2d_geometry({.batch = 1, .in_h = 7, .in_w = 7, .channels = 1, .k_h = 3, .k_w = 3, .stride_h = 3, .stride_w = 3});
  EXPECT_EQ(g.out_h, 2);
}

TEST(PoolGeometry, BadArgumentsThrow) {
  EXPECT_THROW(make_pool2d_geometry({.batch = 1, .in_h = 4, .in_w = 4, .channels = 1, .k_h = 2, .k_w = 2, .stride_h = 0, .stride_w = 2}), ember::ValueError);
  EXPECT_THROW(make_pool2d_geometry({.batch = 1, .in_h = 4, .in_w = 4, .channels = 1, .k_h = 0, .k_w = 2, .padding = Padding::Same}), ember::ValueError);
  EXPECT_THROW(make_pool2d_geometry({.batch = 1, .in_h = 4, .in_w = 4, .channels = 0, .k_h = 2, .k_w = 2, .padding = Padding::Same}), ember::ValueError);
  EXPECT_THROW(make_pool2d_geometry({.batch = -2, .in_h = 4, .in_w = 4, .channels = 1, .k_h = 2, .k_w = 2, .padding = Padding::Same}), ember::ValueError);
  EXPECT_THROW(make_pool2d_geometry({.batch = 1, .in_h = 4, .in_w = 4, .channels = 1, .k_h = 5, .k_w = 2}), ember::ShapeError);
  EXPECT_NO_THROW(make_pool2d_geometry({.batch = 1, .in_h = 4, .in_w = 4, .channels = 1, .k_h = 5, .k_w = 2, .padding = Padding::Same}));
}

TEST(PoolKernels, MaxHandComputed) {
  // 4x4, 2x2 windows, stride 2: maxima 6 (flat 5), 4 (3), 7 (8), 9 (14).
  const std::vector<double> x = {1, 3, 2, 4, 5, 6, 1, 2, 7, 0, 3, 8, 1, 2, 9, 4};
  const auto g = make_pool2d_geometry({.batch = 1, .in_h = 4, .in_w = 4, .channels = 1, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2});
  std::vector<double> y(4);
  std::vector<int64_t> am(4);
  max_pool2d_forward(g, x.data(), y.data(), am.data());
  EXPECT_EQ(y, (std::vector<double>{6, 4, 7, 9}));
  EXPECT_EQ(am, (std::vector<int64_t>{5, 3, 8, 14}));
  std::vector<double> dy = {1, 2, 3, 4}, dx(16, -1);
  max_pool2d_backward(g, dy.data(), am.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<double>{0, 0, 0, 2, 0, 1, 0, 0, 3, 0, 0, 0, 0, 0, 4, 0}));

  // Ties: the first maximal element in row-major window order.
  const std::vector<float> t = {2, 2, 2, 2};
  const auto g1 = make_pool2d_geometry({.batch = 1, .in_h = 2, .in_w = 2, .channels = 1, .k_h = 2, .k_w = 2});
  float yt;
  int64_t at;
  max_pool2d_forward(g1, t.data(), &yt, &at);
  EXPECT_EQ(yt, 2.0f);
  EXPECT_EQ(at, 0);
}

TEST(PoolKernels, MaxSamePaddingNeverWins) {
  // 3x3 negative input, 2x2 stride 2 SAME: padding only bottom/right. Zero padding would give 0s.
  const std::vector<float> x = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
  const auto g = make_pool2d_geometry({.batch = 1, .in_h = 3, .in_w = 3, .channels = 1, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2, .padding = Padding::Same});
  ASSERT_EQ(g.out_h, 2);
  ASSERT_EQ(g.pad_top, 0);
  std::vector<float> y(4);
  std::vector<int64_t> am(4);
  max_pool2d_forward(g, x.data(), y.data(), am.data());
  EXPECT_EQ(y, (std::vector<float>{-1, -3, -7, -9}));
  EXPECT_EQ(am, (std::vector<int64_t>{0, 2, 6, 8}));
  // Without argmax the values are the same.
  std::vector<float> y2(4);
  max_pool2d_forward<float>(g, x.data(), y2.data(), nullptr);
  EXPECT_EQ(y2, y);
}

TEST(PoolKernels, MaxPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {1, nan, 3, 2};
  const auto g = make_pool2d_geometry({.batch = 1, .in_h = 2, .in_w = 2, .channels = 1, .k_h = 2, .k_w = 2});
  float y;
  int64_t am;
  max_pool2d_forward(g, x.data(), &y, &am);
  EXPECT_TRUE(std::isnan(y));
  EXPECT_EQ(am, 1);
}

TEST(PoolKernels, AvgSameDividesByValidCount) {
  // 3x3, 2x2 stride 2 SAME (pad bottom/right 1):
  //   (1+2+4+5)/4 = 3,  (3+6)/2 = 4.5,  (7+8)/2 = 7.5,  9/1 = 9
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto g = make_pool2d_geometry({.batch = 1, .in_h = 3, .in_w = 3, .channels = 1, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2, .padding = Padding::Same});
  std::vector<double> y(4);
  avg_pool2d_forward(g, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<double>{3, 4.5, 7.5, 9}));
  // dy = 1 everywhere: each input gets 1/count of its window.
  const std::vector<double> dy(4, 1.0);
  std::vector<double> dx(9, -1);
  avg_pool2d_backward(g, dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<double>{0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1}));
  // f32 too.
  const std::vector<float> xf(x.begin(), x.end());
  std::vector<float> yf(4);
  avg_pool2d_forward(g, xf.data(), yf.data());
  EXPECT_EQ(yf, (std::vector<float>{3, 4.5f, 7.5f, 9}));
}

TEST(PoolKernels, OverlappingWindowsAccumulate) {
  // 1x3 input, 1x2 windows stride 1 VALID: the middle element is in both windows.
  const std::vector<double> x = {1, 5, 2};
  const auto g = make_pool2d_geometry({.batch = 1, .in_h = 1, .in_w = 3, .channels = 1, .k_h = 1, .k_w = 2});
  std::vector<double> y(2), dx(3);
  std::vector<int64_t> am(2);
  max_pool2d_forward(g, x.data(), y.data(), am.data());
  const std::vector<double> dy = {1.5, 2.5};
  max_pool2d_backward(g, dy.data(), am.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<double>{0, 4, 0}));
  avg_pool2d_backward(g, dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<double>{0.75, 2, 1.25}));
}

// One element at a time, straight from the definition.
template <typename T>
void oracle(const Pool2dGeometry& g, const std::vector<T>& x, std::vector<T>& ymax, std::vector<int64_t>& am,
            std::vector<T>& yavg) {
  const int64_t C = g.channels;
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          T best = -std::numeric_limits<T>::infinity(), sum = 0;
          int64_t arg = -1, count = 0;
          for (int64_t i = 0; i < g.k_h; ++i)
            for (int64_t j = 0; j < g.k_w; ++j) {
              const int64_t h = oh * g.stride_h - g.pad_top + i, w = ow * g.stride_w - g.pad_left + j;
              if (h < 0 || h >= g.in_h || w < 0 || w >= g.in_w) continue;
              const int64_t idx = ((n * g.in_h + h) * g.in_w + w) * C + c;
              if (arg < 0 || x[idx] > best) best = x[idx], arg = idx;
              sum += x[idx];
              ++count;
            }
          const int64_t o = ((n * g.out_h + oh) * g.out_w + ow) * C + c;
          ymax[o] = best;
          am[o] = arg;
          yavg[o] = sum / static_cast<T>(count);
        }
}

// ties = true draws from {-1, 0, 1} only, so most windows hold equal maxima (the first one wins).
template <typename T>
void check_random_shapes(bool ties = false) {
  std::mt19937 rng(ties ? 12 : 11);
  std::uniform_real_distribution<double> d(-1, 1);
  struct Case {
    int64_t n, h, w, c, kh, kw, sh, sw;
    Padding p;
  };
  const Case cases[] = {
      {2, 7, 9, 3, 2, 2, 2, 2, Padding::Same},   {2, 7, 9, 3, 2, 2, 2, 2, Padding::Valid},
      {3, 8, 8, 17, 3, 3, 1, 1, Padding::Same},  {3, 8, 8, 17, 3, 3, 2, 2, Padding::Same},
      {1, 10, 11, 5, 3, 2, 3, 3, Padding::Same}, {1, 10, 11, 5, 3, 3, 3, 2, Padding::Valid},
      {2, 1, 13, 4, 1, 3, 1, 2, Padding::Same},  {2, 5, 5, 64, 5, 5, 1, 1, Padding::Same},
      {2, 6, 6, 2, 1, 1, 2, 2, Padding::Valid},  {2, 3, 3, 3, 4, 4, 1, 1, Padding::Same},
      {2, 8, 6, 32, 2, 2, 2, 2, Padding::Same},  {1, 4, 10, 7, 2, 2, 2, 2, Padding::Valid},  // the 2x2 fast path
  };
  for (const Case& k : cases) {
    const auto g = make_pool2d_geometry({.batch = k.n, .in_h = k.h, .in_w = k.w, .channels = k.c, .k_h = k.kh, .k_w = k.kw, .stride_h = k.sh, .stride_w = k.sw, .padding = k.p});
    std::vector<T> x(in_size(g));
    for (auto& e : x) e = static_cast<T>(ties ? std::round(d(rng)) : d(rng));
    std::vector<T> ymax(out_size(g)), yavg(out_size(g)), emax(out_size(g)), eavg(out_size(g));
    std::vector<int64_t> am(out_size(g)), eam(out_size(g));
    oracle(g, x, emax, eam, eavg);
    max_pool2d_forward(g, x.data(), ymax.data(), am.data());
    avg_pool2d_forward(g, x.data(), yavg.data());
    EXPECT_EQ(ymax, emax);
    EXPECT_EQ(am, eam);
    for (size_t i = 0; i < yavg.size(); ++i) EXPECT_NEAR(yavg[i], eavg[i], 1e-6);
  }
}

TEST(PoolKernels, MatchesOracleF32) { check_random_shapes<float>(); }
TEST(PoolKernels, MatchesOracleF64) { check_random_shapes<double>(); }
TEST(PoolKernels, MatchesOracleWithTiesF32) { check_random_shapes<float>(true); }

// L = sum(pool(x) * r); the analytic gradient is backward(r).
TEST(PoolKernels, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> d(-1, 1);
  const auto g = make_pool2d_geometry({.batch = 2, .in_h = 5, .in_w = 6, .channels = 3, .k_h = 3, .k_w = 2, .stride_h = 2, .padding = Padding::Same});
  std::vector<double> x(in_size(g)), r(out_size(g));
  for (auto& e : x) e = d(rng);  // distinct with probability 1, so max is differentiable here
  for (auto& e : r) e = d(rng);
  for (bool is_max : {true, false}) {
    auto loss = [&] {
      std::vector<double> y(out_size(g));
      if (is_max) {
        max_pool2d_forward<double>(g, x.data(), y.data(), nullptr);
      } else {
        avg_pool2d_forward(g, x.data(), y.data());
      }
      double s = 0;
      for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
      return s;
    };
    std::vector<double> dx(x.size());
    if (is_max) {
      std::vector<double> y(out_size(g));
      std::vector<int64_t> am(out_size(g));
      max_pool2d_forward(g, x.data(), y.data(), am.data());
      max_pool2d_backward(g, r.data(), am.data(), dx.data());
    } else {
      avg_pool2d_backward(g, r.data(), dx.data());
    }
    const std::vector<double> num = numeric_gradient(loss, x, 1e-6);
    EXPECT_LT(rel_error(dx, num), 1e-7) << (is_max ? "max" : "avg");
  }
}

}  // namespace
