// Losses. The softmax cross-entropies from logits run the fused row kernels and record their own
// backward (the training hot path); everything else is a composite of primitive ops.
#include "ember/ops/losses.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/softmax.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "op_support.hpp"

namespace ember {

using autograd::record;
using autograd::saved;
using autograd::Gradients;
namespace kc = kernels::cpu;
using namespace ops_detail;

namespace {

// ------------------------------------------------------------------ validation

void check_prediction(const char* op, const char* what, const Tensor& y_pred) {
  require_floating(op, y_pred, what);
  if (y_pred.dim() == 0) {
    throw ShapeError(std::string(op) + ": " + what + " must have a class/feature axis (rank >= 1), got shape []");
  }
}

void check_same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
  if (a.shape() != b.shape()) {
    throw ShapeError(std::string(op) + ": " + a_name + " shape " + to_string(a.shape()) + " does not match " + b_name +
                     " shape " + to_string(b.shape()));
  }
}

// y_true checked against y_pred and cast to its dtype (Keras casts y_true to y_pred.dtype).
Tensor prepared_targets(const char* op, const char* true_name, const Tensor& y_true, const char* pred_name,
                        const Tensor& y_pred) {
  check_prediction(op, pred_name, y_pred);
  check_same_shape(op, true_name, y_true, pred_name, y_pred);
  return y_true.dtype() == y_pred.dtype() ? y_true : cast(y_true, y_pred.dtype());
}

std::string format_label(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9.0e18) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

struct SparseLabels {
  Tensor idx;        // int64, contiguous, one per row, in [0, classes)
  Shape batch_shape;                                 // y_pred.shape[:-1]
  int64_t classes = 0;
};

// Integer class ids for `y_pred` [N..., C]: shape, dtype and range checked.
SparseLabels validated_labels(const char* op, const Tensor& labels, const Tensor& y_pred) {
  SparseLabels out;
  out.batch_shape = Shape(y_pred.shape().begin(), y_pred.shape().end() - 1);
  out.classes = y_pred.shape().back();
  Shape with_unit = out.batch_shape;
  with_unit.push_back(1);
  if (labels.shape() != out.batch_shape && labels.shape() != with_unit) {
    throw ShapeError(std::string(op) + ": labels shape " + to_string(labels.shape()) + " does not match y_pred shape " +
                     to_string(y_pred.shape()) + " (expected labels of shape " + to_string(out.batch_shape) + ")");
  }
  if (labels.dtype() == DType::b8) {
    throw DTypeError(std::string(op) + ": labels must be integer class ids, got dtype bool");
  }
  auto range_error = [&](const std::string& v) {
    return ValueError(std::string(op) + ": label " + v + " is out of range for " + std::to_string(out.classes) +
                      " classes");
  };
  if (is_floating(labels.dtype())) {
    Tensor v = contiguous(labels.to(DType::f64));
    const double* pv = v.data<double>();
    for (int64_t k = 0; k < v.numel(); ++k) {
      const double d = pv[k];
      if (!std::isfinite(d) || d != std::floor(d)) {
        throw ValueError(std::string(op) + ": label " + format_label(d) + " is not an integer class id");
      }
      if (d < 0 || d >= static_cast<double>(out.classes)) throw range_error(format_label(d));
    }
    out.idx = v.to(DType::i64);
  } else {
    out.idx = read_indices(labels);
    const int64_t* pi = out.idx.data<int64_t>();
    for (int64_t k = 0; k < out.idx.numel(); ++k) {
      if (pi[k] < 0 || pi[k] >= out.classes) throw range_error(std::to_string(pi[k]));
    }
  }
  return out;
}

// ------------------------------------------------------------------ fused softmax cross-entropy

// loss[r] = logsumexp(x[r]) - x[r, label[r]] over logits [rows..., C] (validated labels).
Tensor sparse_softmax_xent(const char* op, const SparseLabels& lab, const Tensor& logits) {
  Tensor x = contiguous(logits);
  const int64_t rows = numel(lab.batch_shape), classes = lab.classes;
  const DType dt = x.dtype();
  Tensor loss = Tensor::empty(lab.batch_shape, dt);
  Tensor stats = Tensor::empty({2, rows}, dt);  // row max, row sum of exp(x - max)
  Tensor xd = x.detach();
  visit_floating(dt, op, [&]<typename T>() {
    kc::sparse_softmax_xent_forward<T>(rows, classes, xd.data<T>(), lab.idx.data<int64_t>(), loss.data<T>(), stats.data<T>(),
                                       stats.data<T>() + rows);
  });
  return record(op, {x}, loss, [&] {
    return [sx = saved(x), stats, idx = lab.idx, rows, classes, op](const Tensor& g) {
      Tensor dloss = dense(g, sx.dtype());
      Tensor dx = Tensor::empty(sx.shape(), sx.dtype());
      visit_floating(sx.dtype(), op, [&]<typename T>() {
        kc::sparse_softmax_xent_backward<T>(rows, classes, sx.data<T>(), idx.data<int64_t>(), stats.data<T>(),
                                            stats.data<T>() + rows, dloss.data<T>(), dx.data<T>());
      });
      return Gradients{dx};
    };
  });
}

// loss[r] = sum_k y[r,k] (logsumexp(x[r]) - x[r,k]); y already checked and cast to x's dtype.
Tensor softmax_xent(const char* op, const Tensor& labels, const Tensor& logits) {
  Tensor x = contiguous(logits), y = contiguous(labels);
  const int64_t classes = x.shape().back();
  Shape batch_shape(x.shape().begin(), x.shape().end() - 1);
  const int64_t rows = numel(batch_shape);
  const DType dt = x.dtype();
  Tensor loss = Tensor::empty(batch_shape, dt);
  Tensor stats = Tensor::empty({2, rows}, dt);  // row max, row sum of exp(x - max)
  Tensor xd = x.detach(), yd = y.detach();
  visit_floating(dt, op, [&]<typename T>() {
    kc::softmax_xent_forward<T>(rows, classes, xd.data<T>(), yd.data<T>(), loss.data<T>(), stats.data<T>(),
                                stats.data<T>() + rows);
  });
  return record(op, {y, x}, loss, [&] {
    return [sx = saved(x), sy = saved(y), stats, rows, classes, op, want_dy = y.requires_grad()](const Tensor& g) {
      Tensor dloss = dense(g, sx.dtype());
      Tensor dx = Tensor::empty(sx.shape(), sx.dtype());
      Tensor dy = want_dy ? Tensor::empty(sy.shape(), sy.dtype()) : Tensor();
      visit_floating(sx.dtype(), op, [&]<typename T>() {
        kc::softmax_xent_backward<T>(rows, classes, sx.data<T>(), sy.data<T>(), stats.data<T>(), stats.data<T>() + rows,
                                     dloss.data<T>(), dx.data<T>(), want_dy ? dy.data<T>() : nullptr);
      });
      return Gradients{dy, dx};
    };
  });
}

Tensor zero_like_dtype(const Tensor& t) { return zeros({}, t.dtype()); }

// log(1 + exp(x)) without overflow, differentiable everywhere with derivative sigmoid(x): each
// branch of the where() only ever sees arguments <= 0 inside exp, so neither overflows nor feeds
// inf * 0 into the gradient of the branch not taken.
Tensor softplus_stable(const Tensor& x) {
  Tensor zero = zero_like_dtype(x);
  Tensor xp = maximum(x, zero), xn = minimum(x, zero);
  Tensor pos = xp + log(exp(-xp) + 1.0);  // x >= 0
  Tensor neg_branch = log(exp(xn) + 1.0);  // x < 0
  return where(greater_equal(x.detach(), zero), pos, neg_branch);
}

Tensor sigmoid_xent(const char* op, const Tensor& labels, const Tensor& logits) {
  Tensor z = prepared_targets(op, "labels", labels, "logits", logits);
  return softplus_stable(logits) - logits * z;
}

Tensor sparse_xent(const char* op, const Tensor& labels, const Tensor& y_pred, bool from_logits) {
  check_prediction(op, "y_pred", y_pred);
  SparseLabels lab = validated_labels(op, labels, y_pred);
  if (from_logits) return sparse_softmax_xent(op, lab, y_pred);
  return sparse_softmax_xent(op, lab, log(clip(y_pred, kLossEpsilon, 1.0 - kLossEpsilon)));
}

Tensor categorical_xent(const char* op, const Tensor& y_true, const Tensor& y_pred, bool from_logits) {
  Tensor y = prepared_targets(op, from_logits ? "labels" : "y_true", y_true, from_logits ? "logits" : "y_pred", y_pred);
  if (from_logits) return softmax_xent(op, y, y_pred);
  Tensor p = y_pred / sum(y_pred, {-1}, true);
  p = clip(p, kLossEpsilon, 1.0 - kLossEpsilon);
  return -sum(y * log(p), {-1});
}

}  // namespace

