#pragma once
// Trained models and input arrays from the files Ember writes and reads — what `ember evaluate` and
// `ember predict` take as --model and --input, as library calls.
#include <memory>
#include <string>

#include "ember/core/tensor.hpp"
#include "ember/nn/model.hpp"

namespace ember::io {

// A model with its trained weights, from:
//   DIR                  a directory written by `ember train --out` (model.json + model.safetensors)
//   FILE.json            a Keras JSON architecture; weights from FILE.safetensors beside it, else
//                        model.safetensors in the same directory
//   FILE.safetensors     weights; the architecture from FILE.json beside it, else model.json
// IOError for missing files, FormatError for files that do not fit each other (the message names
// the weight, the shapes and both files).
std::shared_ptr<nn::Model> load_trained_model(const std::string& path);

// An array from FILE.npy, or from FILE.safetensors holding one tensor (FILE.safetensors:NAME picks
// one of several). IOError / FormatError as the readers give them.
Tensor read_array(const std::string& spec);

}  // namespace ember::io
