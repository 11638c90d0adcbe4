#pragma once
// word2vec: skip-gram with negative sampling (Mikolov et al., 2013), as the original C tool trains
// it, built on two nn::Embedding tables and ops, so its gradients are row gradients and each SGD
// step touches only the rows of the words in the batch.
//
//   train::Word2Vec w2v({.dim = 100, .window = 5, .epochs = 5});
//   w2v.train(data::split_words(data::read_text(data::kFortunesDir)));
//   for (auto& [word, cos] : w2v.most_similar("love", 5)) ...
//
// The model: every word w has an input vector v_w ("input" table, the word vectors) and an output
// vector u_w ("output" table). For a center word w and a word c within its window, with K noise
// words n_1..n_K drawn from the unigram distribution raised to 3/4,
//   loss(w, c) = −log σ(u_c·v_w) − Σ_k log σ(−u_{n_k}·v_w),
// summed over the pairs of a batch (each pair's gradient enters with the full learning rate, as the
// original's per-pair updates). As the original: rare words (< min_count) are dropped first;
// frequent words are subsampled per epoch (a word of corpus frequency f is kept with probability
// (sqrt(f/sample) + 1)·sample/f) and windows span the kept words; each center draws its window
// size uniformly from 1..window; input vectors start uniform in ±0.5/dim, output vectors at zero;
// the learning rate falls linearly with the words processed, to learning_rate·1e-4 at the end;
// a noise word equal to the pair's context is drawn again.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ember/core/tensor.hpp"
#include "ember/data/text.hpp"
#include "ember/nn/layers/recurrent.hpp"

namespace ember::train {

struct Word2VecOptions {
  int64_t dim = 100;            // vector size
  int64_t window = 5;           // largest distance between a center and a context word (>= 1)
  int64_t negatives = 5;        // noise words per pair (>= 1)
  int64_t min_count = 5;        // words seen fewer times are dropped (>= 1)
  double sample = 1e-3;         // subsampling threshold (0: keep every word)
  double noise_power = 0.75;    // noise distribution ∝ count^noise_power
  int64_t epochs = 5;           // passes over the text (>= 1)
  double learning_rate = 0.025; // at the start; decays linearly (see above)
  int64_t batch_size = 256;     // (center, context) pairs per SGD step (>= 1)
  uint64_t seed = 1;            // initial vectors, subsampling, windows and noise words
  int verbose = 1;              // 1: one line per epoch on stdout; 0: silent
};

// One epoch's numbers (the progress line prints them).
struct Word2VecEpoch {
  int64_t epoch = 0;     // 1-based
  int64_t pairs = 0;     // (center, context) pairs trained on
  double loss = 0;       // mean loss per pair over the epoch
  double seconds = 0;
  double pairs_per_second = 0;
  double learning_rate = 0;  // at the end of the epoch
};

// The summed skip-gram negative-sampling loss of a batch: v = input vectors of the centers [B, D],
// u = output vectors [B, 1 + K, D] of each pair's context (column 0) and its K noise words.
// Σ_b [softplus(−u_b0·v_b) + Σ_k softplus(u_bk·v_b)] (softplus(−x) = −log σ(x)); differentiable
// (ops only). ShapeError when the shapes do not fit.
Tensor skipgram_negative_sampling_loss(const Tensor& v, const Tensor& u);

class Word2Vec {
 public:
  // ValueError naming the option for a bad option (window < 1, dim < 1, ...).
  explicit Word2Vec(Word2VecOptions options = {});

  // Builds the vocabulary of `words` (min_count, most frequent first) and trains on them in order.
  // ValueError when fewer than two distinct words reach min_count. Returns one entry per epoch.
  std::vector<Word2VecEpoch> train(const std::vector<std::string>& words);
  // Trains on a sequence of ids into `vocabulary` (its counts drive subsampling and the noise).
  std::vector<Word2VecEpoch> train(const data::WordVocabulary& vocabulary, const std::vector<int64_t>& ids);

  // After training: the words (id order) and their input vectors [V, dim] (float32).
  const std::vector<std::string>& words() const { return words_; }
  Tensor vectors() const;
  std::optional<int64_t> find(const std::string& word) const;
  // The k words (excluding `word`) whose vectors have the largest cosine similarity with word's,
  // most similar first (ties by id). ValueError naming the word when it is not in the vocabulary
  // (or before training), and for k < 1.
  std::vector<std::pair<std::string, double>> most_similar(const std::string& word, int64_t k = 10) const;
  // The word2vec text format: "V dim", then one line "word x1 ... xdim" per word. IOError when the
  // file cannot be written.
  void save_text(const std::string& path) const;

  const Word2VecOptions& options() const { return opt_; }
  // The two tables (built by train): "input" holds the word vectors, "output" the context vectors.
  nn::Embedding* input_embedding() { return input_.get(); }
  nn::Embedding* output_embedding() { return output_.get(); }

 private:
  void build(int64_t vocab_size);
  Word2VecOptions opt_;
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> ids_;
  std::shared_ptr<nn::Embedding> input_, output_;
};

}  // namespace ember::train
