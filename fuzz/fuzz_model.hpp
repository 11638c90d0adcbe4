#pragma once
// For fuzz targets that build a model from untrusted bytes: run it once, on zeros, so that layer
// configurations that build but break a kernel are found too.
#include <cstdint>
#include <memory>

#include "ember/nn/model.hpp"
#include "ember/train/training.hpp"

namespace ember::fuzz {

// predict on zeros for a functional model with one input, its unknown dimensions (the batch axis,
// Keras's None) taken as 1; skipped above 64 Ki input elements (zeros that big say nothing more).
inline void predict_on_zeros(nn::Model& model) {
  if (!model.is_functional() || model.symbolic_inputs().size() != 1) return;
  Shape shape = model.symbolic_inputs()[0].shape();
  int64_t elements = 1;
  for (auto& d : shape) {
    if (d < 0) d = 1;
    if (d > (int64_t{1} << 16)) return;
    elements *= d;
    if (elements > (int64_t{1} << 16)) return;
  }
  model.predict(zeros(shape), {.batch_size = 1});
}

}  // namespace ember::fuzz
