// Layers with several outputs in functional models (issue 15): Keras's
// `output, h, c = LSTM(..., return_state=True)(x)` and `LSTM(...)(y, initial_state=[h, c])`, the
// encoder-decoder pattern. Expected values are the same layers run by hand through run() with
// initial states (whose equations are checked against PyTorch in recurrent_test); Keras JSON
// refers to extra outputs as [layer, node, tensor index].
#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/layers/rnn.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::message_of;
using testing::random_f64;

using ember::testing::contains;

struct Seq2Seq {
  std::shared_ptr<nn::LSTM> encoder, decoder;
  std::shared_ptr<nn::Dense> head;
  std::shared_ptr<nn::Model> model;
};

// enc_in [5, 4] → LSTM(8, return_state) → (h, c) → decoder LSTM(8, return_sequences) over dec_in
// [6, 3] starting from (h, c) → Dense(2).
Seq2Seq seq2seq() {
  nn::reset_layer_names();
  Seq2Seq s;
  s.encoder = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 8, .return_state = true, .name = "encoder"});
  s.decoder = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 8, .return_sequences = true, .name = "decoder"});
  s.head = std::make_shared<nn::Dense>(nn::DenseOptions{.units = 2});
  auto enc_in = nn::Input({5, 4}, "enc_in");
  auto dec_in = nn::Input({6, 3}, "dec_in");
  std::vector<nn::SymbolicTensor> enc = nn::outputs_of(nn::LayerRef(s.encoder)(enc_in));
  EXPECT_EQ(enc.size(), 3u);
  auto dec = nn::LayerRef(s.decoder)(std::vector<nn::SymbolicTensor>{dec_in, enc[1], enc[2]});
  s.model = std::make_shared<nn::Model>(std::vector<nn::SymbolicTensor>{enc_in, dec_in},
                                        std::vector<nn::SymbolicTensor>{nn::LayerRef(s.head)(dec)}, "seq2seq");
  return s;
}

TEST(ReturnState, StatesAreExtraOutputsThatADecoderStartsFrom) {
  Seq2Seq s = seq2seq();
  const Tensor x = random_f64({2, 5, 4}, 1).to(f32), y = random_f64({2, 6, 3}, 2).to(f32);
  const Tensor out = s.model->forward({x, y})[0];
  ASSERT_EQ(out.shape(), (Shape{2, 6, 2}));
  nn::RecurrentOutput enc = s.encoder->run(x);
  ASSERT_EQ(enc.states.size(), 2u);
  const Tensor expected = (*s.head)(s.decoder->run(y, false, enc.states).output);
  EXPECT_TRUE(all_close(out, expected, 0, 0));
  // The training path (forward_into, the evaluation plan) gives the same.
  std::vector<Tensor> outs;
  s.model->forward_into({x, y}, false, outs);
  EXPECT_TRUE(all_close(outs[0], expected, 0, 0));
  // Without initial states the decoder gives something else: the states were used.
  EXPECT_FALSE(all_close(out, (*s.head)(s.decoder->run(y).output), 1e-4, 1e-4));
}

TEST(ReturnState, ReadmeSnippet) {
  nn::reset_layer_names();
  auto enc_in = nn::Input({7, 32}), dec_in = nn::Input({3, 24});
  auto enc = nn::outputs_of(nn::LSTM({.units = 64, .return_state = true})(enc_in));       // {output, h, c}
  auto dec = nn::LSTM({.units = 64, .return_sequences = true})(std::vector{dec_in, enc[1], enc[2]});
  nn::Model seq2seq({enc_in, dec_in}, {nn::Dense({.units = 24})(dec)});
  EXPECT_EQ(seq2seq.forward({zeros({2, 7, 32}), zeros({2, 3, 24})})[0].shape(), (Shape{2, 3, 24}));
  EXPECT_EQ(seq2seq.count_params(), 4 * (64 * (32 + 64) + 64) + 4 * (64 * (24 + 64) + 64) + 64 * 24 + 24);
}

