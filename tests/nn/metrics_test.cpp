// Streaming metrics: Keras documentation examples (checked by hand), streaming over batches vs the
// concatenation and vs plain-loop references, reset_state, "accuracy" resolution, precision/recall on
// a hand-made confusion matrix, top-k with ties, label dtypes and bad input.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/nn/losses.hpp"
#include "ember/nn/metrics.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

Tensor t2(const std::vector<double>& v, const Shape& s) { return from_vector(v, s, f64); }

// ------------------------------------------------------------------ Keras documentation examples

TEST(Metrics, BinaryAccuracyKerasDoc) {
  // Keras doc: [[1], [1], [0], [0]] vs [[0.98], [1], [0], [0.6]] → 0.75; weights [1, 0, 0, 1] → 0.5.
  Tensor yt = t2({1, 1, 0, 0}, {4, 1}), yp = t2({0.98, 1, 0, 0.6}, {4, 1});
  metrics::BinaryAccuracy m;
  m.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(m.result(), 0.75);
  m.reset_state();
  m.update_state(yt, yp, t2({1, 0, 0, 1}, {4}));
  EXPECT_DOUBLE_EQ(m.result(), 0.5);
  // Threshold 0.7 turns 0.6 into a correct 0; labels [N] against [N, 1] outputs.
  metrics::BinaryAccuracy strict({.threshold = 0.7});
  strict.update_state(t2({1, 1, 0, 0}, {4}), yp);
  EXPECT_DOUBLE_EQ(strict.result(), 1.0);
  EXPECT_EQ(m.name(), "binary_accuracy");
}

TEST(Metrics, CategoricalAccuracyKerasDoc) {
  // Keras doc: [[0, 0, 1], [0, 1, 0]] vs [[0.1, 0.9, 0.8], [0.05, 0.95, 0]] → 0.5; weights [0.7, 0.3] → 0.3.
  Tensor yt = t2({0, 0, 1, 0, 1, 0}, {2, 3}), yp = t2({0.1, 0.9, 0.8, 0.05, 0.95, 0}, {2, 3});
  metrics::CategoricalAccuracy m;
  m.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(m.result(), 0.5);
  m.reset_state();
  m.update_state(yt, yp, t2({0.7, 0.3}, {2}));
  EXPECT_NEAR(m.result(), 0.3, 1e-12);
  EXPECT_THROW(m.update_state(t2({1, 2}, {2}), yp), ShapeError);
}

TEST(Metrics, SparseCategoricalAccuracyKerasDocAndLabelDtypes) {
  // Keras doc: [[2], [1]] vs [[0.1, 0.6, 0.3], [0.05, 0.95, 0]] → 0.5; weights [0.7, 0.3] → 0.3.
  Tensor yp = t2({0.1, 0.6, 0.3, 0.05, 0.95, 0}, {2, 3});
  const std::vector<Tensor> label_forms = {
      t2({2, 1}, {2, 1}),
      t2({2, 1}, {2}),
      from_vector(std::vector<int64_t>{2, 1}, {2}),
      from_vector(std::vector<int32_t>{2, 1}, {2, 1}),
      from_vector(std::vector<uint8_t>{2, 1}, {2}),
      from_vector(std::vector<float>{2, 1}, {2, 1}),
  };
  for (const Tensor& labels : label_forms) {
    metrics::SparseCategoricalAccuracy m;
    m.update_state(labels, yp);
    EXPECT_DOUBLE_EQ(m.result(), 0.5) << labels;
    m.reset_state();
    m.update_state(labels, yp, t2({0.7, 0.3}, {2}));
    EXPECT_NEAR(m.result(), 0.3, 1e-12) << labels;
  }
  // Logits give the same argmax as probabilities; f32 predictions work too.
  metrics::SparseCategoricalAccuracy m;
  m.update_state(from_vector(std::vector<int64_t>{2, 1}, {2}), t2({-3, 2, 1, -1, 4, -2}, {2, 3}));
  m.update_state(from_vector(std::vector<int64_t>{0}, {1}), from_vector(std::vector<float>{5, 1, 2}, {1, 3}));
  EXPECT_NEAR(m.result(), 2.0 / 3, 1e-12);
  EXPECT_THROW(m.update_state(t2({1, 2, 0}, {3}), yp), ShapeError);
}

