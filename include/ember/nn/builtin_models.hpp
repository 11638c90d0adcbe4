#pragma once
// The models the `ember` tool knows by name (DESIGN.md, "The ember command line"). All take
// 28×28×1 images (Fashion-MNIST, MNIST) and end in 10 logits (no softmax: pair them with a
// from_logits loss). Layer names are fixed ("dense", "dense_1", ...) so checkpoints of two runs match.
//
//   "mlp": Input(28, 28, 1) → Flatten → Dense 256 ReLU → Dense 128 ReLU → Dense 10            235,146 params
//   "cnn": the TensorFlow-tutorial CNN: Input(28, 28, 1) → Conv2D 32 5×5 SAME ReLU → MaxPool 2 →
//          Conv2D 64 5×5 SAME ReLU → MaxPool 2 → Flatten → Dense 1024 ReLU → Dropout 0.4 → Dense 10
//                                                                                           3,274,634 params
//   "fmnist-convbn": 5×5 Conv2D 32 + BatchNormalization + ReLU → MaxPool 2 → two 3×3 Conv2D 64 + BN +
//          ReLU → MaxPool 2 → Flatten → Dense 256 + BN + ReLU → Dropout 0.5 → Dense 10: the
//          Fashion-MNIST benchmark table's "conv+BN" row.
//   "fmnist-resnet": a small residual network for 28×28 inputs: fmnist-convbn's first block as the stem,
//          two of He et al.'s basic blocks of 64 filters at 14×14, a 2×2 average pool, two blocks of
//          128 at 7×7 (1×1 projection shortcuts where the channels change), global average pooling,
//          Dense 10.
//
// Each model carries its training recipe (builtin_recipe): `ember train --model NAME` uses it for
// every setting not given on the command line.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ember/nn/model.hpp"

namespace ember::nn {

// A freshly initialised built-in model; ValueError listing the known names for any other name.
std::shared_ptr<Model> builtin_model(const std::string& name);
// The known names, in order: "mlp", "cnn", "fmnist-convbn", "fmnist-resnet".
std::vector<std::string> builtin_model_names();

// How a built-in model is trained when the command line says nothing else. The defaults are
// `ember train`'s general recipe (Adam 1e-3, batch 128, cosine decay to 0 over 10 epochs).
struct TrainingRecipe {
  int epochs = 10;
  int64_t batch_size = 128;
  std::string optimizer = "adam";  // optim::make_optimizer's names
  double learning_rate = 1e-3;
  std::string schedule = "cosine";  // "cosine" (to 0 over the run) or "constant"
  double warmup_epochs = 0;         // linear warm-up from 0 before the schedule (fractions allowed)
  double label_smoothing = 0;       // CategoricalCrossentropy's ε on one-hot labels
  std::optional<double> weight_decay;  // the optimizer's decoupled decay; none: its default
  std::string augment;              // data::augmentation_from_spec's spec; empty: none
  bool tta_flip = false;            // test predictions average each image's and its mirror's
  double sam_rho = 0;               // sharpness-aware steps (train::SAMOptions::rho; 0: none)
  double sam_fraction = 1;          // ...and their SAMOptions::ascent_fraction
  // Minutes the whole run should end within (0: no limit). After the first epoch the run plans how
  // many of `epochs` fit at that epoch's pace and ends its schedule there, and plans again after each
  // later epoch at their pace (`ember train --time-limit`): a slower machine trains fewer epochs
  // instead of running over.
  double time_limit_minutes = 0;
  // Models trained from different seeds and averaged into one (`ember train --ensemble`); each gets
  // its share of the time limit.
  int ensemble = 1;
};
// The recipe of a built-in model (ValueError for an unknown name, as builtin_model).
TrainingRecipe builtin_recipe(const std::string& name);

}  // namespace ember::nn
