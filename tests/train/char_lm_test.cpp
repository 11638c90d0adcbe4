// Character-level language models (train/char_lm.hpp): the bits-per-character arithmetic, the
// data split, temperature sampling (argmax in the limit, the softmax at 1), learning a periodic
// text, the transformer's causal mask, carried recurrent states against full re-runs, bad input.
#include "ember/train/char_lm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/nn/losses.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using train::CharLMKind;

TEST(CharLM, BitsPerCharacterOfHandWorkedCrossEntropies) {
  // Uniform over 4 characters: ln 4 nats = exactly 2 bits.
  EXPECT_DOUBLE_EQ(train::bits_per_character(std::log(4.0)), 2.0);
  // The loss the model is trained with, on p = (1/2, 1/4, 1/4) given as log-probabilities: target 0
  // costs 1 bit, target 1 costs 2 bits; the mean over the [1, 2] steps is 1.5 bits.
  const double l2 = std::log(0.5), l4 = std::log(0.25);
  Tensor logits = from_vector(std::vector<double>{l2, l4, l4, l2, l4, l4}, {1, 2, 3}, f64);
  Tensor targets = from_vector(std::vector<int64_t>{0, 1}, {1, 2});
  double nats = losses::SparseCategoricalCrossentropy({.from_logits = true})(targets, logits).item<double>();
  EXPECT_NEAR(train::bits_per_character(nats), 1.5, 1e-12);
}

TEST(CharLM, DataKeepsTheLastTenthForValidation) {
  std::vector<int64_t> v(100);
  for (int64_t k = 0; k < 100; ++k) v[static_cast<std::size_t>(k)] = k;
  train::CharLMData d = train::char_lm_data(from_vector(v, {100}), {.seq_len = 4});
  // Training ids 0..89: windows start at 0, 4, ..., 84 (the last needs ids up to 89): 22 of them.
  ASSERT_EQ(d.train_x.shape(), (Shape{22, 4}));
  EXPECT_EQ(d.train_x.to_vector<int64_t>()[4], 4);
  EXPECT_EQ(d.train_y.to_vector<int64_t>()[87], 88);  // the last target of the last window
  // Validation ids 90..99: windows at 90 and 94.
  ASSERT_EQ(d.val_x.shape(), (Shape{2, 4}));
  EXPECT_EQ(d.val_x.to_vector<int64_t>(), (std::vector<int64_t>{90, 91, 92, 93, 94, 95, 96, 97}));
  EXPECT_EQ(d.val_y.to_vector<int64_t>(), (std::vector<int64_t>{91, 92, 93, 94, 95, 96, 97, 98}));
  EXPECT_THROW(train::char_lm_data(from_vector(v, {100}), {.seq_len = 10}), ValueError);  // validation: 10 ids
  EXPECT_THROW(train::char_lm_data(from_vector(v, {100}), {.seq_len = 4, .validation_fraction = 1.0}), ValueError);
}

TEST(CharLM, SamplingAtATinyTemperatureIsArgmax) {
  Generator gen(3);
  for (int trial = 0; trial < 50; ++trial) {
    Tensor logits = testing::random_f64({7}, 100 + static_cast<uint64_t>(trial), -3, 3);
    const int64_t best = argmax(logits, 0).item<int64_t>();
    EXPECT_EQ(train::sample_logits(logits, 1e-4, gen), best);
  }
}

