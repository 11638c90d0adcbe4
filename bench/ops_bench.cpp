// Op-level benchmarks through Ember's public API (float32), the numbers bench/run_all.sh sets beside
// PyTorch's (bench/torch_bench.py) and libtorch's. What each one measures is in bench/README.md.
//
// Every benchmark takes the thread count as its one argument ("threads:1", "threads:2") and calls
// ember::set_num_threads with it, so one run covers both. Timings are wall clock (UseRealTime): with
// two threads, CPU time would count both cores.
//
// Counters: GFLOP/s (kIsRate: flops per iteration / seconds per iteration), GB/s of compulsory
// traffic for the memory-bound ops (each input read once, the output written once).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "ember/ember.hpp"
#include "ember/kernels/cpu/bias_act.hpp"
#include "ember/kernels/cpu/conv.hpp"
#include "ember/ops/fused.hpp"

namespace {

using namespace ember;

Tensor filled(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, {.generator = &gen});
}

void rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(per_iteration * static_cast<double>(state.iterations()),
                                            benchmark::Counter::kIsRate);
}

void thread_args(benchmark::internal::Benchmark* b) { b->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime(); }

// ------------------------------------------------------------------ sgemm 1024^3

constexpr int64_t kGemm = 1024;
constexpr double kGemmFlops = 2.0 * kGemm * kGemm * kGemm;

// C = A B through ember::matmul (allocates C each call, as a user's code would).
void BM_Sgemm_Ember(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor a = filled({kGemm, kGemm}, 1), b = filled({kGemm, kGemm}, 2);
  for (auto _ : state) {
    Tensor c = matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  rate(state, "GFLOP/s", kGemmFlops * 1e-9);
}
BENCHMARK(BM_Sgemm_Ember)->Apply(thread_args)->Unit(benchmark::kMillisecond);

// The same product with cblas_sgemm called directly into a preallocated C: the ceiling for matmul.
void BM_Sgemm_OpenBLAS(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor a = filled({kGemm, kGemm}, 1), b = filled({kGemm, kGemm}, 2), c = Tensor::empty({kGemm, kGemm}, f32);
  const int n = static_cast<int>(kGemm);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n,
                0.0f, c.data<float>(), n);
    benchmark::ClobberMemory();
  }
  rate(state, "GFLOP/s", kGemmFlops * 1e-9);
}
BENCHMARK(BM_Sgemm_OpenBLAS)->Apply(thread_args)->Unit(benchmark::kMillisecond);

// ------------------------------------------------------------------ conv2d, tutorial CNN, batch 128

struct ConvShape {
  int64_t n, h, w, cin, k, cout;
};
// conv1: 28x28x1 -> 32 filters 5x5 SAME; conv2: 14x14x32 -> 64 filters 5x5 SAME.
constexpr ConvShape kConv1{128, 28, 28, 1, 5, 32};
constexpr ConvShape kConv2{128, 14, 14, 32, 5, 64};

// One direction's flops (SAME, stride 1: output spatial = input spatial).
double conv_flops(const ConvShape& s) { return 2.0 * s.n * s.h * s.w * s.cout * s.k * s.k * s.cin; }

// y = conv2d(x, w); y.backward(dy): forward, dx and dw through the ops and the autograd engine.
// The gradients are dropped each iteration (as an optimizer's zero_grad would) so that no
// accumulation add is timed. GFLOP/s counts the three convolutions.
void conv_fwd_bwd(benchmark::State& state, const ConvShape& s) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor x = filled({s.n, s.h, s.w, s.cin}, 3), w = filled({s.k, s.k, s.cin, s.cout}, 4);
  Tensor dy = filled({s.n, s.h, s.w, s.cout}, 5);
  x.requires_grad_();
  w.requires_grad_();
  for (auto _ : state) {
    Tensor y = conv2d(x, w, {.padding = Padding::Same});
    y.backward(dy);
    benchmark::DoNotOptimize(x.grad().raw_data());
    benchmark::DoNotOptimize(w.grad().raw_data());
    x.zero_grad();
    w.zero_grad();
  }
  rate(state, "GFLOP/s", 3 * conv_flops(s) * 1e-9);
}
void BM_Conv1_FwdBwd(benchmark::State& state) { conv_fwd_bwd(state, kConv1); }
void BM_Conv2_FwdBwd(benchmark::State& state) { conv_fwd_bwd(state, kConv2); }
BENCHMARK(BM_Conv1_FwdBwd)->Apply(thread_args)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2_FwdBwd)->Apply(thread_args)->Unit(benchmark::kMillisecond);

