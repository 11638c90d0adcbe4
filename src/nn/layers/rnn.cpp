#include "ember/nn/layers/rnn.hpp"

#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail::single_input, initializer_json, regularizer_json
#include "ember/ops/linalg.hpp"
#include "recurrent_steps.hpp"

namespace ember::nn {

namespace {
std::string shapes_text(const std::vector<Shape>& shapes) {
  std::string s;
  for (const Shape& sh : shapes) s += (s.empty() ? "" : ", ") + to_string(sh);
  return "[" + s + "]";
}
}  // namespace

// ------------------------------------------------------------------ RNNCell

Tensor RNNCell::call(const std::vector<Tensor>& inputs, bool training) {
  std::vector<Tensor> states(inputs.begin() + 1, inputs.end());
  return step(inputs[0], states, training).output;
}

void RNNCell::check_input_shapes(const std::vector<Shape>& shapes) const {
  const std::vector<int64_t> sizes = state_sizes();
  bool ok = shapes.size() == sizes.size() + 1 && shapes[0].size() == 2;
  const std::vector<Shape>& built = built_input_shapes();
  if (ok && !built.empty() && built[0].size() == 2 && built[0][1] >= 0) ok = shapes[0][1] == built[0][1];
  for (std::size_t i = 0; ok && i < sizes.size(); ++i) {
    const Shape& s = shapes[i + 1];
    ok = s.size() == 2 && s[1] == sizes[i] && (s[0] < 0 || shapes[0][0] < 0 || s[0] == shapes[0][0]);
  }
  if (!ok) {
    std::string want = "{x (batch, " + (built.empty() || built[0].size() != 2 ? std::string("features")
                                                                               : std::to_string(built[0][1])) + ")";
    for (int64_t size : sizes) want += ", (batch, " + std::to_string(size) + ")";
    fail<ShapeError>("expected inputs " + want + "} (one step and its states), got " + shapes_text(shapes));
  }
}

Shape RNNCell::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return {shapes[0][0], output_size()};
}

// ------------------------------------------------------------------ built-in cells

GatedCell::GatedCell(std::string class_name, RNNCellOptions options, int gates)
    : RNNCell(std::move(class_name), options.name), opt_(std::move(options)), gates_(gates) {
  if (opt_.units <= 0) fail<ValueError>("units must be positive, got " + std::to_string(opt_.units));
  if (!opt_.kernel_initializer || !opt_.recurrent_initializer || (opt_.use_bias && !opt_.bias_initializer)) {
    fail<ValueError>("every used initializer must be set");
  }
}

void GatedCell::build(const std::vector<Shape>& shapes) {
  if (shapes.empty() || shapes[0].size() != 2 || shapes[0][1] <= 0) {
    std::string got = shapes.empty() ? "no input" : keras_shape(shapes[0]);  // (None, None): unknown features
    fail<ShapeError>("expected a step input of shape (batch, features) with known features (they size the kernel), got " + got);
  }
  const int64_t width = checked_product(*this, {gates_, opt_.units}, "gates x units");
  add_weight("kernel", {shapes[0][1], width}, opt_.kernel_initializer, true, opt_.kernel_regularizer);
  add_weight("recurrent_kernel", {opt_.units, width}, opt_.recurrent_initializer, true, opt_.recurrent_regularizer);
  if (opt_.use_bias) add_weight("bias", bias_shape(), bias_init(), true, opt_.bias_regularizer);
  mark_built(shapes);
}

Tensor GatedCell::input_projection(const Tensor& x) {
  Tensor p = matmul(x, weights_[0].value());
  if (!opt_.use_bias) return p;
  const Tensor& b = weights_[2].value();
  return p + (b.dim() == 2 ? squeeze(slice(b, 0, 0, 1), 0) : b);  // GRU reset_after: the input bias row
}

std::optional<GatedCell::FusedParts> GatedCell::fused_parts() {
  if (!built()) return std::nullopt;
  std::optional<RecurrentCellKind> kind = detail::fused_cell(opt_.activation, opt_.recurrent_activation, gates_, opt_.reset_after);
  if (!kind) return std::nullopt;
  return FusedParts{*kind, weights_[0].value(), weights_[1].value(), opt_.use_bias ? weights_[2].value() : Tensor()};
}

