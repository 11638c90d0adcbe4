#include "ember/train/word2vec.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/core/generator.hpp"
#include "ember/core/threads.hpp"
#include "ember/ops/activation.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "ember/optim/optimizer.hpp"

namespace ember::train {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw ValueError("Word2Vec: " + what);
}

// Draws ids with probability ∝ weight (binary search in the cumulative weights).
class NoiseSampler {
 public:
  NoiseSampler(const data::WordVocabulary& vocab, double power) {
    cumulative_.reserve(static_cast<std::size_t>(vocab.size()));
    double total = 0;
    for (int64_t i = 0; i < vocab.size(); ++i) {
      total += std::pow(static_cast<double>(vocab.count(i)), power);
      cumulative_.push_back(total);
    }
  }
  int64_t draw(Generator& gen) const {
    const double r = gen.uniform() * cumulative_.back();
    auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
    return std::min<int64_t>(it - cumulative_.begin(), static_cast<int64_t>(cumulative_.size()) - 1);
  }

 private:
  std::vector<double> cumulative_;
};

}  // namespace

Tensor skipgram_negative_sampling_loss(const Tensor& v, const Tensor& u) {
  if (v.dim() != 2 || u.dim() != 3 || u.shape()[0] != v.shape()[0] || u.shape()[2] != v.shape()[1] || u.shape()[1] < 2) {
    throw ShapeError("skipgram_negative_sampling_loss: expected v [B, D] and u [B, 1 + K, D] with K >= 1, got v " +
                     to_string(v.shape()) + " and u " + to_string(u.shape()));
  }
  const int64_t b = v.shape()[0], cols = u.shape()[1];
  Tensor scores = sum(u * reshape(v, {b, 1, v.shape()[1]}), {2});  // [B, 1 + K]: u·v per column
  // −log σ(s) = softplus(−s) for the context (column 0), −log σ(−s) = softplus(s) for the noise.
  std::vector<double> sign(static_cast<std::size_t>(cols), 1.0);
  sign[0] = -1.0;
  return sum(softplus(scores * from_vector(sign, {1, cols}, v.dtype())));
}

Word2Vec::Word2Vec(Word2VecOptions options) : opt_(options) {
  auto positive = [](const char* name, int64_t v) {
    require(v >= 1, std::string(name) + " must be >= 1, got " + std::to_string(v));
  };
  positive("dim", opt_.dim);
  positive("window", opt_.window);
  positive("negatives", opt_.negatives);
  positive("min_count", opt_.min_count);
  positive("epochs", opt_.epochs);
  positive("batch_size", opt_.batch_size);
  require(std::isfinite(opt_.sample) && opt_.sample >= 0, "sample must be >= 0, got " + std::to_string(opt_.sample));
  require(std::isfinite(opt_.noise_power), "noise_power must be finite");
  require(std::isfinite(opt_.learning_rate) && opt_.learning_rate > 0,
          "learning_rate must be > 0, got " + std::to_string(opt_.learning_rate));
}

void Word2Vec::build(int64_t vocab_size) {
  input_ = std::make_shared<nn::Embedding>(
      nn::EmbeddingOptions{.input_dim = vocab_size, .output_dim = opt_.dim, .name = "word2vec_input"});
  output_ = std::make_shared<nn::Embedding>(
      nn::EmbeddingOptions{.input_dim = vocab_size, .output_dim = opt_.dim, .name = "word2vec_output"});
  for (auto* e : {input_.get(), output_.get()}) {
    e->build({{-1}});
    e->materialize_weights();
  }
  // The original's start: input vectors uniform in ±0.5/dim, output vectors zero.
  Generator gen(opt_.seed);
  const double half = 0.5 / static_cast<double>(opt_.dim);
  std::vector<float> init(static_cast<std::size_t>(vocab_size * opt_.dim));
  for (float& x : init) x = static_cast<float>((gen.uniform() * 2.0 - 1.0) * half);
  autograd::NoGradGuard no_grad;
  input_->find_weight("embeddings")->value().copy_(from_vector(init, {vocab_size, opt_.dim}));
  output_->find_weight("embeddings")->value().copy_(zeros({vocab_size, opt_.dim}, f32));
}

std::vector<Word2VecEpoch> Word2Vec::train(const std::vector<std::string>& words) {
  data::WordVocabulary vocab(words, opt_.min_count);
  require(vocab.size() >= 2, "needs at least two distinct words seen >= min_count = " + std::to_string(opt_.min_count) +
                                 " times, got " + std::to_string(vocab.size()));
  std::vector<int64_t> ids = vocab.encode(words).to_vector<int64_t>();
  return train(vocab, ids);
}

