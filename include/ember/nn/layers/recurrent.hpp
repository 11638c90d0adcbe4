#pragma once
// Recurrent layers with Keras's names, defaults and weight layouts: Embedding, SimpleRNN, LSTM, GRU.
//
// Inputs are batch-major sequences [batch, time, features] (Keras time_major=false). Weights, in
// Keras order and layout (so Keras .h5 weights load unchanged), with k gates:
//   kernel            [input, k·units]   (glorot_uniform)
//   recurrent_kernel  [units, k·units]   (orthogonal)
//   bias              [k·units]          (zeros; GRU with reset_after: [2, 3·units], row 0 the
//                                          input bias, row 1 the recurrent bias)
// Gate order along the k·units axis: LSTM i, f, c, o; GRU z, r, h; SimpleRNN one block.
//
// The step equations (σ = recurrent_activation, sigmoid by default; g = activation, tanh):
//   SimpleRNN  h = g(x·W + h₋·U + b)
//   LSTM       [i f c̃ o] = x·W + h₋·U + b;  i,f,o = σ(·);  c = f∘c₋ + i∘g(c̃);  h = o∘g(c)
//   GRU        [x_z x_r x_h] = x·W + b_in
//              reset_after=true:  [u_z u_r u_h] = h₋·U + b_rec;  z = σ(x_z+u_z); r = σ(x_r+u_r);
//                                 h̃ = g(x_h + r∘u_h)
//              reset_after=false: z = σ(x_z + h₋·U_z); r = σ(x_r + h₋·U_r); h̃ = g(x_h + (r∘h₋)·U_h)
//              h = z∘h₋ + (1−z)∘h̃
//
// Mapping to PyTorch (nn.RNN / nn.LSTM / nn.GRU, batch_first=True, one layer):
//   weight_ih_l0 = kernelᵀ, weight_hh_l0 = recurrent_kernelᵀ, with the gate blocks reordered:
//     LSTM: torch (i, f, g, o) = Keras (i, f, c, o): no reordering.
//     GRU:  torch (r, z, n) = Keras (z, r, h): swap the first two blocks.
//   Biases: Keras SimpleRNN/LSTM have one bias = torch bias_ih + bias_hh (load bias_ih = bias,
//   bias_hh = 0). Keras GRU reset_after=true: bias[0] = bias_ih, bias[1] = bias_hh (each reordered).
//   GRU reset_after=false has no torch equivalent (torch applies r after the recurrent matmul).
//   go_backwards=true is torch run on x.flip(1); the returned sequence stays in processing order
//   (Keras: it is not flipped back).
//
// Two paths, the same maths. With the default activations (tanh; sigmoid gates) and no recurrent
// dropout in training, the whole sequence is one fused op with one autograd node (ops/recurrent.hpp:
// per step one GEMM over all gates and one fused elementwise pass, forward and backward). Otherwise
// (other activations, recurrent dropout) backpropagation through time comes from autograd over the unrolled steps (the engine is
// iterative, so thousands of steps do not deepen the stack; the graph, and so memory, grows
// linearly with the length): the input projection of all steps is one matmul before the loop, then
// per step one matmul with the recurrent kernel, slices, the activations and elementwise ops.
//
// Dropout (training only): one mask per sequence on the inputs (`dropout`) and one on the previous
// state where it enters the recurrent matmul (`recurrent_dropout`), each drawn once per call and
// reused at every step and shared by all gates — Keras's implementation 2. (Keras 2 falls back to
// implementation 1 when recurrent_dropout > 0, with a separate mask per gate; Ember keeps one.)
//
// Masks: run() takes a [batch, time] mask (see run); Embedding(mask_zero=true) computes one with
// compute_mask(). Models pass masks from layer to layer (model.hpp, output_masks); RNN(cell): rnn.hpp.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/generator.hpp"
#include "ember/nn/activations.hpp"
#include "ember/nn/layer.hpp"

