#include "ember/nn/layers/recurrent.hpp"

#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail::single_input, initializer_json, regularizer_json
#include "ember/ops/activation.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/normalization.hpp"
#include "ember/ops/recurrent.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "recurrent_steps.hpp"

namespace ember::nn {

namespace {

std::string dims(const Tensor& t) { return to_string(t.shape()); }

// Block `i` (of width `units`) of the last axis of z [N, k·units].
Tensor block(const Tensor& z, int64_t i, int64_t units) { return slice(z, 1, i * units, (i + 1) * units); }

// Keras's unit_forget_bias: bias_initializer for the i, c, o blocks and ones for f.
class UnitForgetBias final : public initializers::Initializer {
 public:
  UnitForgetBias(InitializerPtr inner, int64_t units) : inner_(std::move(inner)), units_(units) {}
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override {
    // Keras draws the other blocks as two calls (units, then 2·units): the same draws here.
    Tensor i = (*inner_)({units_}, dtype, gen);
    Tensor co = (*inner_)({2 * units_}, dtype, gen);
    Tensor b = concat({i, ones({units_}, dtype), co}, 0);
    return reshape(b, shape);
  }
  std::string class_name() const override { return inner_->class_name(); }
  nlohmann::json get_config() const override { return inner_->get_config(); }

