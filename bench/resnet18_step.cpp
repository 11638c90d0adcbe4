// One ResNet-18 training step (CIFAR-style: 32×32×3 input, 3×3 stride-1 stem, no max-pool, 10
// classes) through Ember's public API, the Ember side of bench/resnet18_bench.sh (issue 16). Peers:
// bench/libtorch_resnet18_step.cpp and bench/resnet18_step.py, which do the same work and print the
// same JSON line.
//
//   bench_resnet18_step [--steps N] [--warmup W] [--threads T] [--batch B]
//
// The model is nn::applications::ResNet18 with small_input and logits out, compiled with SGD
// (lr 0.1, momentum 0.9) and SparseCategoricalCrossentropy(from_logits), no metrics. One fixed
// random batch [B, 32, 32, 3] in [0, 1) with labels in 0..9; W untimed train_on_batch calls, then N
// timed ones (each call returns the loss as a double, so it has finished when the clock stops).
// Prints one JSON line: impl, threads, batch, steps, step_ms (median), p10_ms, p90_ms,
// samples_per_s (batch / median), params (trainable; BatchNorm's moving statistics are not counted,
// as PyTorch keeps them as buffers: 11,173,962 at 10 classes), layout.
// --threads 0 (the default) keeps Ember's default thread count (all cores, adapting to load);
// T >= 1 fixes it with ember::set_num_threads.
#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "call_timing.hpp"
#include "ember/ember.hpp"
#include "ember/nn/applications.hpp"
#include "ember/train/training.hpp"

namespace {

constexpr const char* kUsage = "usage: bench_resnet18_step [--steps N] [--warmup W] [--threads T] [--batch B]\n";

// Percentile q in [0, 1] of sorted values, interpolating linearly between ranks (NumPy's default;
// resnet18_step.py and libtorch_resnet18_step.cpp compute it the same way).
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 20, warmup = 3, threads = 0, batch = 128;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    int* target = k == "--steps" ? &steps : k == "--warmup" ? &warmup : k == "--threads" ? &threads
                                          : k == "--batch"   ? &batch : nullptr;
    if (target == nullptr || i + 1 >= argc) {
      std::fprintf(stderr, "bench_resnet18_step: %s %s\n%s", target ? "missing value after" : "unknown option",
                   k.c_str(), kUsage);
      return 2;
    }
    const std::string v = argv[++i];
    try {
      std::size_t used = 0;
      *target = std::stoi(v, &used);
      if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      std::fprintf(stderr, "bench_resnet18_step: %s expects an integer, got '%s'\n%s", k.c_str(), v.c_str(), kUsage);
      return 2;
    }
  }
  if (steps < 1 || warmup < 0 || threads < 0 || batch < 1) {
    std::fprintf(stderr, "bench_resnet18_step: need --steps >= 1, --warmup >= 0, --threads >= 0, --batch >= 1\n%s", kUsage);
    return 2;
  }
  try {
    using namespace ember;
    if (threads > 0) set_num_threads(threads);
    manual_seed(0);
    auto model = nn::applications::ResNet18({.input_shape = Shape{32, 32, 3}, .classes = 10,
                                              .classifier_activation = "linear", .small_input = true});
    model->compile({.optimizer = optim::SGD({.learning_rate = 0.1, .momentum = 0.9}),
                    .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
    int64_t params = 0;
    for (const auto& w : model->trainable_weights()) params += numel(w.weight->shape);

    Generator g(1);
    const Tensor x = rand({batch, 32, 32, 3}, {.generator = &g});
    const Tensor y = rand({batch}, {.low = 0, .high = 10, .generator = &g}).to(i64);
    std::map<std::string, double> logs;
    for (int s = 0; s < warmup; ++s) model->train_on_batch(x, y, logs);
    std::vector<double> times;
    for (int s = 0; s < steps; ++s) {
      const double t0 = bench::now();
      model->train_on_batch(x, y, logs);
      times.push_back(bench::now() - t0);
    }
    std::sort(times.begin(), times.end());
    const double median = percentile(times, 0.5);
    std::fprintf(stderr, "ember resnet18 step: last loss %.4f\n", logs["loss"]);
    std::printf("{\"impl\": \"ember\", \"threads\": %d, \"batch\": %d, \"steps\": %d, \"step_ms\": %.4f, "
                "\"p10_ms\": %.4f, \"p90_ms\": %.4f, \"samples_per_s\": %.2f, \"params\": %lld, \"layout\": \"NHWC\"}\n",
                get_num_threads(), batch, steps, median * 1e3, percentile(times, 0.1) * 1e3,
                percentile(times, 0.9) * 1e3, batch / median, static_cast<long long>(params));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_resnet18_step: %s\n", e.what());
    return 1;
  }
}
