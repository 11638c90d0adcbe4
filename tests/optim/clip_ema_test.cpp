// Gradient clipping (TF / the notes' formulas) and exponential moving averages (the notes' EWMA with
// bias correction, TF's num_updates form), with expected values computed here by hand.
#include <cmath>

#include "test_support.hpp"

namespace ember {
namespace {

using optim::NamedParams;

Tensor vec(std::vector<double> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return from_vector(v, {n}, f64);
}

TEST(Clip, ByNorm) {
  Tensor t = vec({3, 4});  // norm 5
  EXPECT_TRUE(testing::all_close(optim::clip_by_norm(t, 1.0), vec({0.6, 0.8}), 0, 1e-15));
  EXPECT_TRUE(testing::all_close(optim::clip_by_norm(t, 5.0), t, 0, 0));
  EXPECT_TRUE(testing::all_close(optim::clip_by_norm(t, 10.0), t, 0, 0));
  EXPECT_TRUE(testing::all_close(optim::clip_by_norm(zeros({2}, f64), 1.0), zeros({2}, f64), 0, 0));
  Tensor f = from_vector(std::vector<float>{6, 8}, {2});
  Tensor cf = optim::clip_by_norm(f, 5.0);
  EXPECT_EQ(cf.dtype(), f32);
  EXPECT_TRUE(testing::all_close(cf, vec({3, 4}), 1e-6, 1e-6));
}

TEST(Clip, ByGlobalNormIsTheNotesFormula) {
  // ||g||_2 over all tensors = sqrt(9 + 16 + 144) = 13; c = 6.5 >= ... so g <- c g / ||g|| = g / 2.
  std::vector<Tensor> gs = {vec({3, 4}), Tensor(), vec({12})};
  auto r = optim::clip_by_global_norm(gs, 6.5);
  EXPECT_DOUBLE_EQ(r.global_norm, 13.0);
  ASSERT_EQ(r.tensors.size(), 3u);
  EXPECT_TRUE(testing::all_close(r.tensors[0], vec({1.5, 2}), 0, 1e-15));
  EXPECT_FALSE(r.tensors[1].defined());
  EXPECT_TRUE(testing::all_close(r.tensors[2], vec({6}), 0, 1e-15));
  // Below the threshold nothing changes.
  auto same = optim::clip_by_global_norm(gs, 20.0);
  EXPECT_TRUE(testing::all_close(same.tensors[0], gs[0], 0, 0));
  EXPECT_TRUE(testing::all_close(same.tensors[2], gs[2], 0, 0));
  EXPECT_DOUBLE_EQ(optim::global_norm(gs), 13.0);
  // Non-finite norm: NaN, as TensorFlow.
  auto inf = optim::clip_by_global_norm({vec({INFINITY, 1})}, 1.0);
  EXPECT_TRUE(std::isnan(inf.tensors[0].at<double>({1})));
}

TEST(Clip, ByValueAndBadInput) {
  EXPECT_TRUE(testing::all_close(optim::clip_by_value(vec({-3, 0.2, 9}), -1, 1), vec({-1, 0.2, 1}), 0, 0));
  EXPECT_THROW(optim::clip_by_value(vec({1}), 1, -1), ValueError);
  EXPECT_THROW(optim::clip_by_norm(vec({1}), 0.0), ValueError);
  EXPECT_THROW(optim::clip_by_global_norm({vec({1})}, -1.0), ValueError);
  EXPECT_THROW(optim::clip_by_norm(from_vector(std::vector<int64_t>{1, 2}, {2}), 1.0), DTypeError);
}

TEST(Clip, OptimizerAppliesGlobalClipnorm) {
  Tensor a = zeros({2}, f64), b = zeros({1}, f64);
  optim::SGD sgd({.learning_rate = 1.0, .global_clipnorm = 6.5});
  sgd.apply_gradients({{"a", a}, {"b", b}}, {vec({3, 4}), vec({12})});
  EXPECT_TRUE(testing::all_close(a, vec({-1.5, -2}), 0, 1e-15));
  EXPECT_TRUE(testing::all_close(b, vec({-6}), 0, 1e-15));
}

TEST(Clip, OptimizerAppliesClipnormPerTensorAndClipvalue) {
  Tensor a = zeros({2}, f64), b = zeros({1}, f64);
  optim::SGD by_norm({.learning_rate = 1.0, .clipnorm = 2.0});
  by_norm.apply_gradients({{"a", a}, {"b", b}}, {vec({3, 4}), vec({1})});
  EXPECT_TRUE(testing::all_close(a, vec({-1.2, -1.6}), 0, 1e-15));  // norm 5 -> 2
  EXPECT_TRUE(testing::all_close(b, vec({-1}), 0, 1e-15));           // norm 1 <= 2: unchanged
  Tensor c = zeros({3}, f64);
  optim::SGD by_value({.learning_rate = 1.0, .clipvalue = 0.5});
  by_value.apply_gradients({{"c", c}}, {vec({-2, 0.25, 3})});
  EXPECT_TRUE(testing::all_close(c, vec({0.5, -0.25, -0.5}), 0, 1e-15));
}

TEST(Clip, OptimizerLeavesGradUntouched) {
  Tensor w = zeros({2}, f64).requires_grad_();
  w.set_grad(vec({3, 4}));
  optim::SGD sgd({.learning_rate = 1.0, .clipnorm = 1.0});
  sgd.step({{"w", w}});
  EXPECT_TRUE(testing::all_close(w.grad(), vec({3, 4}), 0, 0));
  EXPECT_TRUE(testing::all_close(w.detach(), vec({-0.6, -0.8}), 0, 1e-15));
}

// ---- EMA -------------------------------------------------------------------------------------------

TEST(EMA, BiasCorrectedAverageOfAConstantIsTheConstant) {
  Tensor w = vec({2.5, -1});
  optim::ExponentialMovingAverage ema({.decay = 0.9});
  for (int t = 1; t <= 6; ++t) {
    ema.update({{"w", w}});
    EXPECT_TRUE(testing::all_close(ema.average("w"), w, 1e-14, 1e-15)) << t;
    // Raw shadow (from 0): c (1 - 0.9^t).
    Tensor raw = ema.state().slots.at("w/average");
    EXPECT_TRUE(testing::all_close(raw, w.mul(1 - std::pow(0.9, t)), 1e-14, 1e-15)) << t;
  }
  EXPECT_EQ(ema.num_updates(), 6);
}

TEST(EMA, KnownSequenceMatchesClosedForm) {
  // The notes' example: v0 = 0, k = 0.9, d1 = 40 -> v1 = 4, corrected 40.
  const std::vector<double> d = {40, 10, 30, 20, 50};
  const double k = 0.9;
  Tensor x = zeros({1}, f64);
  optim::ExponentialMovingAverage ema({.decay = k});
  for (std::size_t n = 1; n <= d.size(); ++n) {
    x.fill_(d[n - 1]);
    ema.update({{"temp", x}});
    double v = 0;  // v_n = sum_i (1-k) k^(n-i) d_i
    for (std::size_t i = 1; i <= n; ++i) v += (1 - k) * std::pow(k, double(n - i)) * d[i - 1];
    EXPECT_NEAR(ema.state().slots.at("temp/average").item<double>(), v, 1e-12) << n;
    EXPECT_NEAR(ema.average("temp").item<double>(), v / (1 - std::pow(k, double(n))), 1e-12) << n;
  }
  // After the first update specifically: v1 = 4, corrected 40.
  optim::ExponentialMovingAverage first({.decay = k});
  x.fill_(40);
  first.update({{"temp", x}});
  EXPECT_NEAR(first.state().slots.at("temp/average").item<double>(), 4.0, 1e-14);
  EXPECT_NEAR(first.average("temp").item<double>(), 40.0, 1e-13);
}

TEST(EMA, TensorFlowFormWithoutBiasCorrectionAndNumUpdates) {
  Tensor x = zeros({1}, f64);
  optim::ExponentialMovingAverage tf({.decay = 0.9, .bias_correction = false});
  x.fill_(40);
  tf.update({{"x", x}});
  EXPECT_NEAR(tf.average("x").item<double>(), 40.0, 1e-14);  // shadow starts at the variable
  x.fill_(10);
  tf.update({{"x", x}});
  EXPECT_NEAR(tf.average("x").item<double>(), 37.0, 1e-13);

  // decay_n = min(0.999, (1 + n)/(10 + n)), n = updates so far.
  optim::ExponentialMovingAverage nu({.decay = 0.999, .bias_correction = false, .use_num_updates = true});
  const std::vector<double> d = {1, 5, -2, 7};
  double shadow = 0;
  for (std::size_t n = 0; n < d.size(); ++n) {
    x.fill_(d[n]);
    nu.update({{"x", x}});
    double dec = std::min(0.999, (1.0 + n) / (10.0 + n));
    shadow = n == 0 ? d[0] : dec * shadow + (1 - dec) * d[n];
    EXPECT_NEAR(nu.average("x").item<double>(), shadow, 1e-13) << n;
  }
}

TEST(EMA, ApplyToAndRestoreSwapWeights) {
  Tensor w = vec({1, 2}).requires_grad_();
  NamedParams params = {{"dense/kernel", w}};
  optim::ExponentialMovingAverage ema({.decay = 0.5});
  ema.update(params);
  {
    autograd::NoGradGuard g;
    w.copy_(vec({3, 6}));
  }
  ema.update(params);
  // shadow = 0.5*(0.5*[1,2]) + 0.5*[3,6] = [1.75, 3.5]; / (1 - 0.25) = [7/3, 14/3]
  Tensor avg = vec({7.0 / 3, 14.0 / 3});
  EXPECT_TRUE(testing::all_close(ema.average("dense/kernel"), avg, 1e-14, 1e-15));
  ema.apply_to(params);
  EXPECT_TRUE(testing::all_close(w.detach(), avg, 1e-14, 1e-15));
  EXPECT_THROW(ema.apply_to(params), ValueError);
  ema.restore(params);
  EXPECT_TRUE(testing::all_close(w.detach(), vec({3, 6}), 0, 0));
  EXPECT_THROW(ema.restore(params), ValueError);
  EXPECT_THROW(ema.apply_to({{"unknown", w}}), ValueError);
  EXPECT_THROW(ema.average("unknown"), ValueError);
  EXPECT_THROW(ema.update({{"dense/kernel", vec({1, 2, 3})}}), ShapeError);
}

TEST(EMA, StateRoundTripAndFloat32) {
  Tensor w = from_vector(std::vector<float>{1, 2}, {2});
  optim::ExponentialMovingAverage ema({.decay = 0.8});
  ema.update({{"w", w}});
  auto s = ema.state();
  optim::ExponentialMovingAverage other({.decay = 0.8});
  other.load_state(s);
  ema.update({{"w", w}});
  other.update({{"w", w}});
  EXPECT_EQ(ema.average("w").dtype(), f32);
  EXPECT_TRUE(testing::all_close(other.average("w"), ema.average("w"), 0, 0));
  EXPECT_TRUE(testing::all_close(ema.average("w"), vec({1, 2}), 1e-6, 1e-6));
  EXPECT_EQ(other.num_updates(), 2);
}

TEST(EMA, BadInput) {
  EXPECT_THROW(optim::ExponentialMovingAverage({.decay = 1.0}), ValueError);  // bias correction divides by 0
  EXPECT_THROW(optim::ExponentialMovingAverage({.decay = -0.1}), ValueError);
  optim::ExponentialMovingAverage ok({.decay = 1.0, .bias_correction = false});
  optim::ExponentialMovingAverage ema;
  Tensor w = vec({1});
  EXPECT_THROW(ema.update({{"w", w}, {"w", w}}), ValueError);
  EXPECT_THROW(ema.load_state({.iterations = 1, .slots = {{"w/bogus", w}}}), ValueError);
}

// Keras 3's use_ema on the optimizer: average = m*average + (1-m)*w after each step, the first
// step's average being the weight itself. SGD with lr 0.1 and gradient 1 moves w = 1 to 0.9, 0.8,
// 0.7; with m = 0.5 the averages are 0.9, 0.85, 0.775.
TEST(OptimizerEMA, AveragesAfterEachStepAndFinalizeOverwrites) {
  for (DType dt : {f64, f32}) {
    Tensor w = from_vector(std::vector<double>{1.0}, {1}, dt);
    Tensor frozen = from_vector(std::vector<double>{3.0}, {1}, dt);  // no gradient: averaged to itself
    optim::SGD sgd({.learning_rate = 0.1, .use_ema = true, .ema_momentum = 0.5});
    const double tol = dt == f64 ? 1e-15 : 1e-6;
    const std::vector<double> averages = {0.9, 0.85, 0.775};
    for (int step = 0; step < 3; ++step) {
      sgd.apply_gradients({{"w", w}, {"frozen", frozen}}, {from_vector(std::vector<double>{1.0}, {1}, dt), Tensor()});
      EXPECT_NEAR(sgd.slot("w", "average").to(f64).item<double>(), averages[step], tol) << step;
    }
    EXPECT_NEAR(w.to(f64).item<double>(), 0.7, tol);
    sgd.finalize_variable_values({{"w", w}, {"frozen", frozen}});
    EXPECT_NEAR(w.to(f64).item<double>(), 0.775, tol);
    EXPECT_EQ(frozen.to(f64).item<double>(), 3.0);
  }
}

TEST(OptimizerEMA, OverwriteFrequencyAndOffByDefault) {
  // Every 2nd step the weight becomes its average: w 0.9, 0.8 -> 0.85, then 0.75 with average 0.8.
  Tensor w = vec({1.0});
  optim::SGD sgd({.learning_rate = 0.1, .use_ema = true, .ema_momentum = 0.5, .ema_overwrite_frequency = 2});
  for (int step = 0; step < 2; ++step) sgd.apply_gradients({{"w", w}}, {vec({1.0})});
  EXPECT_NEAR(w.item<double>(), 0.85, 1e-15);
  sgd.apply_gradients({{"w", w}}, {vec({1.0})});
  EXPECT_NEAR(w.item<double>(), 0.75, 1e-15);
  EXPECT_NEAR(sgd.slot("w", "average").item<double>(), 0.8, 1e-15);

  Tensor v = vec({1.0});
  optim::Adam adam;  // use_ema off: no average slot, finalize changes nothing
  adam.apply_gradients({{"v", v}}, {vec({1.0})});
  const double after = v.item<double>();
  adam.finalize_variable_values({{"v", v}});
  EXPECT_EQ(v.item<double>(), after);
  EXPECT_THROW(adam.slot("v", "average"), ValueError);
}

TEST(OptimizerEMA, BadSettingsAreNamed) {
  EXPECT_NE(testing::message_of<ValueError>([] { optim::SGD({.use_ema = true, .ema_momentum = 1.5}); }).find("ema_momentum"),
            std::string::npos);
  EXPECT_NE(testing::message_of<ValueError>([] { optim::Adam({.use_ema = true, .ema_overwrite_frequency = 0}); })
                .find("ema_overwrite_frequency"),
            std::string::npos);
  auto nadam = optim::make_optimizer("nadam", 1e-3, std::nullopt, {.use_ema = true, .ema_momentum = 0.999});
  EXPECT_TRUE(nadam->ema().use_ema);
  EXPECT_DOUBLE_EQ(nadam->ema().ema_momentum, 0.999);
}

}  // namespace
}  // namespace ember