TEST(Metrics, TopKKerasDocAndTies) {
  // Keras doc (k = 1): [[0, 0, 1], [0, 1, 0]] vs [[0.1, 0.9, 0.8], [0.05, 0.95, 0]] → 0.5.
  Tensor yt = t2({0, 0, 1, 0, 1, 0}, {2, 3}), yp = t2({0.1, 0.9, 0.8, 0.05, 0.95, 0}, {2, 3});
  metrics::TopKCategoricalAccuracy top1({.k = 1});
  top1.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(top1.result(), 0.5);
  metrics::TopKCategoricalAccuracy top2({.k = 2});
  top2.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(top2.result(), 1.0);
  metrics::SparseTopKCategoricalAccuracy sparse1({.k = 1});
  sparse1.update_state(from_vector(std::vector<int64_t>{2, 1}, {2}), yp);
  EXPECT_DOUBLE_EQ(sparse1.result(), 0.5);
  // in_top_k counts ties at the boundary as hits: target 2 of [0.3, 0.3, 0.3, 0.1] is top-1;
  // target 3 is not top-3 (three classes score higher); target 0 of [0.2, 0.5, 0.4, 0.9] is rank 4.
  Tensor scores = t2({0.3, 0.3, 0.3, 0.1, 0.3, 0.3, 0.3, 0.1, 0.2, 0.5, 0.4, 0.9}, {3, 4});
  Tensor labels = from_vector(std::vector<int64_t>{2, 3, 0}, {3});
  EXPECT_TRUE(testing::all_close(metrics::sparse_top_k_categorical_accuracy(labels, scores, 1), t2({1, 0, 0}, {3})));
  EXPECT_TRUE(testing::all_close(metrics::sparse_top_k_categorical_accuracy(labels, scores, 3), t2({1, 0, 0}, {3})));
  EXPECT_TRUE(testing::all_close(metrics::sparse_top_k_categorical_accuracy(labels, scores, 4), t2({1, 1, 1}, {3})));
  // Out-of-range labels and NaN target scores are misses, not errors.
  EXPECT_TRUE(testing::all_close(
      metrics::sparse_top_k_categorical_accuracy(from_vector(std::vector<int64_t>{7, -1}, {2}), t2({1, 2, 3, 4}, {2, 2}), 2),
      t2({0, 0}, {2})));
  EXPECT_EQ(metrics::sparse_top_k_categorical_accuracy(from_vector(std::vector<int64_t>{0}, {1}),
                                                       t2({std::nan(""), 1}, {1, 2}), 2)
                .item<double>(),
            0.0);
  EXPECT_THROW(metrics::TopKCategoricalAccuracy({.k = 0}), ValueError);
  EXPECT_EQ(metrics::TopKCategoricalAccuracy().k(), 5);
}

TEST(Metrics, MeanSquaredAndAbsoluteErrorKerasDoc) {
  // Keras doc: [[0, 1], [0, 0]] vs [[1, 1], [0, 0]] → 0.25; weights [1, 0] → 0.5.
  Tensor yt = t2({0, 1, 0, 0}, {2, 2}), yp = t2({1, 1, 0, 0}, {2, 2});
  metrics::MeanSquaredError mse;
  mse.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(mse.result(), 0.25);
  mse.reset_state();
  mse.update_state(yt, yp, t2({1, 0}, {2}));
  EXPECT_DOUBLE_EQ(mse.result(), 0.5);
  // MAE differs from MSE once |e| != 1: errors 2, 0.5 → MAE 1.25, MSE 2.125 (one sample of 2 values).
  metrics::MeanAbsoluteError mae;
  mae.update_state(t2({0, 0}, {1, 2}), t2({2, -0.5}, {1, 2}));
  EXPECT_DOUBLE_EQ(mae.result(), 1.25);
  // A rank-1 batch is one value per sample: [1, 2] vs [0, 0] then [3] vs [0] → (1 + 4 + 9) / 3.
  metrics::MeanSquaredError per_sample;
  per_sample.update_state(t2({1, 2}, {2}), t2({0, 0}, {2}));
  per_sample.update_state(t2({3}, {1}), t2({0}, {1}));
  EXPECT_NEAR(per_sample.result(), 14.0 / 3, 1e-12);
}