namespace ember::nn {

class LayerFields;

// ------------------------------------------------------------------ Embedding

struct EmbeddingOptions {
  int64_t input_dim = 0;   // vocabulary size: indices lie in [0, input_dim)
  int64_t output_dim = 0;  // size of each embedding vector
  InitializerPtr embeddings_initializer = initializers::get("uniform");  // Keras: U(-0.05, 0.05)
  RegularizerPtr embeddings_regularizer = nullptr;
  RegularizerPtr activity_regularizer = nullptr;
  bool mask_zero = false;  // index 0 is padding (compute_mask); input_dim must then be >= 2
  std::optional<int64_t> input_length = std::nullopt;  // Keras 2's declared sequence length, if any
  std::string name = "";
};

// Looks rows up in "embeddings" [input_dim, output_dim]: an input of indices [d0, d1, ...] (any
// integer dtype; floats are truncated to integers, as Keras casts them) gives [d0, d1, ..., output_dim].
// An index outside [0, input_dim) is a ValueError naming the layer, the index and the input shape.
// The gradient of the embeddings is held as the rows a batch used (ops::embedding_lookup,
// autograd::RowGrad), not as a dense [input_dim, output_dim] tensor: SGD without momentum and
// Adagrad then update only those rows (exact: a zero gradient row changes nothing there). The
// other optimizers update every row, as Keras does (moments decay where the gradient is zero), and
// see a dense gradient; so does any other reader of .grad(). Same numbers either way.
class Embedding : public LayerBase<Embedding> {
 public:
  explicit Embedding(EmbeddingOptions options);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  // With mask_zero: a bool tensor of the input's shape, true where the index is not 0; otherwise
  // an undefined tensor.
  Tensor compute_mask(const Tensor& indices) const;
  // With mask_zero, the mask of the indices (whatever came in); else the default.
  Tensor compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const override;
  const EmbeddingOptions& options() const { return opt_; }

