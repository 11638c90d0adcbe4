// Micro-benchmark of the f32 convolution kernels on the TensorFlow-tutorial CNN shapes (batch 128):
// each implementation (oneDNN on NHWC as is, oneDNN blocked + reorders, im2col + sgemm) x direction.
// Run with OMP_NUM_THREADS=1 and =2; the GFLOP/s counter is 2*N*OH*OW*OC*KH*KW*IC per call.
#include <benchmark/benchmark.h>

#include <vector>

#include "ember/kernels/cpu/conv.hpp"

namespace {

using namespace ember::kernels::cpu;

Conv2dGeometry shape(int64_t which) {
  return which == 0 ? make_conv2d_geometry(128, 28, 28, 1, 5, 5, 32, 1, 1, 1, 1, Padding::Same)
                    : make_conv2d_geometry(128, 14, 14, 32, 5, 5, 64, 1, 1, 1, 1, Padding::Same);
}

// state.range(0): shape, (1): algo (0 auto, 1 direct, 2 blocked, 3 im2col, 4 any-weights), (2): 0 fwd, 1 bwd-data, 2 bwd-weights
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
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
