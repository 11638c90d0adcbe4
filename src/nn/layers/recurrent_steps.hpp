#pragma once
// What the recurrent layers (recurrent.cpp) and RNN(cell) (rnn.cpp) share: the step equations of
// SimpleRNN, LSTM and GRU (see recurrent.hpp) and the time loop with Keras's mask semantics, so
// that each exists once.
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "ember/nn/activations.hpp"
#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // initializer_json, regularizer_json
#include "ember/nn/layer.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/layers/rnn.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/recurrent.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn::detail {

// The T steps of p [N, T, K] as T tensors [N, K] (backward O(T log T), see recurrent.cpp).
std::vector<Tensor> unstack_time(const Tensor& p);
// Keras's unit_forget_bias initializer of an LSTM bias [4·units]: `inner` for i, c, o; ones for f.
InitializerPtr unit_forget_bias(InitializerPtr inner, int64_t units);

// One step from the input projection `xp` = x·W + b [N, k·units] and `h_rec`, the previous h as it
// enters the recurrent matmul (recurrent dropout applied):
Tensor simple_rnn_step(const Tensor& xp, const Tensor& h_rec, const Tensor& recurrent_kernel, Activation activation);
// {h, c} from the previous cell state `c`.
std::vector<Tensor> lstm_step(const Tensor& xp, const Tensor& c, const Tensor& h_rec, const Tensor& recurrent_kernel,
                              Activation recurrent_activation, Activation activation, int64_t units);
// The new h from the previous `h`; `recurrent_bias` [3·units] with reset_after (undefined: none).
Tensor gru_step(const Tensor& xp, const Tensor& h, const Tensor& h_rec, const Tensor& recurrent_kernel,
                const Tensor& recurrent_bias, bool reset_after, Activation recurrent_activation, Activation activation,
                int64_t units);

// The states a call on x [batch, time, ...] starts from: `given` (one [batch, size] per entry of
// `sizes`, else ShapeError), else `carried` (a stateful layer's; another batch size is a
// ValueError), else zeros. Errors name `layer`.
std::vector<Tensor> start_states(const Layer& layer, const Tensor& x, const std::vector<Tensor>& given,
                                 const std::vector<Tensor>& carried, const std::vector<int64_t>& sizes);

// The input shapes of a recurrent layer's call: x (batch, time, features) — with `features` when
// it is >= 0 (a built layer), any known size otherwise — optionally followed by one initial state
// (batch, size) per entry of `sizes` (Keras's initial_state, which a functional model passes as
// extra inputs). ShapeError naming `layer` and the shapes otherwise.
void check_call_shapes(const Layer& layer, const std::vector<Shape>& shapes, const std::vector<int64_t>& sizes,
                       int64_t features);
// The shapes of the final states as extra outputs (return_state): (batch, size) each.
std::vector<Shape> state_shapes(const Shape& x, const std::vector<int64_t>& sizes);

// A recurrent layer's call on {x, initial state...}: `run(x, initial_states)` → RecurrentOutput;
// with `return_state` its final states become the layer's extra outputs (`state_outputs`).
template <typename Run>
Tensor call_from_inputs(const Layer& layer, const std::vector<Tensor>& inputs, bool return_state,
                        std::vector<Tensor>& state_outputs, Run&& run) {
  if (inputs.empty()) layer.fail<ValueError>("called without inputs");
  const std::vector<Tensor> initial(inputs.begin() + 1, inputs.end());  // Keras's initial_state
  RecurrentOutput out = run(inputs[0], initial);
  state_outputs.clear();
  if (return_state) state_outputs = std::move(out.states);
  return out.output;
}

struct LoopOptions {
  bool go_backwards = false;
  bool return_sequences = false;
  bool zero_output_for_mask = false;
};

// ShapeError naming `layer` and both shapes unless `mask` (when defined) is [batch, time] of x.
void check_mask(const Layer& layer, const Tensor& mask, const Tensor& x);

// The whole-sequence op's cell (ops/recurrent.hpp) for these settings — tanh, and sigmoid gates —
// else nullopt: the step-by-step path. `gates`: 1 SimpleRNN, 4 LSTM, 3 GRU.
std::optional<RecurrentCellKind> fused_cell(Activation activation, Activation recurrent_activation, int gates,
                                            bool reset_after);

// The sequence x through the whole-sequence op, as Keras's (output, final states). Empty when an
// operand's dtype differs from x's (the step path promotes mixed dtypes; the op does not). `bias`
// undefined: none. Errors name `layer`.
std::optional<RecurrentOutput> run_fused(const Layer& layer, const Tensor& x, const Tensor& kernel,
                                         const Tensor& recurrent_kernel, const Tensor& bias,
                                         const std::vector<Tensor>& states, const Tensor& mask,
                                         RecurrentCellKind cell, const LoopOptions& loop);

