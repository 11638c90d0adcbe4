// nn::PositionEmbedding (keras_nlp / keras_hub's layer): the output is the table's first T rows
// broadcast over the batch (worked out by hand: the table is filled with its own flat indices),
// input values never matter, bad shapes are ShapeErrors naming the layer, the Keras config reads
// and writes keras_nlp's keys, and no mask leaves the layer (keras_nlp: supports_masking false).
#include "ember/nn/layers/position_embedding.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/model.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::message_of;

// table[p, f] = 10 p + f: exact in f32, and each entry says where it came from.
void fill_table(nn::PositionEmbedding& layer, int64_t positions, int64_t features) {
  std::vector<double> v;
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t f = 0; f < features; ++f) v.push_back(10.0 * p + f);
  layer.find_weight("embeddings")->value() = from_vector(v, {positions, features});
}

TEST(PositionEmbedding, ReturnsTheFirstRowsOfTheTableForEveryBatchEntry) {
  nn::PositionEmbedding layer({.sequence_length = 5, .name = "pos"});
  layer(zeros({1, 5, 3}));  // build: table [5, 3]
  ASSERT_EQ(layer.find_weight("embeddings")->value().shape(), (Shape{5, 3}));
  fill_table(layer, 5, 3);
  // T = 2 < sequence_length: rows 0 and 1, for both batch entries, whatever the input holds.
  Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 2, 3});
  Tensor y = layer(x);
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 1, 2, 10, 11, 12, 0, 1, 2, 10, 11, 12}));
  // T = sequence_length: the whole table.
  Tensor full = layer(ones({1, 5, 3}));
  EXPECT_EQ(full.to_vector<float>(),
            (std::vector<float>{0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42}));
  // Rank 2 (sequence, feature) and rank 4 (a leading extra axis): keras_nlp reads axes -2 and -1.
  EXPECT_EQ(layer(zeros({1, 3})).to_vector<float>(), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(layer(zeros({2, 1, 1, 3})).to_vector<float>(), (std::vector<float>{0, 1, 2, 0, 1, 2}));
}

TEST(PositionEmbedding, DefaultInitializerIsGlorotUniformAndDrawsTheDeclaredShape) {
  nn::PositionEmbedding layer({.sequence_length = 40});
  EXPECT_EQ(layer.options().initializer->class_name(), "GlorotUniform");
  manual_seed(3);
  layer(zeros({1, 4, 60}));
  Tensor w = layer.find_weight("embeddings")->value();
  ASSERT_EQ(w.shape(), (Shape{40, 60}));
  const double limit = std::sqrt(6.0 / (40 + 60));  // fan_in = sequence_length, fan_out = features
  EXPECT_LE(max(abs(w)).item<double>(), limit);
  EXPECT_GT(max(abs(w)).item<double>(), 0.9 * limit);
}

TEST(PositionEmbedding, BadShapesAndOptionsSayWhatWasExpected) {
  nn::PositionEmbedding layer({.sequence_length = 4, .name = "pos"});
  std::string m = message_of<ShapeError>([&] { layer(zeros({2, 5, 3})); });
  EXPECT_NE(m.find("layer 'pos' (PositionEmbedding)"), std::string::npos) << m;
  EXPECT_NE(m.find("at most sequence_length = 4"), std::string::npos) << m;
  EXPECT_NE(m.find("got 5"), std::string::npos) << m;
  layer(zeros({2, 4, 3}));
  m = message_of<ShapeError>([&] { layer(zeros({2, 4, 6})); });
  EXPECT_NE(m.find("expected 3 features"), std::string::npos) << m;
  EXPECT_NE(m.find("got 6"), std::string::npos) << m;
  EXPECT_THROW(layer(zeros({3})), ShapeError);
  EXPECT_THROW(nn::PositionEmbedding({.sequence_length = 0}), ValueError);
  EXPECT_THROW(nn::PositionEmbedding({.sequence_length = 3, .initializer = nullptr}), ValueError);
  // Symbolically too: a model whose sequence is longer than the table is refused when built.
  auto in = nn::Input({6, 2});
  EXPECT_THROW(nn::PositionEmbedding({.sequence_length = 4})(in), ShapeError);
}

TEST(PositionEmbedding, KerasNlpConfigReadsAndWrites) {
  // As keras_nlp 0.x / keras_hub write it (keras_hub adds hierarchical_alpha, which only acts past
  // sequence_length, where Ember refuses the input).
  nlohmann::json j = nlohmann::json::parse(R"({"class_name": "PositionEmbedding", "config": {
      "name": "position_embedding", "trainable": true, "dtype": "float32", "sequence_length": 7,
      "hierarchical_alpha": 0.4,
      "initializer": {"module": "keras.initializers", "class_name": "RandomNormal",
                      "config": {"mean": 0.0, "stddev": 0.02, "seed": null}, "registered_name": null}}})");
  nn::LayerPtr layer = nn::layer_from_config(j);
  auto* pe = dynamic_cast<nn::PositionEmbedding*>(layer.get());
  ASSERT_NE(pe, nullptr);
  EXPECT_EQ(pe->options().sequence_length, 7);
  EXPECT_EQ(pe->options().initializer->class_name(), "RandomNormal");
  EXPECT_EQ(layer->name(), "position_embedding");
  nlohmann::json c = layer->get_config();
  EXPECT_EQ(c["sequence_length"], 7);
  EXPECT_EQ(c["initializer"]["class_name"], "RandomNormal");
  EXPECT_DOUBLE_EQ(c["initializer"]["config"]["stddev"].get<double>(), 0.02);
  nlohmann::json bad = j;
  bad["config"].erase("sequence_length");
  std::string m = message_of<FormatError>([&] { nn::layer_from_config(bad); });
  EXPECT_NE(m.find("sequence_length"), std::string::npos) << m;
  bad["config"]["sequence_length"] = -2;
  EXPECT_THROW(nn::layer_from_config(bad), Error);
}

TEST(PositionEmbedding, NoMaskLeavesItButAnAddWithTheTokensKeepsTheirs) {
  nn::reset_layer_names();
  auto ids = nn::Input({4}, "ids", i64);
  auto tokens = nn::Embedding({.input_dim = 6, .output_dim = 2, .mask_zero = true})(ids);
  auto positions = nn::PositionEmbedding({.sequence_length = 4})(tokens);
  auto sum = nn::Add()({tokens, positions});
  nn::Model model({ids}, {positions, sum});
  model.call_all({from_vector(std::vector<int64_t>{3, 1, 0, 0}, {1, 4})}, false);
  ASSERT_EQ(model.output_masks().size(), 2u);
  EXPECT_FALSE(model.output_masks()[0].defined());
  ASSERT_TRUE(model.output_masks()[1].defined());
  EXPECT_EQ(model.output_masks()[1].to(i64).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0, 0}));
}

}  // namespace
}  // namespace ember
