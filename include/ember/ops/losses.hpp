#pragma once
// Loss functions as ops, with the semantics of Keras's functions (tf.keras.losses.*): each returns
// the per-sample losses, reducing only the last axis and keeping the batch axes, e.g. y_pred
// [N, C] gives [N]. Averaging over the batch (Keras's default "sum_over_batch_size" reduction) is
// the caller's `mean(losses)`.
//
// Common contract:
//  * y_pred / logits / scores must be float32 or float64 (DTypeError otherwise) and have rank >= 1
//    (ShapeError); y_true is cast to y_pred's dtype, as Keras does.
//  * y_true and y_pred must have the same shape (ShapeError naming the op and both shapes);
//    there is no broadcasting.
//  * Integer labels (sparse losses) have the batch shape y_pred.shape[:-1] (a trailing axis of size
//    1 is accepted, as Keras does for [N, 1] label columns). They may be any integer dtype, or a
//    floating dtype holding integers; a non-integral value is a ValueError, and so is a label
//    outside [0, C): "sparse_categorical_crossentropy: label 12 is out of range for 10 classes".
//  * NaN inputs propagate to the affected losses; nothing reads out of bounds.
//  * `epsilon` below is Keras's backend.epsilon() = 1e-7.
#include "ember/core/tensor.hpp"

namespace ember {

// Keras's backend.epsilon(), used to clip probabilities.
inline constexpr double kLossEpsilon = 1e-7;

// mean((y_pred - y_true)^2) over the last axis.
Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred);
// mean(|y_pred - y_true|) over the last axis (gradient 0 where they are equal).
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred);
// Smooth L1: with e = y_pred - y_true, 0.5 e^2 where |e| <= delta, else delta (|e| - 0.5 delta);
// mean over the last axis. delta must be positive (ValueError).
Tensor huber(const Tensor& y_true, const Tensor& y_pred, double delta = 1.0);

// Binary cross-entropy, mean over the last axis. Labels may be soft (in [0, 1]).
//  from_logits = false (Keras): p = clip(y_pred, eps, 1 - eps),
//                               -(z log(p + eps) + (1 - z) log(1 - p + eps)).
//  from_logits = true: the stable max(x, 0) - x z + log(1 + exp(-|x|)) (sigmoid_cross_entropy_with_logits).
Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false);

// Categorical cross-entropy -sum(y_true * log p) over the last axis (one-hot or soft labels).
//  from_logits = false (Keras): p = clip(y_pred / sum(y_pred, -1), eps, 1 - eps).
//  from_logits = true: through the fused log-softmax cross-entropy kernel; the gradient w.r.t. the
//  logits is g * (sum(y_true) * softmax - y_true) (TensorFlow's softmax - labels when the labels sum
//  to 1), and y_true gets the gradient -g * log_softmax (tf.nn.softmax_cross_entropy_with_logits v2).
Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false);

// Cross-entropy with integer class labels: labels [N...], y_pred [N..., C], result [N...].
//  from_logits = true: fused kernel, loss = logsumexp(x) - x[label], gradient g * (softmax - onehot).
//  from_logits = false (Keras): the same kernel applied to log(clip(y_pred, eps, 1 - eps)), which is
//  -log(p[label] / sum(p)) with p clipped: rows that do not sum to 1 are renormalised, as Keras does.
Tensor sparse_categorical_crossentropy(const Tensor& labels, const Tensor& y_pred, bool from_logits = false);

// Multiclass SVM (hinge) loss of the CS231n notes, per sample:
//   sum_{j != y} max(0, s_j - s_y + margin);  labels [N...] as for the sparse loss, scores [N..., C].
Tensor multiclass_svm_loss(const Tensor& labels, const Tensor& scores, double margin = 1.0);

// ---- tf.nn-style names ----
// = categorical_crossentropy(labels, logits, true)
Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);
// = sparse_categorical_crossentropy(labels, logits, true)
Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);
// Elementwise max(x, 0) - x z + log(1 + exp(-|x|)); no reduction; labels and logits of equal shape.
// The gradient w.r.t. x is sigmoid(x) - z everywhere (x = 0 included); labels get -x.
Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);

}  // namespace ember
