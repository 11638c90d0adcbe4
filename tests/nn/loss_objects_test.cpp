// Keras loss objects: values on the Keras documentation examples (checked by hand, and with NumPy /
// PyTorch where noted), the three reductions, sample weights, label smoothing, get() and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ember/nn/losses.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using losses::Reduction;

Tensor t2(const std::vector<double>& v, const Shape& s) { return from_vector(v, s, f64); }

// The Keras docs' pair for the binary / hinge examples.
Tensor kt() { return t2({0, 1, 0, 0}, {2, 2}); }
Tensor kp() { return t2({0.6, 0.4, 0.4, 0.6}, {2, 2}); }

double value(const Tensor& t) { return t.item<double>(); }

// Checks SumOverBatchSize, Sum and None, and SumOverBatchSize with weights `w`, for a loss class.
template <typename L, typename O>
void expect_reductions(O opts, const Tensor& y_true, const Tensor& y_pred, const std::vector<double>& per_sample,
                       const std::vector<double>& w, double weighted, double tol = 1e-6) {
  double total = 0;
  for (double v : per_sample) total += v;
  opts.reduction = Reduction::SumOverBatchSize;
  EXPECT_NEAR(value(L(opts)(y_true, y_pred)), total / per_sample.size(), tol);
  opts.reduction = Reduction::Sum;
  EXPECT_NEAR(value(L(opts)(y_true, y_pred)), total, tol);
  opts.reduction = Reduction::None;
  Tensor none = L(opts)(y_true, y_pred);
  EXPECT_TRUE(testing::all_close(none, t2(per_sample, {static_cast<int64_t>(per_sample.size())}), 0, tol)) << none;
  opts.reduction = Reduction::SumOverBatchSize;
  EXPECT_NEAR(value(L(opts)(y_true, y_pred, t2(w, {static_cast<int64_t>(w.size())}))), weighted, tol);
}

TEST(LossObjects, MeanSquaredErrorKerasDoc) {
  Tensor yt = t2({0, 1, 0, 0}, {2, 2}), yp = t2({1, 1, 1, 0}, {2, 2});
  // per sample: mean([1, 0]) = 0.5, mean([1, 0]) = 0.5; weighted (0.5·0.7 + 0.5·0.3) / 2 = 0.25
  expect_reductions<losses::MeanSquaredError>(losses::LossOptions{}, yt, yp, {0.5, 0.5}, {0.7, 0.3}, 0.25);
  EXPECT_EQ(losses::MeanSquaredError().name(), "mean_squared_error");
}

TEST(LossObjects, MeanAbsoluteErrorKerasDoc) {
  Tensor yt = t2({0, 1, 0, 0}, {2, 2}), yp = t2({1, 1, 1, 0}, {2, 2});
  expect_reductions<losses::MeanAbsoluteError>(losses::LossOptions{}, yt, yp, {0.5, 0.5}, {0.7, 0.3}, 0.25);
  // Not the same numbers as MSE once errors are not 0/1: |−2|, |0.5| → 1.25 vs (4 + 0.25)/2.
  Tensor a = t2({0, 0}, {1, 2}), b = t2({-2, 0.5}, {1, 2});
  EXPECT_NEAR(value(losses::MeanAbsoluteError()(a, b)), 1.25, 1e-12);
  EXPECT_NEAR(value(losses::MeanSquaredError()(a, b)), 2.125, 1e-12);
}

TEST(LossObjects, HuberKerasDoc) {
  // errors 0.6, 0.6 → 0.18, 0.18; 0.4, 0.6 → 0.08, 0.18; mean 0.155; weights [1, 0] → 0.18 / 2 = 0.09.
  expect_reductions<losses::Huber>(losses::HuberOptions{}, kt(), kp(), {0.18, 0.13}, {1, 0}, 0.09);
  // delta 0.5: |e| = 0.6 is linear: 0.5·(0.6 − 0.25) = 0.175; 0.4 → 0.08. Rows 0.175, 0.1275.
  expect_reductions<losses::Huber>(losses::HuberOptions{.delta = 0.5}, kt(), kp(), {0.175, 0.1275}, {2, 1},
                                   (0.35 + 0.1275) / 2);
  EXPECT_EQ(losses::Huber().name(), "huber_loss");
  EXPECT_THROW(losses::Huber({.delta = 0}), ValueError);
}

