#include "ember/optim/clip.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"

namespace ember::optim {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_clip_norm(const char* fn, double c) {
  if (!(c > 0) || !std::isfinite(c)) throw ValueError(std::string(fn) + ": clip_norm must be > 0 and finite, got " + num(c));
}

void check_floating(const char* fn, const Tensor& t) {
  if (!is_floating(t.dtype())) {
    throw DTypeError(std::string(fn) + ": expected a float32 or float64 tensor, got " + std::string(dtype_name(t.dtype())));
  }
}

double sum_squares(const Tensor& t) { return sum(square(t.to(f64))).item<double>(); }

}  // namespace

Tensor clip_by_norm(const Tensor& t, double clip_norm) {
  check_clip_norm("clip_by_norm", clip_norm);
  check_floating("clip_by_norm", t);
  double n = std::sqrt(sum_squares(t));
  if (!std::isfinite(n)) return t.mul(std::numeric_limits<double>::quiet_NaN());
  return n <= clip_norm ? t.clone() : t.mul(clip_norm / n);
}

double global_norm(const std::vector<Tensor>& tensors) {
  double s = 0.0;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    check_floating("global_norm", t);
    s += sum_squares(t);
  }
  return std::sqrt(s);
}

GlobalNormClip clip_by_global_norm(const std::vector<Tensor>& tensors, double clip_norm) {
  check_clip_norm("clip_by_global_norm", clip_norm);
  GlobalNormClip r;
  r.global_norm = global_norm(tensors);
  double scale = clip_norm / std::max(r.global_norm, clip_norm);
  if (!std::isfinite(r.global_norm)) scale = std::numeric_limits<double>::quiet_NaN();
  r.tensors.reserve(tensors.size());
  for (const Tensor& t : tensors) r.tensors.push_back(t.defined() ? (scale == 1.0 ? t.clone() : t.mul(scale)) : Tensor());
  return r;
}

Tensor clip_by_value(const Tensor& t, double low, double high) {
  if (!(low <= high)) throw ValueError("clip_by_value: needs low <= high, got [" + num(low) + ", " + num(high) + "]");
  check_floating("clip_by_value", t);
  return clip(t, low, high);
}

}  // namespace ember::optim