nlohmann::json GatedCell::get_config() const {
  nlohmann::json c = Layer::get_config();
  detail::write_weight_fields(c, opt_, gates_ > 1);
  c["dropout"] = 0.0;
  c["recurrent_dropout"] = 0.0;
  return c;
}

RNNCellOptions GatedCell::read_common(const LayerFields& f, bool gated) {
  f.ignore({"implementation"});  // Keras's kernel choice (same maths)
  for (const char* key : {"dropout", "recurrent_dropout"}) {
    if (f.number(key, 0.0) != 0.0) f.fail(key, "0 (dropout inside a cell is not supported; use the LSTM/GRU/SimpleRNN layers)");
  }
  RNNCellOptions o;
  detail::read_weight_fields(f, o, gated);
  o.name = f.name();
  return o;
}

SimpleRNNCell::SimpleRNNCell(RNNCellOptions options) : GatedCell("SimpleRNNCell", std::move(options), 1) {
  if (opt_.recurrent_activation != Activation::Sigmoid || !opt_.unit_forget_bias || !opt_.reset_after) {
    fail<ValueError>("recurrent_activation, unit_forget_bias and reset_after are LSTMCell/GRUCell options; keep their defaults");
  }
}

CellOutput SimpleRNNCell::step(const Tensor& x, const std::vector<Tensor>& states, bool) {
  Tensor h = detail::simple_rnn_step(input_projection(x), states[0], weights_[1].value(), opt_.activation);
  return {h, {h}};
}

LayerPtr SimpleRNNCell::from_config(const nlohmann::json& config) {
  return std::make_shared<SimpleRNNCell>(read_common(LayerFields(config, "SimpleRNNCell"), false));
}

LSTMCell::LSTMCell(RNNCellOptions options) : GatedCell("LSTMCell", std::move(options), 4) {
  if (!opt_.reset_after) fail<ValueError>("reset_after is a GRUCell option; keep its default");
}

InitializerPtr LSTMCell::bias_init() const {
  return opt_.unit_forget_bias ? detail::unit_forget_bias(opt_.bias_initializer, opt_.units) : opt_.bias_initializer;
}

CellOutput LSTMCell::step(const Tensor& x, const std::vector<Tensor>& states, bool) {
  std::vector<Tensor> hc = detail::lstm_step(input_projection(x), states[1], states[0], weights_[1].value(),
                                             opt_.recurrent_activation, opt_.activation, opt_.units);
  Tensor h = hc[0];
  return {h, std::move(hc)};
}

nlohmann::json LSTMCell::get_config() const {
  nlohmann::json c = GatedCell::get_config();
  c["unit_forget_bias"] = opt_.unit_forget_bias;
  return c;
}

LayerPtr LSTMCell::from_config(const nlohmann::json& config) {
  LayerFields f(config, "LSTMCell");
  RNNCellOptions o = read_common(f, true);
  o.unit_forget_bias = f.boolean("unit_forget_bias", true);
  return std::make_shared<LSTMCell>(std::move(o));
}

GRUCell::GRUCell(RNNCellOptions options) : GatedCell("GRUCell", std::move(options), 3) {
  if (!opt_.unit_forget_bias) fail<ValueError>("unit_forget_bias is an LSTMCell option; keep its default");
}

Shape GRUCell::bias_shape() const { return opt_.reset_after ? Shape{2, 3 * opt_.units} : Shape{3 * opt_.units}; }

CellOutput GRUCell::step(const Tensor& x, const std::vector<Tensor>& states, bool) {
  Tensor rec_bias;
  if (opt_.reset_after && opt_.use_bias) rec_bias = squeeze(slice(weights_[2].value(), 0, 1, 2), 0);
  Tensor h = detail::gru_step(input_projection(x), states[0], states[0], weights_[1].value(), rec_bias, opt_.reset_after,
                              opt_.recurrent_activation, opt_.activation, opt_.units);
  return {h, {h}};
}

nlohmann::json GRUCell::get_config() const {
  nlohmann::json c = GatedCell::get_config();
  c["reset_after"] = opt_.reset_after;
  return c;
}