std::vector<Word2VecEpoch> Word2Vec::train(const data::WordVocabulary& vocab, const std::vector<int64_t>& ids) {
  const int64_t V = vocab.size();
  require(V >= 2, "needs a vocabulary of at least two words, got " + std::to_string(V));
  for (int64_t id : ids) {
    if (id < 0 || id >= V) {
      throw ValueError("Word2Vec: token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                       std::to_string(V) + ")");
    }
  }
  require(ids.size() >= 2, "needs at least two tokens to train on, got " + std::to_string(ids.size()));
  words_.clear();
  ids_.clear();
  for (int64_t i = 0; i < V; ++i) {
    words_.push_back(vocab.word(i));
    ids_.emplace(vocab.word(i), i);
  }
  build(V);

  Generator gen(opt_.seed + 1);
  NoiseSampler noise(vocab, opt_.noise_power);
  const int64_t n = static_cast<int64_t>(ids.size());
  // Keep probability per word (1 when sample = 0), from its frequency in the training ids.
  std::vector<int64_t> freq(static_cast<std::size_t>(V), 0);
  for (int64_t id : ids) ++freq[static_cast<std::size_t>(id)];
  std::vector<double> keep(static_cast<std::size_t>(V), 1.0);
  if (opt_.sample > 0) {
    const double threshold = opt_.sample * static_cast<double>(n);
    for (int64_t i = 0; i < V; ++i) {
      const double c = static_cast<double>(freq[static_cast<std::size_t>(i)]);
      if (c > 0) keep[static_cast<std::size_t>(i)] = (std::sqrt(c / threshold) + 1.0) * threshold / c;
    }
  }

  // The learning rate follows the words processed (raw positions, as the original counts them).
  const double total_words = static_cast<double>(opt_.epochs) * static_cast<double>(n) + 1.0;
  double words_done = 0;
  auto lr_now = [&] { return opt_.learning_rate * std::max(1e-4, 1.0 - words_done / total_words); };
  optim::SGD sgd({.learning_rate = optim::LearningRate([&](int64_t) { return lr_now(); })});
  Tensor in_table = input_->find_weight("embeddings")->value();
  Tensor out_table = output_->find_weight("embeddings")->value();
  const optim::NamedParams params = {{"word2vec_input/embeddings", in_table}, {"word2vec_output/embeddings", out_table}};

  const int64_t B = opt_.batch_size, K = opt_.negatives;
  std::vector<int64_t> centers, targets;
  centers.reserve(static_cast<std::size_t>(B));
  targets.reserve(static_cast<std::size_t>(B * (1 + K)));
  double epoch_loss = 0;
  auto flush = [&] {
    const int64_t b = static_cast<int64_t>(centers.size());
    if (b == 0) return;
    // A step is many small ops: with a busy neighbour, waiting threads would cost far more than
    // they add (DESIGN.md, threads), so follow the free cores between steps as fit does.
    adapt_num_threads();
    Tensor v = (*input_)(from_vector(centers, {b}), true);
    Tensor u = (*output_)(from_vector(targets, {b, 1 + K}), true);
    Tensor loss = skipgram_negative_sampling_loss(v, u);
    loss.backward();
    sgd.step(params);
    in_table.zero_grad();
    out_table.zero_grad();
    epoch_loss += loss.item<double>();
    centers.clear();
    targets.clear();
  };

  std::vector<Word2VecEpoch> history;
  std::vector<int64_t> kept, kept_pos;
  for (int64_t epoch = 1; epoch <= opt_.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const double epoch_base = static_cast<double>(epoch - 1) * static_cast<double>(n);
    kept.clear();
    kept_pos.clear();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t w = ids[static_cast<std::size_t>(i)];
      if (keep[static_cast<std::size_t>(w)] >= 1.0 || gen.uniform() < keep[static_cast<std::size_t>(w)]) {
        kept.push_back(w);
        kept_pos.push_back(i);
      }
    }
    epoch_loss = 0;
    int64_t pairs = 0;
    const int64_t m = static_cast<int64_t>(kept.size());
    for (int64_t i = 0; i < m; ++i) {
      words_done = epoch_base + static_cast<double>(kept_pos[static_cast<std::size_t>(i)]);
      const int64_t reach = 1 + static_cast<int64_t>(gen.below(static_cast<uint64_t>(opt_.window)));
      const int64_t center = kept[static_cast<std::size_t>(i)];
      for (int64_t j = std::max<int64_t>(0, i - reach); j <= std::min(m - 1, i + reach); ++j) {
        if (j == i) continue;
        const int64_t context = kept[static_cast<std::size_t>(j)];
        centers.push_back(center);
        targets.push_back(context);
        for (int64_t k = 0; k < K; ++k) {
          int64_t neg = noise.draw(gen);
          while (neg == context) neg = noise.draw(gen);
          targets.push_back(neg);
        }
        ++pairs;
        if (static_cast<int64_t>(centers.size()) == B) flush();
      }
    }
    flush();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    words_done = epoch_base + static_cast<double>(n);
    Word2VecEpoch e{.epoch = epoch,
                    .pairs = pairs,
                    .loss = pairs > 0 ? epoch_loss / static_cast<double>(pairs) : 0.0,
                    .seconds = secs,
                    .pairs_per_second = secs > 0 ? static_cast<double>(pairs) / secs : 0.0,
                    .learning_rate = lr_now()};
    history.push_back(e);
    if (opt_.verbose > 0) {
      std::printf("epoch %lld/%lld: %lld pairs, loss %.4f, %.0f pairs/s, %.1f s, lr %.6f\n",
                  static_cast<long long>(epoch), static_cast<long long>(opt_.epochs), static_cast<long long>(pairs), e.loss,
                  e.pairs_per_second, secs, e.learning_rate);
      std::fflush(stdout);
    }
  }
  return history;
}