 private:
  InitializerPtr inner_;
  int64_t units_;
};

}  // namespace

namespace detail {

InitializerPtr unit_forget_bias(InitializerPtr inner, int64_t units) {
  return std::make_shared<UnitForgetBias>(std::move(inner), units);
}

// The T steps of p [N, T, K] as T tensors [N, K]. Halving the time axis level by level keeps the
// backward cost O(T log T): a slice's gradient is a zero tensor of its parent's size, so slicing
// each step straight out of p would cost O(T²) in backward.
std::vector<Tensor> unstack_time(const Tensor& p) {
  const int64_t steps = p.size(1);
  std::vector<Tensor> out(static_cast<std::size_t>(steps));
  std::vector<std::pair<Tensor, int64_t>> todo{{p, 0}};  // (piece, its first step)
  while (!todo.empty()) {
    auto [piece, first] = std::move(todo.back());
    todo.pop_back();
    const int64_t len = piece.size(1);
    if (len == 1) {
      out[static_cast<std::size_t>(first)] = squeeze(piece, 1);
      continue;
    }
    const int64_t half = len / 2;
    todo.emplace_back(slice(piece, 1, 0, half), first);
    todo.emplace_back(slice(piece, 1, half, len), first + half);
  }
  return out;
}

Tensor simple_rnn_step(const Tensor& xp, const Tensor& h_rec, const Tensor& recurrent_kernel, Activation activation) {
  return apply_activation(activation, xp + matmul(h_rec, recurrent_kernel));
}

std::vector<Tensor> lstm_step(const Tensor& xp, const Tensor& c_prev, const Tensor& h_rec, const Tensor& recurrent_kernel,
                              Activation sigma, Activation g, int64_t u) {
  Tensor z = xp + matmul(h_rec, recurrent_kernel);
  Tensor i = apply_activation(sigma, block(z, 0, u));
  Tensor f = apply_activation(sigma, block(z, 1, u));
  Tensor c = f * c_prev + i * apply_activation(g, block(z, 2, u));
  Tensor o = apply_activation(sigma, block(z, 3, u));
  return {o * apply_activation(g, c), c};
}

Tensor gru_step(const Tensor& xp, const Tensor& h, const Tensor& h_rec, const Tensor& rk, const Tensor& recurrent_bias,
                bool reset_after, Activation sigma, Activation g, int64_t u) {
  Tensor z, r, hh;
  if (reset_after) {
    Tensor inner = matmul(h_rec, rk);
    if (recurrent_bias.defined()) inner = inner + recurrent_bias;
    z = apply_activation(sigma, block(xp, 0, u) + block(inner, 0, u));
    r = apply_activation(sigma, block(xp, 1, u) + block(inner, 1, u));
    hh = apply_activation(g, block(xp, 2, u) + r * block(inner, 2, u));
  } else {
    Tensor zr = matmul(h_rec, slice(rk, 1, 0, 2 * u));
    z = apply_activation(sigma, block(xp, 0, u) + block(zr, 0, u));
    r = apply_activation(sigma, block(xp, 1, u) + block(zr, 1, u));
    hh = apply_activation(g, block(xp, 2, u) + matmul(r * h_rec, slice(rk, 1, 2 * u, 3 * u)));
  }
  return z * h + (1.0 - z) * hh;
}

void check_call_shapes(const Layer& layer, const std::vector<Shape>& shapes, const std::vector<int64_t>& sizes,
                       int64_t features) {
  auto text = [&] {
    std::string t;
    for (const Shape& s : shapes) t += (t.empty() ? "" : ", ") + to_string(s);
    return shapes.size() == 1 ? t : std::to_string(shapes.size()) + " inputs " + t;
  };
  const std::string f = features >= 0 ? std::to_string(features) : "features";
  if (features < 0 && !shapes.empty() && shapes[0].size() == 3 && shapes[0][2] < 0) {
    layer.fail<ShapeError>("expected input of shape (batch, time, features) with known features (they size the kernel), got " +
                           keras_shape(shapes[0]));
  }
  const bool x_ok = !shapes.empty() && shapes[0].size() == 3 && (features >= 0 ? shapes[0][2] == features : shapes[0][2] > 0);
  if (!x_ok || (shapes.size() != 1 && shapes.size() != sizes.size() + 1)) {
    layer.fail<ShapeError>("expected input of shape (batch, time, " + f + ")" +
                           (features >= 0 ? "" : " with known features") + ", optionally followed by " +
                           std::to_string(sizes.size()) + " initial state(s), got " + text());
  }
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    if (s.size() != 2 || s[1] != sizes[i - 1] || (s[0] >= 0 && shapes[0][0] >= 0 && s[0] != shapes[0][0])) {
      layer.fail<ShapeError>("expected initial state " + std::to_string(i - 1) + " of shape (batch, " +
                             std::to_string(sizes[i - 1]) + ") for input " + to_string(shapes[0]) + ", got " + to_string(s));
    }
  }
}

std::vector<Shape> state_shapes(const Shape& x, const std::vector<int64_t>& sizes) {
  std::vector<Shape> out;
  for (int64_t size : sizes) out.push_back({x.empty() ? -1 : x[0], size});
  return out;
}

std::vector<Tensor> start_states(const Layer& layer, const Tensor& x, const std::vector<Tensor>& given,
                                 const std::vector<Tensor>& carried, const std::vector<int64_t>& sizes) {
  const int64_t batch = x.size(0);
  std::vector<Tensor> states = given;
  if (states.empty() && !carried.empty()) {
    if (carried[0].size(0) != batch) {
      layer.fail<ValueError>("stateful: the states were built for batch size " + std::to_string(carried[0].size(0)) +
                             ", got input " + dims(x) + " (call reset_states() to change the batch size)");
    }
    states = carried;
  }
  if (states.empty()) {
    for (int64_t size : sizes) states.push_back(zeros({batch, size}, x.dtype()));
  } else if (states.size() != sizes.size()) {
    layer.fail<ShapeError>("expected " + std::to_string(sizes.size()) + " initial states, got " + std::to_string(states.size()));
  }
  for (std::size_t i = 0; i < states.size(); ++i) {
    const Shape want{batch, sizes[i]};
    if (states[i].shape() != want) {
      layer.fail<ShapeError>("expected initial states of shape " + to_string(want) + " for input " + dims(x) + ", got " +
                             dims(states[i]));
    }
  }
  return states;
}

void check_mask(const Layer& layer, const Tensor& mask, const Tensor& x) {
  const Shape want{x.size(0), x.size(1)};
  if (mask.defined() && mask.shape() != want) {
    layer.fail<ShapeError>("expected a mask of shape " + to_string(want) + " for input " + dims(x) + ", got " + dims(mask));
  }
}

std::optional<RecurrentCellKind> fused_cell(Activation activation, Activation recurrent_activation, int gates,
                                            bool reset_after) {
  if (activation != Activation::Tanh || (gates > 1 && recurrent_activation != Activation::Sigmoid)) return std::nullopt;
  if (gates == 4) return RecurrentCellKind::LSTM;
  if (gates == 3) return reset_after ? RecurrentCellKind::GRU : RecurrentCellKind::GRUResetBefore;
  return RecurrentCellKind::SimpleRNN;
}

std::optional<RecurrentOutput> run_fused(const Layer& layer, const Tensor& x, const Tensor& kernel,
                                         const Tensor& recurrent_kernel, const Tensor& bias,
                                         const std::vector<Tensor>& states, const Tensor& mask,
                                         RecurrentCellKind cell, const LoopOptions& loop) {
  bool one_dtype = kernel.dtype() == x.dtype() && recurrent_kernel.dtype() == x.dtype() &&
                   (!bias.defined() || bias.dtype() == x.dtype());
  for (const Tensor& t : states) one_dtype = one_dtype && t.dtype() == x.dtype();
  if (!one_dtype) return std::nullopt;
  check_mask(layer, mask, x);
  Tensor packed = recurrent_sequence(x, kernel, recurrent_kernel, bias, states, mask,
                                     {.cell = cell, .go_backwards = loop.go_backwards,
                                      .return_sequences = loop.return_sequences,
                                      .zero_output_for_mask = loop.zero_output_for_mask});
  const int64_t steps = x.size(1), outputs = loop.return_sequences ? steps : 1;
  RecurrentOutput out;
  out.output = loop.return_sequences ? slice(packed, 1, 0, steps) : squeeze(slice(packed, 1, 0, 1), 1);
  for (int64_t s = 0; s < static_cast<int64_t>(states.size()); ++s) {
    out.states.push_back(squeeze(slice(packed, 1, outputs + s, outputs + s + 1), 1));
  }
  return out;
}

std::vector<Tensor> mask_columns(const Layer& layer, const Tensor& mask, const Tensor& x) {
  if (!mask.defined()) return {};
  check_mask(layer, mask, x);
  return unstack_time(unsqueeze(mask.detach().to(x.dtype()), 2));  // T × [batch, 1]
}

}  // namespace detail

