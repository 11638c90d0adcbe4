// `ember lm --data PATH | --load DIR [options]`: train a character-level language model and sample.
#include "lm_command.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "ember/core/generator.hpp"
#include "ember/core/threads.hpp"
#include "ember/data/text.hpp"
#include "ember/train/char_lm.hpp"

namespace ember::tool {

namespace {

struct LmArgs {
  std::string data, model = "lstm", prime = "The ", out, load;
  int epochs = 3;
  int64_t seq_len = 100, batch_size = 64, units = 0, layers = 0, sample = 400, max_chars = 0;
  double learning_rate = 0, clipnorm = 5, temperature = 0.8;  // learning rate 0: by model
  uint64_t seed = 1;
  int threads = 0;
};

void check(const LmArgs& a) {
  if (a.data.empty() == a.load.empty())
    throw CLI::ValidationError("--data/--load", "give exactly one: --data PATH to train, or --load DIR to sample from a saved model");
  if (!a.load.empty() && !a.out.empty()) throw CLI::ValidationError("--out", "saves a trained model; it does not go with --load");
  if (!std::isfinite(a.temperature) || a.temperature <= 0)
    throw CLI::ValidationError("--temperature", "must be a finite number > 0 (0: the default), got " + std::to_string(a.temperature));
  if (!std::isfinite(a.learning_rate) || a.learning_rate < 0)
    throw CLI::ValidationError("--learning-rate", "must be a finite number > 0 (0: the default), got " + std::to_string(a.learning_rate));
  if (a.sample > 0 && a.prime.empty()) throw CLI::ValidationError("--prime", "must hold at least one character");
  try {
    train::char_lm_kind(a.model);
  } catch (const ValueError& e) {
    throw CLI::ValidationError("--model", e.what());
  }
}

// A prime character outside the vocabulary is bad usage, found before any work is done.
void check_prime(const LmArgs& a, const data::CharVocabulary& vocab) {
  for (char c : a.sample > 0 ? a.prime : std::string()) {
    if (!vocab.contains(c))
      throw CLI::ValidationError("--prime", "the character '" + std::string(1, c) + "' (byte " +
                                                std::to_string(static_cast<unsigned char>(c)) + ") is not in the text's vocabulary");
  }
}

void run_lm(const LmArgs& a) {
  check(a);
  if (a.threads > 0) set_num_threads(a.threads);
  manual_seed(a.seed);
  Generator sampler(a.seed + 2);
  if (!a.load.empty()) {
    train::LoadedCharLM loaded = train::load_char_lm(a.load);
    check_prime(a, loaded.vocab);
    std::cout << "loaded " << train::char_lm_kind_name(loaded.lm.options.kind) << " model from " << a.load
              << " (vocabulary " << loaded.vocab.size() << ")\n";
    if (a.sample > 0) {
      const std::string s = train::sample(loaded.lm, loaded.vocab, a.prime, a.sample, a.temperature, sampler);
      std::cout << a.prime << s << "\n";
    }
    return;
  }
  std::string text = data::read_text(a.data);
  const std::size_t total = text.size();
  if (a.max_chars > 0 && text.size() > static_cast<std::size_t>(a.max_chars)) text.resize(static_cast<std::size_t>(a.max_chars));
  data::CharVocabulary vocab(text);
  check_prime(a, vocab);
  train::CharLMData d = train::char_lm_data(vocab.encode(text), {.seq_len = a.seq_len});
  const train::CharLMKind kind = train::char_lm_kind(a.model);
  const bool transformer = kind == train::CharLMKind::transformer;
  train::CharLMOptions options{.kind = kind, .vocab_size = vocab.size(), .seq_len = a.seq_len};
  options.units = a.units > 0 ? a.units : transformer ? 128 : 256;
  options.layers = a.layers > 0 ? a.layers : transformer ? 2 : 1;
  train::CharLM lm = train::build_char_lm(options);
  std::cout << "text: " << total << " characters from " << a.data << ", " << text.size()
            << " used (the last 10% validate); vocabulary " << vocab.size() << "; " << d.train_x.size(0)
            << " training and " << d.val_x.size(0) << " validation windows of " << a.seq_len << "\n"
            << "model: " << a.model << ", " << options.layers << " x " << options.units << " units, "
            << lm.model->count_params() << " parameters\n";
  Generator shuffle(a.seed + 1);
  auto history = train::train_char_lm(
      lm, d,
      {.batch_size = a.batch_size, .epochs = a.epochs, .learning_rate = a.learning_rate > 0 ? a.learning_rate : transformer ? 2e-3 : 1e-2,
       .clipnorm = a.clipnorm,
       .generator = &shuffle,
       .on_epoch = [&](const train::CharLMEpoch& e) {
         std::printf("epoch %d/%d: train_bpc=%.4f val_bpc=%.4f (%.1f s)\n", e.epoch, a.epochs, e.train_bpc, e.val_bpc,
                     e.seconds);
         std::fflush(stdout);
       }});
  std::printf("val_bpc=%.4f\n", history.back().val_bpc);
  if (a.sample > 0) {
    const std::string s = train::sample(lm, vocab, a.prime, a.sample, a.temperature, sampler);
    std::printf("--- sample, temperature %g ---\n", a.temperature);
    std::cout << a.prime << s << "\n";
  }
  if (!a.out.empty()) {
    train::save_char_lm(lm, vocab, a.out);
    std::cout << "saved: " << a.out << "/char_lm.json, " << a.out << "/model.safetensors, " << a.out << "/model.h5\n";
  }
}

}  // namespace

void add_lm_command(CLI::App& app) {
  auto a = std::make_shared<LmArgs>();
  CLI::App* cmd = app.add_subcommand(
      "lm", "train a character-level language model (Embedding -> LSTM/GRU -> Dense, or a small causal transformer) on "
            "a text file or folder, printing the validation bits per character after each epoch, then sample text");
  cmd->add_option("--data", a->data, "text file, or folder of text files (e.g. /usr/share/games/fortunes)");
  cmd->add_option("--load", a->load, "sample from a model saved with --out DIR instead of training");
  cmd->add_option("--model", a->model, "lstm (default), gru or transformer");
  cmd->add_option("--epochs", a->epochs, "epochs (default 3)")->check(CLI::Range(1, 100000));
  cmd->add_option("--seq-len", a->seq_len, "characters per training window (default 100)")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--batch-size", a->batch_size, "windows per batch (default 64)")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--units", a->units, "recurrent units, or the transformer's width (default 256 / 128)")
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--layers", a->layers, "recurrent layers or transformer blocks (default 1 / 2)")->check(CLI::Range(1, 64));
  cmd->add_option("--learning-rate", a->learning_rate, "Adam's learning rate (default, or 0: 1e-2; transformer 2e-3)");
  cmd->add_option("--clipnorm", a->clipnorm, "clip each batch's gradient to this global norm (default 5; 0: no clipping)")
      ->check(CLI::Range(0.0, 1e30));
  cmd->add_option("--max-chars", a->max_chars, "use only the first N characters of the text (default: all)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--seed", a->seed, "random seed (default 1)");
  cmd->add_option("--sample", a->sample, "characters to sample after training (default 400; 0: none)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  cmd->add_option("--temperature", a->temperature, "sampling temperature > 0 (default 0.8)");
  cmd->add_option("--prime", a->prime, "text the sample starts from (default \"The \")");
  cmd->add_option("--threads", a->threads, "intra-op threads (default: automatic)")->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--out", a->out, "folder to save the model and vocabulary in (char_lm.json, model.safetensors, model.h5)");
  cmd->callback([a] { run_lm(*a); });
}

}  // namespace ember::tool
