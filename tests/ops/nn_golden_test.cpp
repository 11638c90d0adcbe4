// Golden values from PyTorch (tests/fixtures/*.json, TensorFlow semantics): every case of the conv2d,
// conv1d, pool and batch-norm fixtures, forward and backward (seeded with the fixture's dy), run in
// float32 (fast kernels) and float64 (reference kernels).
#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::FixtureCase;
using ember::testing::load_fixture;

namespace {

struct Tol {
  double rtol, atol;
};
// float32: the relative rounding of a few dozen products summed (~1e-6 here) with rtol 1e-5 and an atol
// of 1e-5 for elements that cancel to near zero. float64: the fixtures are float64 PyTorch results.
constexpr Tol kF32{1e-5, 1e-5};
constexpr Tol kF64{1e-10, 1e-10};

Padding padding_of(const FixtureCase& c) {
  const std::string p = c.attrs.at("padding").get<std::string>();
  if (p == "SAME") return Padding::Same;
  if (p == "VALID") return Padding::Valid;
  throw ValueError("fixture " + c.name + ": unknown padding " + p);
}

// A leaf of dtype dt that requires grad, from a float64 fixture tensor.
Tensor leaf(const Tensor& t, DType dt) {
  Tensor l = t.to(dt).detach().clone();
  l.requires_grad_();
  return l;
}

#define EXPECT_CLOSE(actual, key, tol) EXPECT_TRUE(all_close(actual, c.at(key), tol.rtol, tol.atol)) << c.name << ": " << key

void run_conv2d(DType dt, Tol tol) {
  auto cases = load_fixture("conv2d.json");
  ASSERT_FALSE(cases.empty());
  for (const FixtureCase& c : cases) {
    Tensor x = leaf(c.at("x"), dt), w = leaf(c.at("w"), dt);
    Conv2dOptions opt{.strides = {c.attrs["strides"][0].get<int64_t>(), c.attrs["strides"][1].get<int64_t>()},
                      .padding = padding_of(c),
                      .dilation = {c.attrs["dilation"][0].get<int64_t>(), c.attrs["dilation"][1].get<int64_t>()}};
    Tensor y = conv2d(x, w, opt);
    EXPECT_EQ(y.dtype(), dt);
    EXPECT_CLOSE(y, "y", tol);
    y.backward(c.at("dy").to(dt));
    EXPECT_CLOSE(x.grad(), "dx", tol);
    EXPECT_CLOSE(w.grad(), "dw", tol);
  }
}

void run_conv1d(DType dt, Tol tol) {
  auto cases = load_fixture("conv1d.json");
  ASSERT_FALSE(cases.empty());
  for (const FixtureCase& c : cases) {
    Tensor x = leaf(c.at("x"), dt), w = leaf(c.at("w"), dt);
    Conv1dOptions opt{.stride = c.attrs["strides"][0].get<int64_t>(),
                      .padding = padding_of(c),
                      .dilation = c.attrs["dilation"][0].get<int64_t>()};
    Tensor y = conv1d(x, w, opt);
    EXPECT_CLOSE(y, "y", tol);
    y.backward(c.at("dy").to(dt));
    EXPECT_CLOSE(x.grad(), "dx", tol);
    EXPECT_CLOSE(w.grad(), "dw", tol);
  }
}

void run_pool(DType dt, Tol tol) {
  auto cases = load_fixture("pool.json");
  ASSERT_FALSE(cases.empty());
  for (const FixtureCase& c : cases) {
    Tensor x = leaf(c.at("x"), dt);
    Pool2dOptions opt{.pool_size = {c.attrs["ksize"][0].get<int64_t>(), c.attrs["ksize"][1].get<int64_t>()},
                      .strides = std::array<int64_t, 2>{c.attrs["strides"][0].get<int64_t>(), c.attrs["strides"][1].get<int64_t>()},
                      .padding = padding_of(c)};
    const std::string op = c.attrs.at("op").get<std::string>();
    Tensor y = op == "max" ? max_pool2d(x, opt) : avg_pool2d(x, opt);
    EXPECT_CLOSE(y, "y", tol);
    y.backward(c.at("dy").to(dt));
    EXPECT_CLOSE(x.grad(), "dx", tol);
  }
}

void run_batch_norm(DType dt, Tol tol) {
  auto cases = load_fixture("batch_norm.json");
  ASSERT_EQ(cases.size(), 4u);
  for (const FixtureCase& c : cases) {
    const bool training = c.attrs.at("training").get<bool>();
    BatchNormOptions opt{.momentum = c.attrs.at("momentum").get<double>(), .epsilon = c.attrs.at("epsilon").get<double>()};
    Tensor x = leaf(c.at("x"), dt), gamma = leaf(c.at("gamma"), dt), beta = leaf(c.at("beta"), dt);
    Tensor mm = c.at(training ? "moving_mean_init" : "moving_mean").to(dt).clone();
    Tensor mv = c.at(training ? "moving_var_init" : "moving_var").to(dt).clone();
    Tensor y = batch_norm(x, gamma, beta, mm, mv, training, opt);
    EXPECT_CLOSE(y, "y", tol);
    // One training call moves the statistics (unbiased variance); inference leaves them alone.
    EXPECT_CLOSE(mm, "moving_mean", tol);
    EXPECT_CLOSE(mv, "moving_var", tol);
    y.backward(c.at("dy").to(dt));
    EXPECT_CLOSE(x.grad(), "dx", tol);
    EXPECT_CLOSE(gamma.grad(), "dgamma", tol);
    EXPECT_CLOSE(beta.grad(), "dbeta", tol);
  }
}

}  // namespace

TEST(NnGolden, Conv2dF32) { run_conv2d(f32, kF32); }
TEST(NnGolden, Conv2dF64) { run_conv2d(f64, kF64); }
TEST(NnGolden, Conv1dF32) { run_conv1d(f32, kF32); }
TEST(NnGolden, Conv1dF64) { run_conv1d(f64, kF64); }
TEST(NnGolden, PoolF32) { run_pool(f32, kF32); }
TEST(NnGolden, PoolF64) { run_pool(f64, kF64); }
TEST(NnGolden, BatchNormF32) { run_batch_norm(f32, kF32); }
TEST(NnGolden, BatchNormF64) { run_batch_norm(f64, kF64); }

TEST(NnGolden, FixturesHaveTheExpectedCaseCounts) {
  // Guards against a fixture file silently losing cases.
  EXPECT_EQ(load_fixture("conv2d.json").size(), 9u);
  EXPECT_EQ(load_fixture("conv1d.json").size(), 3u);
  EXPECT_EQ(load_fixture("pool.json").size(), 12u);
}
