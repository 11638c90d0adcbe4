#pragma once
// Models from the files and directories Ember writes and reads — what the `ember` tool takes as
// MODEL — as library calls (`ember summary`, `train`, `evaluate` and `predict` all go through here).
#include <memory>
#include <string>
#include <vector>

#include "ember/nn/model.hpp"

namespace ember::train {

// The architecture only (weights not loaded, not even allocated): a built-in name (mlp, cnn), a
// Keras JSON file, a Keras .h5 file, or a directory holding model.h5 or model.json (`ember train
// --out` and `--checkpoint-dir` write both / the latter). ValueError for a name that is neither a
// file nor a built-in model; IOError / FormatError for files that cannot be read.
std::shared_ptr<nn::Model> load_model_architecture(const std::string& spec);

// The architecture with its trained weights, from:
//   FILE.h5                 a Keras 2 .h5 model (Model::save, tf.keras)
//   DIR with `checkpoint`   a checkpoint directory (Saver, `ember train --checkpoint-dir`): its latest
//                           checkpoint, the architecture from DIR/model.json
//   DIR                     `ember train --out`: model.h5, else model.json + model.safetensors
//   FILE.json               a Keras JSON architecture; weights from FILE.safetensors beside it, else
//                           model.safetensors in the same directory
//   FILE.safetensors        weights (or a checkpoint file); the architecture from FILE.json beside
//                           it, else model.json
//   PREFIX                  a checkpoint path ("ckpt/model-9", as latest_checkpoint names them)
// The model comes back uncompiled. IOError for missing files, FormatError for files that do not
// fit each other (naming the weight, the shapes and the files).
std::shared_ptr<nn::Model> load_trained_model(const std::string& spec);

// Whether the model's last layer applies a softmax: then its outputs are probabilities, not logits
// (the loss takes them as such, and `ember predict` prints them as they are). An ensemble
// (average_models) ends in one when each of its members does.
bool ends_in_softmax(nn::Model& model);

// An ensemble in one model, Keras's way: a functional model whose input feeds every member, nested
// as "member_1", "member_2", ... (their layers shared, not copied), and whose output is the mean of
// the members' outputs (an Average layer named "ensemble_mean"): the mean of their logits, or of
// their probabilities when they end in a softmax. Members must be functional or Sequential models
// with one input and one output, of the same shapes; ValueError otherwise (or for no member).
std::shared_ptr<nn::Model> average_models(const std::vector<std::shared_ptr<nn::Model>>& members,
                                          const std::string& name = "ensemble");

}  // namespace ember::train