TEST(LossObjects, BinaryCrossentropyKerasDoc) {
  // Keras doc: 0.815, weights [1, 0] → 0.458, sum 1.630, none [0.916, 0.714].
  // By hand: row 1 = −log 0.4 = 0.916291; row 2 = (−log 0.6 − log 0.4)/2 = 0.713558 (NumPy with the
  // ε = 1e-7 clip and log(p + ε): 0.91629048, 0.71355797).
  expect_reductions<losses::BinaryCrossentropy>(losses::BinaryCrossentropyOptions{}, kt(), kp(),
                                                {0.91629048, 0.71355797}, {1, 0}, 0.45814524);
}

TEST(LossObjects, BinaryCrossentropyFromLogitsKerasDoc) {
  // Keras doc: y_true [[0, 1], [0, 0]], logits [[-18.6, 0.51], [2.94, -12.8]] → 0.865
  // (torch binary_cross_entropy_with_logits: rows 0.23515666, 1.49575924, mean 0.86545795).
  Tensor x = t2({-18.6, 0.51, 2.94, -12.8}, {2, 2});
  expect_reductions<losses::BinaryCrossentropy>(losses::BinaryCrossentropyOptions{.from_logits = true}, kt(), x,
                                                {0.23515666, 1.49575924}, {0.5, 2}, (0.11757833 + 2.99151848) / 2);
}

TEST(LossObjects, BinaryCrossentropyLabelSmoothing) {
  // ε = 0.2: y := y·0.8 + 0.1, row 1 labels [0.1, 0.9] (NumPy: 0.87574398); row 2 [0.1, 0.1] is the
  // same as before only by symmetry of p: 0.71355797. Mean 0.79465097.
  losses::BinaryCrossentropy bce({.label_smoothing = 0.2});
  EXPECT_NEAR(value(bce(kt(), kp())), 0.79465097, 1e-6);
  losses::BinaryCrossentropy plain;
  EXPECT_GT(std::abs(value(bce(kt(), kp())) - value(plain(kt(), kp()))), 1e-2);
  EXPECT_THROW(losses::BinaryCrossentropy({.label_smoothing = 1.5}), ValueError);
  EXPECT_THROW(losses::BinaryCrossentropy({.label_smoothing = -0.1}), ValueError);
}

Tensor cce_true() { return t2({0, 1, 0, 0, 0, 1}, {2, 3}); }
Tensor cce_pred() { return t2({0.05, 0.95, 0, 0.1, 0.8, 0.1}, {2, 3}); }

TEST(LossObjects, CategoricalCrossentropyKerasDoc) {
  // Keras doc: 1.177; weights [0.3, 0.7] → 0.814; sum 2.354; none [0.0513, 2.303].
  // By hand: −log 0.95 = 0.0512933, −log 0.1 = 2.3025851.
  expect_reductions<losses::CategoricalCrossentropy>(losses::CategoricalCrossentropyOptions{}, cce_true(), cce_pred(),
                                                     {0.05129329, 2.30258509}, {0.3, 0.7}, 0.81359878);
}

TEST(LossObjects, CategoricalCrossentropyLabelSmoothing) {
  // ε = 0.1, C = 3: y := y·0.9 + 0.1/3 (NumPy with the Keras clip: rows 0.68500134, 2.23327037).
  losses::CategoricalCrossentropy cce({.label_smoothing = 0.1});
  EXPECT_TRUE(testing::all_close(losses::CategoricalCrossentropy({.label_smoothing = 0.1,
                                                                  .reduction = Reduction::None})(cce_true(), cce_pred()),
                                 t2({0.68500134, 2.23327037}, {2}), 1e-6, 1e-7));
  EXPECT_NEAR(value(cce(cce_true(), cce_pred())), 1.45913586, 1e-6);
  // From logits, smoothed (torch cross_entropy with the smoothed probabilities as target):
  // logits [[1, 2, 4], [0.5, -1, 2]] → see below.
  Tensor lg = t2({1, 2, 4, 0.5, -1, 2}, {2, 3});
  losses::CategoricalCrossentropy from_logits({.from_logits = true, .label_smoothing = 0.1, .reduction = Reduction::None});
  // Row r: logsumexp(x_r) − Σ_k y_k x_rk. Row 1: lse = 4.1698460, Σ y x = 0.9·2 + (1+2+4)/30 = 2.0333333
  // → 2.1365127. Row 2: lse = 2.2413113, Σ y x = 0.9·2 + (0.5 − 1 + 2)/30 = 1.85 → 0.3913113
  // (torch cross_entropy with probability targets: 2.136512686, 0.391311297).
  EXPECT_TRUE(testing::all_close(from_logits(cce_true(), lg), t2({2.136512686, 0.391311297}, {2}), 1e-7, 1e-8));
}

