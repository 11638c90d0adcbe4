#include "ember/ops/linalg.hpp"

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/gemm.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/fused.hpp"
#include "ember/ops/shape.hpp"
#include "op_support.hpp"

namespace ember {

namespace kc = kernels::cpu;

namespace {

// How a matrix (the last two axes of a view) can be handed to BLAS without a copy.
struct BlasView {
  bool trans = false;
  int64_t ld = 0;
  bool ok = false;
};
BlasView blas_view(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  if ((col_stride == 1 || cols == 1) && row_stride >= std::max<int64_t>(cols, 1)) return {false, row_stride, true};
  if ((row_stride == 1 || rows == 1) && col_stride >= std::max<int64_t>(rows, 1)) return {true, col_stride, true};
  return {};
}

// a: [..., m, k], b: [..., k, n] (already transposed views), both >= 2-D.
Tensor matmul_2d_plus(const Tensor& a_in, const Tensor& b_in) {
  const int ra = a_in.dim(), rb = b_in.dim();
  int64_t m = a_in.shape()[ra - 2], k = a_in.shape()[ra - 1];
  int64_t k2 = b_in.shape()[rb - 2], n = b_in.shape()[rb - 1];
  if (k != k2) {
    throw ShapeError("matmul: inner dimensions differ: " + to_string(a_in.shape()) + " x " + to_string(b_in.shape()));
  }
  Shape batch_a(a_in.shape().begin(), a_in.shape().end() - 2), batch_b(b_in.shape().begin(), b_in.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul (batch axes)");
  DType dt = promote_types(a_in.dtype(), b_in.dtype());
  Tensor a = a_in.dtype() == dt ? a_in : cast(a_in, dt);
  Tensor b = b_in.dtype() == dt ? b_in : cast(b_in, dt);
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {m, k});
  eb.insert(eb.end(), {k, n});
  a = expand(a.detach(), ea);
  b = expand(b.detach(), eb);
  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {m, n});
  Tensor out = Tensor::empty(out_shape, dt);
  const int nd = static_cast<int>(batch.size());

  BlasView va = blas_view(m, k, a.strides()[nd], a.strides()[nd + 1]);
  BlasView vb = blas_view(k, n, b.strides()[nd], b.strides()[nd + 1]);
  if (!va.ok) { a = contiguous(a); va = blas_view(m, k, a.strides()[nd], a.strides()[nd + 1]); }
  if (!vb.ok) { b = contiguous(b); vb = blas_view(k, n, b.strides()[nd], b.strides()[nd + 1]); }

