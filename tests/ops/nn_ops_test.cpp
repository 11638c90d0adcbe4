// Network-primitive ops: the notes' worked convolution example, fast f32 vs f64 reference through the
// ops, dropout statistics, activation values, and bad input for every family.
#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>

#include "ember/kernels/cpu/conv.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::random_f64;

namespace {

// Runs fn, expects exception E whose message contains every one of `parts`.
template <typename E>
::testing::AssertionResult throws_with(const std::function<void()>& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) {
      if (msg.find(p) == std::string::npos) {
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "wrong exception type: " << e.what();
  }
  return ::testing::AssertionFailure() << "nothing was thrown";
}

Tensor leaf(const Tensor& t) {
  Tensor l = t.detach().clone();
  l.requires_grad_();
  return l;
}

}  // namespace

// ------------------------------------------------------------------ the notes' worked example

TEST(NnOps, ConvWorkedExampleFromTheNotes) {
  // Cross-correlation (TensorFlow): out[i][j] = sum_r (x[i+r][j+2] - x[i+r][j]), r = 0..2, with the
  // per-row differences x[r][j+2] - x[r][j]:
  //   row 0: 2-2= 0, 3-1= 2, 4-2= 2      row 1: 3-1= 2, 1-2=-1, 3-3= 0
  //   row 2: 4-4= 0, 6-2= 4, 7-4= 3      row 3: 3-6=-3, 3-4=-1, 1-3=-2
  //   row 4: 1-5=-4, 4-2= 2, 3-1= 2
  //   out row 0 = rows 0+1+2 = [ 2, 5, 5]
  //   out row 1 = rows 1+2+3 = [-1, 2, 1]
  //   out row 2 = rows 2+3+4 = [-7, 5, 3]
  const std::vector<double> image = {2, 1, 2, 3, 4, 1, 2, 3, 1, 3, 4, 2, 4, 6, 7, 6, 4, 3, 3, 1, 5, 2, 1, 4, 3};
  const std::vector<double> kernel = {-1, 0, 1, -1, 0, 1, -1, 0, 1};
  const std::vector<double> expected = {2, 5, 5, -1, 2, 1, -7, 5, 3};
  for (DType dt : {f32, f64}) {
    Tensor x = from_vector(image, {1, 5, 5, 1}, dt);
    Tensor w = from_vector(kernel, {3, 3, 1, 1}, dt);
    Tensor y = conv2d(x, w, {.strides = {1, 1}, .padding = Padding::Valid});
    ASSERT_EQ(y.shape(), (Shape{1, 3, 3, 1}));
    EXPECT_EQ(y.dtype(), dt);
    EXPECT_EQ(y.to_vector<double>(), expected) << dtype_name(dt);  // small integers: exact in both types
  }
}

// ------------------------------------------------------------------ fast f32 vs f64 reference

TEST(NnOps, Conv2dFastF32MatchesF64ReferenceOnRandomShapes) {
  namespace kd = kernels::cpu::detail;
  struct Case {
    Shape x, w;
    Conv2dOptions opt;
  };
  const std::vector<Case> cases = {
      {{2, 9, 11, 3}, {3, 3, 3, 5}, {.strides = {1, 1}, .padding = Padding::Same}},
      {{1, 13, 7, 5}, {5, 3, 5, 4}, {.strides = {2, 3}, .padding = Padding::Same}},
      {{3, 10, 9, 2}, {2, 4, 2, 7}, {.strides = {3, 2}, .padding = Padding::Valid}},
      {{2, 12, 13, 4}, {3, 3, 4, 6}, {.strides = {1, 1}, .padding = Padding::Same, .dilation = {2, 3}}},
      {{1, 15, 15, 1}, {7, 7, 1, 3}, {.strides = {4, 4}, .padding = Padding::Valid}},
      {{4, 5, 5, 17}, {1, 1, 17, 9}, {.strides = {1, 1}, .padding = Padding::Valid}},
  };
  const kd::ConvF32Algo before = kd::conv2d_f32_algo();
  for (kd::ConvF32Algo algo : {kd::ConvF32Algo::Auto, kd::ConvF32Algo::DnnlDirect, kd::ConvF32Algo::DnnlAnyWeights,
                               kd::ConvF32Algo::DnnlBlocked, kd::ConvF32Algo::Im2colGemm, kd::ConvF32Algo::DnnlWinograd,
                               kd::ConvF32Algo::EmberWinograd, kd::ConvF32Algo::EmberWinogradAvx2}) {
    kd::set_conv2d_f32_algo(algo);
    uint64_t seed = 100;
    for (const Case& c : cases) {
      SCOPED_TRACE("algo " + std::to_string(static_cast<int>(algo)) + ", x " + to_string(c.x) + ", w " + to_string(c.w));
      Tensor x64 = leaf(random_f64(c.x, ++seed)), w64 = leaf(random_f64(c.w, ++seed));
      Tensor x32 = leaf(x64.to(f32)), w32 = leaf(w64.to(f32));
      Tensor y64 = conv2d(x64, w64, c.opt), y32 = conv2d(x32, w32, c.opt);
      ASSERT_EQ(y32.shape(), y64.shape());
      // Up to 7*7 or 3*3*17 products of values in [-1, 1] summed in float32 (inputs rounded to float32
      // too): errors stay well below 1e-5 relative + 1e-5 absolute.
      EXPECT_TRUE(all_close(y32, y64, 1e-5, 1e-5));
      Tensor dy = random_f64(y64.shape(), ++seed);
      y64.backward(dy);
      y32.backward(dy.to(f32));
      // The filter gradient sums over batch*out_h*out_w positions: allow 1e-4 absolute.
      EXPECT_TRUE(all_close(x32.grad(), x64.grad(), 1e-5, 1e-5));
      EXPECT_TRUE(all_close(w32.grad(), w64.grad(), 1e-5, 1e-4));
    }
  }
  kd::set_conv2d_f32_algo(before);
}