LayerPtr GRUCell::from_config(const nlohmann::json& config) {
  LayerFields f(config, "GRUCell");
  RNNCellOptions o = read_common(f, true);
  o.reset_after = f.boolean("reset_after", true);
  return std::make_shared<GRUCell>(std::move(o));
}

// ------------------------------------------------------------------ StackedRNNCells

namespace {
RNNCellPtr as_cell(const LayerPtr& layer, const Layer& owner, const std::string& what) {
  auto cell = std::dynamic_pointer_cast<RNNCell>(layer);
  if (!cell) {
    owner.fail<ValueError>(what + " must be an RNN cell (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells or an "
                           "nn::RNNCell subclass), got " +
                           (layer ? "'" + layer->name() + "' (" + layer->class_name() + ")" : std::string("no layer")));
  }
  return cell;
}
}  // namespace

StackedRNNCells::StackedRNNCells(std::vector<LayerRef> cells, std::string name)
    : RNNCell("StackedRNNCells", std::move(name)) {
  if (cells.empty()) fail<ValueError>("needs at least one cell");
  for (std::size_t i = 0; i < cells.size(); ++i) {
    cells_.push_back(as_cell(cells[i].ptr(), *this, "cell " + std::to_string(i)));
    layers_.push_back(cells[i].ptr());
  }
}

std::vector<int64_t> StackedRNNCells::state_sizes() const {
  std::vector<int64_t> sizes;
  for (const RNNCellPtr& c : cells_) {
    for (int64_t s : c->state_sizes()) sizes.push_back(s);
  }
  return sizes;
}

int64_t StackedRNNCells::output_size() const { return cells_.back()->output_size(); }

void StackedRNNCells::build(const std::vector<Shape>& shapes) {
  if (shapes.empty() || shapes[0].size() != 2) {
    fail<ShapeError>("expected a step input of shape (batch, features), got " + shapes_text(shapes));
  }
  Shape in = shapes[0];
  for (const RNNCellPtr& c : cells_) {
    if (!c->built()) c->build({in});
    in = {in[0], c->output_size()};
  }
  mark_built(shapes);
}

CellOutput StackedRNNCells::step(const Tensor& x, const std::vector<Tensor>& states, bool training) {
  CellOutput out{x, {}};
  std::size_t k = 0;
  for (const RNNCellPtr& c : cells_) {
    const std::size_t n = c->state_sizes().size();
    std::vector<Tensor> own(states.begin() + static_cast<std::ptrdiff_t>(k), states.begin() + static_cast<std::ptrdiff_t>(k + n));
    CellOutput next = c->step(out.output, own, training);
    out.output = next.output;
    for (Tensor& s : next.states) out.states.push_back(std::move(s));
    k += n;
  }
  return out;
}

nlohmann::json StackedRNNCells::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["cells"] = nlohmann::json::array();
  for (const RNNCellPtr& cell : cells_) c["cells"].push_back({{"class_name", cell->class_name()}, {"config", cell->get_config()}});
  return c;
}

LayerPtr StackedRNNCells::from_config(const nlohmann::json& config) {
  LayerFields f(config, "StackedRNNCells");
  const nlohmann::json* cells = f.find("cells");
  if (!cells || !cells->is_array() || cells->empty()) f.fail("cells", "a non-empty list of {\"class_name\", \"config\"} cells");
  std::vector<LayerRef> list;
  for (const nlohmann::json& c : *cells) list.emplace_back(layer_from_config(c));
  return std::make_shared<StackedRNNCells>(std::move(list), f.name());
}

// ------------------------------------------------------------------ RNN

RNN::RNN(LayerPtr cell, RNNOptions options) : LayerBase("RNN", options.name), opt_(std::move(options)) {
  cell_ = as_cell(cell, *this, "the cell");
  layers_ = {cell};
}

void RNN::build(const std::vector<Shape>& shapes) {
  detail::check_call_shapes(*this, shapes, cell_->state_sizes(), -1);
  if (!cell_->built()) cell_->build({{shapes[0][0], shapes[0][2]}});
  mark_built(shapes);
}

void RNN::check_input_shapes(const std::vector<Shape>& shapes) const {
  detail::check_call_shapes(*this, shapes, cell_->state_sizes(), built_input_shapes()[0][2]);
}