TEST(ReturnState, GradientsReachTheEncoderThroughTheStates) {
  Seq2Seq s = seq2seq();
  const Tensor x = random_f64({2, 5, 4}, 3).to(f32), y = random_f64({2, 6, 3}, 4).to(f32);
  std::vector<Tensor> outs;
  s.model->forward_into({x, y}, true, outs);
  sum(outs[0] * outs[0]).backward();
  Tensor g = s.encoder->find_weight("kernel")->value().grad();
  ASSERT_TRUE(g.defined());
  EXPECT_GT(sum(g * g).item<float>(), 0.0f);
}

TEST(ReturnState, StatesCanBeModelOutputs) {
  nn::reset_layer_names();
  auto in = nn::Input({4, 3});
  auto outs = nn::outputs_of(nn::GRU({.units = 5, .return_sequences = true, .return_state = true})(in));
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[1].shape(), (Shape{-1, 5}));
  EXPECT_EQ(outs[0].shape(), (Shape{-1, 4, 5}));
  nn::Model model(std::vector<nn::SymbolicTensor>{in}, outs);
  const Tensor x = random_f64({3, 4, 3}, 5).to(f32);
  std::vector<Tensor> ys = model.forward({x});
  ASSERT_EQ(ys.size(), 2u);
  // The final state of a GRU is its last output.
  EXPECT_TRUE(all_close(ys[1], squeeze(slice(ys[0], 1, 3, 4), 1), 0, 0));
  // Asking again gives the same symbolic tensors; a single-output layer has one.
  EXPECT_EQ(nn::outputs_of(outs[1])[1].data(), outs[1].data());
  EXPECT_EQ(nn::outputs_of(nn::Dense({.units = 2})(in)).size(), 1u);
}

TEST(ReturnState, BidirectionalAndRNNCellStatesInKerasOrder) {
  nn::reset_layer_names();
  auto in = nn::Input({4, 3});
  auto bi = nn::outputs_of(nn::Bidirectional(nn::LSTM({.units = 2, .return_state = true}))(in));
  ASSERT_EQ(bi.size(), 5u);  // output, forward h, c, backward h, c
  for (std::size_t k = 1; k < 5; ++k) EXPECT_EQ(bi[k].shape(), (Shape{-1, 2}));
  auto rnn = nn::outputs_of(nn::RNN(nn::LSTMCell({.units = 3}), {.return_state = true})(in));
  ASSERT_EQ(rnn.size(), 3u);
  nn::Model model(std::vector<nn::SymbolicTensor>{in}, std::vector<nn::SymbolicTensor>{bi[0], bi[3], rnn[2]});
  const Tensor x = random_f64({2, 4, 3}, 6).to(f32);
  std::vector<Tensor> ys = model.forward({x});
  ASSERT_EQ(ys.size(), 3u);
  auto* layer = dynamic_cast<nn::Bidirectional*>(bi[0].layer().get());
  ASSERT_NE(layer, nullptr);
  nn::RecurrentOutput r = layer->run(x);
  EXPECT_TRUE(all_close(ys[0], r.output, 0, 0));
  EXPECT_TRUE(all_close(ys[1], r.states[2], 0, 0));  // the backward copy's h
  EXPECT_EQ(ys[2].shape(), (Shape{2, 3}));
}

TEST(ReturnState, KerasJsonRefersToExtraOutputsByTensorIndex) {
  Seq2Seq s = seq2seq();
  const std::string once = nn::to_json(*s.model);
  const nlohmann::json j = nlohmann::json::parse(once);
  const nlohmann::json& decoder = j["config"]["layers"][3];
  ASSERT_EQ(decoder["name"], "decoder");
  const nlohmann::json& node = decoder["inbound_nodes"][0];
  ASSERT_EQ(node.size(), 3u);
  EXPECT_EQ(node[1][0], "encoder");
  EXPECT_EQ(node[1][2], 1);
  EXPECT_EQ(node[2][2], 2);
  nn::reset_layer_names();
  auto back = nn::model_from_json(once);
  EXPECT_EQ(nn::to_json(*back), once);
  // Keras's summary lists every output shape of the encoder (cut at the column's width, as Keras
  // cuts it) and the links by tensor index.
  const std::string summary = back->summary_string();
  for (const char* part : {"encoder (LSTM)                  [(None, 8), (None, 8 416", "encoder[0][1]", "encoder[0][2]", "Total params: 818"}) {
    EXPECT_TRUE(contains(summary, part)) << part << " missing from\n" << summary;
  }
}

