// Recurrent layers: shapes and options, parameter counts (Keras's formulas), Keras JSON configs,
// stateful layers, initial weights (unit_forget_bias, orthogonal recurrent kernel), bad input, and a
// 5,000-step sequence through backpropagation.
#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::message_of;
using ember::testing::random_f64;

namespace {

using ember::testing::contains;
std::string keras_fixture(const std::string& name) {
  return ember::testing::source_dir() + "/tests/fixtures/keras/" + name;
}

Tensor seq_input(int64_t n, int64_t t, int64_t f, uint64_t seed) { return random_f64({n, t, f}, seed).to(f32); }

// ------------------------------------------------------------------ shapes and options

TEST(Recurrent, OutputShapes) {
  nn::LSTM last({.units = 5});
  nn::LSTM seq({.units = 5, .return_sequences = true});
  Tensor x = seq_input(3, 7, 2, 1);
  EXPECT_EQ(last(x).shape(), (Shape{3, 5}));
  EXPECT_EQ(seq(x).shape(), (Shape{3, 7, 5}));
  EXPECT_EQ(seq.compute_output_shape({{-1, 7, 2}}), (Shape{-1, 7, 5}));
  EXPECT_EQ(last.compute_output_shape({{-1, -1, 2}}), (Shape{-1, 5}));
  nn::RecurrentOutput out = seq.run(x);
  ASSERT_EQ(out.states.size(), 2u);
  // The last element of the sequence is the final h.
  EXPECT_TRUE(all_close(squeeze(slice(out.output, 1, 6, 7), 1), out.states[0], 0, 0));
  EXPECT_EQ(seq.last_states().size(), 2u);
}

TEST(Recurrent, LastOutputIsLastStepOfTheSequence) {
  nn::GRU a({.units = 4, .return_sequences = true, .name = "a"});
  Tensor x = seq_input(2, 5, 3, 2);
  Tensor ys = a(x);
  nn::GRU b({.units = 4, .name = "b"});
  b(x);
  {
    autograd::NoGradGuard no_grad;
    for (const char* w : {"kernel", "recurrent_kernel", "bias"}) b.find_weight(w)->value().copy_(a.find_weight(w)->value());
  }
  EXPECT_TRUE(all_close(b(x), squeeze(slice(ys, 1, 4, 5), 1), 0, 0));
}

TEST(Recurrent, WeightShapesAndKerasParameterCounts) {
  // Keras: SimpleRNN u(i+u)+u; LSTM 4(u(i+u)+u); GRU 3(u(i+u)+u), +3u with reset_after's second bias.
  const int64_t i = 28, u = 128;
  nn::SimpleRNN rnn({.units = u});
  nn::LSTM lstm({.units = u});
  nn::GRU gru({.units = u});
  nn::GRU gru_before({.units = u, .reset_after = false});
  for (nn::Layer* l : std::initializer_list<nn::Layer*>{&rnn, &lstm, &gru, &gru_before}) l->build({{-1, 28, i}});
  EXPECT_EQ(rnn.count_params(), u * (i + u) + u);
  EXPECT_EQ(lstm.count_params(), 4 * (u * (i + u) + u));
  EXPECT_EQ(lstm.count_params(), 80384);
  EXPECT_EQ(gru.count_params(), 3 * (u * (i + u) + 2 * u));
  EXPECT_EQ(gru_before.count_params(), 3 * (u * (i + u) + u));
  EXPECT_EQ(lstm.find_weight("kernel")->shape, (Shape{i, 4 * u}));
  EXPECT_EQ(lstm.find_weight("recurrent_kernel")->shape, (Shape{u, 4 * u}));
  EXPECT_EQ(lstm.find_weight("bias")->shape, (Shape{4 * u}));
  EXPECT_EQ(gru.find_weight("bias")->shape, (Shape{2, 3 * u}));
  EXPECT_EQ(gru_before.find_weight("bias")->shape, (Shape{3 * u}));
  nn::Embedding emb({.input_dim = 1000, .output_dim = 16});
  emb.build({{-1, 20}});
  EXPECT_EQ(emb.count_params(), 16000);
  EXPECT_EQ(emb.compute_output_shape({{-1, 20}}), (Shape{-1, 20, 16}));
}

TEST(Recurrent, InitialWeightsUnitForgetBiasAndOrthogonalRecurrentKernel) {
  const int64_t u = 6;
  nn::LSTM lstm({.units = u});
  lstm(seq_input(1, 2, 3, 3));
  Tensor b = lstm.find_weight("bias")->value();
  std::vector<float> want(4 * u, 0.0f);
  for (int64_t k = u; k < 2 * u; ++k) want[static_cast<std::size_t>(k)] = 1.0f;  // the forget block
  EXPECT_TRUE(all_close(b, from_vector(want, {4 * u}), 0, 0));
  // Orthogonal [u, 4u]: rows orthonormal, U·Uᵀ = I.
  Tensor rk = lstm.find_weight("recurrent_kernel")->value();
  std::vector<double> id(static_cast<std::size_t>(u * u), 0.0);
  for (int64_t k = 0; k < u; ++k) id[static_cast<std::size_t>(k * u + k)] = 1.0;
  EXPECT_TRUE(all_close(matmul(rk, transpose(rk, 0, 1)), from_vector(id, {u, u}), 0, 1e-5));

  nn::LSTM plain({.units = u, .unit_forget_bias = false});
  plain(seq_input(1, 2, 3, 3));
  EXPECT_TRUE(all_close(plain.find_weight("bias")->value(), zeros({4 * u}), 0, 0));
}

TEST(Recurrent, GoBackwardsEqualsForwardOnTheReversedSequence) {
  Tensor x = seq_input(2, 6, 3, 4);
  Tensor rev = gather(x, from_vector(std::vector<int64_t>{5, 4, 3, 2, 1, 0}, {6}), 1);
  nn::SimpleRNN fwd({.units = 3, .return_sequences = true, .name = "fwd"});
  nn::SimpleRNN bwd({.units = 3, .return_sequences = true, .go_backwards = true, .name = "bwd"});
  fwd(x);
  bwd(x);
  {
    autograd::NoGradGuard no_grad;
    for (const char* w : {"kernel", "recurrent_kernel", "bias"}) bwd.find_weight(w)->value().copy_(fwd.find_weight(w)->value());
  }
  // Keras keeps the processing order in the returned sequence.
  EXPECT_TRUE(all_close(bwd(x), fwd(rev), 0, 0));
}

TEST(Recurrent, StatefulContinuesFromTheLastStatesUntilReset) {
  Tensor x = seq_input(2, 6, 3, 5);
  nn::LSTM whole({.units = 4, .name = "whole"});
  nn::LSTM parts({.units = 4, .stateful = true, .name = "parts"});
  whole(x);
  parts(slice(x, 1, 0, 1));
  parts.reset_states();
  {
    autograd::NoGradGuard no_grad;
    for (const char* w : {"kernel", "recurrent_kernel", "bias"}) parts.find_weight(w)->value().copy_(whole.find_weight(w)->value());
  }
  parts(slice(x, 1, 0, 4));
  Tensor second = parts(slice(x, 1, 4, 6));
  EXPECT_TRUE(all_close(second, whole(x), 1e-6, 1e-6));  // two calls = one over the whole sequence
  parts.reset_states();
  nn::LSTM fresh({.units = 4, .name = "fresh"});
  fresh(x);
  {
    autograd::NoGradGuard no_grad;
    for (const char* w : {"kernel", "recurrent_kernel", "bias"}) fresh.find_weight(w)->value().copy_(whole.find_weight(w)->value());
  }
  EXPECT_TRUE(all_close(parts(slice(x, 1, 4, 6)), fresh(slice(x, 1, 4, 6)), 0, 0));  // reset: from zeros
}

TEST(Recurrent, DropoutOnlyInTrainingAndSeeded) {
  Tensor x = seq_input(4, 5, 3, 6);
  nn::LSTM a({.units = 3, .dropout = 0.5, .recurrent_dropout = 0.3, .seed = 9, .name = "a"});
  nn::LSTM b({.units = 3, .dropout = 0.5, .recurrent_dropout = 0.3, .seed = 9, .name = "b"});
  Tensor inference = a(x, false);
  b(x, false);
  {
    autograd::NoGradGuard no_grad;
    for (const char* w : {"kernel", "recurrent_kernel", "bias"}) b.find_weight(w)->value().copy_(a.find_weight(w)->value());
  }
  EXPECT_TRUE(all_close(b(x, false), inference, 0, 0));
  Tensor ta = a(x, true), tb = b(x, true);
  EXPECT_TRUE(all_close(ta, tb, 0, 0));  // same seed, same masks
  EXPECT_FALSE(all_close(ta, inference, 1e-3, 1e-3));
}

// ------------------------------------------------------------------ bad input

TEST(Recurrent, Rank2InputIsAShapeErrorNamingLayerAndShape) {
  nn::LSTM lstm({.units = 3, .name = "lstm_x"});
  std::string msg = message_of<ShapeError>([&] { lstm(zeros({4, 5})); });
  EXPECT_TRUE(contains(msg, "lstm_x") && contains(msg, "LSTM") && contains(msg, "[4,5]")) << msg;
  lstm(zeros({2, 3, 5}));
  msg = message_of<ShapeError>([&] { lstm(zeros({2, 3})); });
  EXPECT_TRUE(contains(msg, "lstm_x") && contains(msg, "[2,3]")) << msg;
  msg = message_of<ShapeError>([&] { lstm(zeros({2, 3, 4})); });  // another feature size
  EXPECT_TRUE(contains(msg, "(batch, time, 5)") && contains(msg, "[2,3,4]")) << msg;
  msg = message_of<ShapeError>([&] { lstm.run(zeros({2, 3, 5}), false, {zeros({2, 3})}); });
  EXPECT_TRUE(contains(msg, "2 initial states")) << msg;
  msg = message_of<ShapeError>([&] { lstm.run(zeros({2, 3, 5}), false, {zeros({2, 3}), zeros({3, 3})}); });
  EXPECT_TRUE(contains(msg, "[3,3]")) << msg;
}

TEST(Recurrent, EmbeddingIndexOutOfRangeIsAValueError) {
  nn::Embedding emb({.input_dim = 5, .output_dim = 2, .name = "emb_x"});
  std::string msg = message_of<ValueError>([&] { emb(from_vector(std::vector<int64_t>{1, 5, 2}, {1, 3})); });
  EXPECT_TRUE(contains(msg, "emb_x") && contains(msg, "index 5") && contains(msg, "[1,3]") &&
              contains(msg, "input_dim = 5"))
      << msg;
  msg = message_of<ValueError>([&] { emb(from_vector(std::vector<int64_t>{-1, 0}, {2})); });
  EXPECT_TRUE(contains(msg, "emb_x") && contains(msg, "index -1") && contains(msg, "[2]")) << msg;
  // Floats are truncated like Keras's cast: 4.7 is row 4.
  EXPECT_TRUE(all_close(emb(from_vector(std::vector<float>{4.7f}, {1})),
                        reshape(slice(emb.find_weight("embeddings")->value(), 0, 4, 5), {1, 2}), 0, 0));
}

TEST(Recurrent, StatefulWithAnotherBatchSizeIsAValueError) {
  nn::GRU gru({.units = 2, .stateful = true, .name = "gru_s"});
  gru(zeros({3, 4, 2}));
  std::string msg = message_of<ValueError>([&] { gru(zeros({5, 4, 2})); });
  EXPECT_TRUE(contains(msg, "gru_s") && contains(msg, "batch size 3") && contains(msg, "[5,4,2]")) << msg;
  gru.reset_states();
  EXPECT_EQ(gru(zeros({5, 4, 2})).shape(), (Shape{5, 2}));
}

TEST(Recurrent, BadOptionsAreValueErrors) {
  EXPECT_THROW(nn::LSTM({.units = 0}), ValueError);
  EXPECT_THROW(nn::GRU({.units = 2, .dropout = 1.0}), ValueError);
  EXPECT_THROW(nn::SimpleRNN({.units = 2, .recurrent_dropout = -0.1}), ValueError);
  EXPECT_THROW(nn::SimpleRNN({.units = 2, .reset_after = false}), ValueError);
  EXPECT_THROW(nn::LSTM({.units = 2, .reset_after = false}), ValueError);
  EXPECT_THROW(nn::GRU({.units = 2, .unit_forget_bias = false}), ValueError);
  EXPECT_THROW(nn::Embedding({.input_dim = 0, .output_dim = 2}), ValueError);
  EXPECT_THROW(nn::Embedding({.input_dim = 1, .output_dim = 2, .mask_zero = true}), ValueError);
}

TEST(Recurrent, EmbeddingMaskZero) {
  nn::Embedding emb({.input_dim = 4, .output_dim = 2, .mask_zero = true});
  Tensor m = emb.compute_mask(from_vector(std::vector<int64_t>{0, 3, 0, 1}, {2, 2}));
  EXPECT_EQ(m.dtype(), DType::b8);
  EXPECT_EQ(m.to(i64).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0, 1}));
  nn::Embedding plain({.input_dim = 4, .output_dim = 2});
  EXPECT_FALSE(plain.compute_mask(zeros({2}, i64)).defined());
}