Tensor Word2Vec::vectors() const {
  if (!input_) throw ValueError("Word2Vec: vectors() before train()");
  return input_->find_weight("embeddings")->value().detach();
}

std::optional<int64_t> Word2Vec::find(const std::string& word) const {
  auto it = ids_.find(word);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, double>> Word2Vec::most_similar(const std::string& word, int64_t k) const {
  if (k < 1) throw ValueError("Word2Vec::most_similar: k must be >= 1, got " + std::to_string(k));
  auto id = find(word);
  if (!id) {
    throw ValueError("Word2Vec::most_similar: '" + word + "' is not in the vocabulary (" + std::to_string(words_.size()) +
                     " words" + (words_.empty() ? ", not trained yet)" : "; rare words under min_count are dropped)"));
  }
  Tensor vec = vectors().to(f64).contiguous();
  const int64_t V = vec.shape()[0], D = vec.shape()[1];
  const double* x = vec.data<double>();
  std::vector<double> norm(static_cast<std::size_t>(V));
  for (int64_t i = 0; i < V; ++i) {
    double s = 0;
    for (int64_t d = 0; d < D; ++d) s += x[i * D + d] * x[i * D + d];
    norm[static_cast<std::size_t>(i)] = std::sqrt(s);
  }
  const double* q = x + *id * D;
  std::vector<std::pair<double, int64_t>> scored;
  scored.reserve(static_cast<std::size_t>(V));
  for (int64_t i = 0; i < V; ++i) {
    if (i == *id) continue;
    double dot = 0;
    for (int64_t d = 0; d < D; ++d) dot += q[d] * x[i * D + d];
    const double den = norm[static_cast<std::size_t>(*id)] * norm[static_cast<std::size_t>(i)];
    scored.emplace_back(den > 0 ? dot / den : 0.0, i);  // a zero vector is similar to nothing
  }
  const auto top = std::min<std::size_t>(static_cast<std::size_t>(k), scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(top), scored.end(),
                    [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t i = 0; i < top; ++i) out.emplace_back(words_[static_cast<std::size_t>(scored[i].second)], scored[i].first);
  return out;
}

void Word2Vec::save_text(const std::string& path) const {
  Tensor vec = vectors().contiguous();
  std::ofstream out(path);
  if (!out) throw IOError("Word2Vec::save_text: cannot open '" + path + "' for writing");
  const int64_t V = vec.shape()[0], D = vec.shape()[1];
  const float* x = vec.data<float>();
  out << V << ' ' << D << '\n';
  char buf[32];
  for (int64_t i = 0; i < V; ++i) {
    out << words_[static_cast<std::size_t>(i)];
    for (int64_t d = 0; d < D; ++d) {
      std::snprintf(buf, sizeof buf, " %.6g", static_cast<double>(x[i * D + d]));
      out << buf;
    }
    out << '\n';
  }
  out.flush();
  if (!out) throw IOError("Word2Vec::save_text: writing '" + path + "' failed");
}

}  // namespace ember::train