// The same three convolutions as raw kernel calls into preallocated buffers (no ops, no autograd,
// no allocation): what the op path above costs on top of the kernels.
void conv_kernels(benchmark::State& state, const ConvShape& s) {
  namespace kc = kernels::cpu;
  set_num_threads(static_cast<int>(state.range(0)));
  const kc::Conv2dGeometry g = kc::make_conv2d_geometry({.batch = s.n, .in_h = s.h, .in_w = s.w, .in_c = s.cin, .k_h = s.k, .k_w = s.k, .out_c = s.cout, .padding = Padding::Same});
  Tensor x = filled({s.n, s.h, s.w, s.cin}, 3), w = filled({s.k, s.k, s.cin, s.cout}, 4);
  Tensor dy = filled({s.n, s.h, s.w, s.cout}, 5), y = Tensor::empty(dy.shape(), f32);
  Tensor dx = Tensor::empty(x.shape(), f32), dw = Tensor::empty(w.shape(), f32);
  for (auto _ : state) {
    kc::conv2d_forward_f32(g, x.data<float>(), w.data<float>(), y.data<float>());
    kc::conv2d_backward_input_f32(g, dy.data<float>(), w.data<float>(), dx.data<float>());
    kc::conv2d_backward_filter_f32(g, x.data<float>(), dy.data<float>(), dw.data<float>());
    benchmark::ClobberMemory();
  }
  rate(state, "GFLOP/s", 3 * conv_flops(s) * 1e-9);
}
void BM_Conv1_FwdBwd_Kernels(benchmark::State& state) { conv_kernels(state, kConv1); }
void BM_Conv2_FwdBwd_Kernels(benchmark::State& state) { conv_kernels(state, kConv2); }
BENCHMARK(BM_Conv1_FwdBwd_Kernels)->Apply(thread_args)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2_FwdBwd_Kernels)->Apply(thread_args)->Unit(benchmark::kMillisecond);

// Conv2D as the cnn trains it: fused_conv2d with bias and ReLU (one oneDNN primitive forward; the
// ReLU's and bias's gradients in one kernel backward), then dw — and dx only where the input needs
// it: conv2's input comes from conv1, conv1's is the image (no dx). GFLOP/s counts the convolutions
// run: 3 for conv2, 2 for conv1.
void conv_layer(benchmark::State& state, const ConvShape& s, bool need_dx) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor x = filled({s.n, s.h, s.w, s.cin}, 3), w = filled({s.k, s.k, s.cin, s.cout}, 4), b = filled({s.cout}, 6);
  Tensor dy = filled({s.n, s.h, s.w, s.cout}, 5);
  x.requires_grad_(need_dx);
  w.requires_grad_();
  b.requires_grad_();
  for (auto _ : state) {
    Tensor y = fused_conv2d(x, w, b, {.padding = Padding::Same}, FusedActivation::ReLU);
    y.backward(dy);
    benchmark::DoNotOptimize(w.grad().raw_data());
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
  }
  rate(state, "GFLOP/s", (need_dx ? 3 : 2) * conv_flops(s) * 1e-9);
}
// The same calls as raw kernels into preallocated buffers: what the op layer and autograd add.
void conv_layer_kernels(benchmark::State& state, const ConvShape& s, bool need_dx) {
  namespace kc = kernels::cpu;
  set_num_threads(static_cast<int>(state.range(0)));
  const kc::Conv2dGeometry g = kc::make_conv2d_geometry({.batch = s.n, .in_h = s.h, .in_w = s.w, .in_c = s.cin, .k_h = s.k, .k_w = s.k, .out_c = s.cout, .padding = Padding::Same});
  Tensor x = filled({s.n, s.h, s.w, s.cin}, 3), w = filled({s.k, s.k, s.cin, s.cout}, 4), b = filled({s.cout}, 6);
  Tensor dy = filled({s.n, s.h, s.w, s.cout}, 5), y = Tensor::empty(dy.shape(), f32), dpre = Tensor::empty(dy.shape(), f32);
  Tensor dx = Tensor::empty(x.shape(), f32), dw = Tensor::empty(w.shape(), f32), db = Tensor::empty(b.shape(), f32);
  const int64_t rows = s.n * s.h * s.w;
  for (auto _ : state) {
    kc::conv2d_forward_f32(g, x.data<float>(), w.data<float>(), y.data<float>(), b.data<float>(), kc::BiasAct::ReLU);
    kc::bias_act_backward<float>(rows, s.cout, dy.data<float>(), y.data<float>(), kc::BiasAct::ReLU,
                                 dpre.data<float>(), db.data<float>());
    if (need_dx) kc::conv2d_backward_input_f32(g, dpre.data<float>(), w.data<float>(), dx.data<float>());
    kc::conv2d_backward_filter_f32(g, x.data<float>(), dpre.data<float>(), dw.data<float>());
    benchmark::ClobberMemory();
  }
  rate(state, "GFLOP/s", (need_dx ? 3 : 2) * conv_flops(s) * 1e-9);
}
void BM_Conv1_Layer(benchmark::State& state) { conv_layer(state, kConv1, false); }
void BM_Conv2_Layer(benchmark::State& state) { conv_layer(state, kConv2, true); }
void BM_Conv1_Layer_Kernels(benchmark::State& state) { conv_layer_kernels(state, kConv1, false); }
void BM_Conv2_Layer_Kernels(benchmark::State& state) { conv_layer_kernels(state, kConv2, true); }
BENCHMARK(BM_Conv1_Layer)->Apply(thread_args)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv1_Layer_Kernels)->Apply(thread_args)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2_Layer)->Apply(thread_args)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2_Layer_Kernels)->Apply(thread_args)->Unit(benchmark::kMillisecond);