TEST(NnOps, ConvAcceptsNonContiguousInputs) {
  Tensor x = random_f64({2, 6, 5, 3}, 7), w = random_f64({3, 3, 3, 4}, 8);
  Tensor xt = contiguous(permute(x, {0, 2, 1, 3}));     // [2,5,6,3] contiguous
  Tensor xv = permute(x, {0, 2, 1, 3});                 // the same values as a strided view
  Tensor a = conv2d(xt, w, {.padding = Padding::Same}), b = conv2d(xv, w, {.padding = Padding::Same});
  EXPECT_TRUE(all_close(b, a, 0, 0));
}

TEST(NnOps, ConvSamePaddingShapesFollowTensorFlow) {
  Tensor w = ones({3, 3, 1, 2}, f32);
  EXPECT_EQ(conv2d(ones({1, 7, 8, 1}), w, {.strides = {2, 2}, .padding = Padding::Same}).shape(), (Shape{1, 4, 4, 2}));
  EXPECT_EQ(conv2d(ones({1, 7, 8, 1}), w, {.strides = {2, 2}, .padding = Padding::Valid}).shape(), (Shape{1, 3, 3, 2}));
  EXPECT_EQ(conv1d(ones({2, 10, 1}), ones({3, 1, 2}), {.stride = 3, .padding = Padding::Same}).shape(), (Shape{2, 4, 2}));
}

TEST(NnOps, ConvWithEmptyBatch) {
  Tensor x = leaf(zeros({0, 5, 5, 2}, f32)), w = leaf(ones({3, 3, 2, 4}, f32));
  Tensor y = conv2d(x, w, {.padding = Padding::Same});
  EXPECT_EQ(y.shape(), (Shape{0, 5, 5, 4}));
  sum(y).backward();
  EXPECT_EQ(x.grad().shape(), (Shape{0, 5, 5, 2}));
  EXPECT_TRUE(all_close(w.grad(), zeros({3, 3, 2, 4}), 0, 0));
}

TEST(NnOps, BiasAddAddsAlongTheLastAxis) {
  Tensor x = zeros({2, 2, 3}, f64), b = from_vector(std::vector<double>{1, 2, 3}, {3}, f64);
  EXPECT_EQ(bias_add(x, b).to_vector<double>(), (std::vector<double>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}));
}

// ------------------------------------------------------------------ pooling