// ------------------------------------------------------------------ Keras JSON

TEST(Recurrent, KerasJsonSequentialLstmSummaryCounts) {
  nn::reset_layer_names();
  auto m = nn::model_from_json_file(keras_fixture("sequential_lstm.json"));
  std::string s = m->summary_string();
  // LSTM 4·(128·(28+128)+128) = 80,384; Dense 128·10+10 = 1,290.
  EXPECT_TRUE(contains(s, "80,384") && contains(s, "1,290") && contains(s, "Total params: 81,674")) << s;
  EXPECT_TRUE(contains(s, "(None, 128)")) << s;
  Tensor y = (*m)(zeros({2, 28, 28, 1}));  // images as the tool feeds them
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
}

TEST(Recurrent, KerasJsonTextModelRoundTripsAndCounts) {
  nn::reset_layer_names();
  auto m = nn::model_from_json_file(keras_fixture("text_rnn.json"));
  std::string s = m->summary_string();
  // Embedding 1000·16; GRU(32, reset_after) 3·(32·48+64) = 4,800; GRU(8, reset_before) on 32:
  // 3·(8·40+8) = 984; SimpleRNN(4) on 8: 4·12+4 = 52; Dense 5.
  for (const char* part : {"16,000", "4,800", "984", "52", "Total params: 21,841", "(None, 20, 16)", "(None, 20, 32)"}) {
    EXPECT_TRUE(contains(s, part)) << part << " missing from\n" << s;
  }
  std::string once = nn::to_json(*m);
  nn::reset_layer_names();
  auto again = nn::model_from_json(once);
  EXPECT_EQ(nn::to_json(*again), once);
  auto j = nlohmann::json::parse(once);
  const auto& gru1 = j["config"]["layers"][3]["config"];
  EXPECT_EQ(gru1["reset_after"], false);
  EXPECT_EQ(gru1["go_backwards"], true);
  Tensor idx = from_vector(std::vector<float>(40, 3.0f), {2, 20});
  EXPECT_EQ((*again)(idx).shape(), (Shape{2, 1}));
}