TEST(CharLM, SamplingAtTemperatureOneFollowsTheSoftmax) {
  // logits log(0.5, 0.3, 0.2): each frequency of n draws must lie within 5 standard deviations
  // sqrt(p (1 - p) / n) of p (a wrong sampler, e.g. argmax or the uniform, is far outside).
  const std::vector<double> p = {0.5, 0.3, 0.2};
  Tensor logits = from_vector(std::vector<double>{std::log(p[0]), std::log(p[1]), std::log(p[2])}, {3}, f64);
  Generator gen(12345);
  const int n = 20000;
  std::vector<int> counts(3, 0);
  for (int k = 0; k < n; ++k) ++counts[static_cast<std::size_t>(train::sample_logits(logits, 1.0, gen))];
  for (std::size_t c = 0; c < 3; ++c) {
    const double sd = std::sqrt(p[c] * (1 - p[c]) / n);
    EXPECT_NEAR(static_cast<double>(counts[c]) / n, p[c], 5 * sd) << "class " << c;
  }
  // Temperature 2 flattens: softmax(log p / 2) ∝ sqrt(p).
  const double z = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.2);
  std::fill(counts.begin(), counts.end(), 0);
  for (int k = 0; k < n; ++k) ++counts[static_cast<std::size_t>(train::sample_logits(logits, 2.0, gen))];
  for (std::size_t c = 0; c < 3; ++c) {
    const double q = std::sqrt(p[c]) / z, sd = std::sqrt(q * (1 - q) / n);
    EXPECT_NEAR(static_cast<double>(counts[c]) / n, q, 5 * sd) << "class " << c;
  }
}

TEST(CharLM, LstmLearnsAPeriodicTextToNearZeroBits) {
  manual_seed(5);
  std::string text;
  for (int k = 0; k < 1500; ++k) text += "abc";
  data::CharVocabulary vocab(text);
  train::CharLMData d = train::char_lm_data(vocab.encode(text), {.seq_len = 12});
  train::CharLM lm = train::build_char_lm(
      {.kind = CharLMKind::lstm, .vocab_size = vocab.size(), .seq_len = 12, .embedding_dim = 8, .units = 16});
  Generator shuffle(1);
  auto epochs = train::train_char_lm(lm, d, {.batch_size = 16, .epochs = 8, .learning_rate = 1e-2, .generator = &shuffle});
  ASSERT_EQ(epochs.size(), 8u);
  EXPECT_GT(epochs.front().train_bpc, 0.5);  // it did have something to learn (log2 3 = 1.58 at the start)
  EXPECT_LT(epochs.back().val_bpc, 0.05);
  Generator gen(2);
  EXPECT_EQ(train::sample(lm, vocab, "ab", 9, 0.5, gen), "cabcabcab");
}

TEST(CharLM, TransformerLogitsDoNotSeeLaterCharacters) {
  manual_seed(9);
  train::CharLM lm = train::build_char_lm(
      {.kind = CharLMKind::transformer, .vocab_size = 6, .seq_len = 8, .units = 16, .layers = 2, .num_heads = 2});
  std::vector<int64_t> a = {1, 4, 2, 0, 5, 3, 3, 1};
  Tensor base = (*lm.model)(from_vector(a, {1, 8}), false);
  for (int64_t t = 0; t < 7; ++t) {
    std::vector<int64_t> b = a;
    for (int64_t u = t + 1; u < 8; ++u) b[static_cast<std::size_t>(u)] = (b[static_cast<std::size_t>(u)] + 1 + u) % 6;
    Tensor changed = (*lm.model)(from_vector(b, {1, 8}), false);
    std::vector<float> before = base.slice(1, 0, t + 1).contiguous().to_vector<float>();
    std::vector<float> after = changed.slice(1, 0, t + 1).contiguous().to_vector<float>();
    for (std::size_t k = 0; k < before.size(); ++k) ASSERT_NEAR(before[k], after[k], 1e-6) << "t " << t;
    // ...while the logits after t do change (the model does read its input).
    EXPECT_NE(base.slice(1, t + 1, 8).contiguous().to_vector<float>(),
              changed.slice(1, t + 1, 8).contiguous().to_vector<float>());
  }
}

