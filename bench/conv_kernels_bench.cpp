// Micro-benchmark of the f32 CNN kernels on the TensorFlow-tutorial CNN shapes (batch 128):
// convolution per implementation (oneDNN on NHWC as is, oneDNN blocked + reorders, im2col + sgemm,
// oneDNN with only the weights reordered) x direction, 2x2 max/avg pooling, and batch norm.
// Run with OMP_NUM_THREADS=1 and =2; the conv GFLOP/s counter is 2*N*OH*OW*OC*KH*KW*IC per call,
// the others report GB/s of compulsory traffic (each buffer read or written once).
#include <benchmark/benchmark.h>

#include <vector>

#include "ember/kernels/cpu/batch_norm.hpp"
#include "ember/kernels/cpu/conv.hpp"
#include "ember/kernels/cpu/pool.hpp"

namespace {

using namespace ember::kernels::cpu;

Conv2dGeometry shape(int64_t which) {
  if (which == 8)  // fmnist-resnet's second stem convolution: 28x28x32
    return make_conv2d_geometry({.batch = 128, .in_h = 28, .in_w = 28, .in_c = 32, .k_h = 3, .k_w = 3, .out_c = 32, .padding = Padding::Same});
  if (which >= 6) {  // fmnist-resnet's 3x3 stride-1 layers: 14x14x64, 7x7x128
    const int64_t side = which == 6 ? 14 : 7, channels = which == 6 ? 64 : 128;
    return make_conv2d_geometry({.batch = 128, .in_h = side, .in_w = side, .in_c = channels, .k_h = 3, .k_w = 3, .out_c = channels, .padding = Padding::Same});
  }
  if (which >= 2) {  // ResNet-18's (CIFAR-style) 3x3 stride-1 layers: 32x32x64, 16x16x128, 8x8x256, 4x4x512
    const int64_t side = 32 >> (which - 2), channels = 64 << (which - 2);
    return make_conv2d_geometry({.batch = 128, .in_h = side, .in_w = side, .in_c = channels, .k_h = 3, .k_w = 3, .out_c = channels, .padding = Padding::Same});
  }
  return which == 0 ? make_conv2d_geometry({.batch = 128, .in_h = 28, .in_w = 28, .in_c = 1, .k_h = 5, .k_w = 5, .out_c = 32, .padding = Padding::Same})
                    : make_conv2d_geometry({.batch = 128, .in_h = 14, .in_w = 14, .in_c = 32, .k_h = 5, .k_w = 5, .out_c = 64, .padding = Padding::Same});
}

// state.range(0): shape (0, 1 the tutorial CNN's; 2-5 ResNet-18's; 6, 7, 8 fmnist-resnet's), (1): algo (0 auto, 1 direct, 2 blocked,
// 3 im2col, 4 any-weights, 5 oneDNN Winograd, 6 our Winograd, 7 our Winograd in AVX2 only), (2): 0 fwd, 1 bwd-data,
// 2 bwd-weights
void BM_Conv(benchmark::State& state) {
  const Conv2dGeometry g = shape(state.range(0));
  detail::set_conv2d_f32_algo(static_cast<detail::ConvF32Algo>(state.range(1)));
  std::vector<float> x(g.batch * g.in_h * g.in_w * g.in_c, 0.5f), w(g.k_h * g.k_w * g.in_c * g.out_c, 0.25f),
      y(g.batch * g.out_h * g.out_w * g.out_c, 1.0f);
  auto call = [&] {
    switch (state.range(2)) {
      case 0: conv2d_forward_f32(g, x.data(), w.data(), y.data()); break;
      case 1: conv2d_backward_input_f32(g, y.data(), w.data(), x.data()); break;
      default: conv2d_backward_filter_f32(g, x.data(), y.data(), w.data()); break;
    }
  };
  call();  // primitive creation / buffer growth outside the timing
  for (auto _ : state) call();
  const double flops = 2.0 * g.batch * g.out_h * g.out_w * g.out_c * g.k_h * g.k_w * g.in_c;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  detail::set_conv2d_f32_algo(detail::ConvF32Algo::Auto);
}
BENCHMARK(BM_Conv)
    ->ArgNames({"shape", "algo", "dir"})
    ->ArgsProduct({{0, 1}, {0, 1, 2, 3, 4}, {0, 1, 2}})
    ->ArgsProduct({{2, 3, 4, 5, 6, 7, 8}, {0, 4, 5, 6, 7}, {0, 1, 2}})
    ->ArgsProduct({{1}, {6, 7}, {0, 1, 2}})  // conv2's 5x5 as our Winograd F(4x4, 5x5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// range(0): 0 = 28x28x32, 1 = 14x14x64; range(1): 0 max fwd (argmax), 1 max bwd, 2 avg fwd, 3 avg bwd
void BM_Pool(benchmark::State& state) {
  const Pool2dGeometry g = state.range(0) == 0 ? make_pool2d_geometry({.batch = 128, .in_h = 28, .in_w = 28, .channels = 32, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2, .padding = Padding::Same})
                                               : make_pool2d_geometry({.batch = 128, .in_h = 14, .in_w = 14, .channels = 64, .k_h = 2, .k_w = 2, .stride_h = 2, .stride_w = 2, .padding = Padding::Same});
  const int64_t in = g.batch * g.in_h * g.in_w * g.channels, out = g.batch * g.out_h * g.out_w * g.channels;
  std::vector<float> x(in), y(out, 1.0f);
  for (int64_t i = 0; i < in; ++i) x[i] = static_cast<float>((i * 7919) % 1000);
  std::vector<int64_t> am(out);
  max_pool2d_forward(g, x.data(), y.data(), am.data());
  double bytes = 0;
  for (auto _ : state) {
    switch (state.range(1)) {
      case 0: max_pool2d_forward(g, x.data(), y.data(), am.data()); bytes = 4.0 * (in + out) + 8.0 * out; break;
      case 1: max_pool2d_backward(g, y.data(), am.data(), x.data()); bytes = 4.0 * (in + out) + 8.0 * out; break;
      case 2: avg_pool2d_forward(g, x.data(), y.data()); bytes = 4.0 * (in + out); break;
      default: avg_pool2d_backward(g, y.data(), x.data()); bytes = 4.0 * (in + out); break;
    }
  }
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Pool)->ArgNames({"shape", "op"})->ArgsProduct({{0, 1}, {0, 1, 2, 3}})->Unit(benchmark::kMicrosecond)->UseRealTime();

// [128*14*14, 64]; range(0): 0 training forward, 1 backward, 2 inference forward
void BM_BatchNorm(benchmark::State& state) {
  const int64_t rows = 128 * 14 * 14, C = 64;
  std::vector<float> x(rows * C), y(rows * C), dy(rows * C, 0.5f), dx(rows * C), gamma(C, 1.5f), beta(C, 0.1f),
      mean(C), invstd(C), var(C, 2.0f), dgamma(C), dbeta(C);
  for (int64_t i = 0; i < rows * C; ++i) x[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f;
  batch_norm_forward_training(rows, C, x.data(), gamma.data(), beta.data(), 1e-3f, y.data(), mean.data(), invstd.data());
  double bytes = 0;
  for (auto _ : state) {
    switch (state.range(0)) {
      case 0:
        batch_norm_forward_training(rows, C, x.data(), gamma.data(), beta.data(), 1e-3f, y.data(), mean.data(),
                                    invstd.data());
        bytes = 4.0 * 2 * rows * C;
        break;
      case 1:
        batch_norm_backward(rows, C, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                            dgamma.data(), dbeta.data());
        bytes = 4.0 * 3 * rows * C;
        break;
      default:
        batch_norm_forward_inference(rows, C, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), 1e-3f,
                                     y.data());
        bytes = 4.0 * 2 * rows * C;
        break;
    }
  }
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BatchNorm)->ArgName("op")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
