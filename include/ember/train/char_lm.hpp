#pragma once
// Character-level language models (issue 15): Embedding → LSTM/GRU layers → Dense(vocabulary), or
// the same embedding under a small causal transformer, trained with fit() to predict the next
// character of a text; validation measured in bits per character; text sampled with a temperature.
//
//   std::string text = data::read_text(data::kFortunesDir);
//   data::CharVocabulary vocab(text);
//   train::CharLMData d = train::char_lm_data(vocab.encode(text), {.seq_len = 100});
//   train::CharLM lm = train::build_char_lm({.kind = train::CharLMKind::lstm, .vocab_size = vocab.size()});
//   auto epochs = train::train_char_lm(lm, d, {.epochs = 3});        // epochs.back().val_bpc
//   Generator gen(1);
//   std::string s = train::sample(lm, vocab, "The ", 200, 0.5, gen);
//
// The model outputs logits [batch, time, vocabulary]; the loss is SparseCategoricalCrossentropy
// (from_logits) over every step, so the loss in nats / ln 2 is the bits per character.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/generator.hpp"
#include "ember/core/tensor.hpp"
#include "ember/data/text.hpp"
#include "ember/nn/model.hpp"

namespace ember::train {

enum class CharLMKind { lstm, gru, transformer };
// "lstm", "gru", "transformer"; anything else is a ValueError listing them.
CharLMKind char_lm_kind(const std::string& name);
std::string char_lm_kind_name(CharLMKind kind);

struct CharLMOptions {
  CharLMKind kind = CharLMKind::lstm;
  int64_t vocab_size = 0;     // required, >= 1: the Embedding's input_dim and the Dense's units
  int64_t seq_len = 100;      // the training windows' length; the transformer's number of positions
  int64_t embedding_dim = 64;
  int64_t units = 256;        // recurrent units per layer; the transformer's model width
  int64_t layers = 1;         // recurrent layers, or transformer blocks
  int64_t num_heads = 4;      // (transformer)
  int64_t key_dim = 0;        // (transformer) size of each head; 0: units / num_heads
  int64_t ff_dim = 0;         // (transformer) feed-forward hidden size; 0: 4 · units
};

// A built model and what it was built from (sample() needs the kind and seq_len).
//  lstm / gru:   Input [seq_len] i64 → Embedding(vocab, embedding_dim) → `layers` × LSTM/GRU(units,
//                return_sequences) → Dense(vocab), logits [batch, seq_len, vocab].
//  transformer:  Input [seq_len] i64 → Embedding(vocab, units) + learned position embedding
//                [seq_len, units] → `layers` pre-norm blocks (x + MHA(LN(x)) with the causal mask,
//                then x + Dense(Dense_relu(LN(x)))) → LN → Dense(vocab). embedding_dim is not used
//                (the embedding has the model width). LayerNormalization epsilon 1e-5 (PyTorch's).
// Layer names are fixed ("embedding", "lstm_1", ..., "logits") so saved weights load by name.
struct CharLM {
  CharLMOptions options;
  std::shared_ptr<nn::Model> model;
};
// ValueError naming the option for a vocab_size, seq_len, size or count < 1, or units not divisible
// by num_heads when key_dim is 0.
CharLM build_char_lm(const CharLMOptions& options);

// The text's ids split for training: the first (1 − validation_fraction) of the ids train, the
// rest validate (Keras's validation_split takes the last part too). Windows of seq_len inputs and
// their next characters as targets (data::next_token_windows): the training windows start every
// `stride` ids (0: seq_len, non-overlapping), the validation windows every seq_len, so no
// validation character is predicted twice (the tail that does not fill a window is left out).
// ValueError when a part is too short for one window or the fraction is not in (0, 1).
struct CharLMDataOptions {
  int64_t seq_len = 100;
  int64_t stride = 0;
  double validation_fraction = 0.1;
};
struct CharLMData {
  Tensor train_x, train_y;  // i64 [windows, seq_len]
  Tensor val_x, val_y;
};
CharLMData char_lm_data(const Tensor& ids, const CharLMDataOptions& options = {});

// Mean cross-entropy in nats → bits per character (divides by ln 2).
double bits_per_character(double nats);

struct CharLMEpoch {
  int epoch = 0;         // 1-based
  double loss = 0;       // mean training cross-entropy of the epoch (nats)
  double val_loss = 0;   // validation cross-entropy after the epoch (nats)
  double train_bpc = 0;  // bits_per_character(loss)
  double val_bpc = 0;    // bits_per_character(val_loss)
  double seconds = 0;    // wall time of the epoch, validation included
};

struct CharLMTrainOptions {
  int64_t batch_size = 64;
  int epochs = 3;
  double learning_rate = 2e-3;           // Adam (Keras's β1, β2, ε = 1e-7)
  double clipnorm = 0;                   // > 0: clip each batch's gradient to this global norm
  int verbose = 0;                       // fit's verbosity (0: silent; the callback reports)
  Generator* generator = nullptr;        // shuffling; the default generator when null
  std::function<void(const CharLMEpoch&)> on_epoch = nullptr;  // after each epoch
};

// compile (Adam, SparseCategoricalCrossentropy from logits) and fit on the training windows with the
// validation windows as validation_data; one entry per epoch.
std::vector<CharLMEpoch> train_char_lm(CharLM& lm, const CharLMData& data, const CharLMTrainOptions& options);

// Draws an index from softmax(logits / temperature) (logits: any float tensor of `n` values, read
// flat). temperature > 0 (ValueError otherwise); as it goes to 0 this becomes argmax (the first
// largest on ties), at 1 it follows the softmax. Computed in double with the maximum subtracted.
int64_t sample_logits(const Tensor& logits, double temperature, Generator& generator);

// `length` characters generated after `prime` (not included in the result), one at a time, each
// drawn with sample_logits from the model's next-character logits.
//  lstm / gru: the prime runs through once; then each new character is one step from the carried
//              states (RecurrentLayer::run with initial states), so a step costs one time step.
//  transformer: each step re-runs the last min(seq_len, context) characters, left-aligned in a
//               seq_len window (the causal mask makes the padding after them irrelevant).
// ValueError for an empty prime, a prime character that is not in the vocabulary (naming it),
// a temperature <= 0, a negative length, or a vocabulary of another size than the model's.
std::string sample(CharLM& lm, const data::CharVocabulary& vocab, const std::string& prime, int64_t length,
                   double temperature, Generator& generator);

// A trained model and its vocabulary in folder `dir` (created if needed): char_lm.json (the
// CharLMOptions and the vocabulary's bytes), model.safetensors (the weights by name) and model.h5
// (the whole model in Keras 2's HDF5 layout, architecture and weights; nn::load_model reads it).
// load_char_lm reads the JSON, then loads model.h5 and checks that its architecture is the one the
// JSON describes; a folder without model.h5 (saved before it was written) is rebuilt from the JSON
// with the weights of model.safetensors. IOError when a file is missing, FormatError when the JSON
// lacks a field or holds a bad value, or model.h5 holds another model.
void save_char_lm(CharLM& lm, const data::CharVocabulary& vocab, const std::string& dir);
struct LoadedCharLM {
  CharLM lm;
  data::CharVocabulary vocab;
};
LoadedCharLM load_char_lm(const std::string& dir);

}  // namespace ember::train
