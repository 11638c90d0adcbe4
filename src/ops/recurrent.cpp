#include "ember/ops/recurrent.hpp"

#include <atomic>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/gemm.hpp"
#include "ember/kernels/cpu/recurrent.hpp"
#include "ember/ops/shape.hpp"
#include "op_support.hpp"

namespace ember {

namespace kc = kernels::cpu;

namespace {

std::atomic<uint64_t> g_calls{0};

kc::RecurrentCell kernel_cell(RecurrentCellKind c) {
  switch (c) {
    case RecurrentCellKind::LSTM: return kc::RecurrentCell::LSTM;
    case RecurrentCellKind::GRU: return kc::RecurrentCell::GRU;
    case RecurrentCellKind::GRUResetBefore: return kc::RecurrentCell::GRUResetBefore;
    case RecurrentCellKind::SimpleRNN: break;
  }
  return kc::RecurrentCell::SimpleRNN;
}

// C [m, n] = op(A) · op(B) on dense buffers (k == 0: zeros).
template <typename T>
void gemm_into(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
               T* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m * n; ++i) c[i] = T(0);
    return;
  }
  kc::gemm(ta, tb, m, n, k, T(1), a, lda, b, ldb, T(0), c, n);
}

}  // namespace

uint64_t recurrent_sequence_calls() { return g_calls.load(std::memory_order_relaxed); }