// ------------------------------------------------------------------ Embedding

Embedding::Embedding(EmbeddingOptions options) : LayerBase("Embedding", options.name), opt_(std::move(options)) {
  if (opt_.input_dim <= 0 || opt_.output_dim <= 0) {
    fail<ValueError>("input_dim and output_dim must be positive, got " + std::to_string(opt_.input_dim) + " and " +
                     std::to_string(opt_.output_dim));
  }
  if (opt_.mask_zero && opt_.input_dim < 2) {
    fail<ValueError>("mask_zero reserves index 0, so input_dim must be >= 2, got " + std::to_string(opt_.input_dim));
  }
  if (opt_.input_length && *opt_.input_length <= 0) {
    fail<ValueError>("input_length must be positive, got " + std::to_string(*opt_.input_length));
  }
  if (!opt_.embeddings_initializer) fail<ValueError>("embeddings_initializer must be set");
  if (opt_.activity_regularizer) set_activity_regularizer(opt_.activity_regularizer);
}

void Embedding::build(const std::vector<Shape>& shapes) {
  if (shapes.size() != 1) fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  add_weight("embeddings", {opt_.input_dim, opt_.output_dim}, opt_.embeddings_initializer, true,
             opt_.embeddings_regularizer);
  mark_built(shapes);
}

void Embedding::check_input_shapes(const std::vector<Shape>& shapes) const {
  // Any index shape is fine (Keras fixes only input_length, when given, on axis 1).
  if (shapes.size() != 1) fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  const Shape& s = shapes[0];
  if (opt_.input_length && (s.size() < 2 || (s[1] >= 0 && s[1] != *opt_.input_length))) {
    fail<ShapeError>("expected indices of shape (batch, " + std::to_string(*opt_.input_length) + ", ...) (input_length), got " +
                     to_string(s));
  }
}

Shape Embedding::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  Shape out = shapes[0];
  out.push_back(opt_.output_dim);
  return out;
}

Tensor Embedding::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  Tensor idx = x.dtype() == i64 ? x.detach() : cast(x.detach(), i64);  // floats truncate, as Keras's cast
  if (idx.numel() > 0) {
    // gather would read a negative index from the end; Keras has no such indices: check both ends.
    int64_t lo = min(idx).item<int64_t>(), hi = max(idx).item<int64_t>();
    if (lo < 0 || hi >= opt_.input_dim) {
      fail<ValueError>("index " + std::to_string(lo < 0 ? lo : hi) + " in the input of shape " + dims(x) +
                       " is outside [0, input_dim = " + std::to_string(opt_.input_dim) + ")");
    }
  }
  return embedding_lookup(weights_[0].value(), idx);  // row gradients: see the header
}

Tensor Embedding::compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const {
  return opt_.mask_zero ? compute_mask(x) : Layer::compute_output_mask(x, y, mask);
}

