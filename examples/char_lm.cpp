// A character-level language model on real English (Debian's `fortunes`): Embedding → LSTM → Dense
// over the characters, trained to predict the next character; prints the validation bits per
// character after each epoch and two sampled paragraphs (temperatures 0.5 and 1.0). `--model gru`
// and `--model transformer` (a small causal transformer) train the same way. The library piece is
// ember/train/char_lm.hpp; bench/char_lm_torch.py is the same run in PyTorch.
//
//   example_char_lm [--model lstm|gru|transformer] [--quick] [--epochs N] [--max-chars N]
//                   [--data PATH] [--seed S] [--batch-size B] [--learning-rate LR] [--clipnorm C]
//                   [--save-init FILE.safetensors]   (the initial weights, for the PyTorch peer)
//                   [--save-order FILE.npy]          (each epoch's batch order, for the PyTorch peer)
//                   [--threads T]                    (default: automatic)
//
// Default settings (chosen to finish in a few minutes on 2 cores): the first 1,000,000 characters
// of the fortunes (the last 10 % of them validate), windows of 100 characters (non-overlapping),
// batch 64, Adam 1e-2 (transformer 2e-3) with the gradient clipped to global norm 5, 3 epochs;
// LSTM: embedding 64, one LSTM(256); transformer: width 128, 2 blocks, 4 heads, feed-forward 512,
// learned positions. --quick (CTest): 200,000 characters, windows of 50, LSTM(128) / width 64,
// 2 epochs. Exits 1 unless the final validation bpc beats the unigram baseline (the entropy of the
// training characters' frequencies: a model that learned only how often each character occurs).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ember/ember.hpp"
#include "ember/train/char_lm.hpp"

using namespace ember;

namespace {

// Adam's learning rates (the transformer trained better with the smaller one in a --quick run) and
// the global gradient-norm clip; bench/char_lm_torch.py has the same.
constexpr double kRecurrentLearningRate = 1e-2;
constexpr double kTransformerLearningRate = 2e-3;
constexpr double kClipnorm = 5.0;

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "usage: example_char_lm [--model lstm|gru|transformer] [--quick] [--epochs N] [--max-chars N] "
               "[--data PATH] [--seed S] [--batch-size B] [--learning-rate LR] [--clipnorm C] [--save-init FILE] [--save-order FILE] [--threads T] (%s)\n",
               problem.c_str());
  std::exit(2);
}

double parse_double(const char* flag, const char* text, double low) {
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v) || v < low)
    usage(std::string(flag) + " expects a number >= " + std::to_string(low) + ", got '" + text + "'");
  return v;
}

long parse_long(const char* flag, const char* text, long low, long high) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > high)
    usage(std::string(flag) + " expects an integer in [" + std::to_string(low) + ", " + std::to_string(high) +
          "], got '" + text + "'");
  return v;
}