TEST(Recurrent, KerasConfigFieldsOfLstm) {
  nn::LSTM lstm({.units = 7, .recurrent_activation = Activation::HardSigmoid, .unit_forget_bias = false,
                 .dropout = 0.25, .return_sequences = true, .stateful = true, .name = "l"});
  nlohmann::json c = lstm.get_config();
  EXPECT_EQ(c["units"], 7);
  EXPECT_EQ(c["activation"], "tanh");
  EXPECT_EQ(c["recurrent_activation"], "hard_sigmoid");
  EXPECT_EQ(c["unit_forget_bias"], false);
  EXPECT_EQ(c["recurrent_initializer"]["class_name"], "Orthogonal");
  EXPECT_EQ(c["time_major"], false);
  auto twin = nn::LSTM::from_config(c);
  EXPECT_EQ(twin->get_config(), c);
  c["time_major"] = true;
  EXPECT_THROW(nn::LSTM::from_config(c), FormatError);
}

// ------------------------------------------------------------------ Bidirectional

TEST(Recurrent, BidirectionalShapesCountsAndNames) {
  nn::reset_layer_names();
  // Keras: Bidirectional(LSTM(64)) on 32 features = 2 · 4·(64·(32+64)+64) = 49,664 parameters.
  nn::Bidirectional bi(nn::LSTM({.units = 64, .return_sequences = true}));
  Tensor y = bi(zeros({3, 7, 32}));
  EXPECT_EQ(y.shape(), (Shape{3, 7, 128}));
  EXPECT_EQ(bi.count_params(), 49664);
  EXPECT_EQ(bi.name(), "bidirectional");
  std::vector<std::string> names;
  for (const auto& nw : bi.named_weights()) names.push_back(nw.name);
  EXPECT_EQ(names, (std::vector<std::string>{"forward_lstm/kernel", "forward_lstm/recurrent_kernel", "forward_lstm/bias",
                                             "backward_lstm/kernel", "backward_lstm/recurrent_kernel",
                                             "backward_lstm/bias"}));
  EXPECT_FALSE(bi.forward_layer().options().go_backwards);
  EXPECT_TRUE(bi.backward_layer().options().go_backwards);
  nn::Bidirectional sum(nn::GRU({.units = 5}), {.merge_mode = "sum"});
  EXPECT_EQ(sum(zeros({2, 4, 3})).shape(), (Shape{2, 5}));
  EXPECT_EQ(sum.compute_output_shape({{-1, 4, 3}}), (Shape{-1, 5}));
  EXPECT_EQ(bi.compute_output_shape({{-1, 9, 32}}), (Shape{-1, 9, 128}));
  // Freezing the wrapper freezes both directions (Keras's layer.trainable).
  sum.set_trainable(false);
  EXPECT_TRUE(sum.trainable_weights().empty());
  EXPECT_EQ(sum.non_trainable_weights().size(), 6u);
}