  kc::BatchedGemmGeometry g{.m = m, .n = n, .k = k, .trans_a = va.trans, .trans_b = vb.trans, .lda = va.ld,
                            .ldb = vb.ld, .batch = batch};
  g.batch_stride_a.assign(a.strides().begin(), a.strides().begin() + nd);
  g.batch_stride_b.assign(b.strides().begin(), b.strides().begin() + nd);
  visit_dtype(dt, [&]<typename T>() {
    if constexpr (std::is_same_v<T, bool>) {
      throw DTypeError("matmul: bool tensors are not supported; cast to a number type first");
    } else {
      kc::batched_gemm<T>(g, a.data<T>(), b.data<T>(), out.data<T>());
    }
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, MatmulOptions opt) {
  const bool transpose_a = opt.transpose_a, transpose_b = opt.transpose_b;
  if (a.dim() == 0 || b.dim() == 0) {
    throw ShapeError("matmul: operands must be at least 1-D, got " + to_string(a.shape()) + " x " + to_string(b.shape()));
  }
  // 1-D operands: promote to matrices through differentiable views, then drop the added axis.
  if (a.dim() == 1) {
    if (transpose_a) throw ValueError("matmul: transpose_a needs a matrix, got a vector " + to_string(a.shape()));
    return squeeze(matmul(unsqueeze(a, 0), b, {.transpose_b = transpose_b}), -2);
  }
  if (b.dim() == 1) {
    if (transpose_b) throw ValueError("matmul: transpose_b needs a matrix, got a vector " + to_string(b.shape()));
    return squeeze(matmul(a, unsqueeze(b, 1), {.transpose_a = transpose_a}), -1);
  }
  Tensor at = transpose_a ? transpose(a.detach(), -2, -1) : a.detach();
  Tensor bt = transpose_b ? transpose(b.detach(), -2, -1) : b.detach();
  Tensor out = matmul_2d_plus(at, bt);
  return autograd::record("matmul", {a, b}, out, [&] {
    return [sa = autograd::saved(a), sb = autograd::saved(b), transpose_a, transpose_b](const Tensor& g) {
      // out = op(A) op(B); dop(A) = g op(B)^T, dop(B) = op(A)^T g; the engine sums broadcast batch axes.
      Tensor da = transpose_a ? matmul(sb, g, {.transpose_a = transpose_b, .transpose_b = true}) : matmul(g, sb, {.transpose_b = !transpose_b});
      Tensor db = transpose_b ? matmul(g, sa, {.transpose_a = true, .transpose_b = transpose_a}) : matmul(sa, g, {.transpose_a = !transpose_a});
      return autograd::Gradients{da, db};
    };
  });
}

namespace {
// C[m, n] = op(A) op(B) on dense buffers of dtype dt (float or double), zeros when k == 0.
void gemm_dense(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const Tensor& a, int64_t lda,
                const Tensor& b, int64_t ldb, Tensor c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    c.fill_(0);
    return;
  }
  visit_floating(c.dtype(), "fused_dense", [&]<typename T>() {
    kc::gemm(trans_a, trans_b, m, n, k, T(1), a.data<T>(), lda, b.data<T>(), ldb, T(0), c.data<T>(), n);
  });
}
}  // namespace

Tensor fused_dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, FusedActivation act) {
  using namespace ops_detail;
  const char* op = "fused_dense";
  require_defined(op, x, "input");
  require_defined(op, kernel, "kernel");
  // The operands' shapes for a message, formatted only on error (this runs every training step).
  const auto ctx = [&] { return "x " + to_string(x.shape()) + ", kernel " + to_string(kernel.shape()); };
  if (x.dim() < 1) throw ShapeError(std::string(op) + ": input must be at least 1-D, got " + ctx());
  if (kernel.dim() != 2) throw ShapeError(std::string(op) + ": kernel must be 2-D [in, units], got " + ctx());
  const int64_t in = kernel.size(0), units = kernel.size(1);
  if (x.size(-1) != in) {
    throw ShapeError(std::string(op) + ": x has " + std::to_string(x.size(-1)) +
                     " features (last axis) but the kernel expects " + std::to_string(in) + ": " + ctx());
  }
  require_same_dtype(op, x, "x", kernel, "the kernel", ctx);
  require_floating(op, x, nullptr, ctx);
  check_fused_bias(op, bias, units, x, ctx);
  const DType dt = x.dtype();
  Shape out_shape = x.shape();
  out_shape.back() = units;
  int64_t rows = 1;  // the leading axes, flattened
  for (int i = 0; i + 1 < x.dim(); ++i) rows *= x.size(i);
  Tensor xc = contiguous(x.detach()), wc = contiguous(kernel.detach());
  Tensor bc = bias.defined() ? contiguous(bias.detach()) : Tensor();
  Tensor y = Tensor::empty(out_shape, dt);
  gemm_dense(false, false, rows, units, in, xc, in, wc, units, y);
  bias_act_in_place(y, bc, act);
  return autograd::record(op, {x, kernel, bias}, y, [&] {
    const bool need_x = x.requires_grad(), need_w = kernel.requires_grad(), need_b = bias.defined() && bias.requires_grad();
    return [dt, act, in, units, rows, need_x, need_w, need_b, xshape = x.shape(), sx = need_w ? autograd::saved(xc) : Tensor(),
            sw = need_x ? autograd::saved(wc) : Tensor(), sy = act == FusedActivation::None ? Tensor() : autograd::saved(y)](
               const Tensor& gy) {
      // One pass for the ReLU's gradient and the bias's, then only the GEMMs whose operand needs one
      // (the first layer's input never does: no dx product for it).
      BiasActGrads d = bias_act_grads(gy, sy, dt, act, need_b);
      Tensor dx, dw;
      if (need_x) {
        dx = Tensor::empty(xshape, dt);
        gemm_dense(false, true, rows, in, units, d.dpre, units, sw, units, dx);
      }
      if (need_w) {
        dw = Tensor::empty({in, units}, dt);
        gemm_dense(true, false, in, units, rows, sx, in, d.dpre, units, dw);
      }
      return autograd::Gradients{dx, dw, d.db};
    };
  });
}

}  // namespace ember
