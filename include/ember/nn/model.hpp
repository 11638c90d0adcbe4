#pragma once
// Models: functional (Input -> layer calls -> Model(inputs, outputs)), Sequential, and
// subclassed (derive from Model, create layers with track(), override call()).
// A Model is itself a Layer, so models nest (transfer learning).
#include <iosfwd>
#include <map>
#include <vector>

#include "ember/nn/layer.hpp"

namespace ember::train {
struct CompileOptions;
struct FitOptions;
struct EvaluateOptions;
struct PredictOptions;
struct TrainingState;
}  // namespace ember::train
namespace ember::callbacks {
class History;
}
namespace ember::data {
class Dataset;  // data/ is a sibling layer: only named here, used in train/ (DESIGN.md's exceptions)
}

namespace ember::nn {

// How a .safetensors weights file names and lays out the weights.
//   keras: Ember's own names and Keras's layouts ("dense/kernel" [in, out], Conv2D kernels HWIO).
//   torch: a PyTorch state_dict of the equivalent torch.nn model whose submodules carry the Keras
//          layer names ("dense.weight" [out, in], Conv2D weights OIHW, BatchNorm running_mean/var);
//          the mapping is in ember/io/torch_layout.hpp.
enum class WeightLayout { keras, torch };

// save_weights options.
struct SaveWeightsOptions {
  WeightLayout layout = WeightLayout::keras;  // torch: .safetensors only
};

// load_weights options (Keras's keywords, and the layout of a .safetensors file).
struct LoadWeightsOptions {
  bool by_name = false;        // match layers by name (shapes checked) instead of by order
  bool skip_mismatch = false;  // with by_name: skip layers whose weight count or shapes differ
  WeightLayout layout = WeightLayout::keras;  // torch: .safetensors only
};

class Model : public Layer {
 public:
  // Functional model from symbolic inputs to symbolic outputs.
  Model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs, std::string name = "");
  Model(const SymbolicTensor& input, const SymbolicTensor& output, std::string name = "");
  Model(Model&&) = default;