 private:
  EmbeddingOptions opt_;
};

// ------------------------------------------------------------------ SimpleRNN, LSTM, GRU

// Options of the three recurrent layers. Fields marked (LSTM) or (GRU) apply to that layer only and
// must keep their default elsewhere (ValueError).
struct RecurrentOptions {
  int64_t units = 0;
  Activation activation = Activation::Tanh;
  Activation recurrent_activation = Activation::Sigmoid;  // (LSTM, GRU) the gates' activation
  bool use_bias = true;
  InitializerPtr kernel_initializer = initializers::get("glorot_uniform");
  InitializerPtr recurrent_initializer = initializers::get("orthogonal");
  InitializerPtr bias_initializer = initializers::get("zeros");
  bool unit_forget_bias = true;  // (LSTM) the forget gate's bias starts at 1 (then bias_initializer is
                                 // used for the other gates only)
  RegularizerPtr kernel_regularizer = nullptr;
  RegularizerPtr recurrent_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  RegularizerPtr activity_regularizer = nullptr;
  double dropout = 0.0;            // drop rate of the inputs, in [0, 1)
  double recurrent_dropout = 0.0;  // drop rate of the state entering the recurrent matmul, in [0, 1)
  bool return_sequences = false;   // output [batch, time, units] instead of the last step's [batch, units]
  bool return_state = false;       // the final states are extra outputs (nn::outputs_of; run() returns them too)
  bool go_backwards = false;       // process the sequence last step first
  bool stateful = false;           // each call starts from the previous call's final states
  bool unroll = false;             // accepted for Keras configs; Ember always unrolls
  bool reset_after = true;         // (GRU) Keras 2's default; false is the Keras 1 / original GRU
  bool zero_output_for_mask = false;  // masked steps output zeros instead of the previous output
                                      // (Keras's RNN keyword; Bidirectional sets it with return_sequences)
  std::optional<uint64_t> seed = std::nullopt;  // dropout masks from a Generator(seed); default generator when unset
  std::string name = "";
};
using SimpleRNNOptions = RecurrentOptions;
using LSTMOptions = RecurrentOptions;
using GRUOptions = RecurrentOptions;

// What a recurrent layer returns with its final states: `output` as call() gives it, `states` the
// final h (SimpleRNN, GRU) or h, c (LSTM), each [batch, units], as Keras's return_state lists them.
struct RecurrentOutput {
  Tensor output;
  std::vector<Tensor> states;
};

// The shared machinery of SimpleRNN, LSTM and GRU; a subclass supplies the gate count and the step.
//
// Errors: an input that is not [batch, time, features] with the built feature size → ShapeError
// naming the layer and the shape; a stateful layer called with another batch size than its states
// have → ValueError naming both; initial states of the wrong count or shape → ShapeError.
class RecurrentLayer : public Layer {
 public:
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  Generator* own_generator() override { return mask_gen_ ? &*mask_gen_ : nullptr; }
  // In a model, a mask from an earlier layer (e.g. Embedding(mask_zero)) reaches run(); the output
  // sequence keeps it, a last output has none.
  Tensor call_masked(const Tensor& x, const Tensor& mask, bool training) override;
  Tensor compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const override;
  // return_state: the final states are outputs 1, 2, ... (h, then c for LSTM), as Keras's
  // `output, h, c = LSTM(..., return_state=True)(x)`; see nn::outputs_of. A call on
  // {x, state...} starts from those states (Keras's initial_state).
  std::vector<Shape> extra_output_shapes(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> extra_outputs() const override { return state_outputs_; }
  std::vector<int64_t> state_sizes() const;  // units per state: {units} or {units, units} (LSTM)

  // call() with the final states and optional initial states (zeros when empty; each [batch, units],
  // h then c for LSTM). With stateful, empty initial states mean the carried states.
  //
  // `mask` [batch, time] (bool, or 0/1 numbers): a false step leaves the states as they were and
  // outputs the previous output (zeros with zero_output_for_mask), as Keras's RNN does with a mask.
  // For right-padded sequences of lengths L this gives PyTorch's pack_padded_sequence results: the
  // final states are those after step L-1 (go_backwards: after step 0, the padding skipped first),
  // and with zero_output_for_mask the padded steps of the output sequence are zeros.
  RecurrentOutput run(const Tensor& x, bool training = false, const std::vector<Tensor>& initial_states = {},
                      const Tensor& mask = {});
  // The final states of the last call (detached), as run() returned them; empty before any call.
  const std::vector<Tensor>& last_states() const { return last_states_; }
  // Stateful layers: forget the carried states (the next call starts from zeros, any batch size).
  void reset_states();
  int num_states() const { return num_states_; }
  const RecurrentOptions& options() const { return opt_; }

 protected:
  friend class Bidirectional;  // sets zero_output_for_mask on its copies, as Keras does
  RecurrentLayer(std::string class_name, RecurrentOptions options, int gates, int num_states);
  // One step: `xp` is this step's input projection [batch, gates·units] (bias included except
  // GRU's recurrent bias), `states` the previous states; `h_rec` is states[0] with the recurrent
  // dropout mask applied (what enters the recurrent matmul). Returns the new states (h first).
  virtual std::vector<Tensor> step(const Tensor& xp, const std::vector<Tensor>& states, const Tensor& h_rec) = 0;
  // The bias's declared shape and initializer (LSTM and GRU override).
  virtual Shape bias_shape() const;
  virtual InitializerPtr bias_init() const;
  // Reads the fields every recurrent layer shares (for the subclasses' from_config); `gated` also
  // reads recurrent_activation (LSTM, GRU).
  static RecurrentOptions read_common(const LayerFields& f, bool gated);

  RecurrentOptions opt_;
  int gates_;
  int num_states_;

 private:
  void remember_states(const std::vector<Tensor>& states);  // last_states_ and, if stateful, carried_

  std::optional<Generator> mask_gen_;
  bool wrapped_zero_output_ = false;  // a Bidirectional copy: the wrapped layer's own setting
  Tensor call_mask_;                  // the mask of the call_masked in progress
  std::vector<Tensor> carried_;      // stateful: the states the next call starts from
  std::vector<Tensor> last_states_;  // detached final states of the last call
  std::vector<Tensor> state_outputs_;  // return_state: the last call's final states, not detached
};

// Fully-connected RNN: h = activation(x·W + h₋·U + b). One gate block; state h.
class SimpleRNN final : public RecurrentLayer {
 public:
  explicit SimpleRNN(RecurrentOptions options);
  static LayerPtr from_config(const nlohmann::json& config);
  LayerPtr move_into_shared() && override { return std::make_shared<SimpleRNN>(std::move(*this)); }

 protected:
  std::vector<Tensor> step(const Tensor& xp, const std::vector<Tensor>& states, const Tensor& h_rec) override;
};

// Long short-term memory (Hochreiter 1997), Keras's LSTM: four gate blocks i, f, c, o; states h, c.
// Parameters: 4·(units·(input + units) + units).
class LSTM final : public RecurrentLayer {
 public:
  explicit LSTM(RecurrentOptions options);
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  LayerPtr move_into_shared() && override { return std::make_shared<LSTM>(std::move(*this)); }

