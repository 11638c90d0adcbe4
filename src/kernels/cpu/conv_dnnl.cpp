// Fast f32 convolution: oneDNN primitives cached per geometry, with an im2col + sgemm alternative.
//
// Measured with bench/conv_kernels_bench.cpp, batch 128, on the 2-core AVX-512 dev machine (shared
// with other builds, so +-20% noise; best of several runs). GFLOP/s, A = 28x28x1 -> 32 5x5 SAME,
// B = 14x14x32 -> 64 5x5 SAME; "fwd / bwd-data / bwd-weights":
//
//                                         1 thread                     2 threads
//   DnnlDirect (nhwc + hwio as given)    A 56/19/40    B 69/122/89    A 90/25/56    B 123/173/159
//   DnnlBlocked (all format_tag::any)    A 101/10/68   B 191/181/172  A 195/14/134  B 306/277/321
//   DnnlAnyWeights (nhwc, weights any)   A 98/11/112   B 185/193/183  A 141/12/167  B 309/351/304
//   Im2colGemm (OpenBLAS sgemm)          A 9/9/9       B 26/27/26     A 11/11/14    B 47/49/41
//
// With hwio weights oneDNN can only use its GEMM-based kernel; any weight layout lets it pick the
// AVX-512 brgconv/jit kernels, which work on NHWC activations directly, so only the small filter is
// reordered per call. Blocked activations add two reorders of the big tensors for no consistent gain.
// im2col + sgemm loses: these GEMMs are skinny (N = out_c = 32/64) and the patch matrix is 25x the input.
// Auto = DnnlAnyWeights, except backward-data with in_c < 8 (the first layer), where the GEMM-based
// kernel is ~2x faster than the channel-padded jit one, and 3x3 stride-1 layers with >= 16 channels,
// which take oneDNN's Winograd kernels (winograd_pays below: about 2x on ResNet-18's layers) or, on
// CPUs without AVX-512 where oneDNN has none and on Zen 4, our own (own_winograd_pays below), and 5x5 stride-1
// layers with >= 16 channels (the tutorial CNN's B), which take our own Winograd F(4x4, 5x5) on every
// CPU (own_winograd5_pays below).
#include <cpuid.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/storage.hpp"
#include "ember/kernels/cpu/bias_act.hpp"
#include "ember/kernels/cpu/conv.hpp"