// Entropy in bits of the character frequencies of `ids`.
double unigram_bpc(const Tensor& ids, int64_t vocab_size) {
  std::vector<double> counts(static_cast<std::size_t>(vocab_size), 0.0);
  for (int64_t id : ids.to_vector<int64_t>()) counts[static_cast<std::size_t>(id)] += 1;
  const double n = static_cast<double>(ids.numel());
  double h = 0;
  for (double c : counts) {
    if (c > 0) h -= c / n * std::log2(c / n);
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string kind_name = "lstm", path = data::kFortunesDir, save_init, save_order;
  bool quick = false;
  long epochs = -1, max_chars = -1, seed = 1, batch_size = 64, threads = 0;
  double learning_rate = 0, clipnorm = kClipnorm;  // learning rate 0: the model's default
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick") quick = true;
    else if (a == "--model") kind_name = value();
    else if (a == "--epochs") epochs = parse_long("--epochs", value(), 1, 1000);
    else if (a == "--max-chars") max_chars = parse_long("--max-chars", value(), 1000, 1L << 40);
    else if (a == "--data") path = value();
    else if (a == "--save-init") save_init = value();
    else if (a == "--save-order") save_order = value();
    else if (a == "--threads") threads = parse_long("--threads", value(), 1, 1 << 16);
    else if (a == "--seed") seed = parse_long("--seed", value(), 0, 1L << 40);
    else if (a == "--batch-size") batch_size = parse_long("--batch-size", value(), 1, 1 << 20);
    else if (a == "--learning-rate") learning_rate = parse_double("--learning-rate", value(), 1e-12);
    else if (a == "--clipnorm") clipnorm = parse_double("--clipnorm", value(), 0);
    else usage("unknown argument '" + a + "'");
  }
  train::CharLMKind kind{};
  try {
    kind = train::char_lm_kind(kind_name);
  } catch (const ValueError& e) {
    usage(e.what());
  }
  const bool transformer = kind == train::CharLMKind::transformer;
  if (learning_rate == 0) learning_rate = transformer ? kTransformerLearningRate : kRecurrentLearningRate;
  if (max_chars < 0) max_chars = quick ? 200000 : 1000000;
  if (epochs < 0) epochs = quick ? 2 : 3;
  const int64_t seq_len = quick ? 50 : 100;
  manual_seed(static_cast<uint64_t>(seed));
  if (threads > 0) set_num_threads(static_cast<int>(threads));  // default: automatic

  std::string text = data::read_text(path);
  const std::size_t total = text.size();
  if (text.size() > static_cast<std::size_t>(max_chars)) text.resize(static_cast<std::size_t>(max_chars));
  data::CharVocabulary vocab(text);
  train::CharLMData d = train::char_lm_data(vocab.encode(text), {.seq_len = seq_len});
  std::printf("text: %zu characters from %s, the first %zu used (last 10%% validate); vocabulary %lld\n", total,
              path.c_str(), text.size(), static_cast<long long>(vocab.size()));
  std::printf("windows of %lld: %lld training, %lld validation\n", static_cast<long long>(seq_len),
              static_cast<long long>(d.train_x.size(0)), static_cast<long long>(d.val_x.size(0)));
  const double baseline = unigram_bpc(d.train_y, vocab.size());
  std::printf("unigram baseline: %.3f bits per character\n", baseline);

  train::CharLMOptions options{.kind = kind, .vocab_size = vocab.size(), .seq_len = seq_len};
  if (transformer) {
    options.units = quick ? 64 : 128;
    options.layers = 2;
    options.num_heads = 4;
  } else {
    options.units = quick ? 128 : 256;
  }
  train::CharLM lm = train::build_char_lm(options);
  lm.model->summary();
  if (!save_init.empty()) {
    // The initial weights (Keras names and layouts), for bench/char_lm_torch.py --init-from.
    lm.model->save_weights(save_init);
    std::printf("initial weights: %s\n", save_init.c_str());
  }
  Generator shuffle(static_cast<uint64_t>(seed) + 1);
  if (!save_order.empty()) {
    // fit draws one randperm of the training windows per epoch from `shuffle` and nothing else, so
    // a generator with the same seed replays the orders it will use: [epochs, windows] int64, for
    // bench/char_lm_torch.py --order-from (the two runs then see the same batches).
    Generator replay(static_cast<uint64_t>(seed) + 1);
    std::vector<Tensor> orders;
    for (long e = 0; e < epochs; ++e) orders.push_back(randperm(d.train_x.size(0), &replay));
    io::save_npy(save_order, stack(orders, 0));
    std::printf("batch orders: %s\n", save_order.c_str());
  }
  auto history = train::train_char_lm(
      lm, d,
      {.batch_size = batch_size, .epochs = static_cast<int>(epochs), .learning_rate = learning_rate, .clipnorm = clipnorm,
       .generator = &shuffle,
       .on_epoch = [&](const train::CharLMEpoch& e) {
         std::printf("epoch %d/%ld: train_bpc=%.4f val_bpc=%.4f (%.1f s)\n", e.epoch, epochs, e.train_bpc, e.val_bpc,
                     e.seconds);
         std::fflush(stdout);
       }});

  Generator gen(static_cast<uint64_t>(seed) + 2);
  for (double temperature : {0.5, 1.0}) {
    std::string s = train::sample(lm, vocab, "The ", quick ? 120 : 400, temperature, gen);
    std::printf("\n--- sample, temperature %.1f ---\nThe %s\n", temperature, s.c_str());
  }
  const double final_bpc = history.back().val_bpc;
  std::printf("\nfinal val_bpc=%.4f (unigram baseline %.3f)\n", final_bpc, baseline);
  if (!(final_bpc < baseline)) {
    std::printf("the model does not beat the unigram baseline\n");
    return 1;
  }
  std::printf("char lm example passed\n");
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