// Forward alone through the op (inference: no grad required, nothing recorded).
void conv_fwd(benchmark::State& state, const ConvShape& s) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor x = filled({s.n, s.h, s.w, s.cin}, 3), w = filled({s.k, s.k, s.cin, s.cout}, 4);
  for (auto _ : state) {
    Tensor y = conv2d(x, w, {.padding = Padding::Same});
    benchmark::DoNotOptimize(y.raw_data());
  }
  rate(state, "GFLOP/s", conv_flops(s) * 1e-9);
}
void BM_Conv1_Fwd(benchmark::State& state) { conv_fwd(state, kConv1); }
void BM_Conv2_Fwd(benchmark::State& state) { conv_fwd(state, kConv2); }
BENCHMARK(BM_Conv1_Fwd)->Apply(thread_args)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2_Fwd)->Apply(thread_args)->Unit(benchmark::kMillisecond);

// ------------------------------------------------------------------ elementwise, 1M floats

constexpr int64_t kElems = 1 << 20;

void BM_Add_1M(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor a = filled({kElems}, 6), b = filled({kElems}, 7);
  for (auto _ : state) {
    Tensor c = add(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  rate(state, "GB/s", 3.0 * 4 * kElems * 1e-9);
}
BENCHMARK(BM_Add_1M)->Apply(thread_args)->Unit(benchmark::kMicrosecond);

void BM_Relu_1M(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor a = filled({kElems}, 8);
  for (auto _ : state) {
    Tensor c = relu(a);
    benchmark::DoNotOptimize(c.raw_data());
  }
  rate(state, "GB/s", 2.0 * 4 * kElems * 1e-9);
}
BENCHMARK(BM_Relu_1M)->Apply(thread_args)->Unit(benchmark::kMicrosecond);

// The transcendental functions (the vectorised float32 kernels of kernels/cpu/unary_math), on the
// same 1M floats from randn, where every branch of these functions is exercised; log on
// |randn| + 1e-3, as the PyTorch side does.
template <Tensor (*Op)(const Tensor&), bool kPositive = false>
void BM_Unary_1M(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor a = filled({kElems}, 9);
  if (kPositive) a = abs(a) + 1e-3;
  for (auto _ : state) {
    Tensor c = Op(a);
    benchmark::DoNotOptimize(c.raw_data());
  }
  rate(state, "GB/s", 2.0 * 4 * kElems * 1e-9);
}
BENCHMARK(BM_Unary_1M<exp>)->Name("BM_Exp_1M")->Apply(thread_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Unary_1M<sigmoid>)->Name("BM_Sigmoid_1M")->Apply(thread_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Unary_1M<tanh>)->Name("BM_Tanh_1M")->Apply(thread_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Unary_1M<softplus>)->Name("BM_Softplus_1M")->Apply(thread_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Unary_1M<log, true>)->Name("BM_Log_1M")->Apply(thread_args)->Unit(benchmark::kMicrosecond);

// ------------------------------------------------------------------ per-op overhead

// ember::add on two 1-element tensors: validation, broadcasting, dispatch, allocation of the result.
void BM_Add_Overhead(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor a = full({1}, 1.5), b = full({1}, 2.5);
  for (auto _ : state) {
    Tensor c = add(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
}
BENCHMARK(BM_Add_Overhead)->Apply(thread_args)->Unit(benchmark::kNanosecond);

// The same with inputs that require grad: the op also records an autograd node (freed each iteration
// with the result, as a discarded temporary would be).
void BM_Add_Overhead_Grad(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Tensor a = full({1}, 1.5), b = full({1}, 2.5);
  a.requires_grad_();
  b.requires_grad_();
  for (auto _ : state) {
    Tensor c = add(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
}
BENCHMARK(BM_Add_Overhead_Grad)->Apply(thread_args)->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