TEST(Metrics, MeanOfValues) {
  metrics::Mean m;
  EXPECT_EQ(m.result(), 0.0);  // nothing seen: 0, like divide_no_nan
  m.update_values(t2({1, 3, 5, 7}, {4}));
  EXPECT_DOUBLE_EQ(m.result(), 4.0);
  m.reset_state();
  m.update_values(t2({1, 3, 5, 7}, {4}), t2({1, 1, 0, 0}, {4}));
  EXPECT_DOUBLE_EQ(m.result(), 2.0);
  m.update_values(from_vector(std::vector<int64_t>{10}, {1}));  // integer values, weight 1 each
  EXPECT_DOUBLE_EQ(m.total(), 14.0);
  EXPECT_DOUBLE_EQ(m.count(), 3.0);
  m.update_state(Tensor(), scalar_tensor(2.0, f64));  // Mean: y_pred holds the values
  EXPECT_DOUBLE_EQ(m.result(), 4.0);
  EXPECT_THROW(m.update_values(t2({1, 2}, {2}), t2({1, 2, 3}, {3})), ShapeError);
}

// ------------------------------------------------------------------ precision and recall

TEST(Metrics, PrecisionRecallConfusionMatrix) {
  // Decision y_pred > 0.5 (0.5 itself is negative):
  //   y_true  1    1    1    0    0    0    1    0    1
  //   y_pred  0.9  0.6  0.3  0.7  0.2  0.1  0.8  0.5  0.4
  //           TP   TP   FN   FP   TN   TN   TP   TN   FN      → TP 3, FP 1, FN 2, TN 3
  Tensor yt = t2({1, 1, 1, 0, 0, 0, 1, 0, 1}, {9, 1});
  Tensor yp = t2({0.9, 0.6, 0.3, 0.7, 0.2, 0.1, 0.8, 0.5, 0.4}, {9, 1});
  metrics::Precision p;
  metrics::Recall r;
  p.update_state(yt, yp);
  r.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(p.true_positives(), 3);
  EXPECT_DOUBLE_EQ(p.false_positives(), 1);
  EXPECT_DOUBLE_EQ(r.false_negatives(), 2);
  EXPECT_DOUBLE_EQ(p.result(), 0.75);
  EXPECT_DOUBLE_EQ(r.result(), 0.6);
  // Weights [1, 2, 1, 3, 1, 1, 1, 1, 0.5]: TP 1 + 2 + 1 = 4, FP 3, FN 1 + 0.5 = 1.5.
  Tensor w = t2({1, 2, 1, 3, 1, 1, 1, 1, 0.5}, {9});
  p.reset_state();
  r.reset_state();
  p.update_state(yt, yp, w);
  r.update_state(yt, yp, w);
  EXPECT_DOUBLE_EQ(p.result(), 4.0 / 7);
  EXPECT_DOUBLE_EQ(r.result(), 4.0 / 5.5);
  // Threshold 0.75: positives only 0.9 and 0.8 → precision 1, recall 2/5.
  metrics::Precision p75({.threshold = 0.75});
  metrics::Recall r75({.threshold = 0.75});
  p75.update_state(yt, yp);
  r75.update_state(yt, yp);
  EXPECT_DOUBLE_EQ(p75.result(), 1.0);
  EXPECT_DOUBLE_EQ(r75.result(), 0.4);
  // No predicted / no actual positives: 0, not NaN.
  metrics::Precision none_p;
  metrics::Recall none_r;
  none_p.update_state(t2({1, 0}, {2}), t2({0.1, 0.2}, {2}));
  none_r.update_state(t2({0, 0}, {2}), t2({0.9, 0.2}, {2}));
  EXPECT_EQ(none_p.result(), 0.0);
  EXPECT_EQ(none_r.result(), 0.0);
  EXPECT_THROW(p.update_state(t2({1, 0, 1}, {3}), t2({0.1, 0.2}, {2})), ShapeError);
}

// ------------------------------------------------------------------ streaming vs concatenation vs loops

struct Data {
  Tensor onehot, labels, probs, binary_true, binary_pred, weights, reg_true, reg_pred;
};

Data make_data(int64_t n, uint64_t seed) {
  const int64_t c = 6;
  Data d;
  d.probs = testing::random_f64({n, c}, seed);  // logits-like scores in [−1, 1)
  std::vector<int64_t> lab(n);
  Tensor u = testing::random_f64({n}, seed + 1, 0, static_cast<double>(c));
  std::vector<double> uv = u.to_vector<double>();
  for (int64_t i = 0; i < n; ++i) lab[i] = static_cast<int64_t>(uv[i]);
  // Make about half the rows correct, so accuracies are far from 0 and 1.
  std::vector<double> pv = d.probs.to_vector<double>();
  for (int64_t i = 0; i < n; i += 2) pv[i * c + lab[i]] = 2.0;
  d.probs = from_vector(pv, {n, c}, f64);
  d.labels = from_vector(lab, {n});
  d.onehot = one_hot(d.labels, c, f64);
  d.binary_true = cast(greater(testing::random_f64({n, 1}, seed + 2), zeros({}, f64)), f64);
  d.binary_pred = testing::random_f64({n, 1}, seed + 3, 0, 1);
  d.weights = testing::random_f64({n}, seed + 4, 0, 2);
  d.reg_true = testing::random_f64({n, 3}, seed + 5);
  d.reg_pred = testing::random_f64({n, 3}, seed + 6);
  return d;
}

