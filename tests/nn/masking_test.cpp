// Masks (issue 15): the Masking layer, Keras's mask propagation through functional models (each
// layer's output carries the mask its layer computed; merges AND them; layers that reduce the time
// axis drop them), and variable-length batches padded with zeros giving, per sequence, what the
// sequence alone gives.
#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/masking.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/noise.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/layers/reshaping.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::message_of;
using testing::random_f64;

using ember::testing::contains;

Tensor bools(std::vector<int64_t> v, Shape shape) { return cast(from_vector(v, shape), DType::b8); }

// Three sequences of 5 steps with 2 features, right-padded with zeros to lengths 3, 1, 5.
const int64_t kLengths[] = {3, 1, 5};
Tensor padded_batch(uint64_t seed) {
  Tensor x = random_f64({3, 5, 2}, seed, 0.1, 1.0);  // never exactly 0: only the padding is masked
  std::vector<double> keep;
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = 0; t < 5; ++t) keep.push_back(t < kLengths[b] ? 1.0 : 0.0);
  return (x * reshape(from_vector(keep, {3, 5}), {3, 5, 1})).to(f32);
}

// ------------------------------------------------------------------ Masking

TEST(Masking, ZeroesTheStepsWhoseFeaturesAllEqualMaskValue) {
  nn::Masking masking({.mask_value = 2.0});
  // Step (0,1) is all 2.0: masked. Step (1,0) has one 2.0 only: kept.
  Tensor x = from_vector(std::vector<double>{1, 3, 2, 2, 4, 5, 2, 7, 2, 2, 2, 2}, {2, 3, 2});
  Tensor y = masking(x);
  EXPECT_TRUE(all_close(y, from_vector(std::vector<double>{1, 3, 0, 0, 4, 5, 2, 7, 0, 0, 0, 0}, {2, 3, 2}), 0, 0));
  Tensor m = masking.compute_output_mask(x, y, {});
  ASSERT_EQ(m.dtype(), DType::b8);
  EXPECT_EQ(m.to(i64).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 1, 0, 0}));
  // Keras's Masking ignores an earlier mask: its own comes from the values.
  EXPECT_EQ(masking.compute_output_mask(x, y, bools({0, 0, 0, 0, 0, 0}, {2, 3})).to(i64).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 0, 1, 1, 0, 0}));
}

TEST(Masking, BadInputIsAnErrorNamingTheLayerAndShape) {
  nn::Masking masking({.name = "pad"});
  std::string m = message_of<ShapeError>([&] { masking(zeros({4, 5})); });
  EXPECT_TRUE(contains(m, "'pad'") && contains(m, to_string(Shape{4, 5}))) << m;
  nn::Masking ints({.name = "ints"});
  EXPECT_THROW(ints(zeros({2, 3, 2}, i64)), DTypeError);
  EXPECT_THROW(nn::Masking({.mask_value = std::nan("")}), ValueError);
  // Feature size fixed once built; time is free.
  nn::Masking built({.name = "b"});
  built(zeros({2, 3, 4}));
  EXPECT_NO_THROW(built(zeros({1, 7, 4})));
  std::string f = message_of<ShapeError>([&] { built(zeros({2, 3, 5})); });
  EXPECT_TRUE(contains(f, "'b'") && contains(f, to_string(Shape{2, 3, 5}))) << f;
}

