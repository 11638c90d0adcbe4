// Softmax and losses: numerical stability, invariants, bad input, NaN, Keras documentation values,
// and the fused f32 cross-entropy kernel against an f64 reference built from primitive ops.
#include <cmath>
#include <string>

#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;

namespace {

Tensor f(const std::vector<double>& v, const Shape& shape, DType dt = f32) { return from_vector(v, shape, dt); }
Tensor ids(const std::vector<int64_t>& v, const Shape& shape) { return from_vector(v, shape); }

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>()) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

// Runs fn, expects exception E, and that its message contains every one of `parts`.
template <typename E, typename Fn>
void expect_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception thrown";
  } catch (const E& e) {
    std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message \"" << msg << "\" lacks \"" << p << "\"";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

class LossDtypes : public ::testing::TestWithParam<DType> {};
INSTANTIATE_TEST_SUITE_P(Float, LossDtypes, ::testing::Values(f32, f64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace

// ------------------------------------------------------------------ stability

TEST_P(LossDtypes, ExtremeLogitsGiveFiniteLossAndGradient) {
  const DType dt = GetParam();
  Tensor x = f({1000, -1000, 0, -1000, 1000, -1000}, {2, 3}, dt);
  x.requires_grad_(true);
  Tensor losses = sparse_categorical_crossentropy(ids({0, 2}, {2}), x, true);
  ASSERT_TRUE(all_finite(losses));
  EXPECT_NEAR(losses.at<double>({0}), 0.0, 1e-6);
  EXPECT_NEAR(losses.at<double>({1}), 2000.0, 1e-3);
  mean(losses).backward();
  ASSERT_TRUE(all_finite(x.grad()));
  EXPECT_TRUE(all_close(x.grad(), f({0, 0, 0, 0, 0.5, -0.5}, {2, 3}, f64), 1e-6, 1e-6));

  Tensor x2 = f({1000, -1000, 0, -1000, 1000, -1000}, {2, 3}, dt);
  x2.requires_grad_(true);
  Tensor y = f({0, 0.5, 0.5, 1, 0, 0}, {2, 3}, dt);
  Tensor cl = categorical_crossentropy(y, x2, true);
  ASSERT_TRUE(all_finite(cl));
  EXPECT_NEAR(cl.at<double>({0}), 0.5 * 2000 + 0.5 * 1000, 1e-3);
  sum(cl).backward();
  ASSERT_TRUE(all_finite(x2.grad()));

  Tensor x3 = f({1000, -1000, 0, 1000, -1000, 0}, {2, 3}, dt);
  x3.requires_grad_(true);
  Tensor bl = binary_crossentropy(f({1, 0, 1, 0, 1, 0.5}, {2, 3}, dt), x3, true);
  ASSERT_TRUE(all_finite(bl));
  EXPECT_NEAR(bl.at<double>({0}), std::log(2.0) / 3, 1e-6);         // 0 + 0 + log 2
  EXPECT_NEAR(bl.at<double>({1}), (2000 + std::log(2.0)) / 3, 1e-3);  // 1000 + 1000 + log 2
  sum(bl).backward();
  ASSERT_TRUE(all_finite(x3.grad()));

  for (bool log_space : {false, true}) {
    Tensor x4 = f({1000, -1000, 0, -1000, -1000, -1000}, {2, 3}, dt);
    x4.requires_grad_(true);
    Tensor s = log_space ? log_softmax(x4) : softmax(x4);
    ASSERT_TRUE(all_finite(s)) << s;
    sum(s * f({1, 2, 3, 4, 5, 6}, {2, 3}, dt)).backward();
    ASSERT_TRUE(all_finite(x4.grad()));
  }
  EXPECT_NEAR(log_softmax(f({1000, -1000}, {2}, dt)).at<double>({1}), -2000.0, 1e-3);
}

TEST_P(LossDtypes, ProbabilityLossesClipZerosAndOnes) {
  const DType dt = GetParam();
  Tensor p = f({0, 1, 0.5, 1, 0, 0}, {2, 3}, dt);
  p.requires_grad_(true);
  Tensor bl = binary_crossentropy(f({1, 0, 1, 0, 1, 0}, {2, 3}, dt), p);
  Tensor cl = categorical_crossentropy(f({1, 0, 0, 0, 1, 0}, {2, 3}, dt), p);
  Tensor sl = sparse_categorical_crossentropy(ids({0, 1}, {2}), p);
  ASSERT_TRUE(all_finite(bl) && all_finite(cl) && all_finite(sl));
  sum(bl + cl + sl).backward();
  ASSERT_TRUE(all_finite(p.grad()));
}

TEST_P(LossDtypes, SoftmaxRowsSumToOne) {
  const DType dt = GetParam();
  Generator g(7);
  Tensor x = randn({7, 13}, {.mean = 0, .stddev = 10, .dtype = dt, .generator = &g});
  Tensor s = softmax(x);
  EXPECT_TRUE(all_close(sum(s, {-1}), ones({7}, f64), 1e-6, 1e-6));
  for (double v : s.to_vector<double>()) ASSERT_TRUE(v >= 0 && v <= 1);
  // Axis 0 and a middle axis (the strided kernel path).
  EXPECT_TRUE(all_close(sum(softmax(x, 0), {0}), ones({13}, f64), 1e-6, 1e-6));
  Tensor x3 = randn({3, 5, 4}, {.mean = 0, .stddev = 5, .dtype = dt, .generator = &g});
  EXPECT_TRUE(all_close(sum(softmax(x3, 1), {1}), ones({3, 4}, f64), 1e-6, 1e-6));
  // exp(log_softmax) is softmax.
  EXPECT_TRUE(all_close(exp(log_softmax(x3, 1)), softmax(x3, 1), 1e-5, 1e-7));
  // Softmax is invariant to a per-row shift.
  EXPECT_TRUE(all_close(softmax(x + 100.0), s, 1e-4, 1e-6));
}

TEST(Softmax, ZeroDimAndEmpty) {
  EXPECT_DOUBLE_EQ(softmax(scalar_tensor(3.0, f64)).item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(log_softmax(scalar_tensor(3.0, f64)).item<double>(), 0.0);
  EXPECT_EQ(softmax(zeros({0, 4})).shape(), (Shape{0, 4}));
  EXPECT_EQ(softmax(zeros({4, 0})).shape(), (Shape{4, 0}));
  EXPECT_EQ(sparse_categorical_crossentropy(ids({}, {0}), zeros({0, 10}), true).shape(), Shape{0});
  Tensor empty_classes = categorical_crossentropy(zeros({3, 0}), zeros({3, 0}), true);
  EXPECT_TRUE(all_close(empty_classes, zeros({3}, f64)));
  expect_error<ValueError>([] { softmax(zeros({2, 3}), 2); }, {"softmax", "axis 2"});
  // Integer inputs compute in float32.
  EXPECT_EQ(softmax(ids({1, 2, 3}, {3})).dtype(), f32);
}

TEST(Losses, NaNPropagatesOnlyToItsRow) {
  Tensor x = f({NAN, 1, 2, 0.5, 1, 2}, {2, 3});
  Tensor l = sparse_categorical_crossentropy(ids({1, 2}, {2}), x, true);
  EXPECT_TRUE(std::isnan(l.at<float>({0})));
  EXPECT_TRUE(std::isfinite(l.at<float>({1})));
  Tensor s = softmax(x);
  for (int j = 0; j < 3; ++j) EXPECT_TRUE(std::isnan(s.at<float>({0, j})));
  for (int j = 0; j < 3; ++j) EXPECT_TRUE(std::isfinite(s.at<float>({1, j})));
  Tensor c = categorical_crossentropy(f({0, 1, 0, 0, 0, 1}, {2, 3}), x, true);
  EXPECT_TRUE(std::isnan(c.at<float>({0})));
  EXPECT_TRUE(std::isfinite(c.at<float>({1})));
  EXPECT_TRUE(std::isnan(mean_squared_error(f({0, 0, 0, 0, 0, 0}, {2, 3}), x).at<float>({0})));
}

// ------------------------------------------------------------------ reference values

TEST(Losses, KerasDocumentationExamples) {
  // The examples of the tf.keras.losses documentation (per-sample values).
  Tensor yt = f({0, 1, 0, 0}, {2, 2}), yp = f({0.6, 0.4, 0.4, 0.6}, {2, 2});
  EXPECT_TRUE(all_close(binary_crossentropy(yt, yp), f({0.916, 0.714}, {2}, f64), 0, 1e-3));
  EXPECT_NEAR(mean(huber(yt, yp)).item<float>(), 0.155, 1e-6);
  EXPECT_TRUE(all_close(mean_squared_error(yt, f({1, 1, 1, 0}, {2, 2})), f({0.5, 0.5}, {2}, f64)));
  EXPECT_TRUE(all_close(mean_absolute_error(yt, f({1, 1, 1, 0}, {2, 2})), f({0.5, 0.5}, {2}, f64)));
  Tensor probs = f({0.05, 0.95, 0, 0.1, 0.8, 0.1}, {2, 3});
  Tensor expected = f({0.0513, 2.3026}, {2}, f64);
  EXPECT_TRUE(all_close(categorical_crossentropy(f({0, 1, 0, 0, 0, 1}, {2, 3}), probs), expected, 0, 1e-4));
  EXPECT_TRUE(all_close(sparse_categorical_crossentropy(ids({1, 2}, {2}), probs), expected, 0, 1e-4));
  // Keras accepts a trailing label axis of size 1.
  EXPECT_TRUE(all_close(sparse_categorical_crossentropy(ids({1, 2}, {2, 1}), probs), expected, 0, 1e-4));
}

TEST(Losses, MulticlassSvmNotesExample) {
  // CS231n notes: scores [13, -7, 11], correct class 0, margin 10 -> max(0, -20) + max(0, 8) = 8.
  Tensor s = f({13, -7, 11, 3.2, 5.1, -1.7}, {2, 3});
  Tensor l = multiclass_svm_loss(ids({0, 0}, {2}), s, 10.0);
  EXPECT_NEAR(l.at<float>({0}), 8.0f, 1e-6);
  EXPECT_NEAR(l.at<float>({1}), 11.9f + 5.1f, 1e-4);  // max(0, 5.1 - 3.2 + 10) + max(0, -1.7 - 3.2 + 10)
}

TEST(Losses, SigmoidCrossEntropyIsElementwise) {
  Tensor x = f({-2, 0, 3}, {3}, f64), z = f({1, 0.5, 0}, {3}, f64);
  Tensor l = sigmoid_cross_entropy_with_logits(z, x);
  ASSERT_EQ(l.shape(), Shape{3});
  for (int i = 0; i < 3; ++i) {
    double xv = x.at<double>({i}), zv = z.at<double>({i});
    double sig = 1 / (1 + std::exp(-xv));
    EXPECT_NEAR(l.at<double>({i}), -(zv * std::log(sig) + (1 - zv) * std::log(1 - sig)), 1e-12);
  }
}

// The fused f32 kernels (vectorised exp, multi-threaded rows) against an f64 composite reference,
// at the two hot-path sizes.
TEST(Losses, FusedSparseXentMatchesReference) {
  for (auto [n, c] : {std::pair<int64_t, int64_t>{128, 10}, {1024, 1000}}) {
    Generator g(static_cast<uint64_t>(n + c));
    Tensor x = randn({n, c}, {.mean = 0, .stddev = 4, .generator = &g});
    x.requires_grad_(true);
    std::vector<int64_t> lab(n);
    for (int64_t i = 0; i < n; ++i) lab[i] = (i * 7919) % c;
    Tensor labels = ids(lab, {n});
    Tensor losses = sparse_categorical_crossentropy(labels, x, true);
    mean(losses).backward();

    Tensor x64 = cast(x.detach(), f64);
    Tensor onehot = one_hot(labels, c, f64);
    Tensor ref = logsumexp(x64, {-1}) - sum(x64 * onehot, {-1});
    Tensor ref_grad = (exp(x64 - logsumexp(x64, {-1}, true)) - onehot) / static_cast<double>(n);
    EXPECT_TRUE(all_close(losses, ref, 1e-5, 1e-6)) << n << "x" << c;
    // n * grad = softmax - onehot: float32 rounding of p near 1 is absolute (a few ulp of 1).
    EXPECT_TRUE(all_close(x.grad() * static_cast<double>(n), ref_grad * static_cast<double>(n), 1e-5, 3e-7))
        << n << "x" << c;

    Tensor sm = softmax(x.detach());
    EXPECT_TRUE(all_close(sm, exp(x64 - logsumexp(x64, {-1}, true)), 1e-5, 1e-10)) << n << "x" << c;
    EXPECT_TRUE(all_close(log_softmax(x.detach()), x64 - logsumexp(x64, {-1}, true), 1e-5, 1e-5)) << n << "x" << c;
  }
}

// ------------------------------------------------------------------ bad input

TEST(LossesBadInput, LabelOutOfRange) {
  Tensor x = zeros({2, 10});
  expect_error<ValueError>([&] { sparse_categorical_crossentropy(ids({3, 12}, {2}), x, true); },
                           {"sparse_categorical_crossentropy: label 12 is out of range for 10 classes"});
  expect_error<ValueError>([&] { sparse_categorical_crossentropy(ids({10, 0}, {2}), x); }, {"label 10", "10 classes"});
  expect_error<ValueError>([&] { multiclass_svm_loss(ids({0, 11}, {2}), x); }, {"multiclass_svm_loss", "11", "10"});
  expect_error<ValueError>([&] { sparse_softmax_cross_entropy_with_logits(f({1, 12}, {2}), x); },
                           {"sparse_softmax_cross_entropy_with_logits", "label 12", "10 classes"});
}

TEST(LossesBadInput, NegativeLabel) {
  expect_error<ValueError>([] { sparse_categorical_crossentropy(ids({-1, 2}, {2}), zeros({2, 5}), true); },
                           {"label -1", "5 classes"});
  expect_error<ValueError>([] { sparse_categorical_crossentropy(f({2, -3}, {2}), zeros({2, 5}), true); },
                           {"label -3", "5 classes"});
}

TEST(LossesBadInput, NonIntegralFloatLabel) {
  expect_error<ValueError>([] { sparse_categorical_crossentropy(f({2.5, 1}, {2}), zeros({2, 5}), true); },
                           {"label 2.5", "not an integer"});
  expect_error<ValueError>([] { sparse_categorical_crossentropy(f({NAN, 1}, {2}), zeros({2, 5}), true); },
                           {"nan", "not an integer"});
  expect_error<ValueError>([] { multiclass_svm_loss(f({INFINITY, 1}, {2}), zeros({2, 5})); }, {"inf"});
  expect_error<DTypeError>([] { sparse_categorical_crossentropy(zeros({2}, boolean), zeros({2, 5})); }, {"bool"});
}

TEST(LossesBadInput, MismatchedBatch) {
  expect_error<ShapeError>([] { sparse_categorical_crossentropy(ids({0, 1, 2, 3, 4}, {5}), zeros({6, 10}), true); },
                           {"sparse_categorical_crossentropy", "[5]", "[6,10]"});
  expect_error<ShapeError>([] { categorical_crossentropy(zeros({5, 10}), zeros({6, 10}), true); },
                           {"categorical_crossentropy", "[5,10]", "[6,10]"});
  expect_error<ShapeError>([] { binary_crossentropy(zeros({5, 3}), zeros({6, 3})); }, {"[5,3]", "[6,3]"});
  expect_error<ShapeError>([] { mean_squared_error(zeros({5}), zeros({5, 1})); }, {"mean_squared_error", "[5]", "[5,1]"});
  expect_error<ShapeError>([] { huber(zeros({4, 2}), zeros({2, 4})); }, {"huber", "[4,2]", "[2,4]"});
  expect_error<ShapeError>([] { sigmoid_cross_entropy_with_logits(zeros({3}), zeros({4})); }, {"[3]", "[4]"});
  expect_error<ShapeError>([] { multiclass_svm_loss(ids({0, 1}, {2}), zeros({3, 4})); }, {"[2]", "[3,4]"});
}

TEST(LossesBadInput, WrongClassCount) {
  expect_error<ShapeError>([] { categorical_crossentropy(zeros({6, 4}), zeros({6, 5}), true); },
                           {"categorical_crossentropy", "[6,4]", "[6,5]"});
  expect_error<ShapeError>([] { softmax_cross_entropy_with_logits(zeros({6, 4}), zeros({6, 5})); },
                           {"softmax_cross_entropy_with_logits", "[6,4]", "[6,5]"});
  expect_error<ShapeError>([] { categorical_crossentropy(zeros({6, 4}), ones({6, 5})); }, {"[6,4]", "[6,5]"});
  // Sparse labels given as one-hot rows: shape [6, 5] is not [6].
  expect_error<ShapeError>([] { sparse_categorical_crossentropy(zeros({6, 5}, i64), zeros({6, 5}), true); },
                           {"[6,5]", "expected labels of shape [6]"});
}

TEST(LossesBadInput, DtypesAndRanks) {
  expect_error<DTypeError>([] { sparse_categorical_crossentropy(ids({0}, {1}), zeros({1, 3}, i64), true); },
                           {"y_pred", "int64"});
  expect_error<DTypeError>([] { categorical_crossentropy(zeros({1, 3}), zeros({1, 3}, i32)); }, {"int32"});
  expect_error<DTypeError>([] { mean_squared_error(zeros({3}), zeros({3}, u8)); }, {"uint8"});
  expect_error<DTypeError>([] { multiclass_svm_loss(ids({0}, {1}), zeros({1, 3}, i64)); }, {"scores"});
  expect_error<ShapeError>([] { sparse_categorical_crossentropy(ids({0}, {}), scalar_tensor(1.0), true); }, {"rank"});
  expect_error<ShapeError>([] { mean_absolute_error(scalar_tensor(1.0), scalar_tensor(1.0)); }, {"rank"});
  expect_error<ValueError>([] { huber(zeros({3}), zeros({3}), 0.0); }, {"delta"});
  expect_error<ValueError>([] { huber(zeros({3}), zeros({3}), NAN); }, {"delta"});
  // Integer / mixed y_true is cast to y_pred's dtype (Keras).
  EXPECT_EQ(categorical_crossentropy(ids({0, 1, 0}, {1, 3}), f({0.2, 0.7, 0.1}, {1, 3}, f64)).dtype(), f64);
}