Tensor recurrent_sequence(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
                          const std::vector<Tensor>& initial_states, const Tensor& mask, RecurrentSequenceOptions opt) {
  using namespace ops_detail;
  const char* op = "recurrent_sequence";
  require_defined(op, x, "input");
  require_defined(op, kernel, "kernel");
  require_defined(op, recurrent_kernel, "recurrent_kernel");
  const auto ctx = [&] {
    std::string s = "x " + to_string(x.shape()) + ", kernel " + to_string(kernel.shape()) + ", recurrent_kernel " +
                    to_string(recurrent_kernel.shape());
    if (bias.defined()) s += ", bias " + to_string(bias.shape());
    for (const Tensor& h : initial_states) s += ", state " + (h.defined() ? to_string(h.shape()) : std::string("undefined"));
    if (mask.defined()) s += ", mask " + to_string(mask.shape());
    return s;
  };
  kc::RecurrentGeometry g{.cell = kernel_cell(opt.cell), .go_backwards = opt.go_backwards,
                          .return_sequences = opt.return_sequences, .zero_output_for_mask = opt.zero_output_for_mask};
  const int64_t G = g.gates(), S = g.states();
  const bool gru = opt.cell == RecurrentCellKind::GRU;  // reset_after: two biases, the recurrent product apart
  const bool gru_rb = opt.cell == RecurrentCellKind::GRUResetBefore;
  if (x.dim() != 3) throw ShapeError(std::string(op) + ": x must be [batch, time, features], got " + ctx());
  if (recurrent_kernel.dim() != 2 || recurrent_kernel.size(1) != G * recurrent_kernel.size(0)) {
    throw ShapeError(std::string(op) + ": recurrent_kernel must be [units, " + std::to_string(G) + "·units], got " + ctx());
  }
  const int64_t N = x.size(0), TT = x.size(1), F = x.size(2), U = recurrent_kernel.size(0), GU = G * U;
  if (kernel.dim() != 2 || kernel.size(0) != F || kernel.size(1) != GU) {
    throw ShapeError(std::string(op) + ": kernel must be [" + std::to_string(F) + ", " + std::to_string(GU) + "], got " + ctx());
  }
  if (TT == 0) throw ShapeError(std::string(op) + ": expected at least one time step, got " + ctx());
  require_floating(op, x, nullptr, ctx);
  require_same_dtype(op, x, "x", kernel, "the kernel", ctx);
  require_same_dtype(op, x, "x", recurrent_kernel, "the recurrent kernel", ctx);
  if (bias.defined()) {
    require_same_dtype(op, x, "x", bias, "the bias", ctx);
    const Shape want = gru ? Shape{2, GU} : Shape{GU};
    if (bias.shape() != want) throw ShapeError(std::string(op) + ": bias must be " + to_string(want) + ", got " + ctx());
  }
  if (!initial_states.empty() && static_cast<int64_t>(initial_states.size()) != S) {
    throw ShapeError(std::string(op) + ": expected " + std::to_string(S) + " initial states, got " + ctx());
  }
  for (const Tensor& h : initial_states) {
    require_defined(op, h, "initial state");
    require_same_dtype(op, x, "x", h, "an initial state", ctx);
    if (h.shape() != Shape{N, U}) throw ShapeError(std::string(op) + ": initial states must be [batch, units], got " + ctx());
  }
  if (mask.defined() && mask.shape() != Shape{N, TT}) {
    throw ShapeError(std::string(op) + ": mask must be [batch, time], got " + ctx());
  }
  g.batch = N;
  g.steps = TT;
  g.units = U;
  g_calls.fetch_add(1, std::memory_order_relaxed);

  const DType dt = x.dtype();
  const int64_t O = g.outputs();
  Tensor xc = contiguous(x.detach()), wc = contiguous(kernel.detach()), rc = contiguous(recurrent_kernel.detach());
  Tensor bc = bias.defined() ? contiguous(bias.detach()) : Tensor();
  Tensor b_in = bc.defined() && gru ? bc.slice(0, 0, 1) : bc;  // GRU: row 0, the input bias
  Tensor b_rec = bc.defined() && gru ? contiguous(bc.slice(0, 1, 2)) : Tensor();
  std::vector<Tensor> h0;
  for (int64_t s = 0; s < S; ++s) {
    h0.push_back(initial_states.empty() ? zeros({N, U}, dt) : contiguous(initial_states[static_cast<std::size_t>(s)].detach()));
  }
  Tensor mk = mask.defined() ? contiguous(mask.detach().to(dt)) : Tensor();

  Tensor z = Tensor::empty({N, TT, GU}, dt);
  Tensor hin = Tensor::empty({N, TT, U}, dt);
  Tensor cin = S == 2 ? Tensor::empty({N, TT, U}, dt) : Tensor();
  Tensor aux = G > 1 ? Tensor::empty({N, TT, U}, dt) : Tensor();
  Tensor out = Tensor::empty({N, O + S, U}, dt);
  visit_floating(dt, op, [&]<typename T>() {
    gemm_into<T>(false, false, N * TT, GU, F, xc.data<T>(), F, wc.data<T>(), GU, z.data<T>());
    if (b_in.defined()) kc::bias_act_forward<T>(N * TT, GU, z.data<T>(), b_in.data<T>(), kc::BiasAct::None);
    Tensor scratch = gru ? Tensor::empty({N, GU}, dt) : Tensor();
    kc::recurrent_forward<T>(g, z.data<T>(), rc.data<T>(), b_rec.defined() ? b_rec.data<T>() : nullptr, h0[0].data<T>(),
                             S == 2 ? h0[1].data<T>() : nullptr, mk.defined() ? mk.data<T>() : nullptr, hin.data<T>(),
                             cin.defined() ? cin.data<T>() : nullptr, aux.defined() ? aux.data<T>() : nullptr,
                             out.data<T>(), gru ? scratch.data<T>() : nullptr);
  });

  std::vector<Tensor> inputs{x, kernel, recurrent_kernel, bias};
  for (const Tensor& h : initial_states) inputs.push_back(h);
  return autograd::record(op, inputs, out, [&] {
    struct Saved {
      Tensor x, w, r, z, hin, cin, aux, mask;
    };
    Saved s{xc, wc, rc, z, hin, cin, aux, mk};
    for (Tensor* t : {&s.x, &s.w, &s.r, &s.z, &s.hin, &s.cin, &s.aux, &s.mask}) {
      if (t->defined()) *t = autograd::saved(*t);
    }
    const bool need_x = x.requires_grad(), need_w = kernel.requires_grad(), need_b = bias.defined() && bias.requires_grad();
    const bool has_states = !initial_states.empty();
    return [s = std::move(s), g, dt, F, need_x, need_w, need_b, has_states, gru, gru_rb](const Tensor& gy) {
      const int64_t N = g.batch, TT = g.steps, U = g.units, GU = g.gates() * U, S = g.states();
      Tensor gout = dense(gy, dt);
      Tensor dz = Tensor::empty({N, TT, GU}, dt);
      Tensor du = gru ? Tensor::empty({N, TT, GU}, dt) : gru_rb ? Tensor::empty({N, U}, dt) : Tensor();
      Tensor dh0 = Tensor::empty({N, U}, dt), dc0 = S == 2 ? Tensor::empty({N, U}, dt) : Tensor();
      Tensor drk = Tensor::empty({U, GU}, dt), carry = Tensor::empty({N, U}, dt);
      Tensor dx, dw, db;
      visit_floating(dt, "recurrent_sequence", [&]<typename T>() {
        auto ptr = [](const Tensor& t) -> T* { return t.defined() ? t.data<T>() : nullptr; };
        kc::recurrent_backward<T>(g, ptr(s.z), ptr(s.r), ptr(s.mask), ptr(s.hin), ptr(s.cin), ptr(s.aux), ptr(gout),
                                  ptr(dz), ptr(du), ptr(dh0), ptr(dc0), ptr(drk), ptr(carry));
        if (need_x) {
          dx = Tensor::empty({N, TT, F}, dt);
          gemm_into<T>(false, true, N * TT, F, GU, ptr(dz), GU, ptr(s.w), GU, ptr(dx));
        }
        if (need_w) {
          dw = Tensor::empty({F, GU}, dt);
          gemm_into<T>(true, false, F, GU, N * TT, ptr(s.x), F, ptr(dz), GU, ptr(dw));
        }
        if (need_b) {  // column sums (bias_act_backward with dpre aliasing g: a pure reduction)
          db = Tensor::empty(gru ? Shape{2, GU} : Shape{GU}, dt);
          kc::bias_act_backward<T>(N * TT, GU, ptr(dz), nullptr, kc::BiasAct::None, ptr(dz), ptr(db));
          if (gru) kc::bias_act_backward<T>(N * TT, GU, ptr(du), nullptr, kc::BiasAct::None, ptr(du), ptr(db) + GU);
        }
      });
      autograd::Gradients grads{dx, dw, drk, db};
      if (has_states) {
        grads.push_back(dh0);
        if (S == 2) grads.push_back(dc0);
      }
      return grads;
    };
  });
}

}  // namespace ember