// The issue's test: variable-length sequences padded with zeros give the same result per sequence
// as each sequence run alone, through Masking → LSTM (last output) in a Sequential and through
// Masking → GRU(sequences) → Dense → LSTM in a functional model.
TEST(Masking, PaddedBatchGivesEachSequenceItsOwnResult) {
  nn::reset_layer_names();
  Tensor x = padded_batch(3);
  auto lstm = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 4});
  nn::Sequential seq{nn::Input({5, 2}), nn::Masking(), lstm};
  Tensor y = seq(x);
  for (int64_t b = 0; b < 3; ++b) {
    Tensor alone = (*lstm)(slice(slice(x, 0, b, b + 1), 1, 0, kLengths[b]));
    EXPECT_TRUE(all_close(slice(y, 0, b, b + 1), alone, 1e-6, 1e-6)) << "sequence " << b;
  }
  // Without the Masking layer the padding is read as data: the short sequences differ.
  Tensor plain = (*lstm)(x);
  EXPECT_FALSE(all_close(slice(plain, 0, 1, 2), slice(y, 0, 1, 2), 1e-3, 1e-3));

  auto in = nn::Input({5, 2});
  auto gru = std::make_shared<nn::GRU>(nn::RecurrentOptions{.units = 3, .return_sequences = true});
  auto dense = std::make_shared<nn::Dense>(nn::DenseOptions{.units = 3, .activation = Activation::Tanh});
  auto last = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 2});
  nn::Model model(in, nn::LayerRef(last)(nn::LayerRef(dense)(nn::LayerRef(gru)(nn::Masking()(in)))));
  Tensor z = model(x);
  for (int64_t b = 0; b < 3; ++b) {
    Tensor alone = (*last)((*dense)((*gru)(slice(slice(x, 0, b, b + 1), 1, 0, kLengths[b]))));
    EXPECT_TRUE(all_close(slice(z, 0, b, b + 1), alone, 1e-6, 1e-6)) << "sequence " << b;
  }
  // The last output carries no mask.
  ASSERT_EQ(model.output_masks().size(), 1u);
  EXPECT_FALSE(model.output_masks()[0].defined());
}

// The functional twin of SequentialPassesTheEmbeddingMaskToTheRecurrentLayers (recurrent_test.cpp).
TEST(Masking, FunctionalEmbeddingMaskZeroReachesTheRecurrentLayers) {
  nn::reset_layer_names();
  auto emb = std::make_shared<nn::Embedding>(nn::EmbeddingOptions{.input_dim = 10, .output_dim = 3, .mask_zero = true});
  auto bi = std::make_shared<nn::Bidirectional>(nn::GRU({.units = 2, .return_sequences = true}));
  auto lstm = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 4, .return_sequences = true});
  auto in = nn::Input({5});
  nn::Model model(in, nn::LayerRef(lstm)(nn::Dropout({.rate = 0.5})(nn::LayerRef(bi)(nn::LayerRef(emb)(in)))));
  Tensor idx = from_vector(std::vector<int64_t>{3, 1, 4, 0, 0, 2, 0, 0, 0, 0, 7, 5, 9, 8, 6}, {3, 5});
  Tensor y = model(idx);
  ASSERT_EQ(y.shape(), (Shape{3, 5, 4}));
  for (int64_t b = 0; b < 3; ++b) {
    Tensor one = slice(slice(idx, 0, b, b + 1), 1, 0, kLengths[b]);
    Tensor alone = (*lstm)((*bi)((*emb)(one)));
    EXPECT_TRUE(all_close(slice(slice(y, 0, b, b + 1), 1, 0, kLengths[b]), alone, 1e-6, 1e-6)) << "sequence " << b;
  }
  // The output sequence carries the embedding's mask (through Dropout and both recurrent layers).
  ASSERT_EQ(model.output_masks().size(), 1u);
  EXPECT_EQ(model.output_masks()[0].to(i64).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
  // The same through the training path (forward_into) of the same model.
  std::vector<Tensor> outs;
  model.forward_into({idx}, false, outs);
  EXPECT_TRUE(all_close(outs[0], y, 0, 0));
  EXPECT_TRUE(model.output_masks()[0].defined());
}