TEST(LossObjects, SparseCategoricalCrossentropyKerasDoc) {
  // Same predictions as the categorical example with labels [1, 2] → 1.177; also [N, 1] int32 labels
  // and float labels holding integers.
  Tensor labels = from_vector(std::vector<int64_t>{1, 2}, {2});
  expect_reductions<losses::SparseCategoricalCrossentropy>(losses::SparseCategoricalCrossentropyOptions{}, labels,
                                                           cce_pred(), {0.05129329, 2.30258509}, {0.3, 0.7},
                                                           0.81359878);
  losses::SparseCategoricalCrossentropy scce;
  EXPECT_NEAR(value(scce(from_vector(std::vector<int32_t>{1, 2}, {2, 1}), cce_pred())), 1.17693919, 1e-6);
  EXPECT_NEAR(value(scce(t2({1, 2}, {2}), cce_pred())), 1.17693919, 1e-6);
  // From logits (torch cross_entropy: 1.40760596, 0.24131130).
  Tensor lg = t2({1, 2, 3, 0.5, -1, 2}, {2, 3});
  EXPECT_NEAR(value(losses::SparseCategoricalCrossentropy({.from_logits = true})(labels, lg)), 0.82445863, 1e-6);
  EXPECT_THROW(scce(from_vector(std::vector<int64_t>{1, 3}, {2}), cce_pred()), ValueError);  // out of range
}

TEST(LossObjects, HingeKerasDoc) {
  // Keras doc: 0/1 labels become −1/1: rows mean(1.6, 0.6) = 1.1, mean(1.4, 1.6) = 1.5 → 1.3;
  // weights [1, 0] → 0.55; sum 2.6.
  expect_reductions<losses::Hinge>(losses::LossOptions{}, kt(), kp(), {1.1, 1.5}, {1, 0}, 0.55);
}

TEST(LossObjects, HingeConvertsOnlyBinaryLabels) {
  // −1/1 labels are used as they are; the same problem written with 0/1 labels gives the same value.
  // Rows: max(0, 1 + 0.3), max(0, 1 − 0.2) → 1.05; max(0, 1 − 2), max(0, 1 + 0.5) → 0.75. Mean 0.9.
  Tensor yp = t2({0.3, 0.2, 2, 0.5}, {2, 2});
  EXPECT_NEAR(value(losses::Hinge()(t2({-1, 1, 1, -1}, {2, 2}), yp)), 0.9, 1e-12);
  EXPECT_NEAR(value(losses::Hinge()(t2({0, 1, 1, 0}, {2, 2}), yp)), 0.9, 1e-12);
  // Labels 0/0.5 are not binary and stay unconverted: 1 − 0 = 1, 1 − 0.1 = 0.9 → 0.95.
  EXPECT_NEAR(value(losses::Hinge()(t2({0, 0.5}, {1, 2}), t2({0.3, 0.2}, {1, 2}))), 0.95, 1e-12);
}

TEST(LossObjects, SquaredHingeKerasDoc) {
  // Keras doc: rows mean(2.56, 0.36) = 1.46, mean(1.96, 2.56) = 2.26 → 1.86; weights [1, 0] → 0.73.
  expect_reductions<losses::SquaredHinge>(losses::LossOptions{}, kt(), kp(), {1.46, 2.26}, {1, 0}, 0.73);
}

TEST(LossObjects, CategoricalHingeKerasDoc) {
  // Keras doc: row 1 pos 0.4, neg max(0.6, 0) = 0.6 → 1.2; row 2 pos 0, neg 0.6 → 1.6; mean 1.4;
  // weights [1, 0] → 0.6.
  expect_reductions<losses::CategoricalHinge>(losses::LossOptions{}, kt(), kp(), {1.2, 1.6}, {1, 0}, 0.6);
  // A confident right answer costs 0: pos 3, neg 0.5 → max(0, 0.5 − 3 + 1) = 0.
  EXPECT_EQ(value(losses::CategoricalHinge()(t2({0, 1, 0}, {1, 3}), t2({0.5, 3, -1}, {1, 3}))), 0.0);
}

