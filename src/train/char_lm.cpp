// Character-level language models: building, training with fit, sampling (see char_lm.hpp).
#include "ember/train/char_lm.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/io/atomic_file.hpp"
#include "ember/io/keras_h5.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/initializers.hpp"
#include "ember/nn/layers/attention.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/position_embedding.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/losses.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/training.hpp"

namespace ember::train {

namespace {

void require_positive(int64_t value, const char* name) {
  if (value < 1) throw ValueError(std::string("build_char_lm: ") + name + " must be >= 1, got " + std::to_string(value));
}

nn::SymbolicTensor transformer_body(const CharLMOptions& o, nn::SymbolicTensor ids) {
  const int64_t key_dim = o.key_dim > 0 ? o.key_dim : o.units / o.num_heads;
  const int64_t ff_dim = o.ff_dim > 0 ? o.ff_dim : 4 * o.units;
  auto x = nn::Embedding({.input_dim = o.vocab_size, .output_dim = o.units, .name = "embedding"})(ids);
  // Keras RandomNormal (stddev 0.05), not keras_nlp's glorot_uniform: bench/char_lm_torch.py draws the
  // same way, and --init-from maps position_embedding/embeddings onto its positions.
  auto positions = nn::PositionEmbedding(
      {.sequence_length = o.seq_len, .initializer = nn::initializers::get("random_normal"), .name = "position_embedding"})(x);
  x = nn::Add("add_positions")({x, positions});
  for (int64_t b = 1; b <= o.layers; ++b) {
    const std::string p = "block" + std::to_string(b) + "_";
    auto n1 = nn::LayerNormalization({.epsilon = 1e-5, .name = p + "norm1"})(x);
    auto att = nn::MultiHeadAttention(
        {.num_heads = o.num_heads, .key_dim = key_dim, .use_causal_mask = true, .name = p + "attention"})({n1, n1});
    x = nn::Add(p + "add1")({x, att});
    auto n2 = nn::LayerNormalization({.epsilon = 1e-5, .name = p + "norm2"})(x);
    auto ff = nn::Dense({.units = ff_dim, .activation = Activation::ReLU, .name = p + "ff1"})(n2);
    ff = nn::Dense({.units = o.units, .name = p + "ff2"})(ff);
    x = nn::Add(p + "add2")({x, ff});
  }
  return nn::LayerNormalization({.epsilon = 1e-5, .name = "final_norm"})(x);
}

void check_temperature(double temperature, const char* who) {
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw ValueError(std::string(who) + ": temperature must be a finite number > 0, got " + std::to_string(temperature));
}

// The logits of the last position of `out` [1, T, V] as a [V] tensor.
Tensor last_logits(const Tensor& out, int64_t position) { return out.slice(1, position, position + 1).reshape({-1}); }

}  // namespace

CharLMKind char_lm_kind(const std::string& name) {
  if (name == "lstm") return CharLMKind::lstm;
  if (name == "gru") return CharLMKind::gru;
  if (name == "transformer") return CharLMKind::transformer;
  throw ValueError("char_lm: unknown model kind '" + name + "' (expected lstm, gru or transformer)");
}

std::string char_lm_kind_name(CharLMKind kind) {
  switch (kind) {
    case CharLMKind::lstm: return "lstm";
    case CharLMKind::gru: return "gru";
    case CharLMKind::transformer: return "transformer";
  }
  return "?";
}

CharLM build_char_lm(const CharLMOptions& o) {
  require_positive(o.vocab_size, "vocab_size");
  require_positive(o.seq_len, "seq_len");
  require_positive(o.embedding_dim, "embedding_dim");
  require_positive(o.units, "units");
  require_positive(o.layers, "layers");
  if (o.kind == CharLMKind::transformer) {
    require_positive(o.num_heads, "num_heads");
    if (o.key_dim < 0) throw ValueError("build_char_lm: key_dim must be >= 0 (0: units / num_heads), got " + std::to_string(o.key_dim));
    if (o.ff_dim < 0) throw ValueError("build_char_lm: ff_dim must be >= 0 (0: 4 * units), got " + std::to_string(o.ff_dim));
    if (o.key_dim == 0 && o.units % o.num_heads != 0)
      throw ValueError("build_char_lm: units (" + std::to_string(o.units) + ") must be divisible by num_heads (" +
                       std::to_string(o.num_heads) + ") when key_dim is 0");
  }
  auto ids = nn::Input({o.seq_len}, "chars", i64);
  nn::SymbolicTensor h;
  if (o.kind == CharLMKind::transformer) {
    h = transformer_body(o, ids);
  } else {
    h = nn::Embedding({.input_dim = o.vocab_size, .output_dim = o.embedding_dim, .name = "embedding"})(ids);
    const std::string base = char_lm_kind_name(o.kind) + "_";
    for (int64_t l = 1; l <= o.layers; ++l) {
      nn::RecurrentOptions r{.units = o.units, .return_sequences = true, .name = base + std::to_string(l)};
      h = o.kind == CharLMKind::lstm ? nn::LSTM(r)(h) : nn::GRU(r)(h);
    }
  }
  auto logits = nn::Dense({.units = o.vocab_size, .name = "logits"})(h);
  return CharLM{o, std::make_shared<nn::Model>(ids, logits, "char_lm_" + char_lm_kind_name(o.kind))};
}

CharLMData char_lm_data(const Tensor& ids, const CharLMDataOptions& o) {
  if (!(o.validation_fraction > 0 && o.validation_fraction < 1))
    throw ValueError("char_lm_data: validation_fraction must be in (0, 1), got " + std::to_string(o.validation_fraction));
  if (o.seq_len < 1) throw ValueError("char_lm_data: seq_len must be >= 1, got " + std::to_string(o.seq_len));
  if (o.stride < 0) throw ValueError("char_lm_data: stride must be >= 0 (0: seq_len), got " + std::to_string(o.stride));
  if (ids.dim() != 1) throw ShapeError("char_lm_data: expected 1-D ids, got " + std::to_string(ids.dim()) + "-D");
  const int64_t n = ids.size(0);
  const auto split = static_cast<int64_t>(std::floor(static_cast<double>(n) * (1.0 - o.validation_fraction)));
  for (auto [part, size] : {std::pair{"training", split}, std::pair{"validation", n - split}}) {
    if (size < o.seq_len + 1)
      throw ValueError(std::string("char_lm_data: the ") + part + " part has " + std::to_string(size) +
                       " characters, fewer than seq_len + 1 = " + std::to_string(o.seq_len + 1));
  }
  data::TokenWindows train = data::next_token_windows(ids.slice(0, 0, split), o.seq_len, o.stride > 0 ? o.stride : o.seq_len);
  data::TokenWindows val = data::next_token_windows(ids.slice(0, split, n), o.seq_len, o.seq_len);
  return CharLMData{train.inputs, train.targets, val.inputs, val.targets};
}

double bits_per_character(double nats) { return nats / std::log(2.0); }

std::vector<CharLMEpoch> train_char_lm(CharLM& lm, const CharLMData& data, const CharLMTrainOptions& options) {
  if (options.epochs < 1) throw ValueError("train_char_lm: epochs must be >= 1, got " + std::to_string(options.epochs));
  optim::AdamOptions adam{.learning_rate = options.learning_rate};
  if (options.clipnorm > 0) adam.global_clipnorm = options.clipnorm;
  lm.model->compile({.optimizer = optim::Adam(adam), .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  std::vector<CharLMEpoch> epochs;
  auto start = std::chrono::steady_clock::now();
  callbacks::LambdaCallback report({.on_epoch_begin = [&](int, const callbacks::Logs&) { start = std::chrono::steady_clock::now(); },
                                    .on_epoch_end = [&](int epoch, callbacks::Logs& logs) {
                                      CharLMEpoch e;
                                      e.epoch = epoch + 1;
                                      e.loss = logs.at("loss");
                                      e.val_loss = logs.at("val_loss");
                                      e.train_bpc = bits_per_character(e.loss);
                                      e.val_bpc = bits_per_character(e.val_loss);
                                      e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                                      epochs.push_back(e);
                                      if (options.on_epoch) options.on_epoch(e);
                                    }});
  lm.model->fit(data.train_x, data.train_y,
                {.batch_size = options.batch_size,
                 .epochs = options.epochs,
                 .verbose = options.verbose,
                 .validation_data = std::pair{data.val_x, data.val_y},
                 .callbacks = {std::move(report)},
                 .generator = options.generator});
  return epochs;
}

int64_t sample_logits(const Tensor& logits, double temperature, Generator& generator) {
  check_temperature(temperature, "sample_logits");
  if (!is_floating(logits.dtype()))
    throw DTypeError("sample_logits: expected float logits, got " + std::string(dtype_name(logits.dtype())));
  const std::vector<double> l = logits.to(f64).contiguous().reshape({-1}).to_vector<double>();
  if (l.empty()) throw ValueError("sample_logits: no logits");
  const double top = *std::max_element(l.begin(), l.end());
  if (!std::isfinite(top)) throw ValueError("sample_logits: the logits hold a non-finite value");
  std::vector<double> p(l.size());
  double total = 0;
  for (std::size_t k = 0; k < l.size(); ++k) total += p[k] = std::exp((l[k] - top) / temperature);
  double u = generator.uniform() * total;
  for (std::size_t k = 0; k < p.size(); ++k) {
    if (u < p[k]) return static_cast<int64_t>(k);
    u -= p[k];
  }
  // Rounding left u just above the sum: the last index with any probability.
  for (std::size_t k = p.size(); k-- > 0;) {
    if (p[k] > 0) return static_cast<int64_t>(k);
  }
  return 0;
}

std::string sample(CharLM& lm, const data::CharVocabulary& vocab, const std::string& prime, int64_t length,
                   double temperature, Generator& generator) {
  check_temperature(temperature, "sample");
  if (prime.empty()) throw ValueError("sample: the prime text is empty (give at least one character)");
  if (length < 0) throw ValueError("sample: length must be >= 0, got " + std::to_string(length));
  if (vocab.size() != lm.options.vocab_size)
    throw ValueError("sample: the vocabulary has " + std::to_string(vocab.size()) + " characters, the model " +
                     std::to_string(lm.options.vocab_size));
  std::vector<int64_t> context;
  for (char c : prime) {
    if (!vocab.contains(c)) throw ValueError("sample: the prime's character " + std::string(1, c) + " (byte " +
                                             std::to_string(static_cast<unsigned char>(c)) + ") is not in the vocabulary");
    context.push_back(vocab.id(c));
  }
  autograd::NoGradGuard no_grad;
  std::string out;
  const int64_t seq_len = lm.options.seq_len;
  if (lm.options.kind == CharLMKind::transformer) {
    for (int64_t k = 0; k < length; ++k) {
      const auto n = std::min<int64_t>(seq_len, static_cast<int64_t>(context.size()));
      std::vector<int64_t> window(static_cast<std::size_t>(seq_len), 0);
      std::copy(context.end() - n, context.end(), window.begin());
      Tensor logits = (*lm.model)(from_vector(window, {1, seq_len}), false);
      const int64_t next = sample_logits(last_logits(logits, n - 1), temperature, generator);
      context.push_back(next);
      out.push_back(vocab.character(next));
    }
    return out;
  }
  // Recurrent: walk the model's layers by hand, carrying each recurrent layer's states.
  const std::vector<nn::LayerPtr>& layers = lm.model->layers();
  std::vector<std::vector<Tensor>> states(layers.size());
  Tensor step = from_vector(context, {1, static_cast<int64_t>(context.size())});
  for (int64_t k = 0; k < length; ++k) {
    Tensor x = step;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (dynamic_cast<nn::InputLayer*>(layers[i].get())) continue;
      if (auto* rnn = dynamic_cast<nn::RecurrentLayer*>(layers[i].get())) {
        nn::RecurrentOutput r = rnn->run(x, false, states[i]);
        states[i] = r.states;
        x = r.output;
      } else {
        x = (*layers[i])(x, false);
      }
    }
    const int64_t next = sample_logits(last_logits(x, x.size(1) - 1), temperature, generator);
    out.push_back(vocab.character(next));
    step = from_vector(std::vector<int64_t>{next}, {1, 1});
  }
  return out;
}

}  // namespace ember::train

namespace ember::train {

void save_char_lm(CharLM& lm, const data::CharVocabulary& vocab, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IOError("save_char_lm: cannot create '" + dir + "': " + ec.message());
  const CharLMOptions& o = lm.options;
  std::vector<int> bytes;
  for (int64_t k = 0; k < vocab.size(); ++k) bytes.push_back(static_cast<unsigned char>(vocab.character(k)));
  nlohmann::json j = {{"kind", char_lm_kind_name(o.kind)}, {"vocab_size", o.vocab_size}, {"seq_len", o.seq_len},
                      {"embedding_dim", o.embedding_dim}, {"units", o.units}, {"layers", o.layers},
                      {"num_heads", o.num_heads}, {"key_dim", o.key_dim}, {"ff_dim", o.ff_dim},
                      {"vocabulary", bytes}};
  const std::filesystem::path d(dir);
  io::write_file_atomically((d / "char_lm.json").string(), j.dump(1));
  lm.model->save_weights((d / "model.safetensors").string());
  lm.model->save((d / "model.h5").string());  // the whole model in Keras's layout (load_char_lm reads it first)
}

LoadedCharLM load_char_lm(const std::string& dir) {
  const std::filesystem::path path = std::filesystem::path(dir) / "char_lm.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("load_char_lm: cannot open '" + path.string() + "'");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw FormatError("load_char_lm: '" + path.string() + "' is not a JSON object");
  auto integer = [&](const char* key) -> int64_t {
    if (!j.contains(key) || !j[key].is_number_integer())
      throw FormatError("load_char_lm: '" + path.string() + "' needs an integer \"" + key + "\"");
    return j[key].get<int64_t>();
  };
  if (!j.contains("kind") || !j["kind"].is_string())
    throw FormatError("load_char_lm: '" + path.string() + "' needs a string \"kind\"");
  std::string chars;
  if (!j.contains("vocabulary") || !j["vocabulary"].is_array())
    throw FormatError("load_char_lm: '" + path.string() + "' needs an array \"vocabulary\" of byte values");
  for (const auto& b : j["vocabulary"]) {
    if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 255)
      throw FormatError("load_char_lm: '" + path.string() + "': \"vocabulary\" holds " + b.dump() + ", not a byte value");
    chars.push_back(static_cast<char>(b.get<int>()));
  }
  CharLMOptions o;
  try {
    o.kind = char_lm_kind(j["kind"].get<std::string>());
  } catch (const ValueError& e) {
    throw FormatError("load_char_lm: '" + path.string() + "': " + e.what());
  }
  o.vocab_size = integer("vocab_size");
  o.seq_len = integer("seq_len");
  o.embedding_dim = integer("embedding_dim");
  o.units = integer("units");
  o.layers = integer("layers");
  o.num_heads = integer("num_heads");
  o.key_dim = integer("key_dim");
  o.ff_dim = integer("ff_dim");
  if (chars.empty()) throw FormatError("load_char_lm: '" + path.string() + "': the vocabulary is empty");
  data::CharVocabulary vocab(chars);
  if (vocab.size() != o.vocab_size)
    throw FormatError("load_char_lm: '" + path.string() + "': the vocabulary has " + std::to_string(vocab.size()) +
                      " distinct bytes, vocab_size says " + std::to_string(o.vocab_size));
  CharLM lm;
  try {
    lm = build_char_lm(o);
  } catch (const ValueError& e) {
    throw FormatError("load_char_lm: '" + path.string() + "': " + e.what());
  }
  const std::filesystem::path h5 = std::filesystem::path(dir) / "model.h5";
  if (std::filesystem::exists(h5)) {
    // The Keras file carries architecture and weights; it must be the model char_lm.json describes.
    std::shared_ptr<nn::Model> model = nn::load_model(h5.string());
    if (nn::to_json(*model) != nn::to_json(*lm.model))
      throw FormatError("load_char_lm: '" + h5.string() + "' holds another model than '" + path.string() +
                        "' describes (kind, sizes or layer names differ)");
    lm.model = std::move(model);
  } else {  // folders saved before model.h5 was written
    lm.model->load_weights((std::filesystem::path(dir) / "model.safetensors").string());
  }
  return LoadedCharLM{std::move(lm), std::move(vocab)};
}

}  // namespace ember::train
