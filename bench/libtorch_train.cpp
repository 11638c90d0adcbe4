// libtorch (PyTorch's C++ API) peer of `ember train` and of bench/predict_bench.cpp; the C++ twin
// of bench/torch_train.py (whose docstring lists the work done, which is the same here). Built by
// bench/libtorch/CMakeLists.txt; bench/train_bench.sh runs it as
//
//   libtorch_train train   --model mlp|cnn --epochs N --threads T [--layout nchw|channels_last]
//   libtorch_train layout  --model cnn --threads T    # prints the faster layout for training
//   libtorch_train predict --threads T [--json FILE]  # batch-128 throughput, batch-1 latency
//
// `train` prints and flushes one "epoch k/N ..." line per epoch (the driver timestamps them) and
// ends with "test_loss=... test_accuracy=...".
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "call_timing.hpp"

namespace {

using bench::now;
using bench::time_calls;

std::string data_dir() {
  const char* env = std::getenv("FASHION_MNIST_DIR");
  return env ? env : "/usr/share/datasets/fashion-mnist";
}

// An IDX file (gzipped or not) as a uint8 tensor of its shape.
torch::Tensor read_idx(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(path + " not found (install Debian's dataset-fashion-mnist or set FASHION_MNIST_DIR)");
  std::vector<unsigned char> bytes;
  unsigned char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + got);
  gzclose(f);
  if (bytes.size() < 4) throw std::runtime_error(path + ": not an IDX file");
  const int ndim = bytes[3];
  std::vector<int64_t> dims;
  int64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    const unsigned char* p = &bytes[4 + 4 * i];
    dims.push_back((int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | int64_t(p[3]));
    count *= dims.back();
  }
  const std::size_t offset = 4 + 4 * static_cast<std::size_t>(ndim);
  if (bytes.size() != offset + static_cast<std::size_t>(count)) throw std::runtime_error(path + ": truncated IDX file");
  return torch::from_blob(bytes.data() + offset, dims, torch::kUInt8).clone();
}

// [N, 1, 28, 28] float in [0, 1] and int64 labels: Ember's images_to_float.
std::pair<torch::Tensor, torch::Tensor> load_split(const std::string& kind) {
  torch::Tensor x = read_idx(data_dir() + "/" + kind + "-images-idx3-ubyte.gz");
  torch::Tensor y = read_idx(data_dir() + "/" + kind + "-labels-idx1-ubyte.gz");
  return {x.to(torch::kFloat32).div_(255.0).unsqueeze(1), y.to(torch::kInt64)};
}

torch::nn::Sequential build(const std::string& name) {
  namespace nn = torch::nn;
  nn::Sequential m;
  if (name == "mlp") {
    m = nn::Sequential(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(),
                       nn::Linear(128, 10));
  } else if (name == "cnn") {
    // SAME padding for a 5x5 kernel at stride 1 is 2 on every side.
    m = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 5).padding(2)), nn::ReLU(), nn::MaxPool2d(2),
                       nn::Conv2d(nn::Conv2dOptions(32, 64, 5).padding(2)), nn::ReLU(), nn::MaxPool2d(2),
                       nn::Flatten(), nn::Linear(7 * 7 * 64, 1024), nn::ReLU(), nn::Dropout(0.4),
                       nn::Linear(1024, 10));
  } else {
    throw std::runtime_error("unknown model '" + name + "' (mlp, cnn)");
  }
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) {  // Keras's initializers: Glorot-uniform kernels, zero biases
    if (p.key().find("bias") != std::string::npos) p.value().zero_();
    else torch::nn::init::xavier_uniform_(p.value());
  }
  return m;
}

at::MemoryFormat memory_format(const std::string& layout) {
  return layout == "channels_last" ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// Weights (4-d ones) into the layout; the others are unaffected.
void to_layout(torch::nn::Sequential& m, at::MemoryFormat mf) {
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(mf));
  }
}

// Gradients dropped, not zeroed (Python's zero_grad(set_to_none=True); libtorch 1.13's zero_grad() zeroes).
void zero_grad(torch::nn::Sequential& m) {
  for (auto& p : m->parameters()) p.mutable_grad().reset();
}