// As tf.keras 2 writes an encoder-decoder (RNN.__call__ turns initial_state into extra inputs).
const char* kKeras2Seq2Seq = R"({"class_name": "Functional", "config": {"name": "model", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 5, 4], "dtype": "float32", "sparse": false,
   "ragged": false, "name": "enc_in"}, "name": "enc_in", "inbound_nodes": []},
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3, 3], "dtype": "float32", "sparse": false,
   "ragged": false, "name": "dec_in"}, "name": "dec_in", "inbound_nodes": []},
  {"class_name": "LSTM", "config": {"name": "encoder", "trainable": true, "dtype": "float32", "return_sequences": false,
   "return_state": true, "go_backwards": false, "stateful": false, "unroll": false, "time_major": false, "units": 8},
   "name": "encoder", "inbound_nodes": [[["enc_in", 0, 0, {}]]]},
  {"class_name": "LSTM", "config": {"name": "decoder", "trainable": true, "dtype": "float32", "return_sequences": true,
   "return_state": true, "units": 8},
   "name": "decoder", "inbound_nodes": [[["dec_in", 0, 0, {}], ["encoder", 0, 1, {}], ["encoder", 0, 2, {}]]]},
  {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 2},
   "name": "dense", "inbound_nodes": [[["decoder", 0, 0, {}]]]}],
  "input_layers": [["enc_in", 0, 0], ["dec_in", 0, 0]], "output_layers": [["dense", 0, 0], ["decoder", 0, 2]]},
  "keras_version": "2.13.1", "backend": "tensorflow"})";

TEST(ReturnState, ReadsAKeras2EncoderDecoder) {
  nn::reset_layer_names();
  auto model = nn::model_from_json(kKeras2Seq2Seq);
  // 4·(8·(4+8)+8) + 4·(8·(3+8)+8) + (8·2+2)
  EXPECT_TRUE(contains(model->summary_string(), "Total params: 818"));
  const Tensor x = random_f64({2, 5, 4}, 7).to(f32), y = random_f64({2, 3, 3}, 8).to(f32);
  std::vector<Tensor> outs = model->forward({x, y});
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0].shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(outs[1].shape(), (Shape{2, 8}));  // the decoder's final c
}

TEST(ReturnState, BadReferencesAndStatesAreErrorsNamingTheLayer) {
  std::string text = kKeras2Seq2Seq;
  text.replace(text.find("[\"encoder\", 0, 2, {}]"), std::string("[\"encoder\", 0, 2, {}]").size(), "[\"encoder\", 0, 3, {}]");
  nn::reset_layer_names();
  const std::string m = message_of<FormatError>([&] { nn::model_from_json(text); });
  EXPECT_TRUE(contains(m, "output 3 of layer 'encoder', which has 3 output(s)")) << m;
  // An initial state of the wrong size.
  nn::reset_layer_names();
  auto in = nn::Input({5, 4});
  auto h = nn::Input({7});
  auto c = nn::Input({8});
  const std::string m2 = message_of<ShapeError>([&] {
    nn::LSTM({.units = 8, .name = "dec"})(std::vector<nn::SymbolicTensor>{in, h, c});
  });
  EXPECT_TRUE(contains(m2, "layer 'dec' (LSTM)") && contains(m2, "initial state 0 of shape (batch, 8)")) << m2;
  // Eagerly: two states for an LSTM is fine, one is not.
  nn::LSTM lstm({.units = 2});
  const Tensor x = zeros({1, 3, 4});
  EXPECT_EQ(lstm(std::vector<Tensor>{x, zeros({1, 2}), zeros({1, 2})}).shape(), (Shape{1, 2}));
  EXPECT_THROW(lstm(std::vector<Tensor>{x, zeros({1, 2})}), ShapeError);
}

}  // namespace
}  // namespace ember