Tensor Embedding::compute_mask(const Tensor& indices) const {
  if (!opt_.mask_zero) return Tensor();
  Tensor idx = indices.dtype() == i64 ? indices.detach() : cast(indices.detach(), i64);
  return not_equal(idx, zeros({}, i64));
}

nlohmann::json Embedding::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["input_dim"] = opt_.input_dim;
  c["output_dim"] = opt_.output_dim;
  c["embeddings_initializer"] = detail::initializer_json(opt_.embeddings_initializer);
  c["embeddings_regularizer"] = detail::regularizer_json(opt_.embeddings_regularizer);
  c["activity_regularizer"] = detail::regularizer_json(opt_.activity_regularizer);
  c["embeddings_constraint"] = nullptr;
  c["mask_zero"] = opt_.mask_zero;
  c["input_length"] = opt_.input_length ? nlohmann::json(*opt_.input_length) : nlohmann::json(nullptr);
  return c;
}

LayerPtr Embedding::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Embedding");
  f.no_constraints({"embeddings_constraint"});
  f.require_false("sparse");  // Keras 3: sparse gradients as a sparse tensor
  f.ignore({"lora_rank"});
  EmbeddingOptions o{.input_dim = f.positive("input_dim"), .output_dim = f.positive("output_dim")};
  o.embeddings_initializer = f.initializer("embeddings_initializer", "uniform");
  o.embeddings_regularizer = f.regularizer("embeddings_regularizer");
  o.activity_regularizer = f.regularizer("activity_regularizer");
  o.mask_zero = f.boolean("mask_zero", false);
  if (f.find("input_length")) o.input_length = f.positive("input_length");
  o.name = f.name();
  return std::make_shared<Embedding>(std::move(o));
}

// ------------------------------------------------------------------ RecurrentLayer

RecurrentLayer::RecurrentLayer(std::string class_name, RecurrentOptions options, int gates, int num_states)
    : Layer(std::move(class_name), options.name), opt_(std::move(options)), gates_(gates), num_states_(num_states) {
  if (opt_.units <= 0) fail<ValueError>("units must be positive, got " + std::to_string(opt_.units));
  for (auto [rate, what] : {std::pair{opt_.dropout, "dropout"}, std::pair{opt_.recurrent_dropout, "recurrent_dropout"}}) {
    if (!(rate >= 0.0 && rate < 1.0)) fail<ValueError>(std::string(what) + " must be in [0, 1), got " + std::to_string(rate));
  }
  if (!opt_.kernel_initializer || !opt_.recurrent_initializer || (opt_.use_bias && !opt_.bias_initializer)) {
    fail<ValueError>("every used initializer must be set");
  }
  if (opt_.activity_regularizer) set_activity_regularizer(opt_.activity_regularizer);
  if (opt_.seed) mask_gen_.emplace(*opt_.seed);
}

Shape RecurrentLayer::bias_shape() const { return {gates_ * opt_.units}; }
InitializerPtr RecurrentLayer::bias_init() const { return opt_.bias_initializer; }

std::vector<int64_t> RecurrentLayer::state_sizes() const {
  return std::vector<int64_t>(static_cast<std::size_t>(num_states_), opt_.units);
}

void RecurrentLayer::build(const std::vector<Shape>& shapes) {
  detail::check_call_shapes(*this, shapes, state_sizes(), -1);
  const int64_t in = shapes[0][2], width = checked_product(*this, {gates_, opt_.units}, "gates x units");
  add_weight("kernel", {in, width}, opt_.kernel_initializer, true, opt_.kernel_regularizer);
  add_weight("recurrent_kernel", {opt_.units, width}, opt_.recurrent_initializer, true, opt_.recurrent_regularizer);
  if (opt_.use_bias) add_weight("bias", bias_shape(), bias_init(), true, opt_.bias_regularizer);
  mark_built(shapes);
}

void RecurrentLayer::check_input_shapes(const std::vector<Shape>& shapes) const {
  detail::check_call_shapes(*this, shapes, state_sizes(), built_input_shapes()[0][2]);
}

std::vector<Shape> RecurrentLayer::extra_output_shapes(const std::vector<Shape>& shapes) {
  if (!opt_.return_state) return {};
  return detail::state_shapes(shapes.at(0), state_sizes());
}