TEST(NnOps, PoolDefaultsAndValues) {
  // 4x4 image 0..15: 2x2 windows with stride = pool_size (the Keras default).
  Tensor x = arange(0, 16, 1, f32).reshape({1, 4, 4, 1});
  EXPECT_EQ(max_pool2d(x).to_vector<double>(), (std::vector<double>{5, 7, 13, 15}));
  EXPECT_EQ(avg_pool2d(x).to_vector<double>(), (std::vector<double>{2.5, 4.5, 10.5, 12.5}));
  // SAME 3x3 stride 1 average at the corner divides by the 4 real elements (TensorFlow), not 9.
  Tensor a = avg_pool2d(x, {.pool_size = {3, 3}, .strides = {{1, 1}}, .padding = Padding::Same});
  EXPECT_FLOAT_EQ(a.at<float>({0, 0, 0, 0}), (0 + 1 + 4 + 5) / 4.0f);
  Tensor x1 = from_vector(std::vector<double>{1, 5, 2, 4, 3}, {1, 5, 1}, f64);
  EXPECT_EQ(max_pool1d(x1).to_vector<double>(), (std::vector<double>{5, 4}));
  EXPECT_EQ(max_pool1d(x1, 2, 2, Padding::Same).to_vector<double>(), (std::vector<double>{5, 4, 3}));
}

TEST(NnOps, GlobalPools) {
  Tensor x = arange(0, 24, 1, f64).reshape({2, 2, 3, 2});
  EXPECT_EQ(global_avg_pool2d(x).shape(), (Shape{2, 2}));
  EXPECT_EQ(global_avg_pool2d(x).to_vector<double>(), (std::vector<double>{5, 6, 17, 18}));
  EXPECT_EQ(global_max_pool2d(x).to_vector<double>(), (std::vector<double>{10, 11, 22, 23}));
}

TEST(NnOps, MaxPoolGradientGoesToTheArgmax) {
  Tensor x = leaf(from_vector(std::vector<double>{1, 9, 3, 4}, {1, 2, 2, 1}, f64));
  max_pool2d(x).backward(ones({1, 1, 1, 1}, f64));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 0}));
}

// ------------------------------------------------------------------ activations

TEST(NnOps, ActivationValues) {
  Tensor x = from_vector(std::vector<double>{-3, -1, 0, 1, 3}, {5}, f64);
  EXPECT_EQ(relu(x).to_vector<double>(), (std::vector<double>{0, 0, 0, 1, 3}));
  EXPECT_EQ(leaky_relu(x).to_vector<double>(), (std::vector<double>{-0.6000000000000001, -0.2, 0, 1, 3}));
  EXPECT_EQ(hard_sigmoid(x).to_vector<double>(), (std::vector<double>{0, 0.3, 0.5, 0.7, 1}));
  EXPECT_EQ(step(x).to_vector<double>(), (std::vector<double>{0, 0, 0, 1, 1}));
  EXPECT_NEAR(elu(x).at<double>({1}), std::expm1(-1.0), 1e-15);
  EXPECT_NEAR(sigmoid(x).at<double>({3}), 1 / (1 + std::exp(-1.0)), 1e-15);
  EXPECT_NEAR(ember::tanh(x).at<double>({0}), std::tanh(-3.0), 1e-15);
  EXPECT_NEAR(softplus(x).at<double>({2}), std::log(2.0), 1e-15);
  EXPECT_NEAR(swish(x).at<double>({4}), 3 / (1 + std::exp(-3.0)), 1e-15);
}

TEST(NnOps, SigmoidAndSoftplusAreStableForLargeInputs) {
  for (DType dt : {f32, f64}) {
    Tensor x = from_vector(std::vector<double>{-1000, -100, 100, 1000}, {4}, dt);
    std::vector<double> s = sigmoid(x).to_vector<double>(), p = softplus(x).to_vector<double>();
    EXPECT_EQ(s[0], 0.0);
    EXPECT_GT(s[1], 0.0);  // exp(-100) ~ 3.7e-44: a denormal in f32, representable in f64
    EXPECT_EQ(s[2], 1.0);
    EXPECT_EQ(s[3], 1.0);
    EXPECT_EQ(p[0], 0.0);
    EXPECT_EQ(p[2], 100.0);
    EXPECT_EQ(p[3], 1000.0);
    for (double v : s) EXPECT_FALSE(std::isnan(v));
  }
}

TEST(NnOps, StepRecordsNoGradient) {
  Tensor x = leaf(from_vector(std::vector<double>{-1, 2}, {2}, f64));
  EXPECT_FALSE(step(x).requires_grad());
  EXPECT_TRUE(relu(x).requires_grad());
}

TEST(NnOps, ReluBackwardMasksByTheOutput) {
  Tensor x = leaf(from_vector(std::vector<float>{-2, 3, -0.5f, 4}, {2, 2}));
  relu(x).backward(full({2, 2}, 5.0f));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0, 5, 0, 5}));
}

// ------------------------------------------------------------------ dropout

