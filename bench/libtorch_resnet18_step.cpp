// libtorch (PyTorch's C++ API) peer of bench/resnet18_step.cpp: one CIFAR-style ResNet-18 training
// step at batch 128, the same work and the same JSON line. Built by bench/libtorch/CMakeLists.txt;
// bench/resnet18_bench.sh runs it as
//
//   libtorch_resnet18_step [--steps N] [--warmup W] [--threads T] [--batch B] [--layout nchw|channels_last]
//
// The network is written out as torchvision's resnet18(num_classes=10) with the CIFAR stem:
// conv 3×3/1 64 (no bias), BN, ReLU, no max-pool; BasicBlocks ×[2, 2, 2, 2] of widths 64, 128, 256,
// 512 (the first block of each later stage strides 2 and projects the shortcut with a 1×1 conv + BN);
// global average pool; Linear(512, 10). 11,173,962 parameters (BatchNorm's running statistics are
// buffers). SGD (lr 0.1, momentum 0.9), cross-entropy on the logits; each step drops the gradients
// (set to none, as Python's zero_grad()), runs forward, loss, backward, optimizer step and reads the
// loss (.item(), as Ember's train_on_batch returns it). --layout channels_last puts the input and the
// 4-d weights in NHWC memory order (the convolutions then run oneDNN's NHWC kernels).
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "call_timing.hpp"

namespace {

namespace tnn = torch::nn;

tnn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return tnn::Conv2d(tnn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

struct BasicBlockImpl : tnn::Module {
  tnn::Conv2d conv1{nullptr}, conv2{nullptr};
  tnn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  tnn::Sequential downsample{nullptr};

  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    conv1 = register_module("conv1", conv(in, out, 3, stride));
    bn1 = register_module("bn1", tnn::BatchNorm2d(out));
    conv2 = register_module("conv2", conv(out, out, 3, 1));
    bn2 = register_module("bn2", tnn::BatchNorm2d(out));
    if (stride != 1 || in != out)
      downsample = register_module("downsample", tnn::Sequential(conv(in, out, 1, stride), tnn::BatchNorm2d(out)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    return torch::relu(y + (downsample ? downsample->forward(x) : x));
  }
};
TORCH_MODULE(BasicBlock);

struct ResNet18Impl : tnn::Module {
  tnn::Conv2d conv1{nullptr};
  tnn::BatchNorm2d bn1{nullptr};
  tnn::Sequential layers;
  tnn::Linear fc{nullptr};

  explicit ResNet18Impl(int64_t classes) {
    conv1 = register_module("conv1", conv(3, 64, 3, 1));
    bn1 = register_module("bn1", tnn::BatchNorm2d(64));
    int64_t in = 64;
    for (int64_t width : {64, 128, 256, 512}) {
      layers->push_back(BasicBlock(in, width, width == 64 ? 1 : 2));
      layers->push_back(BasicBlock(width, width, 1));
      in = width;
    }
    register_module("layers", layers);
    fc = register_module("fc", tnn::Linear(512, classes));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = layers->forward(torch::relu(bn1(conv1(x))));
    return fc(torch::flatten(torch::adaptive_avg_pool2d(y, {1, 1}), 1));
  }
};
TORCH_MODULE(ResNet18);

// Percentile q of sorted values, linear between ranks (as bench/resnet18_step.cpp).
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

constexpr const char* kUsage =
    "usage: libtorch_resnet18_step [--steps N] [--warmup W] [--threads T] [--batch B] [--layout nchw|channels_last]\n";

}  // namespace

int main(int argc, char** argv) {
  int steps = 20, warmup = 3, threads = 1, batch = 128;
  std::string layout = "nchw";
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    int* target = k == "--steps" ? &steps : k == "--warmup" ? &warmup : k == "--threads" ? &threads
                                          : k == "--batch"   ? &batch : nullptr;
    if ((target == nullptr && k != "--layout") || i + 1 >= argc) {
      std::fprintf(stderr, "libtorch_resnet18_step: %s %s\n%s",
                   target || k == "--layout" ? "missing value after" : "unknown option", k.c_str(), kUsage);
      return 2;
    }
    const std::string v = argv[++i];
    if (target == nullptr) {
      layout = v;
      continue;
    }
    try {
      std::size_t used = 0;
      *target = std::stoi(v, &used);
      if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      std::fprintf(stderr, "libtorch_resnet18_step: %s expects an integer, got '%s'\n%s", k.c_str(), v.c_str(), kUsage);
      return 2;
    }
  }
  if (steps < 1 || warmup < 0 || threads < 1 || batch < 1 || (layout != "nchw" && layout != "channels_last")) {
    std::fprintf(stderr, "libtorch_resnet18_step: need --steps >= 1, --warmup >= 0, --threads >= 1, --batch >= 1, "
                 "--layout nchw or channels_last\n%s", kUsage);
    return 2;
  }
  try {
    at::set_num_threads(threads);
    torch::manual_seed(0);
    const auto mf = layout == "channels_last" ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    ResNet18 model(10);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->parameters())
        if (p.dim() == 4) p.set_data(p.contiguous(mf));
    }
    model->train();
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    const torch::Tensor x = torch::rand({batch, 3, 32, 32}).contiguous(mf);
    const torch::Tensor y = torch::randint(0, 10, {batch}, torch::kInt64);

    double loss_value = 0;
    auto step = [&] {
      for (auto& p : model->parameters()) p.mutable_grad().reset();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
      loss.backward();
      opt.step();
      loss_value = loss.item<double>();
    };
    for (int s = 0; s < warmup; ++s) step();
    std::vector<double> times;
    for (int s = 0; s < steps; ++s) {
      const double t0 = bench::now();
      step();
      times.push_back(bench::now() - t0);
    }
    std::sort(times.begin(), times.end());
    const double median = percentile(times, 0.5);
    std::fprintf(stderr, "libtorch resnet18 step: last loss %.4f\n", loss_value);
    std::printf("{\"impl\": \"libtorch\", \"version\": \"%s\", \"threads\": %d, \"batch\": %d, \"steps\": %d, "
                "\"step_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, \"samples_per_s\": %.2f, \"params\": %lld, "
                "\"layout\": \"%s\"}\n",
                TORCH_VERSION, at::get_num_threads(), batch, steps, median * 1e3, percentile(times, 0.1) * 1e3,
                percentile(times, 0.9) * 1e3, batch / median, static_cast<long long>(params), layout.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libtorch_resnet18_step: %s\n", e.what());
    return 1;
  }
}
