// word2vec on the fortunes: skip-gram with negative sampling (train/word2vec.hpp), then the words
// nearest to a few others by cosine similarity.
//
//   build/examples/example_word2vec                 full settings: dim 100, window 5, 5 negatives,
//                                                   min_count 5, 5 epochs over the whole text
//   build/examples/example_word2vec --quick         2 epochs (CTest; after one the vectors still share
//                                                   one direction and every cosine is near 1)
//   build/examples/example_word2vec --words N --epochs E [--data PATH]
//
// The text is Debian's `fortunes` (scripts/setup.sh installs it). Exits 1 unless the loss fell from
// the first batch's level (log 2 · (1 + negatives) per pair, as the output vectors start at zero).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ember/ember.hpp"

using namespace ember;

namespace {
int usage() {
  std::fprintf(stderr, "usage: example_word2vec [--quick] [--words N] [--epochs E] [--data PATH]\n");
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  std::string path = data::kFortunesDir;
  long long max_words = 0;
  train::Word2VecOptions opt;  // the original's defaults: dim 100, window 5, 5 negatives, min_count 5, sample 1e-3
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--quick") {
      opt.epochs = 2;
    } else if (a == "--words" || a == "--epochs" || a == "--data") {
      const char* v = value();
      if (!v) return usage();
      if (a == "--data") {
        path = v;
        continue;
      }
      char* end = nullptr;
      long long n = std::strtoll(v, &end, 10);
      if (*end != '\0' || n < 1) return usage();
      if (a == "--words") max_words = n;
      else opt.epochs = n;
    } else {
      return usage();
    }
  }

  try {
    std::vector<std::string> words = data::split_words(data::read_text(path));
    if (max_words > 0 && static_cast<long long>(words.size()) > max_words) words.resize(static_cast<std::size_t>(max_words));
    std::printf("%zu words from %s\n", words.size(), path.c_str());
    train::Word2Vec w2v(opt);
    auto history = w2v.train(words);
    std::printf("vocabulary: %zu words; %.0f pairs/s in the last epoch\n", w2v.words().size(),
                history.back().pairs_per_second);
    for (const char* w : {"computer", "love", "god", "money", "time"}) {
      if (!w2v.find(w)) {
        std::printf("%s: not in the vocabulary\n", w);
        continue;
      }
      std::printf("%s:", w);
      for (const auto& [other, cos] : w2v.most_similar(w, 8)) std::printf(" %s (%.2f)", other.c_str(), cos);
      std::printf("\n");
    }
    const double start_loss = std::log(2.0) * static_cast<double>(1 + opt.negatives);
    if (!(history.back().loss < 0.9 * start_loss)) {
      std::printf("word2vec example FAILED: loss %.4f did not fall below 0.9 x %.4f\n", history.back().loss, start_loss);
      return 1;
    }
    std::printf("word2vec example passed\n");
  } catch (const Error& e) {
    std::fprintf(stderr, "example_word2vec: %s\n", e.what());
    return 1;
  }
  return 0;
}