namespace ember::kernels::cpu {

namespace detail {
// conv_im2col.cpp
void conv2d_forward_f32_im2col(const Conv2dGeometry& g, const float* x, const float* w, float* y);
void conv2d_backward_input_f32_im2col(const Conv2dGeometry& g, const float* dy, const float* w, float* dx);
void conv2d_backward_filter_f32_im2col(const Conv2dGeometry& g, const float* x, const float* dy, float* dw);
void conv2d_backward_input_f32_one_channel(const Conv2dGeometry& g, const float* dy, const float* w, float* dx);
// conv_winograd.cpp
bool winograd_f32_applies(const Conv2dGeometry& g);
void conv2d_forward_f32_winograd(const Conv2dGeometry& g, const float* x, const float* w, float* y,
                                 const float* bias, bool relu);
void conv2d_backward_input_f32_winograd(const Conv2dGeometry& g, const float* dy, const float* w, float* dx);
void conv2d_backward_filter_f32_winograd(const Conv2dGeometry& g, const float* x, const float* dy, float* dw);
}  // namespace detail

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

std::atomic<detail::ConvF32Algo> g_algo{detail::ConvF32Algo::Auto};

enum class Dir : int64_t { Forward, BackwardData, BackwardWeights };

// A primitive reads two tensors and writes one. Each is given in the user layout (NHWC / HWIO);
// when the primitive picked another layout (format_tag::any) it goes through a cached buffer and reorder.
struct Operand {
  int arg = 0;
  dnnl::memory user;                 // handle replaced on every call
  dnnl::memory prim;                 // == user when layouts agree
  dnnl::reorder reorder;             // user -> prim for inputs, prim -> user for the output
  std::vector<dnnl_exec_arg_t> reorder_args;  // built once: a call allocates no argument list
  bool needs_reorder = false;
};

struct Entry {
  std::mutex mu;  // serialises calls that share this entry's memory objects and buffers
  dnnl::primitive prim;
  Operand in0, in1, out;
  dnnl::memory bias;  // forward with a fused bias only (1-D, never reordered)
  dnnl::memory scratch;
  std::vector<dnnl_exec_arg_t> args;  // the primitive's arguments, built once
};

using Key = std::array<int64_t, 21>;

// How tensors are laid out for the primitive: as the user gave them, weights in oneDNN's choice of
// layout (activations stay NHWC), or everything in oneDNN's choice (format_tag::any). Winograd is Any
// with oneDNN's Winograd F(4x4, 3x3) algorithm instead of the direct one.
enum class Layout : int64_t { User, AnyWeights, Any, Winograd };

// Forward only: the epilogue fused into the primitive (bias as its bias argument, ReLU as a post-op).
struct Epilogue {
  bool bias = false;
  BiasAct act = BiasAct::None;
};

Key make_key(Dir dir, Layout layout, const Conv2dGeometry& g, Epilogue ep) {
  return {static_cast<int64_t>(dir), static_cast<int64_t>(layout), static_cast<int64_t>(omp_get_max_threads()),
          static_cast<int64_t>(ep.bias), static_cast<int64_t>(ep.act),
          g.batch, g.in_h, g.in_w, g.in_c, g.k_h, g.k_w, g.out_c, g.stride_h, g.stride_w, g.dilation_h,
          g.dilation_w, g.pad_top, g.pad_left, g.pad_bottom, g.pad_right, g.groups};
}

void init_operand(Operand& op, int arg, const dnnl::memory::desc& user_md, const dnnl::memory::desc& prim_md,
                  bool is_output) {
  op.arg = arg;
  op.user = dnnl::memory(user_md, engine(), nullptr);
  if (prim_md == user_md) {
    op.prim = op.user;
    op.needs_reorder = false;
  } else {
    // The blocked copy gets its buffer per call (run_dnnl): a cached entry holding its own copies of
    // the activations would keep hundreds of MB alive across a deep network's layers.
    op.prim = dnnl::memory(prim_md, engine(), nullptr);
    op.needs_reorder = true;
    op.reorder = is_output ? dnnl::reorder(op.prim, op.user) : dnnl::reorder(op.user, op.prim);
    op.reorder_args = {{DNNL_ARG_FROM, (is_output ? op.prim : op.user).get()},
                       {DNNL_ARG_TO, (is_output ? op.user : op.prim).get()}};
  }
}

std::unique_ptr<Entry> create_entry(Dir dir, Layout layout, const Conv2dGeometry& g, Epilogue ep) {
  const dnnl::memory::dims src_dims = {g.batch, g.in_c, g.in_h, g.in_w};
  // Grouped weights [k_h, k_w, in_c / G, out_c] are oneDNN's 5-D (G, out_c / G, in_c / G, k_h, k_w)
  // in its hwigo order: h, w, i, then g * (out_c / G) + o, the output channel.
  const bool grouped = g.groups > 1;
  const dnnl::memory::dims wei_dims =
      grouped ? dnnl::memory::dims{g.groups, g.out_c / g.groups, g.in_c / g.groups, g.k_h, g.k_w}
              : dnnl::memory::dims{g.out_c, g.in_c, g.k_h, g.k_w};
  const dnnl::memory::dims dst_dims = {g.batch, g.out_c, g.out_h, g.out_w};
  const dnnl::memory::dims strides = {g.stride_h, g.stride_w};
  const dnnl::memory::dims dil = {g.dilation_h - 1, g.dilation_w - 1};
  const dnnl::memory::dims pad_l = {g.pad_top, g.pad_left};
  const dnnl::memory::dims pad_r = {g.pad_bottom, g.pad_right};
  const dnnl::memory::desc src_user(src_dims, dt::f32, tag::nhwc);
  const dnnl::memory::desc wei_user(wei_dims, dt::f32, grouped ? tag::hwigo : tag::hwio);
  const dnnl::memory::desc dst_user(dst_dims, dt::f32, tag::nhwc);
  const bool any_act = layout == Layout::Any || layout == Layout::Winograd;
  const bool any_wei = layout != Layout::User;
  const auto alg =
      layout == Layout::Winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
  const dnnl::memory::desc src_md = any_act ? dnnl::memory::desc(src_dims, dt::f32, tag::any) : src_user;
  const dnnl::memory::desc wei_md = any_wei ? dnnl::memory::desc(wei_dims, dt::f32, tag::any) : wei_user;
  const dnnl::memory::desc dst_md = any_act ? dnnl::memory::desc(dst_dims, dt::f32, tag::any) : dst_user;

  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::primitive_attr fwd_attr = attr;
  if (ep.act == BiasAct::ReLU) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    fwd_attr.set_post_ops(ops);
  }
  const dnnl::memory::desc bias_md({g.out_c}, dt::f32, tag::x);

