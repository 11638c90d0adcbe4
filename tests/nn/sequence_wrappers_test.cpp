// TimeDistributed and RNN(cell) (issue 15): TimeDistributed is its layer applied to every step;
// RNN over the built-in cells computes what SimpleRNN / LSTM / GRU compute with the same weights
// (masks, go_backwards, initial states included); StackedRNNCells is the stacked layers; a user's
// cell runs the same way; Keras JSON round trips and counts; bad input is an error naming the layer.
#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/masking.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/layers/rnn.hpp"
#include "ember/nn/layers/wrappers.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/activation.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::message_of;
using testing::random_f64;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

Tensor seq(int64_t n, int64_t t, int64_t f, uint64_t seed) { return random_f64({n, t, f}, seed).to(f32); }

// Copies `from`'s weights into `to` in order (both built; same shapes).
void copy_weights(nn::Layer& from, nn::Layer& to) {
  auto a = from.named_weights(), b = to.named_weights();
  ASSERT_EQ(a.size(), b.size());
  autograd::NoGradGuard no_grad;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].weight->value().shape(), b[i].weight->value().shape()) << a[i].name << " vs " << b[i].name;
    b[i].weight->value().copy_(a[i].weight->value());
  }
}

// ------------------------------------------------------------------ TimeDistributed

TEST(TimeDistributed, IsTheLayerAppliedToEveryStep) {
  nn::reset_layer_names();
  auto dense = std::make_shared<nn::Dense>(nn::DenseOptions{.units = 3, .activation = Activation::Tanh});
  nn::TimeDistributed td(dense);
  Tensor x = seq(2, 4, 5, 1);
  Tensor y = td(x);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  for (int64_t t = 0; t < 4; ++t) {
    EXPECT_TRUE(all_close(squeeze(slice(y, 1, t, t + 1), 1), (*dense)(squeeze(slice(x, 1, t, t + 1), 1)), 1e-6, 1e-7)) << t;
  }
  // The weights are the wrapped layer's, under its name; the count is its count.
  auto w = td.named_weights();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].name, "dense/kernel");
  EXPECT_EQ(td.count_params(), 5 * 3 + 3);
  EXPECT_EQ(td.compute_output_shape({{-1, 7, 5}}), (Shape{-1, 7, 3}));
}

TEST(TimeDistributed, WrapsAConvolutionOverFrames) {
  nn::TimeDistributed td(nn::Conv2D({.filters = 4, .kernel_size = {3, 3}, .padding = Padding::Same}));
  Tensor frames = random_f64({2, 3, 5, 6, 2}, 2).to(f32);
  Tensor y = td(frames);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 5, 6, 4}));
  EXPECT_EQ(td.count_params(), 3 * 3 * 2 * 4 + 4);
  // Frame 1 alone through the same convolution.
  Tensor one = td.layer()(squeeze(slice(frames, 1, 1, 2), 1));
  EXPECT_TRUE(all_close(squeeze(slice(y, 1, 1, 2), 1), one, 1e-5, 1e-6));
}

TEST(TimeDistributed, BadRankIsAShapeErrorNamingTheWrapperAndShape) {
  nn::TimeDistributed td(nn::Dense({.units = 2}), {.name = "per_step"});
  std::string m = message_of<ShapeError>([&] { td(zeros({4, 5})); });
  EXPECT_TRUE(has(m, "'per_step'") && has(m, to_string(Shape{4, 5}))) << m;
  td(zeros({2, 3, 5}));
  std::string f = message_of<ShapeError>([&] { td(zeros({2, 3, 6})); });
  EXPECT_TRUE(has(f, "6")) << f;
  EXPECT_THROW(nn::TimeDistributed(nn::LayerPtr()), ValueError);
}

TEST(TimeDistributed, PassesTheMaskThrough) {
  nn::reset_layer_names();
  auto in = nn::Input({4, 2});
  nn::Model model(in, nn::TimeDistributed(nn::Dense({.units = 3}))(nn::Masking()(in)));
  Tensor x = from_vector(std::vector<double>{1, 2, 0, 0, 3, 4, 0, 0, /**/ 0, 0, 1, 1, 1, 1, 1, 1}, {2, 4, 2});
  model.forward({x});
  EXPECT_EQ(model.output_masks()[0].to(i64).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 0, 0, 1, 1, 1}));
}

// ------------------------------------------------------------------ RNN(cell) = the layers