double cosine(int64_t step, int64_t decay_steps, double lr = 1e-3) {
  constexpr double kPi = 3.14159265358979323846;
  double p = static_cast<double>(std::min(step, decay_steps)) / static_cast<double>(decay_steps);
  return lr * 0.5 * (1.0 + std::cos(kPi * p));
}

std::pair<double, double> evaluate(torch::nn::Sequential& m, const torch::Tensor& x, const torch::Tensor& y,
                                   int64_t batch) {
  m->eval();
  torch::NoGradGuard no_grad;
  double total = 0;
  int64_t correct = 0;
  const int64_t n = x.size(0);
  for (int64_t s = 0; s < n; s += batch) {
    torch::Tensor out = m->forward(x.slice(0, s, std::min(n, s + batch)));
    torch::Tensor yb = y.slice(0, s, std::min(n, s + batch));
    total += torch::nn::functional::cross_entropy(
                 out, yb, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                 .item<double>();
    correct += out.argmax(1).eq(yb).sum().item<int64_t>();
  }
  return {total / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n)};
}

struct Args {
  std::string cmd, model = "cnn", layout = "nchw", json;
  int epochs = 3, threads = 1, steps = 15;
  double min_seconds = 1.0;
};

int train(const Args& a) {
  at::set_num_threads(a.threads);
  torch::manual_seed(42);
  const auto mf = memory_format(a.layout);
  auto [x, y] = load_split("train");
  auto [xt, yt] = load_split("t10k");
  x = x.contiguous(mf);
  xt = xt.contiguous(mf);
  auto model = build(a.model);
  to_layout(model, mf);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-7));
  const int64_t n = x.size(0), batch = 128, steps = (n + batch - 1) / batch, decay_steps = steps * a.epochs;
  int64_t it = 0;
  std::printf("libtorch %s model=%s threads=%d layout=%s\n", TORCH_VERSION, a.model.c_str(), a.threads, a.layout.c_str());
  std::fflush(stdout);
  for (int epoch = 0; epoch < a.epochs; ++epoch) {
    model->train();
    const double t0 = now();
    torch::Tensor order = torch::randperm(n, torch::kInt64);
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t s = 0; s < steps; ++s) {
      torch::Tensor idx = order.slice(0, s * batch, std::min(n, (s + 1) * batch));
      torch::Tensor xb = x.index_select(0, idx), yb = y.index_select(0, idx);
      torch::Tensor out = model->forward(xb);
      torch::Tensor loss = torch::nn::functional::cross_entropy(out, yb);
      zero_grad(model);
      loss.backward();
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(cosine(it, decay_steps));
      opt.step();
      ++it;
      loss_sum += loss.item<double>() * static_cast<double>(yb.size(0));
      correct += out.argmax(1).eq(yb).sum().item<int64_t>();
    }
    const double t_train = now() - t0;
    auto [val_loss, val_acc] = evaluate(model, xt, yt, batch);
    std::printf("epoch %d/%d loss=%.4f accuracy=%.4f val_loss=%.4f val_accuracy=%.4f train_s=%.3f epoch_s=%.3f\n",
                epoch + 1, a.epochs, loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n),
                val_loss, val_acc, t_train, now() - t0);
    std::fflush(stdout);
  }
  auto [loss, acc] = evaluate(model, xt, yt, 256);
  std::printf("test_loss=%.6f test_accuracy=%.6f\n", loss, acc);
  return 0;
}

int layout(const Args& a) {
  at::set_num_threads(a.threads);
  torch::manual_seed(0);
  std::string best;
  double best_t = 0;
  for (std::string lay : {"nchw", "channels_last"}) {
    const auto mf = memory_format(lay);
    auto model = build(a.model);
    to_layout(model, mf);
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3).eps(1e-7));
    torch::Tensor xb = torch::rand({128, 1, 28, 28}).contiguous(mf), yb = torch::randint(0, 10, {128});
    std::vector<double> times;
    for (int i = 0; i < 3 + a.steps; ++i) {
      const double t0 = now();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
      zero_grad(model);
      loss.backward();
      opt.step();
      loss.item<double>();
      if (i >= 3) times.push_back(now() - t0);
    }
    std::sort(times.begin(), times.end());
    const double t = times[times.size() / 2];
    std::fprintf(stderr, "%s %.2f ms/step\n", lay.c_str(), t * 1e3);
    if (best.empty() || t < best_t) best = lay, best_t = t;
  }
  std::printf("%s\n", best.c_str());
  return 0;
}