  const auto prop = dir == Dir::Forward ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training;
  const auto fwd_desc =
      ep.bias ? dnnl::convolution_forward::desc(prop, alg, src_md, wei_md, bias_md,
                                                dst_md, strides, dil, pad_l, pad_r)
              : dnnl::convolution_forward::desc(prop, alg, src_md, wei_md, dst_md,
                                                strides, dil, pad_l, pad_r);
  const dnnl::convolution_forward::primitive_desc fwd_pd(fwd_desc, dir == Dir::Forward ? fwd_attr : attr, engine());

  auto e = std::make_unique<Entry>();
  dnnl::memory::desc scratch_md;
  switch (dir) {
    case Dir::Forward:
      e->prim = dnnl::convolution_forward(fwd_pd);
      init_operand(e->in0, DNNL_ARG_SRC, src_user, fwd_pd.src_desc(), false);
      init_operand(e->in1, DNNL_ARG_WEIGHTS, wei_user, fwd_pd.weights_desc(), false);
      init_operand(e->out, DNNL_ARG_DST, dst_user, fwd_pd.dst_desc(), true);
      if (ep.bias) e->bias = dnnl::memory(bias_md, engine(), nullptr);
      scratch_md = fwd_pd.scratchpad_desc();
      break;
    case Dir::BackwardData: {
      const dnnl::convolution_backward_data::desc d(alg, src_md, wei_md, dst_md,
                                                    strides, dil, pad_l, pad_r);
      const dnnl::convolution_backward_data::primitive_desc pd(d, attr, engine(), fwd_pd);
      e->prim = dnnl::convolution_backward_data(pd);
      init_operand(e->in0, DNNL_ARG_DIFF_DST, dst_user, pd.diff_dst_desc(), false);
      init_operand(e->in1, DNNL_ARG_WEIGHTS, wei_user, pd.weights_desc(), false);
      init_operand(e->out, DNNL_ARG_DIFF_SRC, src_user, pd.diff_src_desc(), true);
      scratch_md = pd.scratchpad_desc();
      break;
    }
    case Dir::BackwardWeights: {
      const dnnl::convolution_backward_weights::desc d(alg, src_md, wei_md, dst_md,
                                                       strides, dil, pad_l, pad_r);
      const dnnl::convolution_backward_weights::primitive_desc pd(d, attr, engine(), fwd_pd);
      e->prim = dnnl::convolution_backward_weights(pd);
      init_operand(e->in0, DNNL_ARG_SRC, src_user, pd.src_desc(), false);
      init_operand(e->in1, DNNL_ARG_DIFF_DST, dst_user, pd.diff_dst_desc(), false);
      init_operand(e->out, DNNL_ARG_DIFF_WEIGHTS, wei_user, pd.diff_weights_desc(), true);
      scratch_md = pd.scratchpad_desc();
      break;
    }
  }
  e->scratch = dnnl::memory(scratch_md, engine(), nullptr);  // buffer per call, as the blocked copies
  // The memory handles share their objects with the operands: set_data_handle reaches these too.
  e->args = {{e->in0.arg, e->in0.prim.get()}, {e->in1.arg, e->in1.prim.get()}, {e->out.arg, e->out.prim.get()},
             {DNNL_ARG_SCRATCHPAD, e->scratch.get()}};
  if (ep.bias && dir == Dir::Forward) e->args.push_back({DNNL_ARG_BIAS, e->bias.get()});
  return e;
}