TEST(Masking, LayersThatReduceTheTimeAxisDropTheMask) {
  nn::reset_layer_names();
  auto in = nn::Input({5, 2});
  auto masked = nn::Masking()(in);
  auto seq_out = nn::LSTM({.units = 3, .return_sequences = true})(masked);
  auto last = nn::LSTM({.units = 3})(masked);
  auto flat = nn::Flatten()(seq_out);
  auto pooled = nn::GlobalMaxPooling1D()(seq_out);
  auto dense3d = nn::Dense({.units = 2})(seq_out);
  // Keras's convolutions, window poolings and Reshape do not support masking: they end it, even
  // where the time axis stays.
  auto conv = nn::Conv1D({.filters = 2, .kernel_size = 3, .padding = Padding::Same})(seq_out);
  auto window = nn::MaxPooling1D({.pool_size = 1})(seq_out);
  auto reshaped = nn::Reshape({5, 3})(seq_out);
  nn::Model model({in}, {seq_out, last, flat, pooled, dense3d, conv, window, reshaped});
  model.forward({padded_batch(5)});
  const auto& m = model.output_masks();
  ASSERT_EQ(m.size(), 8u);
  for (std::size_t k = 5; k < 8; ++k) EXPECT_FALSE(m[k].defined()) << k;
  EXPECT_TRUE(m[0].defined());
  EXPECT_FALSE(m[1].defined());
  EXPECT_FALSE(m[2].defined());
  EXPECT_FALSE(m[3].defined());
  ASSERT_TRUE(m[4].defined());  // Dense on a sequence keeps it (Keras: supports_masking)
  EXPECT_EQ(m[4].to(i64).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
}

// Keras's GlobalAveragePooling1D with a mask: the mean over the real steps of each sequence.
TEST(Masking, GlobalAveragePooling1DAveragesTheUnmaskedStepsOnly) {
  nn::reset_layer_names();
  auto in = nn::Input({5, 2});
  nn::Model model(in, nn::GlobalAveragePooling1D()(nn::Masking()(in)));
  Tensor x = padded_batch(6);
  Tensor y = model(x);
  for (int64_t b = 0; b < 3; ++b) {
    Tensor real = slice(slice(x, 0, b, b + 1), 1, 0, kLengths[b]);
    EXPECT_TRUE(all_close(slice(y, 0, b, b + 1), sum(real, {1}) / static_cast<double>(kLengths[b]), 1e-6, 1e-7)) << b;
  }
  EXPECT_FALSE(model.output_masks()[0].defined());
  nn::GlobalAveragePooling1D gap(std::string("gap"));
  std::string e = message_of<ShapeError>([&] { gap.call_masked(zeros({3, 5, 2}), ones({3, 4}, DType::b8), false); });
  EXPECT_TRUE(contains(e, "'gap'") && contains(e, to_string(Shape{3, 4})) && contains(e, to_string(Shape{3, 5, 2}))) << e;
}

// Keras 2's merge layers: Add & co AND the masks of their inputs (an input without one does not
// count); Concatenate broadcasts each over its input's features (no mask: all true), joins them
// along its axis and ANDs over the last axis.
TEST(Masking, MergeLayersCombineMasksAsKeras) {
  nn::reset_layer_names();
  auto a = nn::Input({4, 2});
  auto b = nn::Input({4, 2});
  auto ma = nn::Masking()(a);
  auto mb = nn::Masking()(b);
  auto sum = nn::Add()({ma, mb});
  auto sum_one = nn::Add()({ma, b});                           // b has no mask
  auto cat_features = nn::Concatenate({.axis = -1})({ma, mb});
  auto cat_time = nn::Concatenate({.axis = 1})({ma, b});
  auto dot = nn::Dot({.axes = {2, 2}})({ma, mb});
  nn::Model model({a, b}, {sum, sum_one, cat_features, cat_time, dot});
  // Sample 0: a masks step 1, b masks step 2. Sample 1: a masks nothing, b masks step 0 and 3.
  Tensor xa = from_vector(std::vector<double>{1, 1, 0, 0, 1, 1, 1, 1, /**/ 1, 1, 1, 1, 1, 1, 1, 1}, {2, 4, 2});
  Tensor xb = from_vector(std::vector<double>{1, 1, 1, 1, 0, 0, 1, 1, /**/ 0, 0, 1, 1, 1, 1, 0, 0}, {2, 4, 2});
  model.forward({xa, xb});
  const auto& m = model.output_masks();
  ASSERT_EQ(m.size(), 5u);
  const std::vector<int64_t> both{1, 0, 0, 1, 0, 1, 1, 0};
  const std::vector<int64_t> only_a{1, 0, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(m[0].to(i64).to_vector<int64_t>(), both);
  EXPECT_EQ(m[1].to(i64).to_vector<int64_t>(), only_a);
  EXPECT_EQ(m[2].to(i64).to_vector<int64_t>(), both);
  ASSERT_EQ(m[3].shape(), (Shape{2, 8}));
  EXPECT_EQ(m[3].to(i64).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 0, 1, 1, 1, 1, 1, 1, /**/ 1, 1, 1, 1, 1, 1, 1, 1}));
  EXPECT_FALSE(m[4].defined());
}