// ------------------------------------------------------------------ regression

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred) {
  Tensor y = prepared_targets("mean_squared_error", "y_true", y_true, "y_pred", y_pred);
  return mean(square(y_pred - y), {-1});
}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred) {
  Tensor y = prepared_targets("mean_absolute_error", "y_true", y_true, "y_pred", y_pred);
  return mean(abs(y_pred - y), {-1});
}

Tensor huber(const Tensor& y_true, const Tensor& y_pred, double delta) {
  if (!(delta > 0) || !std::isfinite(delta)) {
    throw ValueError("huber: delta must be positive and finite, got " + std::to_string(delta));
  }
  Tensor y = prepared_targets("huber", "y_true", y_true, "y_pred", y_pred);
  Tensor e = y_pred - y;
  Tensor a = abs(e);
  Tensor quadratic = square(e) * 0.5;
  Tensor linear = a * delta - 0.5 * delta * delta;
  Tensor inside = less_equal(a.detach(), scalar_like(delta, a));
  return mean(where(inside, quadratic, linear), {-1});
}

// ------------------------------------------------------------------ classification

Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits) {
  const char* op = "binary_crossentropy";
  if (from_logits) {
    check_prediction(op, "y_pred", y_pred);
    check_same_shape(op, "y_true", y_true, "y_pred", y_pred);
    return mean(sigmoid_xent(op, y_true, y_pred), {-1});
  }
  Tensor z = prepared_targets(op, "y_true", y_true, "y_pred", y_pred);
  Tensor p = clip(y_pred, kLossEpsilon, 1.0 - kLossEpsilon);
  // As Keras (backend.binary_crossentropy): epsilon is added inside the logs after clipping too.
  Tensor bce = z * log(p + kLossEpsilon) + (1.0 - z) * log(1.0 - p + kLossEpsilon);
  return mean(-bce, {-1});
}

Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits) {
  return categorical_xent("categorical_crossentropy", y_true, y_pred, from_logits);
}

