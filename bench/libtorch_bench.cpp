// libtorch (PyTorch's C++ API) peer of bench/ops_bench.cpp: the same shapes, timed the way
// bench/torch_bench.py times them (a warm-up block sizes the blocks, then the median over 5 blocks
// of >= 0.25 s each), at at::set_num_threads(1) and (2). Built by bench/libtorch/CMakeLists.txt as
// its own CMake project; bench/run_all.sh runs it as `libtorch_bench --json FILE`.
//
// Convolutions are timed in NCHW and in channels_last and the faster layout is reported, as in
// torch_bench.py. SAME padding for a 5x5 kernel at stride 1 is padding 2 on every side.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

constexpr int kRepeats = 5;
constexpr double kMinBlockS = 0.25;
constexpr int64_t kGemm = 1024;
constexpr int64_t kElems = 1 << 20;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median_time(const std::function<void()>& fn) {
  fn();
  int64_t n = 0;
  double t0 = now(), elapsed = 0;
  do {
    fn();
    ++n;
    elapsed = now() - t0;
  } while (elapsed < kMinBlockS / 2);
  const int64_t iters = std::max<int64_t>(1, static_cast<int64_t>(n * kMinBlockS / elapsed));
  std::vector<double> times;
  for (int r = 0; r < kRepeats; ++r) {
    t0 = now();
    for (int64_t i = 0; i < iters; ++i) fn();
    times.push_back((now() - t0) / static_cast<double>(iters));
  }
  std::sort(times.begin(), times.end());
  return times[kRepeats / 2];
}

struct Result {
  double time_s = 0;
  std::string rate_name;  // "gflops", "gbs" or empty
  double rate = 0;
  std::string layout;
};

struct ConvShape {
  int64_t n, h, w, cin, k, cout;
};

double conv_flops(const ConvShape& s) { return 2.0 * s.n * s.h * s.w * s.cout * s.k * s.k * s.cin; }

// Best of NCHW and channels_last.
Result bench_conv(const ConvShape& s, bool backward) {
  Result best;
  for (bool channels_last : {false, true}) {
    auto mf = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    torch::Tensor x = torch::randn({s.n, s.cin, s.h, s.w}).contiguous(mf);
    torch::Tensor w = torch::randn({s.cout, s.cin, s.k, s.k}).contiguous(mf);
    torch::Tensor dy = torch::randn({s.n, s.cout, s.h, s.w}).contiguous(mf);
    const int64_t pad = s.k / 2;
    double t;
    if (backward) {
      x.requires_grad_(true);
      w.requires_grad_(true);
      t = median_time([&] {
        torch::Tensor y = torch::conv2d(x, w, {}, 1, pad);
        y.backward(dy);
        x.mutable_grad().reset();  // as zero_grad(set_to_none): no accumulation timed
        w.mutable_grad().reset();
      });
    } else {
      t = median_time([&] {
        torch::NoGradGuard no_grad;
        torch::Tensor y = torch::conv2d(x, w, {}, 1, pad);
      });
    }
    if (best.time_s == 0 || t < best.time_s) {
      best.time_s = t;
      best.layout = channels_last ? "channels_last" : "NCHW";
    }
  }
  best.rate_name = "gflops";
  best.rate = (backward ? 3 : 1) * conv_flops(s) / best.time_s * 1e-9;
  return best;
}

std::vector<std::pair<std::string, Result>> run(int threads) {
  at::set_num_threads(threads);
  std::vector<std::pair<std::string, Result>> res;
  torch::manual_seed(0);

  torch::Tensor a = torch::randn({kGemm, kGemm}), b = torch::randn({kGemm, kGemm});
  double t = median_time([&] { torch::Tensor c = torch::mm(a, b); });
  res.push_back({"sgemm_1024", {t, "gflops", 2.0 * kGemm * kGemm * kGemm / t * 1e-9, ""}});

  const std::map<std::string, ConvShape> conv = {{"conv1", {128, 28, 28, 1, 5, 32}}, {"conv2", {128, 14, 14, 32, 5, 64}}};
  for (const auto& [name, s] : conv) {
    res.push_back({name + "_fwd_bwd", bench_conv(s, true)});
    res.push_back({name + "_fwd", bench_conv(s, false)});
  }

  torch::Tensor x = torch::randn({kElems}), y = torch::randn({kElems});
  t = median_time([&] { torch::Tensor c = torch::add(x, y); });
  res.push_back({"add_1M", {t, "gbs", 3.0 * 4 * kElems / t * 1e-9, ""}});
  t = median_time([&] { torch::Tensor c = torch::relu(x); });
  res.push_back({"relu_1M", {t, "gbs", 2.0 * 4 * kElems / t * 1e-9, ""}});
  t = median_time([&] { torch::Tensor c = torch::exp(x); });
  res.push_back({"exp_1M", {t, "gbs", 2.0 * 4 * kElems / t * 1e-9, ""}});
  t = median_time([&] { torch::Tensor c = torch::sigmoid(x); });
  res.push_back({"sigmoid_1M", {t, "gbs", 2.0 * 4 * kElems / t * 1e-9, ""}});
  t = median_time([&] { torch::Tensor c = torch::tanh(x); });
  res.push_back({"tanh_1M", {t, "gbs", 2.0 * 4 * kElems / t * 1e-9, ""}});
  t = median_time([&] { torch::Tensor c = torch::softplus(x); });
  res.push_back({"softplus_1M", {t, "gbs", 2.0 * 4 * kElems / t * 1e-9, ""}});
  torch::Tensor xp = x.abs() + 1e-3;  // log on positive inputs
  t = median_time([&] { torch::Tensor c = torch::log(xp); });
  res.push_back({"log_1M", {t, "gbs", 2.0 * 4 * kElems / t * 1e-9, ""}});

  torch::Tensor s = torch::full({1}, 1.5), u = torch::full({1}, 2.5);
  res.push_back({"add_overhead", {median_time([&] { torch::Tensor c = torch::add(s, u); }), "", 0, ""}});
  s.requires_grad_(true);
  u.requires_grad_(true);
  res.push_back({"add_overhead_grad", {median_time([&] { torch::Tensor c = torch::add(s, u); }), "", 0, ""}});
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) json_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--json FILE]\n", argv[0]);
      return 2;
    }
  }
  std::string json = "{\"results\": {";
  for (int threads : {1, 2}) {
    auto res = run(threads);
    std::printf("libtorch, at::set_num_threads(%d)\n", threads);
    json += (threads == 1 ? "" : ", ") + ("\"" + std::to_string(threads) + "\": {");
    bool first = true;
    for (const auto& [name, r] : res) {
      std::printf("  %-20s %12.3f us", name.c_str(), r.time_s * 1e6);
      if (!r.rate_name.empty()) std::printf(" %8.1f %s", r.rate, r.rate_name == "gflops" ? "GFLOP/s" : "GB/s");
      if (!r.layout.empty()) std::printf("  (%s)", r.layout.c_str());
      std::printf("\n");
      char buf[256];
      std::snprintf(buf, sizeof buf, "%s\"%s\": {\"time_s\": %.9g", first ? "" : ", ", name.c_str(), r.time_s);
      json += buf;
      if (!r.rate_name.empty()) {
        std::snprintf(buf, sizeof buf, ", \"%s\": %.6g", r.rate_name.c_str(), r.rate);
        json += buf;
      }
      if (!r.layout.empty()) json += ", \"layout\": \"" + r.layout + "\"";
      json += "}";
      first = false;
    }
    json += "}";
  }
  json += "}}\n";
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << json;
    if (!f) {
      std::fprintf(stderr, "libtorch_bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return 0;
}