// Primitive creation costs milliseconds (JIT); the cache keeps one per geometry, direction, layout
// choice and thread count (oneDNN partitions work by the thread count it was created under).
Entry* lookup(Dir dir, Layout layout, const Conv2dGeometry& g, Epilogue ep) {
  static std::mutex mu;
  static std::map<Key, std::unique_ptr<Entry>> cache;
  const Key key = make_key(dir, layout, g, ep);
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) {
    std::unique_ptr<Entry> made;
    try {
      made = create_entry(dir, layout, g, ep);
    } catch (const dnnl::error&) {
      // oneDNN has Winograd kernels only for some CPUs and geometries: remember the refusal (a null
      // entry) so the caller falls back to the direct algorithm without asking again.
      if (layout != Layout::Winograd) throw;
    }
    it = cache.emplace(key, std::move(made)).first;
  }
  return it->second.get();
}

void run_dnnl(Dir dir, Layout layout, const Conv2dGeometry& g, const float* in0, const float* in1, float* out,
              const float* bias = nullptr, BiasAct act = BiasAct::None) {
  const Epilogue ep{.bias = bias != nullptr, .act = act};
  Entry* entry = nullptr;
  try {
    entry = lookup(dir, layout, g, ep);
    if (entry == nullptr) entry = lookup(dir, Layout::AnyWeights, g, ep);  // no Winograd kernel here
  } catch (const dnnl::error& err) {
    throw ValueError(std::string("conv2d: oneDNN cannot build a primitive for input ") + std::to_string(g.batch) + "x" +
                     std::to_string(g.in_h) + "x" + std::to_string(g.in_w) + "x" + std::to_string(g.in_c) +
                     ", filter " + std::to_string(g.k_h) + "x" + std::to_string(g.k_w) + "x" +
                     std::to_string(g.in_c / g.groups) + "x" + std::to_string(g.out_c) +
                     (g.groups > 1 ? " in " + std::to_string(g.groups) + " groups" : std::string()) + ": " + err.what());
  }
  Entry& e = *entry;
  std::lock_guard<std::mutex> lock(e.mu);
  dnnl::stream& s = stream();
  e.in0.user.set_data_handle(const_cast<float*>(in0));
  e.in1.user.set_data_handle(const_cast<float*>(in1));
  e.out.user.set_data_handle(out);
  // Blocked copies and the scratchpad borrow blocks from the tensor allocator's cache for this call
  // only: after the first step of a training loop these come from its free lists, not the system.
  std::optional<Storage> buffers[4];
  auto borrow = [&](dnnl::memory& m, std::optional<Storage>& slot) {
    const std::size_t bytes = m.get_desc().get_size();
    if (bytes == 0) return;
    slot.emplace(bytes);
    m.set_data_handle(slot->data());
  };
  if (e.in0.needs_reorder) borrow(e.in0.prim, buffers[0]);
  if (e.in1.needs_reorder) borrow(e.in1.prim, buffers[1]);
  if (e.out.needs_reorder) borrow(e.out.prim, buffers[2]);
  borrow(e.scratch, buffers[3]);
  // Through the C API with the argument lists built once: the C++ execute() converts its map into a
  // new vector on every call.
  auto execute = [&](const dnnl::primitive& p, const std::vector<dnnl_exec_arg_t>& args) {
    dnnl::error::wrap_c_api(
        dnnl_primitive_execute(p.get(), s.get(), static_cast<int>(args.size()), args.data()),
        "could not execute a convolution primitive");
  };
  for (Operand* op : {&e.in0, &e.in1}) {
    if (op->needs_reorder) execute(op->reorder, op->reorder_args);
  }
  if (ep.bias) e.bias.set_data_handle(const_cast<float*>(bias));
  execute(e.prim, e.args);
  if (e.out.needs_reorder) execute(e.out.reorder, e.out.reorder_args);
  s.wait();
}