 protected:
  std::vector<Tensor> step(const Tensor& xp, const std::vector<Tensor>& states, const Tensor& h_rec) override;
  InitializerPtr bias_init() const override;
};

// Gated recurrent unit (Cho et al. 2014), Keras's GRU: three gate blocks z, r, h; state h.
// Parameters: 3·(units·(input + units) + units), plus 3·units with reset_after (two biases).
class GRU final : public RecurrentLayer {
 public:
  explicit GRU(RecurrentOptions options);
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  LayerPtr move_into_shared() && override { return std::make_shared<GRU>(std::move(*this)); }

 protected:
  std::vector<Tensor> step(const Tensor& xp, const std::vector<Tensor>& states, const Tensor& h_rec) override;
  Shape bias_shape() const override;
};


// ------------------------------------------------------------------ Bidirectional

struct BidirectionalOptions {
  // How the two directions' outputs combine: "concat" (last axis, forward first), "sum", "mul",
  // "ave". Keras's None (two separate outputs) is not supported (ValueError).
  std::string merge_mode = "concat";
  std::string name = "";
};

// Keras's Bidirectional wrapper over a SimpleRNN, LSTM or GRU. It makes two copies of `layer` from
// its config, as Keras does (the weights of `layer` itself are not used): "forward_<name>" and
// "backward_<name>" with go_backwards flipped — or `backward_layer` when given (same
// return_sequences and return_state, opposite go_backwards). With return_sequences the backward
// copy's output is reversed back along time, so step t of both halves belongs to input step t: the
// layout of PyTorch's bidirectional=True (weight_*_l0 ← the forward copy, weight_*_l0_reverse ← the
// backward one; the last output is h_n[0] merged with h_n[1]). Its weights are the two copies',
// forward first: "forward_lstm/kernel", ..., "backward_lstm/kernel", ...
//
// Errors: a layer that is not SimpleRNN/LSTM/GRU, an unknown merge_mode, a backward_layer whose
// settings do not match → ValueError naming the wrapper; input shapes as the wrapped layer's.
class Bidirectional final : public LayerBase<Bidirectional> {
 public:
  // Bidirectional(nn::LSTM({.units = 64, .return_sequences = true}), {.merge_mode = "sum"})
  explicit Bidirectional(const RecurrentLayer& layer, BidirectionalOptions options = {});
  Bidirectional(const RecurrentLayer& layer, BidirectionalOptions options, const RecurrentLayer& backward_layer);
  // The same from shared handles (from_config); a null backward_layer means "from `layer`".
  explicit Bidirectional(const LayerPtr& layer, BidirectionalOptions options = {}, const LayerPtr& backward_layer = nullptr);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const std::vector<LayerPtr>& sublayers() const override { return layers_; }
  Tensor call_masked(const Tensor& x, const Tensor& mask, bool training) override;
  Tensor compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const override;
  // return_state: the states are outputs 1, 2, ... in run()'s order (see nn::outputs_of).
  std::vector<Shape> extra_output_shapes(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> extra_outputs() const override { return state_outputs_; }

  // call() with the final states: the forward copy's, then the backward copy's (Keras's
  // return_state order: h, c of forward, then of backward). `mask` as RecurrentLayer::run; with
  // return_sequences both copies output zeros at masked steps (Keras's Bidirectional), which for
  // right-padded batches is PyTorch's packed bidirectional output.
  RecurrentOutput run(const Tensor& x, bool training = false, const Tensor& mask = {});
  RecurrentLayer& forward_layer() const { return *forward_; }
  RecurrentLayer& backward_layer() const { return *backward_; }
  const std::string& merge_mode() const { return merge_mode_; }

 private:
  Bidirectional(const RecurrentLayer& layer, BidirectionalOptions options, const RecurrentLayer* backward_layer);
  void init(const RecurrentLayer& layer, const std::string& merge_mode, const RecurrentLayer* backward_layer);

  std::shared_ptr<RecurrentLayer> forward_, backward_;
  std::vector<LayerPtr> layers_;  // {forward_, backward_}
  std::string merge_mode_;
  bool explicit_backward_ = false;    // backward_layer was given (written to the config)
  Tensor call_mask_;                  // the mask of the call_masked in progress
  std::vector<Tensor> state_outputs_;  // return_state: the last call's final states
};

}  // namespace ember::nn