// Plain-loop references over the whole data set (weighted when `w` is given).
double ref_sparse_acc(const Data& d, bool weighted) {
  const int64_t n = d.labels.numel(), c = d.probs.size(-1);
  auto p = d.probs.to_vector<double>();
  auto l = d.labels.to_vector<int64_t>();
  auto w = d.weights.to_vector<double>();
  double tot = 0, cnt = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < c; ++j)
      if (p[i * c + j] > p[i * c + best]) best = j;
    const double wi = weighted ? w[i] : 1.0;
    tot += wi * (best == l[i]);
    cnt += wi;
  }
  return tot / cnt;
}

double ref_top_k(const Data& d, int64_t k) {
  const int64_t n = d.labels.numel(), c = d.probs.size(-1);
  auto p = d.probs.to_vector<double>();
  auto l = d.labels.to_vector<int64_t>();
  double hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t higher = 0;
    for (int64_t j = 0; j < c; ++j) higher += p[i * c + j] > p[i * c + l[i]];
    hits += higher < k;
  }
  return hits / n;
}

double ref_binary(const Data& d, bool weighted, int which) {  // 0 accuracy, 1 precision, 2 recall
  auto t = d.binary_true.to_vector<double>();
  auto p = d.binary_pred.to_vector<double>();
  auto w = d.weights.to_vector<double>();
  double ok = 0, cnt = 0, tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const double wi = weighted ? w[i] : 1.0;
    const bool pred = p[i] > 0.5, act = t[i] != 0;
    ok += wi * (pred == act);
    cnt += wi;
    tp += wi * (pred && act);
    fp += wi * (pred && !act);
    fn += wi * (!pred && act);
  }
  return which == 0 ? ok / cnt : which == 1 ? tp / (tp + fp) : tp / (tp + fn);
}

double ref_mse(const Data& d, bool weighted) {
  auto t = d.reg_true.to_vector<double>();
  auto p = d.reg_pred.to_vector<double>();
  auto w = d.weights.to_vector<double>();
  double tot = 0, cnt = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    double s = 0;
    for (int j = 0; j < 3; ++j) s += (p[i * 3 + j] - t[i * 3 + j]) * (p[i * 3 + j] - t[i * 3 + j]);
    const double wi = weighted ? w[i] : 1.0;
    tot += wi * s / 3;
    cnt += wi;
  }
  return tot / cnt;
}

struct StreamCase {
  std::string what;
  std::function<metrics::MetricPtr()> make;
  std::function<std::pair<Tensor, Tensor>(const Data&)> pick;  // y_true, y_pred
  std::function<double(const Data&, bool)> reference;
};

std::vector<StreamCase> stream_cases() {
  auto dense = [](const Data& d) { return std::make_pair(d.onehot, d.probs); };
  auto sparse = [](const Data& d) { return std::make_pair(d.labels, d.probs); };
  auto binary = [](const Data& d) { return std::make_pair(d.binary_true, d.binary_pred); };
  auto reg = [](const Data& d) { return std::make_pair(d.reg_true, d.reg_pred); };
  return {
      {"categorical_accuracy", [] { return std::make_shared<metrics::CategoricalAccuracy>(); }, dense, ref_sparse_acc},
      {"sparse_categorical_accuracy", [] { return std::make_shared<metrics::SparseCategoricalAccuracy>(); }, sparse,
       ref_sparse_acc},
      {"top_k(3)",
       [] { return std::make_shared<metrics::TopKCategoricalAccuracy>(metrics::TopKCategoricalAccuracyOptions{.k = 3}); },
       dense, [](const Data& d, bool) { return ref_top_k(d, 3); }},
      {"sparse_top_k(2)",
       [] {
         return std::make_shared<metrics::SparseTopKCategoricalAccuracy>(
             metrics::SparseTopKCategoricalAccuracyOptions{.k = 2});
       },
       sparse, [](const Data& d, bool) { return ref_top_k(d, 2); }},
      {"binary_accuracy", [] { return std::make_shared<metrics::BinaryAccuracy>(); }, binary,
       [](const Data& d, bool w) { return ref_binary(d, w, 0); }},
      {"precision", [] { return std::make_shared<metrics::Precision>(); }, binary,
       [](const Data& d, bool w) { return ref_binary(d, w, 1); }},
      {"recall", [] { return std::make_shared<metrics::Recall>(); }, binary,
       [](const Data& d, bool w) { return ref_binary(d, w, 2); }},
      {"mse", [] { return std::make_shared<metrics::MeanSquaredError>(); }, reg, ref_mse},
  };
}

