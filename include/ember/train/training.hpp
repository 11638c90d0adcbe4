#pragma once
// The Keras training API: Model::compile / fit / evaluate / predict / train_on_batch /
// test_on_batch take these option aggregates. (The methods are declared on nn::Model so that
// code reads like Keras; they are implemented here, in the train/ layer.)
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/generator.hpp"
#include "ember/data/dataset.hpp"
#include "ember/nn/layer.hpp"
#include "ember/nn/losses.hpp"
#include "ember/nn/metrics.hpp"
#include "ember/optim/optimizer.hpp"
#include "ember/train/callbacks.hpp"

namespace ember::train {

// An optimizer given by Keras name ("adam"), by value (moved in) or by shared_ptr.
class OptimizerArg {
 public:
  OptimizerArg() = default;
  OptimizerArg(const char* name);         // NOLINT: Keras accepts names
  OptimizerArg(const std::string& name);  // NOLINT
  template <typename O>
    requires std::derived_from<std::remove_cvref_t<O>, optim::Optimizer> && (!std::is_lvalue_reference_v<O>)
  OptimizerArg(O&& o) : ptr_(std::make_shared<std::remove_cvref_t<O>>(std::move(o))) {}  // NOLINT
  OptimizerArg(std::shared_ptr<optim::Optimizer> p) : ptr_(std::move(p)) {}             // NOLINT
  const std::shared_ptr<optim::Optimizer>& ptr() const { return ptr_; }

 private:
  std::shared_ptr<optim::Optimizer> ptr_;
};

// A loss given by Keras name ("sparse_categorical_crossentropy"), by value or by shared_ptr.
class LossArg {
 public:
  LossArg() = default;
  LossArg(const char* name);         // NOLINT
  LossArg(const std::string& name);  // NOLINT
  template <typename L>
    requires std::derived_from<std::remove_cvref_t<L>, losses::Loss> && (!std::is_lvalue_reference_v<L>)
  LossArg(L&& l) : ptr_(std::make_shared<std::remove_cvref_t<L>>(std::move(l))) {}  // NOLINT
  LossArg(std::shared_ptr<const losses::Loss> p) : ptr_(std::move(p)) {}           // NOLINT
  const std::shared_ptr<const losses::Loss>& ptr() const { return ptr_; }