// RNN(cell) against `layer` with the same weights, on a masked, right-padded batch.
void expect_same_as_layer(nn::RecurrentLayer& layer, nn::RNN& rnn, uint64_t seed) {
  Tensor x = seq(3, 5, 4, seed);
  layer(x);
  rnn(x);
  copy_weights(layer, rnn);
  EXPECT_TRUE(all_close(rnn(x), layer(x), 1e-6, 1e-7)) << layer.name();
  Tensor mask = cast(from_vector(std::vector<int64_t>{1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1}, {3, 5}), DType::b8);
  Tensor h0 = random_f64({3, layer.options().units}, seed + 1).to(f32);
  std::vector<Tensor> init(static_cast<std::size_t>(layer.num_states()), h0);
  nn::RecurrentOutput a = layer.run(x, false, init, mask), b = rnn.run(x, false, init, mask);
  EXPECT_TRUE(all_close(b.output, a.output, 1e-6, 1e-7)) << layer.name() << " masked";
  ASSERT_EQ(a.states.size(), b.states.size());
  for (std::size_t i = 0; i < a.states.size(); ++i) EXPECT_TRUE(all_close(b.states[i], a.states[i], 1e-6, 1e-7));
}

TEST(RNNCells, RNNOverTheBuiltInCellsIsTheLayer) {
  nn::reset_layer_names();
  {
    nn::LSTM lstm({.units = 8, .return_sequences = true});
    nn::RNN rnn(nn::LSTMCell({.units = 8}), {.return_sequences = true});
    expect_same_as_layer(lstm, rnn, 10);
  }
  {
    nn::LSTM lstm({.units = 3, .recurrent_activation = Activation::HardSigmoid, .go_backwards = true});
    nn::RNN rnn(nn::LSTMCell({.units = 3, .recurrent_activation = Activation::HardSigmoid}), {.go_backwards = true});
    expect_same_as_layer(lstm, rnn, 20);
  }
  {
    nn::GRU gru({.units = 4, .return_sequences = true});
    nn::RNN rnn(nn::GRUCell({.units = 4}), {.return_sequences = true});
    expect_same_as_layer(gru, rnn, 30);
  }
  {
    nn::GRU gru({.units = 2, .reset_after = false});
    nn::RNN rnn(nn::GRUCell({.units = 2, .reset_after = false}));
    expect_same_as_layer(gru, rnn, 40);
  }
  {
    nn::SimpleRNN simple({.units = 3, .activation = Activation::ReLU, .use_bias = false, .return_sequences = true,
                          .zero_output_for_mask = true});
    nn::RNN rnn(nn::SimpleRNNCell({.units = 3, .activation = Activation::ReLU, .use_bias = false}),
                {.return_sequences = true, .zero_output_for_mask = true});
    expect_same_as_layer(simple, rnn, 50);
  }
}

TEST(RNNCells, StackedCellsAreTheStackedLayers) {
  nn::reset_layer_names();
  nn::LSTM lstm({.units = 4, .return_sequences = true});
  nn::GRU gru({.units = 3, .return_sequences = true});
  nn::RNN rnn(nn::StackedRNNCells({nn::LSTMCell({.units = 4}), nn::GRUCell({.units = 3})}), {.return_sequences = true});
  Tensor x = seq(2, 5, 3, 60);
  gru(lstm(x));
  rnn(x);
  auto w = rnn.named_weights();
  ASSERT_EQ(w.size(), 6u);
  {
    autograd::NoGradGuard no_grad;
    auto lw = lstm.named_weights(), gw = gru.named_weights();
    for (std::size_t i = 0; i < 3; ++i) w[i].weight->value().copy_(lw[i].weight->value());
    for (std::size_t i = 0; i < 3; ++i) w[3 + i].weight->value().copy_(gw[i].weight->value());
  }
  EXPECT_TRUE(all_close(rnn(x), gru(lstm(x)), 1e-6, 1e-7));
  // States: the LSTM's h, c then the GRU's h.
  nn::RecurrentOutput out = rnn.run(x);
  ASSERT_EQ(out.states.size(), 3u);
  EXPECT_EQ(out.states[1].shape(), (Shape{2, 4}));
  EXPECT_EQ(out.states[2].shape(), (Shape{2, 3}));
  EXPECT_EQ(rnn.count_params(), lstm.count_params() + gru.count_params());
}

// ------------------------------------------------------------------ a user's cell