TEST(Metrics, StreamingEqualsConcatenationAndLoops) {
  const Data all = make_data(23, 100);
  const std::vector<std::pair<int64_t, int64_t>> batches = {{0, 10}, {10, 20}, {20, 23}};
  for (const StreamCase& c : stream_cases()) {
    for (bool weighted : {false, true}) {
      const bool top_k = c.what.find("top_k") != std::string::npos;
      if (weighted && top_k) continue;  // the top-k references are unweighted
      metrics::MetricPtr streamed = c.make(), whole = c.make();
      for (auto [lo, hi] : batches) {
        auto [yt, yp] = c.pick(all);
        Tensor w = weighted ? all.weights.slice(0, lo, hi) : Tensor();
        streamed->update_state(yt.slice(0, lo, hi), yp.slice(0, lo, hi), w);
      }
      auto [yt, yp] = c.pick(all);
      whole->update_state(yt, yp, weighted ? all.weights : Tensor());
      const double expected = c.reference(all, weighted);
      EXPECT_NEAR(streamed->result(), whole->result(), 1e-12) << c.what << " weighted=" << weighted;
      EXPECT_NEAR(whole->result(), expected, 1e-12) << c.what << " weighted=" << weighted;
      EXPECT_GT(expected, 0.05) << c.what;  // the data are not degenerate
      EXPECT_LT(expected, c.what == "mse" ? 10.0 : 0.95) << c.what;
      // reset_state forgets everything; the next batch alone decides.
      streamed->reset_state();
      EXPECT_EQ(streamed->result(), 0.0) << c.what;
      streamed->update_state(yt.slice(0, 20, 23), yp.slice(0, 20, 23));
      metrics::MetricPtr fresh = c.make();
      fresh->update_state(yt.slice(0, 20, 23), yp.slice(0, 20, 23));
      EXPECT_EQ(streamed->result(), fresh->result()) << c.what;
    }
  }
}

TEST(Metrics, UpdatesRecordNoAutograd) {
  Tensor yp = testing::random_f64({4, 3}, 7).requires_grad_();
  metrics::CategoricalAccuracy acc;
  metrics::MeanSquaredError mse;
  acc.update_state(one_hot(from_vector(std::vector<int64_t>{0, 1, 2, 0}, {4}), 3, f64), yp);
  mse.update_state(zeros({4, 3}, f64), yp);
  EXPECT_TRUE(autograd::grad_enabled());
  EXPECT_FALSE(yp.grad().defined());
}

// ------------------------------------------------------------------ "accuracy"

TEST(Metrics, ResolveAccuracyTable) {
  struct Row {
    Shape y_true, y_pred;
    const char* expected;
  };
  for (const Row& r : {Row{{32, 1}, {32, 1}, "binary_accuracy"},             // sigmoid output
                       Row{{32}, {32, 1}, "binary_accuracy"},                // labels vector, one unit
                       Row{{32}, {32, 10}, "sparse_categorical_accuracy"},   // class ids
                       Row{{32, 1}, {32, 10}, "sparse_categorical_accuracy"},
                       Row{{8, 5}, {8, 5, 10}, "sparse_categorical_accuracy"},  // per time step
                       Row{{32, 10}, {32, 10}, "categorical_accuracy"},      // one-hot
                       Row{{32, 4}, {32, 4}, "categorical_accuracy"}}) {
    EXPECT_EQ(metrics::resolve_accuracy(r.y_true, r.y_pred), r.expected)
        << to_string(r.y_true) << " " << to_string(r.y_pred);
  }
  EXPECT_THROW(metrics::resolve_accuracy({}, {3}), ShapeError);
}