int predict(const Args& a) {
  at::set_num_threads(a.threads);
  torch::manual_seed(0);
  std::map<std::string, std::map<std::string, std::string>> results;  // key -> field -> JSON value
  std::map<std::string, double> best;
  for (std::string name : {"mlp", "cnn"}) {
    std::vector<std::string> layouts{"nchw"};
    if (name == "cnn") layouts.push_back("channels_last");
    for (const std::string& lay : layouts) {
      const auto mf = memory_format(lay);
      auto model = build(name);
      to_layout(model, mf);
      model->eval();
      for (auto [batch, min_calls] : {std::pair<int64_t, int64_t>{128, 20}, {1, 200}}) {
        torch::Tensor x = torch::rand({batch, 1, 28, 28}).contiguous(mf);
        c10::InferenceMode guard;
        auto [t, calls] = time_calls([&] { model->forward(x); }, a.min_seconds, min_calls);
        const std::string key = name + "/batch" + std::to_string(batch);
        std::fprintf(stderr, "%s %s: %.3f ms/call, %.0f samples/s (%lld calls)\n", key.c_str(), lay.c_str(), t * 1e3,
                     static_cast<double>(batch) / t, static_cast<long long>(calls));
        if (!best.count(key) || t < best[key]) {
          best[key] = t;
          char buf[64];
          auto num = [&](double v) { std::snprintf(buf, sizeof buf, "%.9g", v); return std::string(buf); };
          results[key] = {{"s_per_call", num(t)}, {"calls", std::to_string(calls)}, {"layout", "\"" + lay + "\""},
                          {"samples_per_s", num(static_cast<double>(batch) / t)}};
        }
      }
    }
  }
  std::string out = "{\"peer\": \"libtorch\", \"version\": \"" TORCH_VERSION "\", \"threads\": " +
                    std::to_string(a.threads) + ", \"results\": {";
  bool first = true;
  for (const auto& [key, fields] : results) {
    out += std::string(first ? "" : ", ") + "\"" + key + "\": {";
    bool f1 = true;
    for (const auto& [k, v] : fields) out += std::string(f1 ? "" : ", ") + "\"" + k + "\": " + v, f1 = false;
    out += "}";
    first = false;
  }
  out += "}}\n";
  if (a.json.empty()) {
    std::fputs(out.c_str(), stdout);
  } else {
    std::ofstream f(a.json);
    if (!f) throw std::runtime_error("cannot write " + a.json);
    f << out;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: libtorch_train train --model mlp|cnn [--epochs N] [--threads T] [--layout nchw|channels_last]\n"
      "       libtorch_train layout [--model cnn] [--threads T] [--steps S]\n"
      "       libtorch_train predict [--threads T] [--min-seconds S] [--json FILE]\n";
  try {
    if (argc < 2) throw std::invalid_argument("missing command");
    Args a;
    a.cmd = argv[1];
    for (int i = 2; i < argc; ++i) {
      std::string k = argv[i];
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      std::string v = argv[++i];
      if (k == "--model") a.model = v;
      else if (k == "--layout") a.layout = v;
      else if (k == "--json") a.json = v;
      else if (k == "--epochs") a.epochs = std::stoi(v);
      else if (k == "--threads") a.threads = std::stoi(v);
      else if (k == "--steps") a.steps = std::stoi(v);
      else if (k == "--min-seconds") a.min_seconds = std::stod(v);
      else throw std::invalid_argument("unknown option " + k);
    }
    if (a.layout != "nchw" && a.layout != "channels_last") throw std::invalid_argument("--layout: nchw or channels_last");
    if (a.epochs < 1 || a.threads < 1 || a.steps < 1) throw std::invalid_argument("--epochs, --threads, --steps: >= 1");
    if (a.cmd == "train") return train(a);
    if (a.cmd == "layout") return layout(a);
    if (a.cmd == "predict") return predict(a);
    throw std::invalid_argument("unknown command '" + a.cmd + "'");
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "libtorch_train: %s\n%s", e.what(), usage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libtorch_train: %s\n", e.what());
    return 1;
  }
}