// With merge "concat" and return_sequences, the second half is the backward copy run on the
// reversed sequence and reversed back: the same as a go_backwards layer with those weights.
TEST(Recurrent, BidirectionalHalvesAreTheTwoDirections) {
  nn::Bidirectional bi(nn::SimpleRNN({.units = 3, .return_sequences = true}));
  Tensor x = seq_input(2, 5, 4, 77);
  Tensor y = bi(x);
  Tensor fwd = bi.forward_layer()(x), bwd = bi.backward_layer()(x);  // bwd in processing order
  EXPECT_TRUE(all_close(slice(y, 2, 0, 3), fwd, 0, 0));
  for (int64_t t = 0; t < 5; ++t)
    EXPECT_TRUE(all_close(slice(slice(y, 2, 3, 6), 1, t, t + 1), slice(bwd, 1, 4 - t, 5 - t), 0, 0)) << t;
}

TEST(Recurrent, BidirectionalKerasJsonRoundTripAndErrors) {
  nn::reset_layer_names();
  // A Keras 2 config as tf.keras writes it (wrapped layer under "layer", its own name inside).
  const std::string text = R"({"class_name": "Sequential", "config": {"name": "seq", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 10, 6], "dtype": "float32", "name": "in"}},
    {"class_name": "Bidirectional", "config": {"name": "bidirectional", "trainable": true, "dtype": "float32",
      "merge_mode": "concat", "layer": {"class_name": "GRU", "config": {"name": "gru", "units": 8,
      "return_sequences": false, "reset_after": true}}}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]}})";
  auto m = nn::model_from_json(text);
  // GRU(8, reset_after) on 6: 3·(8·14+16) = 384, twice = 768; Dense 16+1 = 17.
  std::string s = m->summary_string();
  EXPECT_TRUE(contains(s, "768") && contains(s, "Total params: 785") && contains(s, "(None, 16)")) << s;
  EXPECT_EQ((*m)(zeros({2, 10, 6})).shape(), (Shape{2, 1}));
  std::string once = nn::to_json(*m);
  auto j = nlohmann::json::parse(once);
  const auto& bc = j["config"]["layers"][1]["config"];
  EXPECT_EQ(bc["merge_mode"], "concat");
  EXPECT_EQ(bc["layer"]["class_name"], "GRU");
  EXPECT_EQ(bc["layer"]["config"]["name"], "gru");
  nn::reset_layer_names();
  EXPECT_EQ(nn::to_json(*nn::model_from_json(once)), once);

  // Errors name the wrapper.
  std::string e1 = message_of<ValueError>([] { nn::Bidirectional(nn::LSTM({.units = 2}), {.merge_mode = "max"}); });
  EXPECT_TRUE(contains(e1, "Bidirectional") && contains(e1, "max")) << e1;
  std::string e2 = message_of<ValueError>([] {
    nn::Bidirectional(nn::LayerPtr(std::make_shared<nn::Dense>(nn::DenseOptions{.units = 2})));
  });
  EXPECT_TRUE(contains(e2, "SimpleRNN, LSTM or GRU") && contains(e2, "Dense")) << e2;
  std::string e3 = message_of<ValueError>([] {
    nn::Bidirectional(nn::LSTM({.units = 2}), {}, nn::LSTM({.units = 2}));  // same direction
  });
  EXPECT_TRUE(contains(e3, "opposite go_backwards")) << e3;
  auto null_merge = nlohmann::json::parse(text);
  null_merge["config"]["layers"][1]["config"]["merge_mode"] = nullptr;
  std::string e4 = message_of<FormatError>([&] { nn::model_from_json(null_merge.dump()); });
  EXPECT_TRUE(contains(e4, "merge_mode")) << e4;
  nn::Bidirectional bi(nn::LSTM({.units = 2}));
  std::string e5 = message_of<ShapeError>([&] { bi(zeros({2, 3})); });
  EXPECT_TRUE(contains(e5, "(batch, time") || contains(e5, "expected")) << e5;
}