TEST(Metrics, AccuracyFromLossAndShapes) {
  const losses::BinaryCrossentropy bce;
  const losses::BinaryCrossentropy bce_logits({.from_logits = true});
  const losses::SparseCategoricalCrossentropy scce({.from_logits = true});
  const losses::CategoricalCrossentropy cce;
  EXPECT_EQ(metrics::get("accuracy", &bce)->class_name(), "BinaryAccuracy");
  EXPECT_EQ(metrics::get("accuracy", &scce)->class_name(), "SparseCategoricalAccuracy");
  EXPECT_EQ(metrics::get("accuracy", &cce)->class_name(), "CategoricalAccuracy");
  EXPECT_EQ(metrics::get("acc", &cce)->name(), "acc");
  EXPECT_EQ(metrics::get("accuracy", &scce)->name(), "accuracy");  // Keras keeps the name "accuracy"
  // With logits the binary threshold is 0: logits [2, −1, 0.3] for labels [1, 0, 0] → 2 of 3.
  auto from_logits = metrics::get("accuracy", &bce_logits);
  from_logits->update_state(t2({1, 0, 0}, {3, 1}), t2({2, -1, 0.3}, {3, 1}));
  EXPECT_NEAR(from_logits->result(), 2.0 / 3, 1e-12);

  // No loss (or one that does not decide): the shapes of the first batch decide, and the name stays.
  const losses::MeanSquaredError mse;
  for (const losses::Loss* loss : {static_cast<const losses::Loss*>(nullptr), static_cast<const losses::Loss*>(&mse)}) {
    auto acc = metrics::get("accuracy", loss);
    auto* lazy = dynamic_cast<metrics::Accuracy*>(acc.get());
    ASSERT_NE(lazy, nullptr);
    EXPECT_EQ(lazy->resolved(), "");
    acc->update_state(from_vector(std::vector<int32_t>{2, 1}, {2}), t2({0.1, 0.6, 0.3, 0.05, 0.95, 0}, {2, 3}));
    EXPECT_EQ(lazy->resolved(), "sparse_categorical_accuracy");
    EXPECT_EQ(acc->class_name(), "SparseCategoricalAccuracy");
    EXPECT_EQ(acc->name(), "accuracy");
    EXPECT_DOUBLE_EQ(acc->result(), 0.5);
    acc->reset_state();
    EXPECT_EQ(acc->result(), 0.0);
    EXPECT_EQ(lazy->resolved(), "sparse_categorical_accuracy");
  }
  auto bin = metrics::get("accuracy");
  bin->update_state(t2({1, 1, 0, 0}, {4, 1}), t2({0.98, 1, 0, 0.6}, {4, 1}));
  EXPECT_DOUBLE_EQ(bin->result(), 0.75);
  auto cat = metrics::get("acc");
  cat->update_state(t2({0, 0, 1, 0, 1, 0}, {2, 3}), t2({0.1, 0.9, 0.8, 0.05, 0.95, 0}, {2, 3}));
  EXPECT_EQ(cat->class_name(), "CategoricalAccuracy");
  EXPECT_DOUBLE_EQ(cat->result(), 0.5);
}

TEST(Metrics, FactoryNames) {
  struct Row {
    const char* id;
    const char* cls;
  };
  for (const Row& r : {Row{"binary_accuracy", "BinaryAccuracy"}, Row{"categorical_accuracy", "CategoricalAccuracy"},
                       Row{"sparse_categorical_accuracy", "SparseCategoricalAccuracy"},
                       Row{"top_k_categorical_accuracy", "TopKCategoricalAccuracy"},
                       Row{"sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"},
                       Row{"mse", "MeanSquaredError"}, Row{"mean_squared_error", "MeanSquaredError"},
                       Row{"mae", "MeanAbsoluteError"}, Row{"mean_absolute_error", "MeanAbsoluteError"},
                       Row{"precision", "Precision"}, Row{"recall", "Recall"}, Row{"mean", "Mean"}}) {
    metrics::MetricPtr m = metrics::get(r.id);
    ASSERT_TRUE(m) << r.id;
    EXPECT_EQ(m->class_name(), r.cls) << r.id;
    EXPECT_EQ(m->name(), r.id) << r.id;  // Keras reports the identifier as given ("mse" stays "mse")
  }
  try {
    metrics::get("accuarcy");
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("accuarcy"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("sparse_categorical_accuracy"), std::string::npos);
  }
  EXPECT_EQ(metrics::CategoricalAccuracy().name(), "categorical_accuracy");
  EXPECT_EQ(metrics::MeanSquaredError().name(), "mean_squared_error");
}

}  // namespace
}  // namespace ember