// Winograd F(4x4, 3x3) does a 3x3 stride-1 convolution in about half the multiplications. oneDNN's
// kernels for it (blocked layouts) ran 1.8-2.4x faster than its direct ones on ResNet-18's 3x3 layers
// (batch 128, 64-512 channels, 2 threads), even with the reorders of the NHWC activations this costs;
// a ResNet-18 training step went from 1410 to 1036 ms. The forward kernel first transforms the weights
// into the Winograd domain, a slow reorder (about 0.13 us per in x out channel pair: 33 ms at 512x512)
// that only pays when batch x output pixels is large (>= 8192); backward data and weights need no such
// transform and win at every size tried (backward weights 34 -> 11 ms at 4x4x512). Below 16 channels
// the blocked layout would be mostly padding. Its rounding differs from the direct algorithm's by a few
// float32 ulps of the input scale (the transforms add and subtract tile values).
bool winograd_applies(const Conv2dGeometry& g) {
  return g.k_h == 3 && g.k_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 &&
         g.dilation_w == 1 && g.groups == 1 && g.in_c >= 16 && g.out_c >= 16;
}
bool winograd_pays(Dir dir, const Conv2dGeometry& g) {
  return winograd_applies(g) && (dir != Dir::Forward || g.batch * g.out_h * g.out_w >= 8192);
}

// Whether oneDNN has a Winograd kernel for this geometry on this CPU (it needs AVX-512).
bool dnnl_winograd_exists(Dir dir, const Conv2dGeometry& g) {
  try {
    return lookup(dir, Layout::Winograd, g, Epilogue{}) != nullptr;
  } catch (const dnnl::error&) {
    return false;
  }
}

// Whether this is an AMD CPU with AVX-512: family 0x19 (Zen 4, which executes 512-bit instructions
// as two 256-bit halves) or later (Zen 5, family 0x1A, full width). Read once from CPUID, so the
// choice below is fixed per machine (a timed choice could differ between runs, and with it the
// rounding of a seeded training run).
bool amd_avx512() {
  static const bool detected = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return false;
    const bool amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;  // "AuthenticAMD"
    if (!amd || __get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
    const unsigned family = ((eax >> 8) & 0xF) + ((eax >> 20) & 0xFF);
    return family >= 0x19 && __builtin_cpu_supports("avx512f");
  }();
  return detected;
}

