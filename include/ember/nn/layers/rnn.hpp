#pragma once
// Keras's generic RNN layer over a cell: RNN(cell) runs `cell` over the time axis, with the same
// loop, masks and options as SimpleRNN / LSTM / GRU (recurrent.hpp). The built-in cells have the
// layers' step equations and weights (kernel, recurrent_kernel, bias; same shapes, same
// initializers), so RNN(LSTMCell(8)) computes what LSTM(8) computes with the same weights.
//
//   nn::RNN(nn::LSTMCell({.units = 8}), {.return_sequences = true})
//   nn::RNN(nn::StackedRNNCells({nn::GRUCell({.units = 8}), nn::LSTMCell({.units = 4})}))
//
// A user's cell derives from RNNCell (see the contract there) and works the same way; give it a
// from_config and register it (nn::register_layer) for Keras JSON.
//
// Keras JSON: RNN {"cell": {"class_name", "config"}, "return_sequences", "return_state",
// "go_backwards", "stateful", "unroll", "time_major": false}; the cells' configs are the layers'
// minus the sequence fields. Cells take no dropout here: a config with dropout or
// recurrent_dropout other than 0 is a FormatError naming the cell (use the LSTM/GRU/SimpleRNN layers).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ember/nn/activations.hpp"
#include "ember/nn/layer.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/ops/recurrent.hpp"