Tensor sparse_categorical_crossentropy(const Tensor& labels, const Tensor& y_pred, bool from_logits) {
  return sparse_xent("sparse_categorical_crossentropy", labels, y_pred, from_logits);
}

Tensor multiclass_svm_loss(const Tensor& labels, const Tensor& scores, double margin) {
  const char* op = "multiclass_svm_loss";
  if (!std::isfinite(margin)) throw ValueError(std::string(op) + ": margin must be finite, got " + std::to_string(margin));
  check_prediction(op, "scores", scores);
  SparseLabels lab = validated_labels(op, labels, scores);
  Tensor idx = lab.idx.reshape(lab.batch_shape);
  Tensor is_label = one_hot(idx, lab.classes, DType::b8);
  Tensor zero = zero_like_dtype(scores);
  Tensor correct = sum(where(is_label, scores, zero), {-1}, true);  // s_y, as [N..., 1]
  Tensor margins = maximum(scores - correct + margin, zero);
  return sum(where(is_label, zero, margins), {-1});
}

Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  return categorical_xent("softmax_cross_entropy_with_logits", labels, logits, true);
}

Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  return sparse_xent("sparse_softmax_cross_entropy_with_logits", labels, logits, true);
}

Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  return sigmoid_xent("sigmoid_cross_entropy_with_logits", labels, logits);
}

}  // namespace ember