TEST(Recurrent, MaskOfTheWrongShapeIsAShapeErrorNamingLayerAndShapes) {
  nn::LSTM lstm({.units = 2, .name = "enc"});
  Tensor x = zeros({2, 5, 3});
  std::string m = message_of<ShapeError>([&] { lstm.run(x, false, {}, ones({2, 4}, DType::b8)); });
  EXPECT_TRUE(contains(m, "'enc'") && contains(m, to_string(Shape{2, 5})) && contains(m, to_string(Shape{2, 4}))) << m;
  nn::Bidirectional bi(nn::GRU({.units = 2}));
  EXPECT_THROW(bi.run(x, false, ones({5, 2}, DType::b8)), ShapeError);
  // An all-true mask changes nothing.
  Tensor y = lstm.run(seq_input(2, 5, 3, 9)).output;
  EXPECT_TRUE(all_close(lstm.run(seq_input(2, 5, 3, 9), false, {}, ones({2, 5}, DType::b8)).output, y, 0, 1e-7));
}

// Keras's mask propagation in a Sequential: Embedding(mask_zero) → LSTM reads right-padded index
// sequences as if each were alone and unpadded (the padding's embedding rows do not matter).
TEST(Recurrent, SequentialPassesTheEmbeddingMaskToTheRecurrentLayers) {
  nn::reset_layer_names();
  auto emb = std::make_shared<nn::Embedding>(nn::EmbeddingOptions{.input_dim = 10, .output_dim = 3, .mask_zero = true});
  auto bi = std::make_shared<nn::Bidirectional>(nn::GRU({.units = 2, .return_sequences = true}));
  auto lstm = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 4});
  nn::Sequential model{nn::Input({5}), emb, bi, lstm};
  Tensor idx = from_vector(std::vector<int64_t>{3, 1, 4, 0, 0, 2, 0, 0, 0, 0, 7, 5, 9, 8, 6}, {3, 5});
  Tensor y = model(idx);
  ASSERT_EQ(y.shape(), (Shape{3, 4}));
  const int64_t lengths[] = {3, 1, 5};
  for (int64_t b = 0; b < 3; ++b) {
    Tensor one = slice(slice(idx, 0, b, b + 1), 1, 0, lengths[b]);  // the sequence alone, unpadded
    Tensor alone = (*lstm)((*bi)((*emb)(one)));
    EXPECT_TRUE(all_close(slice(y, 0, b, b + 1), alone, 1e-6, 1e-6)) << "sequence " << b;
  }
  // Without mask_zero there is no mask: the padding is read as data.
  EXPECT_FALSE(nn::Embedding({.input_dim = 10, .output_dim = 3}).compute_output_mask(idx, zeros({3, 5, 3}), {}).defined());
}