std::vector<Shape> RNN::extra_output_shapes(const std::vector<Shape>& shapes) {
  if (!opt_.return_state) return {};
  return detail::state_shapes(shapes.at(0), cell_->state_sizes());
}

Shape RNN::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  const Shape& s = shapes[0];
  const int64_t out = cell_->output_size();
  return opt_.return_sequences ? Shape{s[0], s[1], out} : Shape{s[0], out};
}

Tensor RNN::call(const std::vector<Tensor>& inputs, bool training) {
  return detail::call_from_inputs(*this, inputs, opt_.return_state, state_outputs_,
                                  [&](const Tensor& x, const std::vector<Tensor>& initial) {
                                    return run(x, training, initial, call_mask_);
                                  });
}

Tensor RNN::call_masked(const Tensor& x, const Tensor& mask, bool training) {
  return call_with_mask(call_mask_, x, mask, training);
}

Tensor RNN::compute_output_mask(const Tensor&, const Tensor&, const Tensor& mask) const {
  return opt_.return_sequences ? mask : Tensor();
}

void RNN::reset_states() {
  carried_.clear();
  last_states_.clear();
  state_outputs_.clear();
}

RecurrentOutput RNN::run(const Tensor& x, bool training, const std::vector<Tensor>& initial_states, const Tensor& mask) {
  if (!built()) build({x.shape()});
  check_input_shapes({x.shape()});
  if (!is_floating(x.dtype())) fail<DTypeError>("expected a floating-point input, got " + std::string(dtype_name(x.dtype())));
  const int64_t steps = x.size(1);
  if (steps == 0) fail<ShapeError>("expected at least one time step, got input " + to_string(x.shape()));
  std::vector<Tensor> states = detail::start_states(*this, x, initial_states, opt_.stateful ? carried_ : std::vector<Tensor>{},
                                                    cell_->state_sizes());
  const detail::LoopOptions loop{opt_.go_backwards, opt_.return_sequences, opt_.zero_output_for_mask};
  // A built-in cell runs as the matching layer does: the whole sequence as one op, the same maths.
  if (auto* gated = dynamic_cast<GatedCell*>(cell_.get())) {
    if (std::optional<GatedCell::FusedParts> parts = gated->fused_parts()) {
      std::optional<RecurrentOutput> out = detail::run_fused(*this, x, parts->kernel, parts->recurrent_kernel, parts->bias,
                                                             states, mask, parts->kind, loop);
      if (out) {
        remember_states(out->states);
        return std::move(*out);
      }
    }
  }
  std::vector<Tensor> xs = detail::unstack_time(x);
  const std::vector<Tensor> keep = detail::mask_columns(*this, mask, x);
  RecurrentOutput out = detail::recurrent_loop(
      steps, std::move(states), keep, loop,
      [&](int64_t t, const std::vector<Tensor>& prev) {
        CellOutput next = cell_->step(xs[static_cast<std::size_t>(t)], prev, training);
        if (next.states.size() != prev.size()) {
          cell_->fail<ValueError>("step() returned " + std::to_string(next.states.size()) + " states, state_sizes() has " +
                                  std::to_string(prev.size()));
        }
        return next;
      });
  remember_states(out.states);
  return out;
}

void RNN::remember_states(const std::vector<Tensor>& states) {
  last_states_.clear();
  for (const Tensor& s : states) last_states_.push_back(s.detach());
  if (opt_.stateful) carried_ = last_states_;
}

nlohmann::json RNN::get_config() const {
  nlohmann::json c = Layer::get_config();
  detail::write_sequence_fields(c, opt_);
  c["cell"] = {{"class_name", cell_->class_name()}, {"config", cell_->get_config()}};
  return c;
}

LayerPtr RNN::from_config(const nlohmann::json& config) {
  LayerFields f(config, "RNN");
  const nlohmann::json* cell = f.find("cell");
  if (!cell || !cell->is_object()) f.fail("cell", "an object {\"class_name\", \"config\"} (the cell)");
  RNNOptions o;
  detail::read_sequence_fields(f, o);
  LayerPtr c = layer_from_config(*cell);
  if (!std::dynamic_pointer_cast<RNNCell>(c)) f.fail("cell", "an RNN cell (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells)");
  return std::make_shared<RNN>(c, std::move(o));
}

}  // namespace ember::nn