TEST(NnOps, DropoutIsIdentityOutsideTraining) {
  Tensor x = random_f64({10, 10}, 1);
  EXPECT_TRUE(dropout(x, 0.5, false).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0, true).is_same(x));
}

TEST(NnOps, DropoutKeepsOneMinusRateAndScales) {
  const int64_t n = 100000;
  const double rate = 0.3;
  Generator gen(42);
  Tensor x = rand({n}, {.low = 0.5, .high = 1.5, .generator = &gen});  // never 0, so "kept" is y != 0
  Generator g1(7);
  Tensor y = dropout(x, rate, true, &g1);
  std::vector<float> xv = x.to_vector<float>(), yv = y.to_vector<float>();
  int64_t kept = 0;
  bool values_ok = true;
  for (int64_t i = 0; i < n; ++i) {
    if (yv[i] != 0.0f) {
      ++kept;
      values_ok &= yv[i] == xv[i] / static_cast<float>(1 - rate);
    }
  }
  EXPECT_TRUE(values_ok);
  // Binomial(n, 0.7): std = sqrt(n p (1-p)) ~ 145 units; allow 5 standard deviations.
  const double p = 1 - rate, sd = std::sqrt(n * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(kept), n * p, 5 * sd);

  // Same seed, same mask; another seed, another mask.
  Generator g2(7), g3(8);
  EXPECT_EQ(dropout(x, rate, true, &g2).to_vector<float>(), yv);
  EXPECT_NE(dropout(x, rate, true, &g3).to_vector<float>(), yv);
}

TEST(NnOps, DropoutBackwardReusesTheMask) {
  Tensor x = leaf(ones({1000}, f64));
  Generator gen(3);
  Tensor y = dropout(x, 0.25, true, &gen);
  sum(y).backward();
  // d sum(y) / dx = mask / (1 - rate) = y itself for x = 1.
  EXPECT_EQ(x.grad().to_vector<double>(), y.to_vector<double>());
}

// ------------------------------------------------------------------ batch norm

TEST(NnOps, BatchNormTrainingNormalisesAndUpdatesMovingStatistics) {
  // One channel, rows 1, 2, 3: mean 2, biased var 2/3, unbiased var 1.
  Tensor x = from_vector(std::vector<double>{1, 2, 3}, {3, 1}, f64);
  Tensor mm = zeros({1}, f64), mv = ones({1}, f64);
  Tensor y = batch_norm(x, Tensor(), Tensor(), mm, mv, true, {.momentum = 0.9, .epsilon = 0});
  const double s = std::sqrt(2.0 / 3.0);
  EXPECT_TRUE(all_close(y, from_vector(std::vector<double>{-1 / s, 0, 1 / s}, {3, 1}, f64), 1e-12, 1e-12));
  EXPECT_NEAR(mm.item<double>(), 0.1 * 2, 1e-12);
  EXPECT_NEAR(mv.item<double>(), 0.9 + 0.1 * 1, 1e-12);
  // Inference uses the moving statistics and leaves them alone.
  Tensor yi = batch_norm(x, Tensor(), Tensor(), mm, mv, false, {.epsilon = 0});
  EXPECT_NEAR(yi.at<double>({0, 0}), (1 - 0.2) / 1.0, 1e-12);
  EXPECT_NEAR(mm.item<double>(), 0.2, 1e-12);
}

