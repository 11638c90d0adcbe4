// One training step of the sequential Fashion-MNIST model — 28 time steps of 28 pixels, a recurrent
// layer of 128 units, Dense(10) logits — through Ember's public API: the Ember side of
// bench/rnn_bench.sh (issue 15). Peer: bench/rnn_step.py (PyTorch nn.LSTM / nn.GRU / nn.RNN), which
// does the same work and prints the same JSON line.
//
//   bench_rnn_step [--cell lstm|gru|rnn] [--steps N] [--warmup W] [--threads T] [--batch B] [--units U]
//
// Model: Input(28, 28) → LSTM / GRU (Keras defaults: reset_after) / SimpleRNN (U units, tanh) →
// Dense(10), compiled with Adam (1e-3) and SparseCategoricalCrossentropy(from_logits), no metrics.
// One fixed random batch [B, 28, 28] in [0, 1) with labels in 0..9; W untimed train_on_batch calls,
// then N timed ones (train_on_batch returns the loss as a double, so the step has finished when the
// clock stops). Prints one JSON line: impl, cell, threads, batch, units, steps, step_ms (median),
// p10_ms, p90_ms, samples_per_s, params.
// --threads 0 (the default) keeps Ember's default thread count; T >= 1 fixes it.
#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "call_timing.hpp"
#include "ember/ember.hpp"
#include "ember/train/training.hpp"

namespace {

constexpr const char* kUsage =
    "usage: bench_rnn_step [--cell lstm|gru|rnn] [--steps N] [--warmup W] [--threads T] [--batch B] [--units U]\n";

// Percentile q in [0, 1] of sorted values, linear between ranks (NumPy's default, as rnn_step.py).
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 20, warmup = 3, threads = 0, batch = 128, units = 128;
  std::string cell = "lstm";
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--cell" && i + 1 < argc) {
      cell = argv[++i];
      if (cell != "lstm" && cell != "gru" && cell != "rnn") {
        std::fprintf(stderr, "bench_rnn_step: --cell expects lstm, gru or rnn, got '%s'\n%s", cell.c_str(), kUsage);
        return 2;
      }
      continue;
    }
    int* target = k == "--steps" ? &steps : k == "--warmup" ? &warmup : k == "--threads" ? &threads
                                          : k == "--batch"   ? &batch : k == "--units" ? &units : nullptr;
    if (target == nullptr || i + 1 >= argc) {
      std::fprintf(stderr, "bench_rnn_step: %s %s\n%s", target || k == "--cell" ? "missing value after" : "unknown option",
                   k.c_str(), kUsage);
      return 2;
    }
    const std::string v = argv[++i];
    try {
      std::size_t used = 0;
      *target = std::stoi(v, &used);
      if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      std::fprintf(stderr, "bench_rnn_step: %s expects an integer, got '%s'\n%s", k.c_str(), v.c_str(), kUsage);
      return 2;
    }
  }
  if (steps < 1 || warmup < 0 || threads < 0 || batch < 1 || units < 1) {
    std::fprintf(stderr, "bench_rnn_step: need --steps >= 1, --warmup >= 0, --threads >= 0, --batch >= 1, --units >= 1\n%s",
                 kUsage);
    return 2;
  }
  try {
    using namespace ember;
    if (threads > 0) set_num_threads(threads);
    manual_seed(0);
    nn::LayerPtr recurrent = cell == "lstm"  ? nn::LayerPtr(std::make_shared<nn::LSTM>(nn::LSTMOptions{.units = units}))
                             : cell == "gru" ? nn::LayerPtr(std::make_shared<nn::GRU>(nn::GRUOptions{.units = units}))
                                             : nn::LayerPtr(std::make_shared<nn::SimpleRNN>(nn::SimpleRNNOptions{.units = units}));
    nn::Sequential model{nn::Input({28, 28}), recurrent, nn::Dense({.units = 10})};
    model.compile({.optimizer = optim::Adam({.learning_rate = 1e-3}),
                   .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
    int64_t params = 0;
    for (const auto& w : model.trainable_weights()) params += numel(w.weight->shape);

    Generator g(1);
    const Tensor x = rand({batch, 28, 28}, {.generator = &g});
    const Tensor y = rand({batch}, {.low = 0, .high = 10, .generator = &g}).to(i64);
    std::map<std::string, double> logs;
    for (int s = 0; s < warmup; ++s) model.train_on_batch(x, y, logs);
    std::vector<double> times;
    for (int s = 0; s < steps; ++s) {
      const double t0 = bench::now();
      model.train_on_batch(x, y, logs);
      times.push_back(bench::now() - t0);
    }
    std::sort(times.begin(), times.end());
    const double median = percentile(times, 0.5);
    std::fprintf(stderr, "ember %s step: last loss %.4f\n", cell.c_str(), logs["loss"]);
    std::printf("{\"impl\": \"ember\", \"cell\": \"%s\", \"threads\": %d, \"batch\": %d, \"units\": %d, \"steps\": %d, "
                "\"step_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, \"samples_per_s\": %.2f, \"params\": %lld}\n",
                cell.c_str(), get_num_threads(), batch, units, steps, median * 1e3, percentile(times, 0.1) * 1e3,
                percentile(times, 0.9) * 1e3, batch / median, static_cast<long long>(params));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_rnn_step: %s\n", e.what());
    return 1;
  }
}