// Keras's documentation example, MinimalRNNCell: h = tanh(x·W + h₋·U), with its own weights; and
// an output that is not the state (2·h) to show output_size.
class MinimalRNNCell final : public nn::RNNCell {
 public:
  explicit MinimalRNNCell(int64_t units, std::string name = "") : RNNCell("MinimalRNNCell", std::move(name)), units_(units) {}
  std::vector<int64_t> state_sizes() const override { return {units_}; }
  void build(const std::vector<Shape>& shapes) override {
    add_weight("kernel", {shapes[0][1], units_}, nn::initializers::get("glorot_uniform"));
    add_weight("recurrent_kernel", {units_, units_}, nn::initializers::get("orthogonal"));
    mark_built(shapes);
  }
  nn::CellOutput step(const Tensor& x, const std::vector<Tensor>& states, bool) override {
    Tensor h = tanh(matmul(x, weights_[0].value()) + matmul(states[0], weights_[1].value()));
    return {h * 2.0, {h}};
  }
  nn::LayerPtr move_into_shared() && override { return std::make_shared<MinimalRNNCell>(std::move(*this)); }

 private:
  int64_t units_;
};

TEST(RNNCells, AUserCellRunsInRNNWithMasksAndStates) {
  nn::reset_layer_names();
  nn::RNN rnn(MinimalRNNCell(3, "minimal"), {.return_sequences = true});
  Tensor x = seq(2, 4, 2, 70);
  Tensor y = rnn(x);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(rnn.named_weights()[0].name, "minimal/kernel");
  // The loop by hand.
  const Tensor& w = rnn.named_weights()[0].weight->value();
  const Tensor& u = rnn.named_weights()[1].weight->value();
  Tensor h = zeros({2, 3});
  for (int64_t t = 0; t < 4; ++t) {
    h = tanh(matmul(squeeze(slice(x, 1, t, t + 1), 1), w) + matmul(h, u));
    EXPECT_TRUE(all_close(squeeze(slice(y, 1, t, t + 1), 1), h * 2.0, 1e-6, 1e-7)) << t;
  }
  EXPECT_TRUE(all_close(rnn.last_states()[0], h, 1e-6, 1e-7));
  // A masked step repeats the previous output and keeps the state.
  Tensor mask = cast(from_vector(std::vector<int64_t>{1, 0, 1, 1, 1, 1, 1, 1}, {2, 4}), DType::b8);
  Tensor ym = rnn.run(x, false, {}, mask).output;
  EXPECT_TRUE(all_close(slice(slice(ym, 0, 0, 1), 1, 1, 2), slice(slice(ym, 0, 0, 1), 1, 0, 1), 0, 0));
  // In a model and in Keras-style summaries.
  nn::Sequential model{nn::Input({4, 2}), nn::LayerRef(std::make_shared<nn::RNN>(MinimalRNNCell(5)))};
  EXPECT_TRUE(has(model.summary_string(), "Total params: 35")) << model.summary_string();  // 2·5 + 5·5
  EXPECT_EQ(model(x).shape(), (Shape{2, 5}));
}

// ------------------------------------------------------------------ Keras JSON and errors