// batch_norm_relu is relu(batch_norm(...)) bit for bit: values, the moving statistics it updates, and
// the gradients of x, gamma and beta (training and inference, float and double). The inputs straddle
// zero after normalisation, so the ReLU cuts about half of every channel.
TEST(NnOps, BatchNormReluIsReluOfBatchNormBitForBit) {
  for (DType dt : {f32, f64}) {
    for (bool training : {true, false}) {
      Tensor x0 = random_f64({4, 5, 5, 16}, 40, -3, 2).to(dt), g0 = random_f64({16}, 41, 0.5, 1.5).to(dt),
             b0 = random_f64({16}, 42, -0.5, 0.5).to(dt), seed = random_f64({4, 5, 5, 16}, 43).to(dt);
      struct Run {
        Tensor y, dx, dgamma, dbeta, mm, mv;
      };
      auto run = [&](bool fused) {
        Tensor x = x0.clone().requires_grad_(), g = g0.clone().requires_grad_(), b = b0.clone().requires_grad_();
        Tensor mm = random_f64({16}, 44).to(dt), mv = random_f64({16}, 45, 0.5, 2).to(dt);
        const BatchNormOptions opt{.momentum = 0.9, .epsilon = 1e-5};
        Tensor y = fused ? batch_norm_relu(x, g, b, mm, mv, training, opt) : relu(batch_norm(x, g, b, mm, mv, training, opt));
        y.backward(seed);
        return Run{y.detach(), x.grad(), g.grad(), b.grad(), mm, mv};
      };
      Run want = run(false), got = run(true);
      const std::string what = std::string(dtype_name(dt)) + (training ? " training" : " inference");
      const double zeros = mean(equal(want.y, zeros_like(want.y)).to(f64)).item<double>();
      EXPECT_GT(zeros, 0.2) << what;
      EXPECT_LT(zeros, 0.8) << what;
      for (auto [name, a, b] : {std::tuple{"y", want.y, got.y}, std::tuple{"dx", want.dx, got.dx},
                                std::tuple{"dgamma", want.dgamma, got.dgamma}, std::tuple{"dbeta", want.dbeta, got.dbeta},
                                std::tuple{"moving_mean", want.mm, got.mm}, std::tuple{"moving_var", want.mv, got.mv}}) {
        ASSERT_TRUE(a.defined() && b.defined()) << what << " " << name;
        EXPECT_EQ(a.to_vector<double>(), b.to_vector<double>()) << what << " " << name;
      }
    }
  }
}