 private:
  std::shared_ptr<const losses::Loss> ptr_;
};

// Sharpness-aware minimization (Foret et al. 2021; TensorFlow's
// keras.models.experimental.SharpnessAwareMinimization): each training step takes the gradient g
// at the weights w, moves them to w + rho * g / ||g|| (||g||: the global norm over all trainable
// weights) — the nearby point where the loss rises fastest —, takes the gradient there and hands
// it to the optimizer, which updates the weights from w (restored exactly, not by subtraction).
// So a step costs two forward and backward passes: it favours weights whose whole neighbourhood has
// a low loss.
//  - ascent_fraction (Ember's; 1 = the paper's and TensorFlow's SAM): g from the batch's first
//    ceil(fraction * rows) rows only (fit shuffles the rows), so the extra pass costs about that
//    fraction of a step.
//  - Batch norm's moving statistics and the other non-trainable weights are those of the second
//    pass only (the first pass's updates are undone); the loss and metrics fit logs are the
//    second pass's, over the whole batch.
//  - A weight with no gradient in the first pass is not moved. ||g|| = 0 moves nothing.
struct SAMOptions {
  double rho = 0.05;            // > 0: the radius of the neighbourhood
  double ascent_fraction = 1;   // in (0, 1]
};

struct CompileOptions {
  OptimizerArg optimizer = "rmsprop";  // Keras's default
  LossArg loss;                         // one loss, applied to every output...
  std::vector<LossArg> losses;          // ...or one per output
  std::vector<std::string> metrics;     // e.g. {"accuracy"}; computed on the first output
  std::vector<double> loss_weights;     // per output (default 1)
  std::optional<SAMOptions> sam = std::nullopt;  // sharpness-aware steps (fit and train_on_batch)
};

struct FitOptions {
  int64_t batch_size = 32;
  int epochs = 1;
  int verbose = 1;  // 0 silent, 1 progress bar, 2 one line per epoch
  double validation_split = 0;  // the LAST fraction of x/y, taken before shuffling (Keras)
  std::optional<std::pair<Tensor, Tensor>> validation_data = std::nullopt;
  bool shuffle = true;
  std::map<int64_t, double> class_weight = {};
  Tensor sample_weight = Tensor();
  int initial_epoch = 0;
  std::vector<callbacks::CallbackRef> callbacks = {};
  Generator* generator = nullptr;  // shuffling; the default generator when null
  // Applied to every input tensor of every batch — training and validation, tensors and Datasets —
  // before the model sees it. Lets the data stay compact in memory and be converted one batch at a
  // time, as torchvision's ToTensor converts each sample: e.g. u8 images kept as bytes (a quarter of
  // the memory of floats) with x_transform = data::images_to_float. Converting each batch gives the
  // same batches as converting the data once, so the results do not change.
  std::function<Tensor(const Tensor&)> x_transform = nullptr;
  // ---- fit(Dataset) (Keras 2's semantics). The dataset yields batches (x, y) or (x, y,
  // sample_weight); batch_size, validation_split, shuffle, sample_weight and generator do not
  // apply to it (the pipeline batches and shuffles; ValueError for a validation_split).
  //  - steps_per_epoch unset: each epoch is one whole pass (a new iterator per epoch); an infinite
  //    dataset then is a ValueError.
  //  - steps_per_epoch = k: each epoch takes k batches from ONE iterator that continues across
  //    epochs — unless k equals the dataset's cardinality, when each epoch is a new pass, as Keras
  //    does. If it runs out, training stops after that (shorter) epoch, with a warning on stderr
  //    ("ran out of data"), as Keras.
  // With tensors, steps_per_epoch and validation_steps are ValueErrors (not supported).
  std::optional<int64_t> steps_per_epoch = std::nullopt;
  // Validation on a Dataset of (x, y[, sample_weight]) batches after each epoch: a new pass each
  // time, of validation_steps batches when set (else the whole dataset). Keras takes either arrays
  // or a dataset as validation_data; here the dataset has its own field.
  std::optional<data::Dataset> validation_dataset = std::nullopt;
  std::optional<int64_t> validation_steps = std::nullopt;
};

struct EvaluateOptions {
  int64_t batch_size = 32;  // (not used with a Dataset, which batches itself)
  int verbose = 0;
  Tensor sample_weight = Tensor();
  std::optional<int64_t> steps = std::nullopt;  // Dataset: batches to evaluate (unset: one pass)
};

struct PredictOptions {
  int64_t batch_size = 32;  // (not used with a Dataset, which batches itself)
  std::optional<int64_t> steps = std::nullopt;  // Dataset: batches to predict (unset: one pass)
};

// Where the model's current (or last) fit stands: what a checkpoint saves (train/saver.hpp).
// Updated by fit between epochs, before the epoch-end callbacks run.
struct FitProgress {
  bool active = false;     // a fit has started since compile()
  int next_epoch = 0;      // epochs completed: the epoch a resumed fit starts with
  int64_t batch = 0;       // batches done in the epoch under way (0 between epochs)
  std::shared_ptr<callbacks::History> history;       // the history so far
  std::vector<callbacks::CallbackPtr> callbacks;      // the fit's other callbacks, in order
  std::optional<Generator::State> generator_state;   // FitOptions::generator's, when one was given
};

// A fit state read from a checkpoint, which the next fit() continues from: it starts at
// `next_epoch` (an initial_epoch other than 0 or next_epoch is a ValueError), its History starts
// with the saved one (so fit returns the whole run's history), the shuffle generator and each
// callback get their saved state after on_train_begin (a saved callback state with no callback of
// that class and position is a ValueError), and a run that a callback had stopped trains no more.
struct FitResume {
  int next_epoch = 0;
  bool stopped = false;
  std::vector<int> epochs;
  std::map<std::string, std::vector<double>> history;
  std::optional<Generator::State> generator_state;
  std::vector<std::pair<std::string, callbacks::CallbackState>> callbacks;  // "<Class>#<k>" -> state
};

// What compile() sets up; owned by the model.
struct TrainingState {
  std::shared_ptr<optim::Optimizer> optimizer;
  std::vector<std::shared_ptr<const losses::Loss>> losses;  // one per output (or one for all)
  std::vector<double> loss_weights;
  std::vector<std::string> metric_names;
  // Resolved on the first batch, when the label and prediction shapes are known ("accuracy").
  std::vector<metrics::MetricPtr> metrics;
  FitProgress progress;
  std::optional<FitResume> resume;  // set by a checkpoint restore, consumed by the next fit

  // Buffers of the training step, reused (cleared, capacity kept) so that a warmed-up step makes
  // no allocation: train_on_batch's input lists, the model's forward outputs, the walk over its weights, and the trainable
  // (name, tensor) list handed to the optimizer — rebuilt only when the walk finds other weights or
  // other trainability than the step before.
  std::vector<Tensor> step_outputs, step_xs, step_ys;
  std::vector<nn::Layer::WeightEntry> step_walk, step_weights;
  optim::NamedParams step_params;
  // CompileOptions::sam, and its step's copies of the trainable weights before the move and of the
  // non-trainable ones before the first pass (reused from step to step).
  std::optional<SAMOptions> sam;
  std::vector<Tensor> sam_saved_trainable, sam_saved_other;
};

// PyTorch's torch.optim.swa_utils.update_bn: every BatchNormalization layer's moving mean and
// variance recomputed as the mean of its batch statistics over `x` (one forward pass in training
// mode, batches of `batch_size` in order, without gradients; a last partial batch is used too).
// Nothing else changes. For weights that never produced these statistics: an average (SWA, EMA).
// ValueError: batch_size < 1 or x with no rows.
void update_bn(nn::Model& model, const Tensor& x, int64_t batch_size = 128);

using callbacks::History;
using callbacks::Logs;

}  // namespace ember::train