// Sampling must draw from the logits the model gives when it reads the whole text so far at once:
// for LSTM and GRU this checks that the carried states equal a full re-run; for the transformer,
// the left-aligned, padded window. Greedy (temperature → 0): each character is the argmax of the
// full run's logits; at temperature 1, replaying the same generator over the full run's logits
// draws the same characters (each step takes one uniform number), which also checks the
// probabilities, not only their order.
void expect_sample_matches_full_run(CharLMKind kind) {
  manual_seed(21);
  const std::string alphabet = "abcdefgh";
  data::CharVocabulary vocab(alphabet);
  const std::string prime = "hdab";
  const int64_t length = 40;
  train::CharLM lm = train::build_char_lm({.kind = kind, .vocab_size = vocab.size(),
                                           .seq_len = static_cast<int64_t>(prime.size()) + length,
                                           .embedding_dim = 8, .units = 16, .num_heads = 2});
  // Keras's initial weights make an untrained model's logits nearly equal whatever it has read;
  // larger random weights make them depend strongly on the whole history.
  uint64_t seed = 50;
  for (auto& w : lm.model->named_weights())
    w.weight->value() = testing::random_f64(w.weight->value().shape(), seed++, -0.8, 0.8).to(f32);
  for (double temperature : {1e-6, 1.0}) {
    Generator gen(4);
    const std::string s = train::sample(lm, vocab, prime, length, temperature, gen);
    ASSERT_EQ(s.size(), static_cast<std::size_t>(length));
    Tensor logits = (*lm.model)(vocab.encode(prime + s).reshape({1, -1}), false);  // [1, T, V]
    Generator replay(4);
    for (int64_t k = 0; k < length; ++k) {
      const int64_t t = static_cast<int64_t>(prime.size()) - 1 + k;
      Tensor step = logits.slice(1, t, t + 1).reshape({-1});
      EXPECT_EQ(s[static_cast<std::size_t>(k)], vocab.character(train::sample_logits(step, temperature, replay)))
          << "temperature " << temperature << ", step " << k;
    }
  }
}

TEST(CharLM, LstmSampleMatchesFullRun) { expect_sample_matches_full_run(CharLMKind::lstm); }
TEST(CharLM, GruSampleMatchesFullRun) { expect_sample_matches_full_run(CharLMKind::gru); }
TEST(CharLM, TransformerSampleMatchesFullRun) { expect_sample_matches_full_run(CharLMKind::transformer); }

TEST(CharLM, BadInputIsAValueErrorThatSaysWhat) {
  data::CharVocabulary vocab("abc ");
  train::CharLM lm = train::build_char_lm({.vocab_size = vocab.size(), .seq_len = 4, .embedding_dim = 4, .units = 4});
  Generator gen(1);
  for (double t : {0.0, -1.0, std::nan("")}) {
    std::string m = testing::message_of<ValueError>([&] { train::sample(lm, vocab, "ab", 5, t, gen); });
    EXPECT_NE(m.find("temperature"), std::string::npos) << m;
    EXPECT_THROW(train::sample_logits(from_vector(std::vector<double>{1, 2}, {2}, f64), t, gen), ValueError);
  }
  EXPECT_THROW(train::sample(lm, vocab, "ab", 5, 0.0, gen), ValueError);
  std::string m = testing::message_of<ValueError>([&] { train::sample(lm, vocab, "a#b", 5, 1.0, gen); });
  EXPECT_NE(m.find("#"), std::string::npos) << m;
  EXPECT_NE(m.find("not in the vocabulary"), std::string::npos) << m;
  EXPECT_THROW(train::sample(lm, vocab, "a#b", 5, 1.0, gen), ValueError);
  EXPECT_THROW(train::sample(lm, vocab, "", 5, 1.0, gen), ValueError);
  EXPECT_THROW(train::sample(lm, data::CharVocabulary("ab"), "ab", 5, 1.0, gen), ValueError);
  EXPECT_THROW(train::build_char_lm({.vocab_size = 0}), ValueError);
  EXPECT_THROW(train::build_char_lm({.kind = CharLMKind::transformer, .vocab_size = 5, .units = 10, .num_heads = 4}),
               ValueError);
  m = testing::message_of<ValueError>([] { train::char_lm_kind("rnn"); });
  EXPECT_NE(m.find("'rnn'"), std::string::npos) << m;
}