// A model used as a layer takes the mask of its input and gives its output's.
TEST(Masking, NestedModelsPassMasksThrough) {
  nn::reset_layer_names();
  auto lstm = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 3});
  auto inner_in = nn::Input({5, 2});
  auto dense = std::make_shared<nn::Dense>(nn::DenseOptions{.units = 2});
  auto inner = std::make_shared<nn::Model>(inner_in, nn::LayerRef(dense)(inner_in));  // keeps the mask
  auto in = nn::Input({5, 2});
  nn::Model outer(in, nn::LayerRef(lstm)(nn::LayerRef(inner)(nn::Masking()(in))));
  nn::Sequential seq{nn::Input({5, 2}), nn::Masking(), nn::LayerRef(inner), nn::LayerRef(lstm)};
  Tensor x = padded_batch(8);
  Tensor y = outer(x), ys = seq(x);
  for (int64_t b = 0; b < 3; ++b) {
    Tensor alone = (*lstm)((*dense)(slice(slice(x, 0, b, b + 1), 1, 0, kLengths[b])));  // inner's function
    EXPECT_TRUE(all_close(slice(y, 0, b, b + 1), alone, 1e-6, 1e-6)) << "sequence " << b;
    EXPECT_TRUE(all_close(slice(ys, 0, b, b + 1), alone, 1e-6, 1e-6)) << "sequence " << b;
  }
}

TEST(Masking, AMaskOfTheWrongShapeIsAShapeErrorNamingTheLayerAndShapes) {
  nn::reset_layer_names();
  // Two masked inputs of different lengths merged: the masks cannot be ANDed.
  nn::Add add("join");
  std::string m = message_of<ShapeError>(
      [&] { add.compute_merged_mask({zeros({2, 3, 1}), zeros({2, 3, 1})}, {}, {ones({2, 3}, DType::b8), ones({2, 4}, DType::b8)}); });
  EXPECT_TRUE(contains(m, "'join'") && contains(m, to_string(Shape{2, 3})) && contains(m, to_string(Shape{2, 4}))) << m;
  nn::LSTM lstm({.units = 2, .name = "enc"});
  std::string r = message_of<ShapeError>([&] { lstm.call_masked(zeros({2, 5, 3}), ones({2, 4}, DType::b8), false); });
  EXPECT_TRUE(contains(r, "'enc'") && contains(r, to_string(Shape{2, 5})) && contains(r, to_string(Shape{2, 4}))) << r;
}

// ------------------------------------------------------------------ Keras JSON

// A Keras 2 Sequential config with Masking (as tf.keras 2.x writes it): the model reads, counts as
// Keras (Masking 0; LSTM 4·(8·(3+8)+8) = 384; Dense 8·1+1 = 9) and writes back what it read.
TEST(Masking, KerasJsonRoundTripAndSummaryCounts) {
  nn::reset_layer_names();
  const std::string text = R"({"class_name": "Sequential", "config": {"name": "padded", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 3], "dtype": "float32", "sparse": false,
     "ragged": false, "name": "input_1"}},
    {"class_name": "Masking", "config": {"name": "masking", "trainable": true, "dtype": "float32", "mask_value": -1.0}},
    {"class_name": "LSTM", "config": {"name": "lstm", "trainable": true, "dtype": "float32", "units": 8,
     "return_sequences": true}},
    {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 1}}]},
    "keras_version": "2.13.1", "backend": "tensorflow"})";
  auto model = nn::model_from_json(text);
  std::string s = model->summary_string();
  for (const char* part : {"masking (Masking)", "(None, 6, 3)", "384", "(None, 6, 1)", "Total params: 393"}) {
    EXPECT_TRUE(contains(s, part)) << part << " missing from\n" << s;
  }
  const std::string once = nn::to_json(*model);
  EXPECT_EQ(nlohmann::json::parse(once)["config"]["layers"][1]["config"]["mask_value"], -1.0);
  nn::reset_layer_names();
  EXPECT_EQ(nn::to_json(*nn::model_from_json(once)), once);
  // The mask reaches the output: -1 padding in the last two steps.
  Tensor x = ones({1, 6, 3});
  x = concat({slice(x, 1, 0, 4), full({1, 2, 3}, -1.0)}, 1);
  model->forward({x});
  EXPECT_EQ(model->output_masks()[0].to(i64).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 1, 0, 0}));
}

}  // namespace
}  // namespace ember