// `mask` [batch, time] (bool or 0/1) for input x [batch, time, ...] as one [batch, 1] column of 0/1
// per step in x's dtype; empty for an undefined mask; ShapeError naming `layer` and both shapes
// when it does not fit.
std::vector<Tensor> mask_columns(const Layer& layer, const Tensor& mask, const Tensor& x);


// The time loop of every recurrent layer: `step(t, states)` gives step t's CellOutput. With mask
// columns `keep` (mask_columns), a masked row keeps its states and repeats its previous output
// (zeros with zero_output_for_mask; zeros before any real step): s = m·new + (1 − m)·old.
// Returns the output sequence [N, T, ...] (return_sequences; in processing order) or the last
// output, and the final states.
template <typename Step>
RecurrentOutput recurrent_loop(int64_t steps, std::vector<Tensor> states, const std::vector<Tensor>& keep,
                               const LoopOptions& o, Step&& step) {
  std::vector<Tensor> outputs;
  if (o.return_sequences) outputs.reserve(static_cast<std::size_t>(steps));
  Tensor output;  // the last step's output (the carried one at masked steps)
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = o.go_backwards ? steps - 1 - k : k;
    CellOutput next = step(t, states);
    if (keep.empty()) {
      states = std::move(next.states);
      output = std::move(next.output);
    } else {
      const Tensor& m = keep[static_cast<std::size_t>(t)];
      const Tensor skip = 1.0 - m;
      Tensor out = m * next.output;
      if (!o.zero_output_for_mask) out = out + skip * (output.defined() ? output : zeros_like(next.output));
      for (std::size_t i = 0; i < next.states.size(); ++i) states[i] = m * next.states[i] + skip * states[i];
      output = out;
    }
    if (o.return_sequences) outputs.push_back(output);
  }
  return {o.return_sequences ? stack(outputs, 1) : output, states};
}

// ---- Keras config fields that the layers (RecurrentOptions) and the cells (RNNCellOptions) share,
// for either options struct (the fields have the same names).

// units, activation(s), use_bias, the initializers and regularizers of the weights, null constraints.
template <typename Options>
void write_weight_fields(nlohmann::json& c, const Options& o, bool gated) {
  c["units"] = o.units;
  c["activation"] = activation_name(o.activation);
  if (gated) c["recurrent_activation"] = activation_name(o.recurrent_activation);
  c["use_bias"] = o.use_bias;
  c["kernel_initializer"] = initializer_json(o.kernel_initializer);
  c["recurrent_initializer"] = initializer_json(o.recurrent_initializer);
  c["bias_initializer"] = initializer_json(o.bias_initializer);
  c["kernel_regularizer"] = regularizer_json(o.kernel_regularizer);
  c["recurrent_regularizer"] = regularizer_json(o.recurrent_regularizer);
  c["bias_regularizer"] = regularizer_json(o.bias_regularizer);
  c["kernel_constraint"] = nullptr;
  c["recurrent_constraint"] = nullptr;
  c["bias_constraint"] = nullptr;
}

template <typename Options>
void read_weight_fields(const LayerFields& f, Options& o, bool gated) {
  f.no_constraints({"kernel_constraint", "recurrent_constraint", "bias_constraint"});
  o.units = f.positive("units");
  if (f.find("activation")) o.activation = f.activation("activation");
  if (gated && f.find("recurrent_activation")) o.recurrent_activation = f.activation("recurrent_activation");
  o.use_bias = f.boolean("use_bias", true);
  o.kernel_initializer = f.initializer("kernel_initializer", "glorot_uniform");
  o.recurrent_initializer = f.initializer("recurrent_initializer", "orthogonal");
  o.bias_initializer = f.initializer("bias_initializer", "zeros");
  o.kernel_regularizer = f.regularizer("kernel_regularizer");
  o.recurrent_regularizer = f.regularizer("recurrent_regularizer");
  o.bias_regularizer = f.regularizer("bias_regularizer");
}

// return_sequences, return_state, go_backwards, stateful, unroll, time_major (false) and
// zero_output_for_mask (written only when set, as Keras).
template <typename Options>
void write_sequence_fields(nlohmann::json& c, const Options& o) {
  c["return_sequences"] = o.return_sequences;
  c["return_state"] = o.return_state;
  c["go_backwards"] = o.go_backwards;
  c["stateful"] = o.stateful;
  c["unroll"] = o.unroll;
  c["time_major"] = false;
  if (o.zero_output_for_mask) c["zero_output_for_mask"] = true;
}

template <typename Options>
void read_sequence_fields(const LayerFields& f, Options& o) {
  f.require_false("time_major");
  o.return_sequences = f.boolean("return_sequences", false);
  o.return_state = f.boolean("return_state", false);
  o.go_backwards = f.boolean("go_backwards", false);
  o.stateful = f.boolean("stateful", false);
  o.unroll = f.boolean("unroll", false);
  o.zero_output_for_mask = f.boolean("zero_output_for_mask", false);
  o.name = f.name();
}

}  // namespace ember::nn::detail