Shape RecurrentLayer::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  const Shape& s = shapes[0];
  return opt_.return_sequences ? Shape{s[0], s[1], opt_.units} : Shape{s[0], opt_.units};
}

Tensor RecurrentLayer::call(const std::vector<Tensor>& inputs, bool training) {
  return detail::call_from_inputs(*this, inputs, opt_.return_state, state_outputs_,
                                  [&](const Tensor& x, const std::vector<Tensor>& initial) {
                                    return run(x, training, initial, call_mask_);
                                  });
}

Tensor RecurrentLayer::call_masked(const Tensor& x, const Tensor& mask, bool training) {
  return call_with_mask(call_mask_, x, mask, training);
}

Tensor RecurrentLayer::compute_output_mask(const Tensor&, const Tensor&, const Tensor& mask) const {
  return opt_.return_sequences ? mask : Tensor();
}

void RecurrentLayer::reset_states() {
  carried_.clear();
  last_states_.clear();
  state_outputs_.clear();
}

RecurrentOutput RecurrentLayer::run(const Tensor& x, bool training, const std::vector<Tensor>& initial_states,
                                    const Tensor& mask) {
  if (!built()) build({x.shape()});
  check_input_shapes({x.shape()});
  if (!is_floating(x.dtype())) fail<DTypeError>("expected a floating-point input, got " + std::string(dtype_name(x.dtype())));
  const int64_t batch = x.size(0), steps = x.size(1), units = opt_.units;
  if (steps == 0) fail<ShapeError>("expected at least one time step, got input " + dims(x));

  std::vector<Tensor> states = detail::start_states(*this, x, initial_states, opt_.stateful ? carried_ : std::vector<Tensor>{},
                                                   std::vector<int64_t>(static_cast<std::size_t>(num_states_), units));

  Generator* gen = mask_gen_ ? &*mask_gen_ : &generator();
  Tensor xin = x;
  if (training && opt_.dropout > 0) {  // one mask per sequence, the same at every step
    xin = x * unsqueeze(dropout(ones({batch, x.size(2)}, x.dtype()), opt_.dropout, true, gen), 1);
  }
  Tensor rec_mask;
  if (training && opt_.recurrent_dropout > 0) {
    rec_mask = dropout(ones({batch, units}, x.dtype()), opt_.recurrent_dropout, true, gen);
  }

  // The fast path: the whole sequence as one op (ops/recurrent.hpp), the same maths, when it
  // implements the settings (no recurrent dropout in training).
  const detail::LoopOptions loop{opt_.go_backwards, opt_.return_sequences, opt_.zero_output_for_mask};
  if (auto cell = detail::fused_cell(opt_.activation, opt_.recurrent_activation, gates_, opt_.reset_after);
      cell && !rec_mask.defined()) {
    std::optional<RecurrentOutput> out =
        detail::run_fused(*this, xin, weights_[0].value(), weights_[1].value(),
                          opt_.use_bias ? weights_[2].value() : Tensor(), states, mask, *cell, loop);
    if (out) {
      remember_states(out->states);
      return std::move(*out);
    }
  }

  // The input projection of every step at once: [N, T, k·units].
  Tensor proj = matmul(xin, weights_[0].value());
  if (opt_.use_bias) {
    const Tensor& b = weights_[2].value();
    proj = proj + (b.dim() == 2 ? squeeze(slice(b, 0, 0, 1), 0) : b);  // GRU reset_after: the input bias row
  }
  std::vector<Tensor> xs = detail::unstack_time(proj);
  const std::vector<Tensor> keep = detail::mask_columns(*this, mask, x);
  RecurrentOutput out = detail::recurrent_loop(
      steps, std::move(states), keep, loop,
      [&](int64_t t, const std::vector<Tensor>& prev) {
        Tensor h_rec = rec_mask.defined() ? prev[0] * rec_mask : prev[0];
        std::vector<Tensor> next = step(xs[static_cast<std::size_t>(t)], prev, h_rec);
        Tensor h = next[0];
        return CellOutput{std::move(h), std::move(next)};
      });
  remember_states(out.states);
  return out;
}

void RecurrentLayer::remember_states(const std::vector<Tensor>& states) {
  last_states_.clear();
  for (const Tensor& s : states) last_states_.push_back(s.detach());
  if (opt_.stateful) carried_ = last_states_;
}

