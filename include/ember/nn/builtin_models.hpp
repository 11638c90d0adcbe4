#pragma once
// The models the `ember` tool knows by name (DESIGN.md, "The ember command line"). Both take
// 28×28×1 images (Fashion-MNIST, MNIST) and end in 10 logits (no softmax: pair them with a
// from_logits loss). Layer names are fixed ("dense", "dense_1", ...) so checkpoints of two runs match.
//
//   "mlp": Input(28, 28, 1) → Flatten → Dense 256 ReLU → Dense 128 ReLU → Dense 10            235,146 params
//   "cnn": the TensorFlow-tutorial CNN: Input(28, 28, 1) → Conv2D 32 5×5 SAME ReLU → MaxPool 2 →
//          Conv2D 64 5×5 SAME ReLU → MaxPool 2 → Flatten → Dense 1024 ReLU → Dropout 0.4 → Dense 10
//                                                                                           3,274,634 params
#include <memory>
#include <string>
#include <vector>

#include "ember/nn/model.hpp"

namespace ember::nn {

// A freshly initialised built-in model; ValueError listing the known names for any other name.
std::shared_ptr<Model> builtin_model(const std::string& name);
// The known names, in order: "mlp", "cnn".
std::vector<std::string> builtin_model_names();

}  // namespace ember::nn