TEST(NnOps, BatchNormReluBadInputNamesTheFusedOp) {
  EXPECT_TRUE(throws_with<ShapeError>([] { batch_norm_relu(ones({4, 3}), ones({4}), Tensor(), Tensor(), Tensor(), true); },
                                      {"batch_norm_relu", "gamma", "[4,3]", "[4]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { batch_norm_relu(ones({4, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false); },
                                      {"batch_norm_relu", "moving_mean", "[4,3]"}));
}

TEST(NnOps, BatchNormSingleRowUsesCorrectionOne) {
  Tensor mm = zeros({2}, f32), mv = ones({2}, f32);
  Tensor y = batch_norm(from_vector(std::vector<float>{4, -1}, {1, 2}), Tensor(), Tensor(), mm, mv, true);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_FLOAT_EQ(mv.at<float>({0}), 0.99f);  // batch variance 0, as TensorFlow
  EXPECT_FLOAT_EQ(mm.at<float>({0}), 0.04f);
}

// ------------------------------------------------------------------ bad input

TEST(NnOps, ConvBadInput) {
  EXPECT_TRUE(throws_with<ShapeError>([] { conv2d(ones({2, 7, 7, 3}), ones({3, 3, 4, 8})); },
                                      {"conv2d: input has 3 channels but the filter expects 4", "[2,7,7,3]", "[3,3,4,8]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { conv2d(ones({7, 7, 3}), ones({3, 3, 3, 8})); }, {"conv2d", "[7,7,3]", "[3,3,3,8]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { conv2d(ones({1, 7, 7, 3}), ones({3, 3, 8})); }, {"conv2d", "[1,7,7,3]", "[3,3,8]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { conv2d(ones({1, 7, 7, 3}), ones({3, 3, 3, 8}), {.strides = {0, 1}}); },
                                      {"conv2d", "strides", "[1,7,7,3]", "[3,3,3,8]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { conv2d(ones({1, 7, 7, 3}), ones({3, 3, 3, 8}), {.dilation = {1, -2}}); },
                                      {"conv2d", "dilation", "[1,7,7,3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { conv2d(ones({1, 2, 7, 3}), ones({3, 3, 3, 8})); }, {"conv2d", "VALID", "[1,2,7,3]", "[3,3,3,8]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { conv2d(ones({1, 7, 7, 3}), ones({3, 3, 3, 8}), {.dilation = {4, 1}}); },
                                      {"conv2d", "[1,7,7,3]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { conv2d(ones({1, 7, 7, 0}), ones({3, 3, 0, 8})); }, {"conv2d", "[1,7,7,0]"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { conv2d(ones({1, 7, 7, 3}, i32), ones({3, 3, 3, 8}, i32)); }, {"conv2d", "int32", "[1,7,7,3]"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { conv2d(ones({1, 7, 7, 3}, f32), ones({3, 3, 3, 8}, f64)); }, {"conv2d", "float64", "[3,3,3,8]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { conv1d(ones({2, 9, 3}), ones({3, 4, 4})); }, {"conv1d", "3 channels", "[2,9,3]", "[3,4,4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { conv1d(ones({2, 9, 3, 1}), ones({3, 3, 4})); }, {"conv1d", "[2,9,3,1]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { conv1d(ones({2, 9, 3}), ones({3, 3, 4}), {.stride = 0}); }, {"conv1d", "stride", "[2,9,3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { conv1d(ones({2, 2, 3}), ones({3, 3, 4})); }, {"conv1d", "[2,2,3]", "[3,3,4]"}));
}

TEST(NnOps, BiasAddBadInput) {
  EXPECT_TRUE(throws_with<ShapeError>([] { bias_add(ones({2, 5}), ones({4})); }, {"bias_add", "[2,5]", "[4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { bias_add(ones({2, 5}), ones({1, 5})); }, {"bias_add", "[2,5]", "[1,5]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { bias_add(ones({5}), ones({5})); }, {"bias_add", "[5]"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { bias_add(ones({2, 5}, f32), ones({5}, f64)); }, {"bias_add", "[2,5]", "[5]"}));
}

TEST(NnOps, PoolBadInput) {
  EXPECT_TRUE(throws_with<ShapeError>([] { max_pool2d(ones({1, 3, 3, 1}), {.pool_size = {4, 4}}); }, {"max_pool2d", "[1,3,3,1]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { avg_pool2d(ones({1, 3, 5, 1}), {.pool_size = {2, 6}}); }, {"avg_pool2d", "[1,3,5,1]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { max_pool2d(ones({3, 3, 1})); }, {"max_pool2d", "[3,3,1]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { max_pool2d(ones({1, 4, 4, 1}), {.strides = {{0, 1}}}); }, {"max_pool2d", "strides", "[1,4,4,1]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { avg_pool2d(ones({1, 4, 4, 1}), {.pool_size = {0, 2}}); }, {"avg_pool2d", "pool_size", "[1,4,4,1]"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { max_pool2d(ones({1, 4, 4, 1}, i64)); }, {"max_pool2d", "int64", "[1,4,4,1]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { max_pool1d(ones({1, 3, 2}), 4); }, {"max_pool1d", "[1,3,2]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { max_pool1d(ones({1, 3, 2}), 2, 0); }, {"max_pool1d", "[1,3,2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { global_avg_pool2d(ones({2, 3})); }, {"global_avg_pool2d", "[2,3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { global_max_pool2d(ones({2, 0, 3, 1})); }, {"global_max_pool2d", "[2,0,3,1]"}));
}

TEST(NnOps, ActivationBadInput) {
  EXPECT_TRUE(throws_with<DTypeError>([] { relu(ones({2, 3}, i32)); }, {"relu", "int32", "[2,3]"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { sigmoid(ones({2}, boolean)); }, {"sigmoid", "bool"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { swish(ones({2}, i64)); }, {"swish", "int64"}));
}

TEST(NnOps, DropoutBadInput) {
  for (double rate : {1.5, 1.0, -0.1, std::nan("")}) {
    EXPECT_TRUE(throws_with<ValueError>([rate] { dropout(ones({4, 5}), rate); }, {"dropout", "rate", "[4,5]"})) << rate;
  }
  EXPECT_TRUE(throws_with<DTypeError>([] { dropout(ones({4, 5}, i32), 0.5); }, {"dropout", "int32", "[4,5]"}));
}

TEST(NnOps, BatchNormBadInput) {
  EXPECT_TRUE(throws_with<ShapeError>([] { batch_norm(ones({4, 3}), ones({4}), Tensor(), Tensor(), Tensor(), true); },
                                      {"batch_norm", "gamma", "[4,3]", "[4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { batch_norm(ones({3}), Tensor(), Tensor(), Tensor(), Tensor(), true); }, {"batch_norm", "[3]"}));
  EXPECT_TRUE(throws_with<DTypeError>([] { batch_norm(ones({4, 3}, i32), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                                      {"batch_norm", "int32", "[4,3]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { batch_norm(ones({4, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false); },
                                      {"batch_norm", "moving_mean", "[4,3]"}));
  EXPECT_TRUE(throws_with<ValueError>([] { batch_norm(zeros({0, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                                      {"batch_norm", "[0,3]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { batch_norm(ones({4, 3}), Tensor(), Tensor(), zeros({2}), ones({3}), false); },
                                      {"batch_norm", "moving_mean", "[4,3]", "[2]"}));
}
