// What `ember train --tensorboard` adds to an epoch (issue 13: "writing events costs <= 1 % of epoch
// time at the default settings"), measured inside one process so that both numbers see the same
// machine load: the TensorBoard callback's end-of-epoch work as the tool configures it (epoch
// scalars for train and validation, a histogram of every weight, the file flush) against a training
// epoch of the same model (469 steps of batch 128, the Fashion-MNIST epoch), from the median step
// of a short fit on random data. The graph is written once per run, at train begin; it is timed too.
//
//   build-r/bench/bench_tensorboard_epoch_cost [--model cnn|mlp] [--repeats 15] [--steps 30] [--threads T]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ember/ember.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/train/tensorboard.hpp"

using namespace ember;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Median seconds per training step of batch 128 over `steps` steps (a warm-up fit first; per-step
// times from a batch-end callback).
double median_step_seconds(nn::Model& model, int steps) {
  const int64_t n = int64_t{128} * steps;
  const Tensor x = rand({n, 28, 28, 1});
  const Tensor y = (rand({n}) * 10.0).to(i64);
  std::vector<double> times;
  Clock::time_point t0;
  callbacks::LambdaCallback timer({.on_batch_begin = [&](int, const callbacks::Logs&) { t0 = Clock::now(); },
                                   .on_batch_end = [&](int, const callbacks::Logs&) { times.push_back(seconds_since(t0)); }});
  model.fit(slice(x, 0, 0, 256), slice(y, 0, 0, 256), {.batch_size = 128, .epochs = 1, .verbose = 0});  // warm-up
  model.fit(x, y, {.batch_size = 128, .epochs = 1, .verbose = 0, .callbacks = {std::move(timer)}});
  return median(times);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "cnn";
  int repeats = 15, steps = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) set_num_threads(std::stoi(argv[i + 1]));
  }
  auto model = nn::builtin_model(model_name);
  model->compile({.optimizer = "adam", .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
                  .metrics = {"accuracy"}});
  const double step = median_step_seconds(*model, steps);
  const double epoch = 469 * step;

  const auto dir = std::filesystem::temp_directory_path() / "ember_tb_epoch_cost";
  std::filesystem::remove_all(dir);
  // `ember train --tensorboard DIR`'s callback (tools/ember/train_command.cpp).
  callbacks::TensorBoard tb({.log_dir = dir.string(), .histogram_freq = 1, .write_graph = true});
  tb.set_model(model.get());
  Clock::time_point t0 = Clock::now();
  tb.on_train_begin({});
  const double begin = seconds_since(t0);
  std::vector<double> ends;
  for (int e = 0; e < repeats; ++e) {
    callbacks::Logs logs{{"loss", 0.3}, {"accuracy", 0.9}, {"val_loss", 0.31}, {"val_accuracy", 0.89}, {"lr", 1e-3}};
    t0 = Clock::now();
    tb.on_epoch_end(e, logs);
    ends.push_back(seconds_since(t0));
  }
  tb.on_train_end({});
  std::filesystem::remove_all(dir);
  const double end = median(ends);
  std::printf("model %s (%lld weights), threads %d\n", model_name.c_str(), static_cast<long long>(model->count_params()),
              get_num_threads());
  std::printf("training step (batch 128): median %.2f ms over %d steps -> epoch of 469 steps: %.2f s\n", step * 1e3,
              steps, epoch);
  std::printf("TensorBoard at train begin (graph): %.2f ms, once per run\n", begin * 1e3);
  std::printf("TensorBoard per epoch (scalars, a histogram of every weight, flush): median %.2f ms of %d\n", end * 1e3,
              repeats);
  std::printf("cost per epoch: %.3f %% of the epoch (%.3f %% with the graph spread over one epoch)\n", 100 * end / epoch,
              100 * (end + begin) / epoch);
  return 0;
}