// Our own Winograd F(4x4, 3x3) (conv_winograd.cpp) where oneDNN has none. On an AVX2-only CPU (AMD
// Zen 3, 2 threads, batch 128) it ran ResNet-18's 3x3 layers (32x32x64 ... 4x4x512) 2.0-3.2x faster
// than oneDNN's direct kernels in every direction: 290-475 / 305-435 / 230-440 effective GFLOP/s
// forward / backward data / backward weights, against 115-165 (bench/conv_kernels_bench.cpp).
// It is also taken on AMD's AVX-512 CPUs. On Zen 4, which splits 512-bit instructions in halves,
// oneDNN's AVX-512 Winograd has no width advantage, and it pays a weight reorder per forward call and
// layout reorders of the activations that ours, working on NHWC directly, does not; ours measured
// faster forward on all six 3x3 layers of bench/conv_kernels_bench.cpp and the same within noise
// backward. On Zen 5 (full width) ours was still faster in 16 of the 18 layer x direction cells at 2
// threads, equal in one and slower in one (backward data at 4x4x512); fmnist-resnet's 14x14x64 layer
// forward+backward took 14.0 against 17.0 ms (bench/RESULTS.md). Its forward also transforms the
// filter per call (36 C K values), so from batch x output pixels >= 1024 only: below that, a batch-1
// call on a 512-channel layer would spend more on the filter than a direct convolution takes.
bool own_winograd_pays(Dir dir, const Conv2dGeometry& g) {
  if (!winograd_applies(g) || !detail::winograd_f32_applies(g)) return false;
  if (!dnnl_winograd_exists(dir, g)) return true;
  return amd_avx512() && (dir != Dir::Forward || g.batch * g.out_h * g.out_w >= 1024);
}

// Our own Winograd F(4x4, 5x5) for 5x5 stride-1 layers with >= 16 channels each way; oneDNN has no
// 5x5 Winograd on any CPU. On the tutorial CNN's conv2 (14x14, 32 -> 64, batch 128, 2 threads, AMD
// Zen 4) 7.3 / 6.7 / 8.9 ms forward / backward data / backward weights against oneDNN's direct 10.4 /
// 11.0 / 10.7 ms (bench/RESULTS.md). The forward pass transforms the filter (64 C K values) on every
// call, so, as for oneDNN's 3x3 Winograd, it is taken only from batch x output pixels >= 8192.
bool own_winograd5_pays(Dir dir, const Conv2dGeometry& g) {
  return g.k_h == 5 && g.in_c >= 16 && g.out_c >= 16 && detail::winograd_f32_applies(g) &&  // square 5x5
         (dir != Dir::Forward || g.batch * g.out_h * g.out_w >= 8192);
}

// Whether this call runs our own Winograd: forced (EmberWinograd, where the kernel applies) or chosen
// (Auto, where it pays). The one place that decides, for the forward entry and dispatch().
bool use_own_winograd(Dir dir, const Conv2dGeometry& g, detail::ConvF32Algo algo) {
  if (algo == detail::ConvF32Algo::EmberWinograd || algo == detail::ConvF32Algo::EmberWinogradAvx2) {
    return detail::winograd_f32_applies(g);
  }
  return algo == detail::ConvF32Algo::Auto && (own_winograd_pays(dir, g) || own_winograd5_pays(dir, g));
}

void run_own_winograd(Dir dir, const Conv2dGeometry& g, const float* in0, const float* in1, float* out) {
  switch (dir) {
    case Dir::Forward: return detail::conv2d_forward_f32_winograd(g, in0, in1, out, nullptr, false);
    case Dir::BackwardData: return detail::conv2d_backward_input_f32_winograd(g, in0, in1, out);
    case Dir::BackwardWeights: return detail::conv2d_backward_filter_f32_winograd(g, in0, in1, out);
  }
}

