// Issue 15's "consider oneDNN's RNN primitives": one LSTM layer's forward (training) + backward over
// a [batch 128, 28 steps, 28 features] sequence with 128 units, float32 — Ember's fused op
// (ops/recurrent.hpp, which the LSTM layer uses) against oneDNN 2.6's lstm_forward / lstm_backward
// primitives, in one process. Only the recurrent layer is timed (no Dense, loss or optimizer).
//
//   bench_rnn_primitive_compare [--threads T] [--steps N]
//
// The oneDNN side does what a layer built on it would do each step: reorder the Keras-layout
// weights ([in, 4·units] = ldigo with l = d = 1) into the forward and the backward primitives'
// preferred layouts, run forward (training) with a workspace, zero the weight gradients (oneDNN
// accumulates into them), run backward, and reorder the weight gradients back. Input and states are
// in oneDNN's tnc / ldnc layouts (a layer would also transpose x from batch-major; not counted).
// Prints the median ms of each.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "call_timing.hpp"
#include "ember/ember.hpp"
#include "ember/ops/recurrent.hpp"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

double median_ms(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2] * 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, steps = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--threads") threads = std::atoi(argv[i + 1]);
    else if (k == "--steps") steps = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_rnn_primitive_compare [--threads T] [--steps N]\n");
      return 2;
    }
  }
  if (threads < 1 || steps < 1) {
    std::fprintf(stderr, "bench_rnn_primitive_compare: --threads and --steps must be >= 1\n");
    return 2;
  }
  using namespace ember;
  set_num_threads(threads);
  const int64_t N = 128, T = 28, C = 28, U = 128, G = 4;

  // ---- Ember: recurrent_sequence forward + backward through the last output.
  Generator gen(1);
  Tensor x = rand({N, T, C}, {.generator = &gen});
  Tensor w = ((rand({C, G * U}, {.generator = &gen}) - 0.5) * 0.2).detach().requires_grad_();
  Tensor r = ((rand({U, G * U}, {.generator = &gen}) - 0.5) * 0.2).detach().requires_grad_();
  Tensor b = zeros({G * U}).requires_grad_();
  const Tensor up = rand({N, 3, U}, {.generator = &gen});
  std::vector<double> ember_times;
  for (int s = 0; s < steps + 3; ++s) {
    const double t0 = bench::now();
    Tensor y = recurrent_sequence(x, w, r, b, {}, Tensor(), {.cell = RecurrentCellKind::LSTM});
    y.backward(up);
    if (s >= 3) ember_times.push_back(bench::now() - t0);
    for (const Tensor& p : {w, r, b}) p.zero_grad();
  }

  // ---- oneDNN lstm_forward (training) + lstm_backward.
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  auto md = [](memory::dims d, tag t) { return memory::desc(d, dt::f32, t); };
  const memory::desc src_layer = md({T, N, C}, tag::tnc), dst_layer = md({T, N, U}, tag::tnc);
  const memory::desc state = md({1, 1, N, U}, tag::ldnc), bias = md({1, 1, G, U}, tag::ldgo);
  const memory::desc wl_user = md({1, 1, C, G, U}, tag::ldigo), wi_user = md({1, 1, U, G, U}, tag::ldigo);
  const memory::desc wl_any = md({1, 1, C, G, U}, tag::any), wi_any = md({1, 1, U, G, U}, tag::any);
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;
  dnnl::lstm_forward::desc fd(dnnl::prop_kind::forward_training, dir, src_layer, state, state, wl_any, wi_any, bias,
                              dst_layer, state, state);
  dnnl::lstm_forward::primitive_desc fpd(fd, eng);
  dnnl::lstm_backward::desc bd(dnnl::prop_kind::backward, dir, src_layer, state, state, wl_any, wi_any, bias, dst_layer,
                               state, state, src_layer, state, state, wl_any, wi_any, bias, dst_layer, state, state);
  dnnl::lstm_backward::primitive_desc bpd(bd, eng, fpd);
  auto mem = [&](const memory::desc& d) {
    memory m(d, eng);
    std::memset(m.get_data_handle(), 0, d.get_size());
    return m;
  };
  memory m_src = mem(src_layer), m_dst = mem(dst_layer), m_bias = mem(bias), m_ws = mem(fpd.workspace_desc());
  memory m_hx = mem(state), m_cx = mem(state), m_hy = mem(state), m_cy = mem(state);
  memory m_wl_user = mem(wl_user), m_wi_user = mem(wi_user);
  std::memcpy(m_wl_user.get_data_handle(), w.data<float>(), wl_user.get_size());
  std::memcpy(m_wi_user.get_data_handle(), r.data<float>(), wi_user.get_size());
  std::memcpy(m_src.get_data_handle(), x.data<float>(), src_layer.get_size());  // values only; layout not important here
  memory m_wl_f = mem(fpd.weights_layer_desc()), m_wi_f = mem(fpd.weights_iter_desc());
  memory m_wl_b = mem(bpd.weights_layer_desc()), m_wi_b = mem(bpd.weights_iter_desc());
  memory m_dwl = mem(bpd.diff_weights_layer_desc()), m_dwi = mem(bpd.diff_weights_iter_desc());
  memory m_dwl_user = mem(wl_user), m_dwi_user = mem(wi_user), m_db = mem(bias);
  memory m_dsrc = mem(src_layer), m_ddst = mem(dst_layer), m_dhx = mem(state), m_dcx = mem(state);
  memory m_dhy = mem(state), m_dcy = mem(state);
  std::memcpy(m_ddst.get_data_handle(), up.data<float>(), std::min(dst_layer.get_size(), up.numel() * sizeof(float)));
  dnnl::lstm_forward fwd(fpd);
  dnnl::lstm_backward bwd(bpd);
  std::vector<double> dnnl_times;
  for (int s = 0; s < steps + 3; ++s) {
    const double t0 = bench::now();
    dnnl::reorder(m_wl_user, m_wl_f).execute(strm, m_wl_user, m_wl_f);
    dnnl::reorder(m_wi_user, m_wi_f).execute(strm, m_wi_user, m_wi_f);
    fwd.execute(strm, {{DNNL_ARG_SRC_LAYER, m_src}, {DNNL_ARG_SRC_ITER, m_hx}, {DNNL_ARG_SRC_ITER_C, m_cx},
                       {DNNL_ARG_WEIGHTS_LAYER, m_wl_f}, {DNNL_ARG_WEIGHTS_ITER, m_wi_f}, {DNNL_ARG_BIAS, m_bias},
                       {DNNL_ARG_DST_LAYER, m_dst}, {DNNL_ARG_DST_ITER, m_hy}, {DNNL_ARG_DST_ITER_C, m_cy},
                       {DNNL_ARG_WORKSPACE, m_ws}});
    dnnl::reorder(m_wl_user, m_wl_b).execute(strm, m_wl_user, m_wl_b);
    dnnl::reorder(m_wi_user, m_wi_b).execute(strm, m_wi_user, m_wi_b);
    for (memory* m : {&m_dwl, &m_dwi, &m_db}) std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
    bwd.execute(strm, {{DNNL_ARG_SRC_LAYER, m_src}, {DNNL_ARG_SRC_ITER, m_hx}, {DNNL_ARG_SRC_ITER_C, m_cx},
                       {DNNL_ARG_WEIGHTS_LAYER, m_wl_b}, {DNNL_ARG_WEIGHTS_ITER, m_wi_b}, {DNNL_ARG_BIAS, m_bias},
                       {DNNL_ARG_DST_LAYER, m_dst}, {DNNL_ARG_DST_ITER, m_hy}, {DNNL_ARG_DST_ITER_C, m_cy},
                       {DNNL_ARG_WORKSPACE, m_ws}, {DNNL_ARG_DIFF_SRC_LAYER, m_dsrc}, {DNNL_ARG_DIFF_SRC_ITER, m_dhx},
                       {DNNL_ARG_DIFF_SRC_ITER_C, m_dcx}, {DNNL_ARG_DIFF_WEIGHTS_LAYER, m_dwl},
                       {DNNL_ARG_DIFF_WEIGHTS_ITER, m_dwi}, {DNNL_ARG_DIFF_BIAS, m_db}, {DNNL_ARG_DIFF_DST_LAYER, m_ddst},
                       {DNNL_ARG_DIFF_DST_ITER, m_dhy}, {DNNL_ARG_DIFF_DST_ITER_C, m_dcy}});
    dnnl::reorder(m_dwl, m_dwl_user).execute(strm, m_dwl, m_dwl_user);
    dnnl::reorder(m_dwi, m_dwi_user).execute(strm, m_dwi, m_dwi_user);
    strm.wait();
    if (s >= 3) dnnl_times.push_back(bench::now() - t0);
  }
  std::printf("LSTM(128) layer forward+backward, batch %lld, %lld steps, %lld features, %d thread(s): "
              "Ember recurrent_sequence %.2f ms, oneDNN lstm primitives %.2f ms (medians of %d)\n",
              static_cast<long long>(N), static_cast<long long>(T), static_cast<long long>(C), get_num_threads(),
              median_ms(ember_times), median_ms(dnnl_times), steps);
  return 0;
}