namespace ember::nn {

class LayerFields;

// What one step of a cell gives: the step's output and the new states.
struct CellOutput {
  Tensor output;
  std::vector<Tensor> states;
};

// The contract of a cell (a Layer, so its weights are named and saved as any layer's):
//   state_sizes()  the size of each state, in order (each state is [batch, size]);
//   output_size()  the size of a step's output (default: the first state's);
//   build(shapes)  shapes[0] is one step's input [batch, features]: declare the weights;
//   step(x, states, training)  x [batch, features], states as state_sizes → the step's output
//                  [batch, output_size] and the new states (same count and shapes); ops only, so
//                  backpropagation through time comes from autograd.
// Called alone, a cell takes {x, states...} and returns the step's output.
class RNNCell : public Layer {
 public:
  using Layer::Layer;
  virtual std::vector<int64_t> state_sizes() const = 0;
  virtual int64_t output_size() const { return state_sizes().at(0); }
  virtual CellOutput step(const Tensor& x, const std::vector<Tensor>& states, bool training) = 0;

  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  // {x [batch, features], one [batch, size] per state}; ShapeError naming the cell otherwise.
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
};
using RNNCellPtr = std::shared_ptr<RNNCell>;

// Options of the built-in cells: the recurrent layers' (RecurrentOptions) minus the sequence ones.
struct RNNCellOptions {
  int64_t units = 0;
  Activation activation = Activation::Tanh;
  Activation recurrent_activation = Activation::Sigmoid;  // (LSTMCell, GRUCell)
  bool use_bias = true;
  InitializerPtr kernel_initializer = initializers::get("glorot_uniform");
  InitializerPtr recurrent_initializer = initializers::get("orthogonal");
  InitializerPtr bias_initializer = initializers::get("zeros");
  bool unit_forget_bias = true;  // (LSTMCell)
  RegularizerPtr kernel_regularizer = nullptr;
  RegularizerPtr recurrent_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  bool reset_after = true;  // (GRUCell)
  std::string name = "";
};

// The built-in cells' shared part: weights kernel [features, k·units], recurrent_kernel
// [units, k·units], bias as the matching layer's.
class GatedCell : public RNNCell {
 public:
  void build(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  const RNNCellOptions& options() const { return opt_; }

  // What the whole-sequence op (ops/recurrent.hpp) needs to run this cell over a sequence in one
  // go, as the LSTM / GRU / SimpleRNN layers do: given when the activations are the ones it
  // implements (tanh; sigmoid gates) and the cell is built, else nullopt (RNN steps the cell).
  struct FusedParts {
    RecurrentCellKind kind;
    Tensor kernel, recurrent_kernel, bias;  // bias undefined without use_bias
  };
  std::optional<FusedParts> fused_parts();

 protected:
  GatedCell(std::string class_name, RNNCellOptions options, int gates);
  static RNNCellOptions read_common(const LayerFields& f, bool gated);
  // The bias's declared shape and initializer (LSTMCell and GRUCell override), as the layers'.
  virtual Shape bias_shape() const { return {gates_ * opt_.units}; }
  virtual InitializerPtr bias_init() const { return opt_.bias_initializer; }
  // x·kernel + bias (GRU reset_after: the input bias row).
  Tensor input_projection(const Tensor& x);

  RNNCellOptions opt_;
  int gates_;
};

// h = activation(x·W + h₋·U + b): SimpleRNN's step. State h [units].
class SimpleRNNCell final : public GatedCell {
 public:
  explicit SimpleRNNCell(RNNCellOptions options);
  std::vector<int64_t> state_sizes() const override { return {opt_.units}; }
  CellOutput step(const Tensor& x, const std::vector<Tensor>& states, bool training) override;
  static LayerPtr from_config(const nlohmann::json& config);
  LayerPtr move_into_shared() && override { return std::make_shared<SimpleRNNCell>(std::move(*this)); }
};

// LSTM's step (gates i, f, c, o). States h, c [units].
class LSTMCell final : public GatedCell {
 public:
  explicit LSTMCell(RNNCellOptions options);
  std::vector<int64_t> state_sizes() const override { return {opt_.units, opt_.units}; }
  CellOutput step(const Tensor& x, const std::vector<Tensor>& states, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  LayerPtr move_into_shared() && override { return std::make_shared<LSTMCell>(std::move(*this)); }

 protected:
  InitializerPtr bias_init() const override;
};

// GRU's step (gates z, r, h; reset_after as GRU). State h [units].
class GRUCell final : public GatedCell {
 public:
  explicit GRUCell(RNNCellOptions options);
  std::vector<int64_t> state_sizes() const override { return {opt_.units}; }
  CellOutput step(const Tensor& x, const std::vector<Tensor>& states, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  LayerPtr move_into_shared() && override { return std::make_shared<GRUCell>(std::move(*this)); }

 protected:
  Shape bias_shape() const override;
};

// Keras's StackedRNNCells: the cells one above the other within each step (cell i's output is cell
// i+1's input); the states are every cell's, in order; the output is the last cell's.
class StackedRNNCells final : public RNNCell {
 public:
  explicit StackedRNNCells(std::vector<LayerRef> cells, std::string name = "");
  std::vector<int64_t> state_sizes() const override;
  int64_t output_size() const override;
  CellOutput step(const Tensor& x, const std::vector<Tensor>& states, bool training) override;
  void build(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;  // {"cells": [{"class_name", "config"}, ...]}
  static LayerPtr from_config(const nlohmann::json& config);
  const std::vector<LayerPtr>& sublayers() const override { return layers_; }
  LayerPtr move_into_shared() && override { return std::make_shared<StackedRNNCells>(std::move(*this)); }

 private:
  std::vector<RNNCellPtr> cells_;
  std::vector<LayerPtr> layers_;  // the same, as layers
};

struct RNNOptions {
  bool return_sequences = false;      // output [batch, time, output_size] instead of the last step's
  bool return_state = false;          // the final states are extra outputs (nn::outputs_of)
  bool go_backwards = false;          // process the sequence last step first
  bool stateful = false;              // each call starts from the previous call's final states
  bool unroll = false;                // accepted for Keras configs; Ember always unrolls
  bool zero_output_for_mask = false;  // masked steps output zeros instead of the previous output
  std::string name = "";
};

// The RNN layer. Input [batch, time, features]; the cell is built on the first call for
// [batch, features]. Masks, initial states, stateful, go_backwards and the errors are those of the
// recurrent layers (RecurrentLayer::run); the cell's weights are the layer's ("lstm_cell/kernel").
class RNN final : public LayerBase<RNN> {
 public:
  explicit RNN(LayerPtr cell, RNNOptions options = {});
  // From a cell temporary: nn::RNN(nn::LSTMCell({.units = 8})).
  template <typename C>
    requires(!std::same_as<std::remove_cvref_t<C>, RNN>) && (!std::is_lvalue_reference_v<C>) && LayerClass<C>
  explicit RNN(C&& cell, RNNOptions options = {}) : RNN(LayerPtr(std::make_shared<C>(std::move(cell))), std::move(options)) {}
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const std::vector<LayerPtr>& sublayers() const override { return layers_; }
  Tensor call_masked(const Tensor& x, const Tensor& mask, bool training) override;
  Tensor compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const override;
  // As RecurrentLayer: return_state makes the final states outputs 1, 2, ...; a call on
  // {x, state...} starts from those states.
  std::vector<Shape> extra_output_shapes(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> extra_outputs() const override { return state_outputs_; }

  // call() with the final states (the cell's state order) and optional initial states, as
  // RecurrentLayer::run.
  RecurrentOutput run(const Tensor& x, bool training = false, const std::vector<Tensor>& initial_states = {},
                      const Tensor& mask = {});
  const std::vector<Tensor>& last_states() const { return last_states_; }
  void reset_states();
  RNNCell& cell() const { return *cell_; }
  const RNNOptions& options() const { return opt_; }

 private:
  void remember_states(const std::vector<Tensor>& states);  // last_states_, and carried_ when stateful

  RNNCellPtr cell_;
  std::vector<LayerPtr> layers_;  // {cell_}
  RNNOptions opt_;
  Tensor call_mask_;
  std::vector<Tensor> carried_, last_states_;
  std::vector<Tensor> state_outputs_;  // return_state: the last call's final states, not detached
};

}  // namespace ember::nn
