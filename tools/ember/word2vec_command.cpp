// `ember word2vec --data PATH [--dim D] [--window W] [--negatives K] [--min-count C] [--epochs E]
//  [--seed S] [--similar w1,w2,...] [--out FILE] [--words N] [--batch-size B] [--learning-rate LR]
//  [--threads T]`: argument parsing and printing; the work is train::Word2Vec.
#include "word2vec_command.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/threads.hpp"
#include "ember/data/text.hpp"
#include "ember/train/word2vec.hpp"

namespace ember::tool {

namespace {

struct Word2VecArgs {
  std::string data;
  train::Word2VecOptions options;
  std::vector<std::string> similar = {"computer", "love", "god", "money", "time"};
  std::string out;
  int64_t words = 0;  // 0: the whole text
  int64_t top = 8;
  int threads = 0;
};

void run_word2vec(const Word2VecArgs& a) {
  if (a.threads > 0) set_num_threads(a.threads);
  std::vector<std::string> words = data::split_words(data::read_text(a.data));
  if (a.words > 0 && static_cast<int64_t>(words.size()) > a.words) words.resize(static_cast<std::size_t>(a.words));
  data::WordVocabulary vocab(words, a.options.min_count);
  // Checked before training, so a typo costs nothing.
  for (const std::string& w : a.similar) {
    if (!vocab.find(w)) {
      throw ValueError("word2vec: --similar word '" + w + "' is not in the vocabulary of " + std::to_string(vocab.size()) +
                       " words seen >= " + std::to_string(a.options.min_count) + " times");
    }
  }
  std::vector<int64_t> ids = vocab.encode(words).to_vector<int64_t>();
  std::printf("text: %zu words, vocabulary: %lld words (min_count %lld), training on %zu tokens\n", words.size(),
              static_cast<long long>(vocab.size()), static_cast<long long>(a.options.min_count), ids.size());
  std::fflush(stdout);
  train::Word2Vec w2v(a.options);
  auto history = w2v.train(vocab, ids);
  double pairs = 0, secs = 0;
  for (const auto& e : history) {
    pairs += static_cast<double>(e.pairs);
    secs += e.seconds;
  }
  std::printf("trained %.0f pairs in %.1f s: %.0f pairs/s\n", pairs, secs, secs > 0 ? pairs / secs : 0.0);
  for (const std::string& w : a.similar) {
    std::printf("%s:", w.c_str());
    for (const auto& [other, cos] : w2v.most_similar(w, a.top)) std::printf(" %s (%.3f)", other.c_str(), cos);
    std::printf("\n");
  }
  if (!a.out.empty()) {
    w2v.save_text(a.out);
    std::printf("wrote %s (%lld vectors of %lld)\n", a.out.c_str(), static_cast<long long>(w2v.words().size()),
                static_cast<long long>(a.options.dim));
  }
  std::fflush(stdout);
}

}  // namespace

void add_word2vec_command(CLI::App& app) {
  auto a = std::make_shared<Word2VecArgs>();
  a->options.verbose = 1;
  CLI::App* cmd = app.add_subcommand("word2vec", "train skip-gram word vectors (negative sampling) on a text");
  cmd->add_option("--data", a->data, "a text file or a folder of them (e.g. /usr/share/games/fortunes)")->required();
  cmd->add_option("--dim", a->options.dim, "vector size")->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  cmd->add_option("--window", a->options.window, "largest center-context distance")->check(CLI::Range(int64_t{1}, int64_t{1000}));
  cmd->add_option("--negatives", a->options.negatives, "noise words per pair")->check(CLI::Range(int64_t{1}, int64_t{1000}));
  cmd->add_option("--min-count", a->options.min_count, "drop words seen fewer times")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--epochs", a->options.epochs, "passes over the text")->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  cmd->add_option("--batch-size", a->options.batch_size, "pairs per SGD step")->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  cmd->add_option("--learning-rate", a->options.learning_rate, "starting learning rate (decays linearly)")
      ->check(CLI::Range(1e-12, 100.0));
  cmd->add_option("--sample", a->options.sample, "subsampling threshold (0: off)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", a->options.seed, "random seed");
  cmd->add_option("--similar", a->similar, "words to print the nearest words of (comma-separated)")->delimiter(',');
  cmd->add_option("--top", a->top, "how many nearest words to print")->check(CLI::Range(int64_t{1}, int64_t{1000}));
  cmd->add_option("--out", a->out, "write the vectors in the word2vec text format");
  cmd->add_option("--words", a->words, "train on the first N words only (0: all)")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--threads", a->threads, "intra-op threads (0: automatic)")->check(CLI::Range(0, 1 << 16));
  cmd->callback([a] { run_word2vec(*a); });
}

}  // namespace ember::tool