nlohmann::json RecurrentLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  detail::write_sequence_fields(c, opt_);
  detail::write_weight_fields(c, opt_, gates_ > 1);
  if (gates_ > 1) c["implementation"] = 2;  // Keras's fused-gates variant (the same maths as 1)
  c["activity_regularizer"] = detail::regularizer_json(opt_.activity_regularizer);
  c["dropout"] = opt_.dropout;
  c["recurrent_dropout"] = opt_.recurrent_dropout;
  // Keras 2's recurrent layers take no "seed" (an unknown keyword to them); Keras 3 writes one.
  if (opt_.seed) c["seed"] = *opt_.seed;
  return c;
}

RecurrentOptions RecurrentLayer::read_common(const LayerFields& f, bool gated) {
  f.ignore({"implementation"});  // Keras's kernel choice (same maths)
  RecurrentOptions o;
  detail::read_weight_fields(f, o, gated);
  detail::read_sequence_fields(f, o);
  o.activity_regularizer = f.regularizer("activity_regularizer");
  o.dropout = f.number("dropout", 0.0);
  o.recurrent_dropout = f.number("recurrent_dropout", 0.0);
  o.seed = f.seed();
  return o;
}

// ------------------------------------------------------------------ SimpleRNN

SimpleRNN::SimpleRNN(RecurrentOptions options) : RecurrentLayer("SimpleRNN", std::move(options), 1, 1) {
  if (opt_.recurrent_activation != Activation::Sigmoid || !opt_.unit_forget_bias || !opt_.reset_after) {
    fail<ValueError>("recurrent_activation, unit_forget_bias and reset_after are LSTM/GRU options; keep their defaults");
  }
}

std::vector<Tensor> SimpleRNN::step(const Tensor& xp, const std::vector<Tensor>&, const Tensor& h_rec) {
  return {detail::simple_rnn_step(xp, h_rec, weights_[1].value(), opt_.activation)};
}

LayerPtr SimpleRNN::from_config(const nlohmann::json& config) {
  LayerFields f(config, "SimpleRNN");
  return std::make_shared<SimpleRNN>(read_common(f, false));
}

// ------------------------------------------------------------------ LSTM

LSTM::LSTM(RecurrentOptions options) : RecurrentLayer("LSTM", std::move(options), 4, 2) {
  if (!opt_.reset_after) fail<ValueError>("reset_after is a GRU option; keep its default");
}

InitializerPtr LSTM::bias_init() const {
  if (!opt_.unit_forget_bias) return opt_.bias_initializer;
  return detail::unit_forget_bias(opt_.bias_initializer, opt_.units);
}

std::vector<Tensor> LSTM::step(const Tensor& xp, const std::vector<Tensor>& states, const Tensor& h_rec) {
  return detail::lstm_step(xp, states[1], h_rec, weights_[1].value(), opt_.recurrent_activation, opt_.activation, opt_.units);
}

nlohmann::json LSTM::get_config() const {
  nlohmann::json c = RecurrentLayer::get_config();
  c["unit_forget_bias"] = opt_.unit_forget_bias;
  return c;
}

LayerPtr LSTM::from_config(const nlohmann::json& config) {
  LayerFields f(config, "LSTM");
  RecurrentOptions o = read_common(f, true);
  o.unit_forget_bias = f.boolean("unit_forget_bias", true);
  return std::make_shared<LSTM>(std::move(o));
}

// ------------------------------------------------------------------ GRU

GRU::GRU(RecurrentOptions options) : RecurrentLayer("GRU", std::move(options), 3, 1) {
  if (!opt_.unit_forget_bias) fail<ValueError>("unit_forget_bias is an LSTM option; keep its default");
}

Shape GRU::bias_shape() const {
  return opt_.reset_after ? Shape{2, 3 * opt_.units} : Shape{3 * opt_.units};
}

std::vector<Tensor> GRU::step(const Tensor& xp, const std::vector<Tensor>& states, const Tensor& h_rec) {
  Tensor rec_bias;
  if (opt_.reset_after && opt_.use_bias) rec_bias = squeeze(slice(weights_[2].value(), 0, 1, 2), 0);
  return {detail::gru_step(xp, states[0], h_rec, weights_[1].value(), rec_bias, opt_.reset_after,
                           opt_.recurrent_activation, opt_.activation, opt_.units)};
}

nlohmann::json GRU::get_config() const {
  nlohmann::json c = RecurrentLayer::get_config();
  c["reset_after"] = opt_.reset_after;
  return c;
}