// ------------------------------------------------------------------ long sequences

TEST(Recurrent, FiveThousandStepsTrainWithoutStackOverflow) {
  // BPTT through 5,000 steps: the engine walks (and frees) the unrolled graph iteratively. Two
  // plain gradient steps on the last output's squared error must lower it.
  const int64_t steps = 5000;
  nn::LSTM lstm({.units = 4});
  Tensor x = seq_input(2, steps, 1, 7);
  Tensor target = from_vector(std::vector<float>{0.5f, -0.5f, 0.25f, 0.0f, -0.25f, 0.5f, 0.0f, 0.1f}, {2, 4});
  auto loss_of = [&] { return mean(square(lstm(x, true) - target)); };
  lstm(x);
  double first = 0;
  for (int it = 0; it < 3; ++it) {
    Tensor loss = loss_of();
    if (it == 0) first = loss.item<float>();
    if (it == 2) {
      EXPECT_LT(loss.item<float>(), first);
      break;
    }
    loss.backward();
    autograd::NoGradGuard no_grad;
    for (const auto& nw : lstm.named_weights()) {
      Tensor& w = nw.weight->value();
      ASSERT_TRUE(w.grad().defined());
      EXPECT_TRUE(std::isfinite(sum(square(w.grad())).item<float>()));
      w.copy_(w - w.grad() * 0.5);
      w.zero_grad();
    }
  }
}

}  // namespace