TEST(RNNCells, KerasJsonRoundTripAndSummaryCounts) {
  nn::reset_layer_names();
  // As tf.keras 2.x writes RNN(LSTMCell(8)) and RNN(StackedRNNCells([GRUCell(4), SimpleRNNCell(2)])).
  const std::string cell = R"("trainable": true, "dtype": "float32", "use_bias": true, "dropout": 0.0,
                              "recurrent_dropout": 0.0, "kernel_constraint": null)";
  const std::string text = R"({"class_name": "Sequential", "config": {"name": "cells", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 3], "dtype": "float32", "name": "input_1"}},
    {"class_name": "RNN", "config": {"name": "rnn", "trainable": true, "dtype": "float32", "return_sequences": true,
     "return_state": false, "go_backwards": false, "stateful": false, "unroll": false, "time_major": false,
     "cell": {"class_name": "LSTMCell", "config": {"name": "lstm_cell", "units": 8, "activation": "tanh",
              "recurrent_activation": "sigmoid", "unit_forget_bias": true, "implementation": 2, )" + cell + R"(}}}},
    {"class_name": "TimeDistributed", "config": {"name": "time_distributed", "trainable": true, "dtype": "float32",
     "layer": {"class_name": "Dense", "config": {"name": "dense", "units": 5, "activation": "relu"}}}},
    {"class_name": "RNN", "config": {"name": "rnn_1", "trainable": true, "dtype": "float32",
     "cell": {"class_name": "StackedRNNCells", "config": {"name": "stacked_rnn_cells", "trainable": true,
       "dtype": "float32", "cells": [
         {"class_name": "GRUCell", "config": {"name": "gru_cell", "units": 4, "reset_after": true, )" + cell + R"(}},
         {"class_name": "SimpleRNNCell", "config": {"name": "simple_rnn_cell", "units": 2, )" + cell + R"(}}]}}}}]}})";
  auto model = nn::model_from_json(text);
  std::string s = model->summary_string();
  // LSTMCell 4·(8·(3+8)+8) = 384; Dense 8·5+5 = 45; GRUCell(reset_after) 3·(4·(5+4)+2·4) = 132;
  // SimpleRNNCell 2·(4+2)+2 = 14.
  for (const char* part : {"rnn (RNN)", "(None, 6, 8)", "384", "time_distributed (TimeDistri", "(None, 6, 5)",
                           "45", "(None, 2)", "146", "Total params: 575"}) {
    EXPECT_TRUE(has(s, part)) << part << " missing from\n" << s;
  }
  const std::string once = nn::to_json(*model);
  nn::reset_layer_names();
  auto again = nn::model_from_json(once);
  EXPECT_EQ(nn::to_json(*again), once);
  EXPECT_EQ((*again)(zeros({2, 6, 3})).shape(), (Shape{2, 2}));
  auto j = nlohmann::json::parse(once);
  EXPECT_EQ(j["config"]["layers"][1]["config"]["cell"]["class_name"], "LSTMCell");
  EXPECT_EQ(j["config"]["layers"][2]["config"]["layer"]["config"]["units"], 5);
  // Dropout inside a cell is refused with the cell and field named.
  auto bad = nlohmann::json::parse(text);
  bad["config"]["layers"][1]["config"]["cell"]["config"]["dropout"] = 0.5;
  std::string e = message_of<FormatError>([&] { nn::model_from_json(bad.dump()); });
  EXPECT_TRUE(has(e, "dropout") && has(e, "lstm_cell")) << e;
  auto not_cell = nlohmann::json::parse(text);
  not_cell["config"]["layers"][1]["config"]["cell"] = {{"class_name", "Dense"}, {"config", {{"units", 2}}}};
  std::string e2 = message_of<FormatError>([&] { nn::model_from_json(not_cell.dump()); });
  EXPECT_TRUE(has(e2, "cell")) << e2;
}

TEST(RNNCells, BadInputIsAnErrorNamingTheLayer) {
  nn::RNN rnn(nn::GRUCell({.units = 2}), {.name = "seq"});
  std::string m = message_of<ShapeError>([&] { rnn(zeros({2, 3})); });
  EXPECT_TRUE(has(m, "'seq'") && has(m, to_string(Shape{2, 3}))) << m;
  rnn(zeros({2, 3, 4}));
  std::string w = message_of<ShapeError>([&] { rnn.run(zeros({2, 3, 4}), false, {}, ones({2, 5}, DType::b8)); });
  EXPECT_TRUE(has(w, "'seq'") && has(w, to_string(Shape{2, 5}))) << w;
  std::string s = message_of<ShapeError>([&] { rnn.run(zeros({2, 3, 4}), false, {zeros({2, 3})}); });
  EXPECT_TRUE(has(s, "'seq'") && has(s, to_string(Shape{2, 2}))) << s;
  std::string c = message_of<ValueError>([&] { nn::RNN(nn::Dense({.units = 2, .name = "d"})); });
  EXPECT_TRUE(has(c, "'d'") && has(c, "cell")) << c;
  EXPECT_THROW(nn::StackedRNNCells(std::vector<nn::LayerRef>{}), ValueError);
  EXPECT_THROW(nn::LSTMCell({.units = 0}), ValueError);
  // A cell called alone checks its step and state shapes.
  nn::LSTMCell cell({.units = 3, .name = "lc"});
  EXPECT_EQ(cell({zeros({2, 4}), zeros({2, 3}), zeros({2, 3})}).shape(), (Shape{2, 3}));
  std::string a = message_of<ShapeError>([&] { cell({zeros({2, 4}), zeros({2, 3})}); });
  EXPECT_TRUE(has(a, "'lc'")) << a;
}

