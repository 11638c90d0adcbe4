// Inference through Ember's public API: Model::predict of the built-in mlp and cnn (untrained
// weights; the time does not depend on their values) on random NHWC images, timed the way
// bench/torch_train.py and bench/libtorch_train.cpp time their peers' forward under
// inference_mode / InferenceMode: after 5 warm-up calls, the median time of single calls over at
// least 1 s (and at least 20 calls at batch 128, 200 at batch 1). bench/train_bench.sh runs it as
//
//   bench_predict_bench [--threads T] [--min-seconds S] [--json FILE]
//
// --threads 0 (the default) leaves Ember's default thread count (all cores).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

#include "call_timing.hpp"
#include "ember/ember.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/train/training.hpp"

int main(int argc, char** argv) {
  int threads = 0;
  double min_seconds = 1.0;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "usage: bench_predict_bench [--threads T] [--min-seconds S] [--json FILE]\n");
      return 2;
    }
    std::string v = argv[++i];
    if (k == "--threads") threads = std::atoi(v.c_str());
    else if (k == "--min-seconds") min_seconds = std::atof(v.c_str());
    else if (k == "--json") json = v;
    else {
      std::fprintf(stderr, "bench_predict_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    using namespace ember;
    if (threads > 0) set_num_threads(threads);
    manual_seed(0);
    std::string out = "{\"peer\": \"ember\", \"threads\": " + std::to_string(get_num_threads()) + ", \"results\": {";
    bool first = true;
    for (const std::string name : {"mlp", "cnn"}) {
      auto model = nn::builtin_model(name);
      for (auto [batch, min_calls] : {std::pair<int64_t, int64_t>{128, 20}, {1, 200}}) {
        Tensor x = rand({batch, 28, 28, 1});
        auto [t, calls] = bench::time_calls([&] { model->predict(x, {.batch_size = batch}); }, min_seconds, min_calls);
        const std::string key = name + "/batch" + std::to_string(batch);
        std::fprintf(stderr, "%s: %.3f ms/call, %.0f samples/s (%lld calls)\n", key.c_str(), t * 1e3,
                     static_cast<double>(batch) / t, static_cast<long long>(calls));
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s\"%s\": {\"s_per_call\": %.9g, \"calls\": %lld, \"layout\": \"NHWC\", \"samples_per_s\": %.9g}",
                      first ? "" : ", ", key.c_str(), t, static_cast<long long>(calls), static_cast<double>(batch) / t);
        out += buf;
        first = false;
      }
    }
    out += "}}\n";
    if (json.empty()) {
      std::fputs(out.c_str(), stdout);
    } else {
      std::ofstream f(json);
      if (!f) throw IOError("cannot write " + json);
      f << out;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_predict_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