// Dispatches one direction to the chosen implementation (Auto: the measured fastest, see the top).
template <typename Im2col>
void dispatch(Dir dir, const Conv2dGeometry& g, const float* in0, const float* in1, float* out, Im2col im2col) {
  // Grouped convolutions have only the oneDNN path (its depthwise kernels; the im2col code is ungrouped).
  if (g.groups > 1) return run_dnnl(dir, Layout::AnyWeights, g, in0, in1, out);
  const auto algo = g_algo.load();
  if (use_own_winograd(dir, g, algo)) return run_own_winograd(dir, g, in0, in1, out);
  switch (algo) {
    case detail::ConvF32Algo::Im2colGemm: return im2col(g, in0, in1, out);
    case detail::ConvF32Algo::DnnlDirect: return run_dnnl(dir, Layout::User, g, in0, in1, out);
    case detail::ConvF32Algo::DnnlAnyWeights: return run_dnnl(dir, Layout::AnyWeights, g, in0, in1, out);
    case detail::ConvF32Algo::DnnlBlocked: return run_dnnl(dir, Layout::Any, g, in0, in1, out);
    case detail::ConvF32Algo::DnnlWinograd:
      return run_dnnl(dir, winograd_applies(g) ? Layout::Winograd : Layout::AnyWeights, g, in0, in1, out);
    case detail::ConvF32Algo::EmberWinograd:
    case detail::ConvF32Algo::EmberWinogradAvx2: return run_dnnl(dir, Layout::AnyWeights, g, in0, in1, out);  // where ours does not apply
    case detail::ConvF32Algo::Auto: break;
  }
  if (winograd_pays(dir, g)) return run_dnnl(dir, Layout::Winograd, g, in0, in1, out);
  // With very few input channels oneDNN's blocked backward-data kernel pads channels up to the SIMD
  // width and loses to its GEMM-based one (~2x at in_c = 1); with one channel at stride 1 our own
  // GEMM + shifted-add kernel beats both (conv_im2col.cpp).
  if (dir == Dir::BackwardData && g.in_c == 1 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 &&
      g.dilation_w == 1) {
    return detail::conv2d_backward_input_f32_one_channel(g, in0, in1, out);
  }
  const bool thin = dir == Dir::BackwardData && g.in_c < 8;
  return run_dnnl(dir, thin ? Layout::User : Layout::AnyWeights, g, in0, in1, out);
}

}  // namespace

namespace detail {
void set_conv2d_f32_algo(ConvF32Algo algo) { g_algo.store(algo); }
ConvF32Algo conv2d_f32_algo() { return g_algo.load(); }
}  // namespace detail

void conv2d_forward_f32(const Conv2dGeometry& g, const float* x, const float* w, float* y, const float* bias,
                        BiasAct act) {
  if (g.batch == 0) return;
  // The epilogue runs inside oneDNN's primitive on the default (and DnnlAnyWeights) path; the other
  // implementations, kept for tests and benchmarks, apply it as a separate pass.
  const auto algo = g_algo.load();
  const bool relu = act == BiasAct::ReLU;
  if (use_own_winograd(Dir::Forward, g, algo)) return detail::conv2d_forward_f32_winograd(g, x, w, y, bias, relu);
  const bool winograd = algo == detail::ConvF32Algo::Auto ? winograd_pays(Dir::Forward, g)
                        : algo == detail::ConvF32Algo::DnnlWinograd && winograd_applies(g);
  if (winograd || algo == detail::ConvF32Algo::Auto || algo == detail::ConvF32Algo::DnnlAnyWeights ||
      algo == detail::ConvF32Algo::DnnlWinograd || algo == detail::ConvF32Algo::EmberWinograd ||
      algo == detail::ConvF32Algo::EmberWinogradAvx2 || g.groups > 1) {
    return run_dnnl(Dir::Forward, winograd ? Layout::Winograd : Layout::AnyWeights, g, x, w, y, bias, act);
  }
  dispatch(Dir::Forward, g, x, w, y, detail::conv2d_forward_f32_im2col);
  bias_act_forward(g.batch * g.out_h * g.out_w, g.out_c, y, bias, act);
}

void conv2d_backward_input_f32(const Conv2dGeometry& g, const float* dy, const float* w, float* dx) {
  if (g.batch == 0) return;
  dispatch(Dir::BackwardData, g, dy, w, dx, detail::conv2d_backward_input_f32_im2col);
}

void conv2d_backward_filter_f32(const Conv2dGeometry& g, const float* x, const float* dy, float* dw) {
  if (g.batch == 0) {
    std::fill(dw, dw + g.k_h * g.k_w * (g.in_c / g.groups) * g.out_c, 0.0f);
    return;
  }
  dispatch(Dir::BackwardWeights, g, x, dy, dw, detail::conv2d_backward_filter_f32_im2col);
}

}  // namespace ember::kernels::cpu