// The same model through `ember summary` (Keras's counts) and through a Keras .h5 file (the cells'
// and the wrapped layer's weights saved and loaded by name).
TEST(RNNCells, ToolSummaryAndH5RoundTrip) {
  nn::reset_layer_names();
  auto in = nn::Input({6, 3});
  auto h = nn::Masking()(in);
  h = nn::RNN(nn::StackedRNNCells({nn::GRUCell({.units = 4}), nn::LSTMCell({.units = 2})}), {.return_sequences = true})(h);
  auto out = nn::TimeDistributed(nn::Dense({.units = 3}))(h);
  nn::Model model(in, out);
  const auto dir = testing::fresh_temp_dir("seq_cells");
  testing::write_file(dir / "model.json", nn::to_json(model));
  testing::ToolRun r = testing::run_ember("summary " + (dir / "model.json").string());
  ASSERT_EQ(r.status, 0) << r.err;
  // GRUCell 3·(4·(3+4)+2·4) = 108; LSTMCell 4·(2·(4+2)+2) = 56; Dense 2·3+3 = 9.
  for (const char* part : {"masking (Masking)", "rnn (RNN)", "164", "(None, 6, 2)", "time_distributed (TimeDistri",
                           "(None, 6, 3)", "Total params: 173"}) {
    EXPECT_TRUE(has(r.out, part)) << part << " missing from\n" << r.out;
  }
  Tensor x = seq(2, 6, 3, 95);
  Tensor y = model(x);
  model.save((dir / "model.h5").string());
  nn::reset_layer_names();
  auto loaded = nn::load_model((dir / "model.h5").string());
  EXPECT_TRUE(all_close((*loaded)(x), y, 0, 0));
}

// ------------------------------------------------------------------ the README's examples

TEST(SequenceReadme, TaggerAndTimeDelayNetworkBuildAndCount) {
  nn::reset_layer_names();
  auto in = nn::Input({20, 8});
  auto h = nn::Masking({.mask_value = 0.0})(in);
  h = nn::LSTM({.units = 32, .return_sequences = true})(h);
  auto out = nn::TimeDistributed(nn::Dense({.units = 5}))(h);
  nn::Model tagger(in, out);
  EXPECT_EQ(tagger.compute_output_shape({{-1, 20, 8}}), (Shape{-1, 20, 5}));
  EXPECT_EQ(tagger.count_params(), 4 * (32 * (8 + 32) + 32) + 32 * 5 + 5);
  nn::RNN rnn(nn::StackedRNNCells({nn::GRUCell({.units = 16}), nn::LSTMCell({.units = 8})}), {.return_sequences = true});
  EXPECT_EQ(rnn(zeros({2, 3, 4})).shape(), (Shape{2, 3, 8}));

  // Waibel's TDNN as dilated Conv1D layers: receptive fields t±2, t±4, t±7.
  nn::Sequential tdnn{
      nn::Input({100, 40}),
      nn::Conv1D({.filters = 64, .kernel_size = 5, .activation = Activation::ReLU}),
      nn::Conv1D({.filters = 64, .kernel_size = 3, .dilation_rate = 2, .activation = Activation::ReLU}),
      nn::Conv1D({.filters = 64, .kernel_size = 3, .dilation_rate = 3, .activation = Activation::ReLU}),
      nn::GlobalAveragePooling1D(),
      nn::Dense({.units = 10}),
  };
  std::string s = tdnn.summary_string();
  // 5·40·64+64 = 12,864; 3·64·64+64 = 12,352 twice; 64·10+10 = 650. Lengths 100 → 96 → 92 → 86.
  for (const char* part : {"(None, 96, 64)", "12,864", "(None, 92, 64)", "(None, 86, 64)", "12,352", "650",
                           "Total params: 38,218"}) {
    EXPECT_TRUE(has(s, part)) << part << " missing from\n" << s;
  }
  // Output step t of the first layer depends on input steps t..t+4 only.
  Tensor x = seq(1, 100, 40, 90);
  Tensor y = tdnn.layers()[0]->operator()(x);
  Tensor x2 = concat({slice(x, 1, 0, 10), zeros({1, 90, 40})}, 1);  // steps from 10 on changed
  Tensor y2 = tdnn.layers()[0]->operator()(x2);
  EXPECT_TRUE(all_close(slice(y2, 1, 0, 6), slice(y, 1, 0, 6), 1e-6, 1e-6));
  EXPECT_FALSE(all_close(slice(y2, 1, 6, 7), slice(y, 1, 6, 7), 1e-6, 1e-6));
}

}  // namespace
}  // namespace ember