TEST(LossObjects, MulticlassSvmNotesExample) {
  // The CS231n notes' three examples: 2.9, 0, 12.9 (mean 5.2667).
  Tensor scores = t2({3.2, 5.1, -1.7, 1.3, 4.9, 2.0, 2.2, 2.5, -3.1}, {3, 3});
  Tensor labels = from_vector(std::vector<int64_t>{0, 1, 2}, {3});
  expect_reductions<losses::MulticlassSvm>(losses::MulticlassSvmOptions{}, labels, scores, {2.9, 0, 12.9},
                                           {1, 1, 0}, 2.9 / 3);
  // margin 2: 5.1 − 3.2 + 2 = 3.9; row 2 stays 0 (1.3 − 4.9 + 2 < 0, 2.0 − 4.9 + 2 < 0); 7.3 + 7.6 = 14.9.
  expect_reductions<losses::MulticlassSvm>(losses::MulticlassSvmOptions{.margin = 2}, labels, scores,
                                           {3.9, 0, 14.9}, {0, 0, 1}, 14.9 / 3);
}

TEST(LossObjects, SampleWeightShapes) {
  losses::MeanSquaredError mse;
  Tensor yt = t2({0, 1, 0, 0}, {2, 2}), yp = t2({1, 1, 1, 0}, {2, 2});
  EXPECT_NEAR(value(mse(yt, yp, t2({0.7, 0.3}, {2, 1}))), 0.25, 1e-12);         // [N, 1]
  EXPECT_NEAR(value(mse(yt, yp, scalar_tensor(2.0, f64))), 1.0, 1e-12);         // scalar
  EXPECT_NEAR(value(mse(yt, yp, from_vector(std::vector<int64_t>{1, 0}, {2}))), 0.25, 1e-12);  // integer weights
  // Keras divides by the batch size, not by Σw: weights [0, 0] give 0, weights [2, 2] double the loss.
  EXPECT_EQ(value(mse(yt, yp, t2({0, 0}, {2}))), 0.0);
  EXPECT_NEAR(value(mse(yt, yp, t2({2, 2}, {2}))), 1.0, 1e-12);
  // Per-sample values [N, T] (y_pred [N, T, C]) weighted per sample by [N]: rows 0, 1 of each sample.
  Tensor yt3 = zeros({2, 2, 1}, f64), yp3 = t2({0, 1, 0, 1}, {2, 2, 1});
  EXPECT_NEAR(value(mse(yt3, yp3, t2({1, 3}, {2}))), (0 + 1 + 0 + 3) / 4.0, 1e-12);
  EXPECT_THROW(mse(yt, yp, t2({1, 2, 3}, {3})), ShapeError);
  EXPECT_THROW(mse(yt, yp, t2({1, 2, 3, 4}, {2, 2})), ShapeError);  // per-sample values are [2]
  EXPECT_THROW(mse(yt, yp, t2({1, 2}, {1, 2})), ShapeError);
}

TEST(LossObjects, RankAlignmentAndBadInputs) {
  losses::MeanSquaredError mse({.reduction = Reduction::None});
  // Labels [N] against a [N, 1] output read as [N, 1]: one loss per sample.
  Tensor out = mse(t2({1, 2, 3}, {3}), t2({1, 0, 4}, {3, 1}));
  EXPECT_TRUE(testing::all_close(out, t2({0, 4, 1}, {3}))) << out;
  EXPECT_TRUE(testing::all_close(mse(t2({1, 2, 3}, {3, 1}), t2({1, 0, 4}, {3})), t2({0, 4, 1}, {3})));
  EXPECT_THROW(mse(t2({1, 2, 3}, {3}), t2({1, 2}, {2})), ShapeError);
  EXPECT_THROW(mse(t2({1, 2, 3, 4}, {2, 2}), t2({1, 2, 3, 4, 5, 6}, {2, 3})), ShapeError);
  EXPECT_THROW(mse(t2({1, 2}, {2}), from_vector(std::vector<int64_t>{1, 2}, {2})), DTypeError);
  EXPECT_THROW(mse(Tensor(), t2({1}, {1})), ValueError);
  EXPECT_THROW(losses::CategoricalCrossentropy()(t2({1, 0}, {1, 2}), t2({0.5, 0.2, 0.3}, {1, 3})), ShapeError);
  EXPECT_THROW(losses::SparseCategoricalCrossentropy()(t2({0, 1, 2}, {3}), cce_pred()), ShapeError);
  EXPECT_THROW(losses::SparseCategoricalCrossentropy()(t2({0.5, 1}, {2}), cce_pred()), ValueError);
  // Integer y_true is cast to y_pred's dtype, as Keras does; f32 in gives f32 out.
  Tensor l = losses::MeanSquaredError()(from_vector(std::vector<int32_t>{0, 1}, {1, 2}),
                                        from_vector(std::vector<float>{1, 1}, {1, 2}));
  EXPECT_EQ(l.dtype(), f32);
  EXPECT_FLOAT_EQ(l.item<float>(), 0.5f);
}