LayerPtr GRU::from_config(const nlohmann::json& config) {
  LayerFields f(config, "GRU");
  RecurrentOptions o = read_common(f, true);
  o.reset_after = f.boolean("reset_after", true);
  return std::make_shared<GRU>(std::move(o));
}


// ------------------------------------------------------------------ Bidirectional

namespace {

// A fresh copy of a recurrent layer from its config, renamed and with the given go_backwards.
std::shared_ptr<RecurrentLayer> recurrent_copy(const RecurrentLayer& layer, const std::string& name, bool go_backwards) {
  nlohmann::json config = layer.get_config();
  config["name"] = name;
  config["go_backwards"] = go_backwards;
  LayerPtr copy = layer_from_config({{"class_name", layer.class_name()}, {"config", config}});
  return std::dynamic_pointer_cast<RecurrentLayer>(copy);
}

const RecurrentLayer& as_recurrent(const LayerPtr& ptr, const Layer& wrapper, const char* what) {
  const auto* r = dynamic_cast<const RecurrentLayer*>(ptr.get());
  if (!r) {
    wrapper.fail<ValueError>(std::string(what) + " must be a SimpleRNN, LSTM or GRU, got " +
                             (ptr ? "'" + ptr->name() + "' (" + ptr->class_name() + ")" : std::string("no layer")));
  }
  return *r;
}

}  // namespace

Bidirectional::Bidirectional(const RecurrentLayer& layer, BidirectionalOptions options)
    : Bidirectional(layer, std::move(options), nullptr) {}

Bidirectional::Bidirectional(const RecurrentLayer& layer, BidirectionalOptions options, const RecurrentLayer& backward_layer)
    : Bidirectional(layer, std::move(options), &backward_layer) {}

Bidirectional::Bidirectional(const LayerPtr& layer, BidirectionalOptions options, const LayerPtr& backward_layer)
    : LayerBase("Bidirectional", options.name) {
  init(as_recurrent(layer, *this, "the wrapped layer"), options.merge_mode,
       backward_layer ? &as_recurrent(backward_layer, *this, "backward_layer") : nullptr);
}

Bidirectional::Bidirectional(const RecurrentLayer& layer, BidirectionalOptions options, const RecurrentLayer* backward_layer)
    : LayerBase("Bidirectional", options.name) {
  init(layer, options.merge_mode, backward_layer);
}

void Bidirectional::init(const RecurrentLayer& inner, const std::string& merge_mode, const RecurrentLayer* backward) {
  merge_mode_ = merge_mode;
  if (merge_mode_ != "concat" && merge_mode_ != "sum" && merge_mode_ != "mul" && merge_mode_ != "ave") {
    fail<ValueError>("merge_mode must be \"concat\", \"sum\", \"mul\" or \"ave\", got \"" + merge_mode_ +
                     "\" (None, two separate outputs, is not supported)");
  }
  const bool backwards = inner.options().go_backwards;
  forward_ = recurrent_copy(inner, "forward_" + inner.name(), backwards);
  if (backward) {
    const RecurrentOptions &fo = inner.options(), &bo = backward->options();
    if (bo.go_backwards == fo.go_backwards || bo.return_sequences != fo.return_sequences ||
        bo.return_state != fo.return_state) {
      fail<ValueError>("backward_layer '" + backward->name() + "' must have the opposite go_backwards and the same "
                       "return_sequences and return_state as '" + inner.name() + "'");
    }
    backward_ = recurrent_copy(*backward, "backward_" + backward->name(), bo.go_backwards);
    explicit_backward_ = true;
  } else {
    backward_ = recurrent_copy(inner, "backward_" + inner.name(), !backwards);
  }
  // Keras's Bidirectional: masked steps of a returned sequence are zeros in both halves.
  for (RecurrentLayer* copy : {forward_.get(), backward_.get()}) {
    copy->wrapped_zero_output_ = copy->opt_.zero_output_for_mask;
    copy->opt_.zero_output_for_mask = copy->opt_.return_sequences;
  }
  layers_ = {forward_, backward_};
}

void Bidirectional::build(const std::vector<Shape>& input_shapes) {
  if (!forward_->built()) forward_->build(input_shapes);
  if (!backward_->built()) backward_->build(input_shapes);
  mark_built(input_shapes);
}

void Bidirectional::check_input_shapes(const std::vector<Shape>& shapes) const { forward_->check_input_shapes(shapes); }