TEST(CharLM, SavedModelLoadsWithTheSameLogitsAndBadFilesAreFormatErrors) {
  manual_seed(31);
  data::CharVocabulary vocab("hello, world");
  for (CharLMKind kind : {CharLMKind::gru, CharLMKind::transformer}) {
    train::CharLM lm = train::build_char_lm(
        {.kind = kind, .vocab_size = vocab.size(), .seq_len = 6, .embedding_dim = 4, .units = 8, .num_heads = 2});
    auto dir = testing::fresh_temp_dir("char_lm_save");
    train::save_char_lm(lm, vocab, dir.string());
    train::LoadedCharLM back = train::load_char_lm(dir.string());
    EXPECT_EQ(back.lm.options.kind, kind);
    EXPECT_EQ(back.vocab.decode(vocab.encode("world")), "world");
    Tensor x = vocab.encode("hello,").reshape({1, 6});
    EXPECT_EQ((*lm.model)(x, false).to_vector<float>(), (*back.lm.model)(x, false).to_vector<float>());
    nlohmann::json j = nlohmann::json::parse(testing::read_file(dir / "char_lm.json"));
    j["kind"] = "rnn";
    testing::write_file(dir / "char_lm.json", j.dump());
    std::string m = testing::message_of<FormatError>([&] { train::load_char_lm(dir.string()); });
    EXPECT_NE(m.find("rnn"), std::string::npos) << m;
    testing::write_file(dir / "char_lm.json", "not json");
    EXPECT_THROW(train::load_char_lm(dir.string()), FormatError);
    std::filesystem::remove_all(dir);
    EXPECT_THROW(train::load_char_lm(dir.string()), IOError);
  }
}

TEST(CharLM, TrainedTransformerReloadsFromItsKerasFileWithTheSameValidationBits) {
  manual_seed(41);
  std::string text;
  for (int k = 0; k < 60; ++k) text += "the cat sat. ";
  data::CharVocabulary vocab(text);
  train::CharLMData d = train::char_lm_data(vocab.encode(text), {.seq_len = 8});
  train::CharLM lm = train::build_char_lm({.kind = CharLMKind::transformer, .vocab_size = vocab.size(), .seq_len = 8,
                                           .units = 8, .num_heads = 2});
  Generator shuffle(1);
  auto epochs = train::train_char_lm(lm, d, {.batch_size = 16, .epochs = 1, .generator = &shuffle});
  auto dir = testing::fresh_temp_dir("char_lm_transformer_h5");
  train::save_char_lm(lm, vocab, dir.string());
  ASSERT_TRUE(std::filesystem::exists(dir / "model.h5"));
  train::LoadedCharLM back = train::load_char_lm(dir.string());
  // The reloaded model is the one nn::load_model made from model.h5 (a PositionEmbedding in it).
  EXPECT_EQ(back.lm.model->get_layer("position_embedding")->class_name(), "PositionEmbedding");
  back.lm.model->compile({.loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  const double val = back.lm.model->evaluate(d.val_x, d.val_y, {.batch_size = 16}).at("loss");
  EXPECT_EQ(train::bits_per_character(val), epochs.back().val_bpc);
  // A model.h5 of another architecture than char_lm.json describes is refused.
  nlohmann::json j = nlohmann::json::parse(testing::read_file(dir / "char_lm.json"));
  j["ff_dim"] = 12;
  testing::write_file(dir / "char_lm.json", j.dump());
  std::string m = testing::message_of<FormatError>([&] { train::load_char_lm(dir.string()); });
  EXPECT_NE(m.find("model.h5"), std::string::npos) << m;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ember