TEST(LossObjects, EmptyBatchGivesZero) {
  Tensor l = losses::MeanSquaredError()(zeros({0, 3}, f64), zeros({0, 3}, f64));
  EXPECT_EQ(l.item<double>(), 0.0);
}

TEST(LossObjects, GradientFlowsThroughWeightsAndReduction) {
  // d/dp of Σ_i w_i mean_j (p_ij − y_ij)² / N = w_i · 2 (p_ij − y_ij) / (C·N): p = [[1, 1], [1, 0]],
  // y = [[0, 1], [0, 0]], w = [0.7, 0.3], N = C = 2 → [[0.35, 0], [0.15, 0]].
  Tensor p = t2({1, 1, 1, 0}, {2, 2}).requires_grad_();
  Tensor l = losses::MeanSquaredError()(t2({0, 1, 0, 0}, {2, 2}), p, t2({0.7, 0.3}, {2}));
  l.backward();
  EXPECT_TRUE(testing::all_close(p.grad(), t2({0.35, 0, 0.15, 0}, {2, 2}), 0, 1e-12)) << p.grad();
}

TEST(LossObjects, FactoryAndConfig) {
  struct Case {
    const char* id;
    const char* cls;
    const char* name;
  };
  for (const Case& c : {Case{"mse", "MeanSquaredError", "mean_squared_error"},
                        Case{"mean_squared_error", "MeanSquaredError", "mean_squared_error"},
                        Case{"mae", "MeanAbsoluteError", "mean_absolute_error"},
                        Case{"mean_absolute_error", "MeanAbsoluteError", "mean_absolute_error"},
                        Case{"huber", "Huber", "huber_loss"},
                        Case{"binary_crossentropy", "BinaryCrossentropy", "binary_crossentropy"},
                        Case{"categorical_crossentropy", "CategoricalCrossentropy", "categorical_crossentropy"},
                        Case{"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
                             "sparse_categorical_crossentropy"},
                        Case{"hinge", "Hinge", "hinge"},
                        Case{"squared_hinge", "SquaredHinge", "squared_hinge"},
                        Case{"categorical_hinge", "CategoricalHinge", "categorical_hinge"}}) {
    losses::LossPtr l = losses::get(c.id);
    ASSERT_TRUE(l) << c.id;
    EXPECT_EQ(l->class_name(), c.cls) << c.id;
    EXPECT_EQ(l->name(), c.name) << c.id;
    EXPECT_EQ(l->reduction, Reduction::SumOverBatchSize) << c.id;
  }
  try {
    losses::get("mean_sqaured_error");
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("mean_sqaured_error"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("sparse_categorical_crossentropy"), std::string::npos);
  }
  nlohmann::json j = losses::BinaryCrossentropy({.from_logits = true, .label_smoothing = 0.1,
                                                 .reduction = Reduction::Sum})
                         .get_config_json();
  EXPECT_EQ(j["class_name"], "BinaryCrossentropy");
  EXPECT_EQ(j["config"]["name"], "binary_crossentropy");
  EXPECT_EQ(j["config"]["reduction"], "sum");
  EXPECT_EQ(j["config"]["from_logits"], true);
  EXPECT_DOUBLE_EQ(j["config"]["label_smoothing"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(losses::Huber({.delta = 2}).get_config()["delta"].get<double>(), 2.0);
  EXPECT_EQ(losses::MeanSquaredError({.name = "my_loss"}).name(), "my_loss");
  EXPECT_EQ(losses::reduction_from_name("auto"), Reduction::SumOverBatchSize);
  EXPECT_EQ(losses::reduction_from_name("none"), Reduction::None);
  EXPECT_THROW(losses::reduction_from_name("mean"), ValueError);
  // The DESIGN.md spelling.
  losses::SparseCategoricalCrossentropy design({.from_logits = true});
  EXPECT_TRUE(design.from_logits());
}

}  // namespace
}  // namespace ember