Shape Bidirectional::compute_output_shape(const std::vector<Shape>& input_shapes) {
  Shape s = forward_->compute_output_shape(input_shapes);
  if (merge_mode_ == "concat") s.back() *= 2;
  return s;
}

RecurrentOutput Bidirectional::run(const Tensor& x, bool training, const Tensor& mask) {
  if (!built()) build({x.shape()});
  RecurrentOutput f = forward_->run(x, training, {}, mask);
  RecurrentOutput b = backward_->run(x, training, {}, mask);
  Tensor yf = f.output, yb = b.output;
  // A go_backwards layer keeps its output sequence in processing order; reversing the backward
  // copy's output aligns the two halves step by step. Keras reverses the backward copy's output
  // whatever its go_backwards (so wrapping a go_backwards layer gives two unaligned halves there
  // too), and so does this, for models to move between the two unchanged.
  if (forward_->options().return_sequences) {
    const int64_t steps = yb.size(1);
    std::vector<int64_t> idx(static_cast<std::size_t>(steps));
    for (int64_t t = 0; t < steps; ++t) idx[static_cast<std::size_t>(t)] = steps - 1 - t;
    yb = gather(yb, from_vector(idx, {steps}), 1);
  }
  Tensor y;
  if (merge_mode_ == "concat") y = concat({yf, yb}, -1);
  else if (merge_mode_ == "sum") y = yf + yb;
  else if (merge_mode_ == "mul") y = yf * yb;
  else y = (yf + yb) * 0.5;
  std::vector<Tensor> states = f.states;
  states.insert(states.end(), b.states.begin(), b.states.end());
  return {y, states};
}

Tensor Bidirectional::call(const std::vector<Tensor>& inputs, bool training) {
  RecurrentOutput out = run(detail::single_input(inputs, *this), training, call_mask_);
  state_outputs_.clear();
  if (forward_->options().return_state) state_outputs_ = std::move(out.states);
  return out.output;
}

std::vector<Shape> Bidirectional::extra_output_shapes(const std::vector<Shape>& shapes) {
  if (!forward_->options().return_state) return {};
  std::vector<Shape> out = detail::state_shapes(shapes.at(0), forward_->state_sizes());
  for (const Shape& s : detail::state_shapes(shapes.at(0), backward_->state_sizes())) out.push_back(s);
  return out;
}

Tensor Bidirectional::call_masked(const Tensor& x, const Tensor& mask, bool training) {
  return call_with_mask(call_mask_, x, mask, training);
}

Tensor Bidirectional::compute_output_mask(const Tensor&, const Tensor&, const Tensor& mask) const {
  return forward_->options().return_sequences ? mask : Tensor();
}

nlohmann::json Bidirectional::get_config() const {
  nlohmann::json c = Layer::get_config();
  // The wrapped layers' own configs, as Keras writes them (not the copies', which carry the
  // forward_/backward_ names and zero_output_for_mask).
  auto own_config = [](const RecurrentLayer& copy, const std::string& prefix) {
    nlohmann::json config = copy.get_config();
    config["name"] = copy.name().substr(prefix.size());
    config.erase("zero_output_for_mask");
    if (copy.wrapped_zero_output_) config["zero_output_for_mask"] = true;
    return nlohmann::json{{"class_name", copy.class_name()}, {"config", config}};
  };
  c["layer"] = own_config(*forward_, "forward_");
  c["merge_mode"] = merge_mode_;
  if (explicit_backward_) c["backward_layer"] = own_config(*backward_, "backward_");
  return c;
}

LayerPtr Bidirectional::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Bidirectional");
  const nlohmann::json* inner = f.find("layer");
  if (!inner || !inner->is_object()) f.fail("layer", "an object {\"class_name\", \"config\"} (the wrapped layer)");
  BidirectionalOptions o;
  if (config.contains("merge_mode") && config["merge_mode"].is_null()) {
    f.fail("merge_mode", "\"concat\", \"sum\", \"mul\" or \"ave\" (None, two separate outputs, is not supported)");
  }
  o.merge_mode = f.string("merge_mode", "concat");
  o.name = f.name();
  LayerPtr backward;
  if (const nlohmann::json* b = f.find("backward_layer")) backward = layer_from_config(*b);
  return std::make_shared<Bidirectional>(layer_from_config(*inner), std::move(o), backward);
}

}  // namespace ember::nn