  // Functional evaluation of the graph (subclassed models override this). Returns the first output.
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  // Every output, for models with several.
  virtual std::vector<Tensor> call_all(const std::vector<Tensor>& inputs, bool training);
  // Eager forward pass on several inputs giving every output (builds on first use).
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs, bool training = false);
  // The same into `outputs` (its contents replaced, its capacity reused): the training loop's
  // allocation-free form.
  void forward_into(const std::vector<Tensor>& inputs, bool training, std::vector<Tensor>& outputs);
  // call_all into `outputs`; models that can avoid building a new vector override it.
  virtual void call_all_into(const std::vector<Tensor>& inputs, bool training, std::vector<Tensor>& outputs);

  const std::vector<LayerPtr>& sublayers() const override { return layers_; }
  // ---- masks ----
  // The masks of the outputs of the last call (Keras's _keras_mask), one per output, undefined
  // where an output has none; empty before the first call and for subclassed models. Layers pass
  // masks on as Keras does: Embedding(mask_zero) and Masking start one, each layer's
  // compute_output_mask (compute_merged_mask for several inputs) gives its output's, and layers that
  // use them (recurrent layers, Bidirectional, TimeDistributed) get them through call_masked.
  // fit/evaluate/train_on_batch weight the loss and metrics of an output by its mask.
  const std::vector<Tensor>& output_masks() const { return output_masks_; }
  // A model used as a layer: its graph runs with `mask` as its (first) input's mask.
  Tensor call_masked(const Tensor& x, const Tensor& mask, bool training) override;
  // A model used as a layer: the mask its last call gave its first output.
  Tensor compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const override;
  // Keras's `model.trainable = value`: sets the flag of the model and of every layer in it, nested
  // models included (so a frozen base's BatchNormalization layers run in inference mode). Unfreeze
  // part of a base afterwards with get_layer(name)->set_trainable(true) on an unfrozen model.
  void set_trainable(bool trainable) override;
  const std::vector<LayerPtr>& layers() const { return layers_; }
  LayerPtr get_layer(const std::string& name) const;  // ValueError if absent
  std::size_t num_outputs() const { return outputs_.empty() ? 1 : outputs_.size(); }
  const std::vector<SymbolicTensor>& symbolic_inputs() const { return inputs_; }
  const std::vector<SymbolicTensor>& symbolic_outputs() const { return outputs_; }
  bool is_functional() const { return !outputs_.empty(); }

  // The Keras summary table: layer (type), output shape, parameters (and "Connected to" for
  // functional models with branches), then total / trainable / non-trainable counts.
  void summary();  // to std::cout
  void summary(std::ostream& os);
  std::string summary_string();

  LayerPtr move_into_shared() && override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  // A graph model used as a layer: the first output's recorded shape (batch axis from the input),
  // without running it; subclassed models fall back to Layer's probe.
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;

  // ---- training (Keras API; implemented in train/, include ember/train/training.hpp) ----
  void compile(const train::CompileOptions& options);
  callbacks::History fit(const Tensor& x, const Tensor& y, const train::FitOptions& options);
  callbacks::History fit(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys,
                         const train::FitOptions& options);
  // Loss and metrics over the data: {"loss": ..., "accuracy": ...}.
  std::map<std::string, double> evaluate(const Tensor& x, const Tensor& y, const train::EvaluateOptions& options);
  std::map<std::string, double> evaluate(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys,
                                         const train::EvaluateOptions& options);
  // Batched inference (no gradient, inference mode); the first output.
  Tensor predict(const Tensor& x, const train::PredictOptions& options);
  // The same three over a data::Dataset (tf.data-style pipeline) of batches: (x, y) or (x, y,
  // sample_weight) for fit / evaluate, whose first component is x for predict (others ignored).
  // Single-input, single-output models. Keras 2's steps semantics: see train::FitOptions.
  // A checkpoint-restored fit state cannot continue with a Dataset (ValueError): the pipeline's
  // position is not saved.
  callbacks::History fit(const data::Dataset& dataset, const train::FitOptions& options);
  std::map<std::string, double> evaluate(const data::Dataset& dataset, const train::EvaluateOptions& options);
  Tensor predict(const data::Dataset& dataset, const train::PredictOptions& options);
  // One optimisation step on one batch; returns the logs of that batch.
  std::map<std::string, double> train_on_batch(const Tensor& x, const Tensor& y);
  // The same, writing the logs into `logs` (entries of earlier calls are overwritten in place, so a
  // loop that passes the same map allocates nothing once warmed up; stale keys are not removed).
  void train_on_batch(const Tensor& x, const Tensor& y, std::map<std::string, double>& logs);
  std::map<std::string, double> test_on_batch(const Tensor& x, const Tensor& y);
  // ---- saving (Keras API; implemented in io/, include ember/io/keras_h5.hpp) ----
  // The whole model in Keras 2's HDF5 layout (path ending .h5 or .hdf5): architecture
  // (model_config), weights (model_weights), readable by keras.models.load_model and h5py.
  // Atomic: the file appears complete or not at all. ValueError for another extension or a
  // subclassed model (no config).
  void save(const std::string& path);
  // Weights only: .h5 / .hdf5 in Keras's layout (keras Model.save_weights), .safetensors keyed by
  // the model-wide weight names ("dense/kernel"), or with {.layout = WeightLayout::torch} as a
  // PyTorch state_dict (.safetensors only; ValueError naming a layer PyTorch has no mapping for).
  void save_weights(const std::string& path, const SaveWeightsOptions& options = {});
  // Reads weights saved either way into this built model: Keras .h5 by layer order (or by name),
  // .safetensors by name (in options.layout). FormatError naming the layer, weight and shapes when
  // they do not fit.
  void load_weights(const std::string& path, const LoadWeightsOptions& options = {});

  // Set by callbacks to end fit() after the current epoch (or batch).
  bool stop_training = false;
  // The compiled state (optimizer, losses, metrics); null before compile().
  train::TrainingState* training_state() const { return training_.get(); }

 protected:
  explicit Model(std::string class_name, std::string name);
  // Registers a sublayer of a subclassed model (its weights become the model's) and returns it.
  LayerRef track(LayerRef layer);
  // (Re)derives the layer order and graph from inputs_/outputs_.
  void init_graph(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs);

  std::vector<LayerPtr> layers_;
  std::vector<SymbolicTensor> inputs_, outputs_;
  // Symbolic tensors in evaluation order (inputs first).
  std::vector<std::shared_ptr<SymbolicTensor::Data>> order_;
  std::shared_ptr<train::TrainingState> training_;
  std::vector<Shape> forward_shapes_;  // forward_into's input shapes (reused)
  // call_all_into's plan for a functional graph: the positions in order_ of each node's inputs and of
  // the outputs, and the value lists it reuses (empty between calls).
  struct EvalPlan {
    std::vector<std::vector<std::size_t>> args;
    std::vector<std::size_t> outputs;
    // For a call with several outputs: (output index, position) of each extra output in order_.
    std::vector<std::vector<std::pair<int, std::size_t>>> extras;
    // For a BatchNormalization node whose one consumer is Activation("relu"): that node's position
    // (0: none). The two run as one op (BatchNormalization::call_then_relu).
    std::vector<std::size_t> relu_after;
    std::vector<Tensor> values, arg_values, masks, arg_masks;
  };
  EvalPlan eval_;
  void plan_relu_fusion();  // fills eval_.relu_after
  bool fusable_now(std::size_t bn, std::size_t relu, const Tensor& mask) const;  // at a call
  std::vector<Tensor> output_masks_;  // see output_masks()
  Tensor input_mask_;                 // the mask of the call_masked in progress (first input)
};

// keras.models.load_model for Keras 2 HDF5 files (Model::save's, or tf.keras's): the architecture
// from model_config, then the weights. Implemented in io/ (ember/io/keras_h5.hpp). Configs that
// carry code (Lambda layers) are refused with FormatError: loading a file never runs code.
std::shared_ptr<Model> load_model(const std::string& path);

class Sequential : public Model {
 public:
  explicit Sequential(std::initializer_list<LayerRef> layers = {}, std::string name = "");
  Sequential(Sequential&&) = default;
  // Appends a layer. With a known input shape (an Input first) the layer is built at once.
  void add(LayerRef layer);
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  std::vector<Tensor> call_all(const std::vector<Tensor>& inputs, bool training) override;
  void call_all_into(const std::vector<Tensor>& inputs, bool training, std::vector<Tensor>& outputs) override;
  // Without an Input, the first shape question builds every layer symbolically from `shapes`
  // (as the first call does), so nesting a Sequential runs nothing and allocates no weight.
  Shape compute_output_shape(const std::vector<Shape>& shapes) override;
  LayerPtr move_into_shared() && override;

 private:
  void build_from_input_shape(Shape shape);  // batch axis first; it becomes unknown
};

}  // namespace ember::nn
