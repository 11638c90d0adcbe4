// Convolution ops: validation, dispatch to the f32 fast / f64 reference kernels, backward beside.
#include "ember/ops/conv.hpp"

#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/conv.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/fused.hpp"
#include "ember/ops/shape.hpp"
#include "op_support.hpp"

namespace ember {

using autograd::record;
using autograd::saved;
using autograd::Gradients;
namespace kc = kernels::cpu;
using namespace ops_detail;

namespace {

std::string pair_str(int64_t a, int64_t b) { return "[" + std::to_string(a) + "," + std::to_string(b) + "]"; }

// Both defined, both floating and of one dtype.
void check_operands(const char* op, const Tensor& x, const Tensor& w) {
  require_defined(op, x, "input");
  require_defined(op, w, "filter");
}
template <typename Ctx>
void check_conv_dtypes(const char* op, const Tensor& x, const Tensor& w, const Ctx& ctx) {
  require_same_dtype(op, x, "x", w, "the filter", ctx);
  require_floating(op, x, nullptr, ctx);
}

template <typename Ctx>
kc::Conv2dGeometry geometry(const char* op, const Tensor& x, const Tensor& w, const Conv2dOptions& opt,
                            const Ctx& ctx) {
  return with_op_context(op, ctx, [&] {
    return kc::make_conv2d_geometry({.batch = x.size(0), .in_h = x.size(1), .in_w = x.size(2), .in_c = x.size(3),
                                     .k_h = w.size(0), .k_w = w.size(1), .out_c = w.size(3),
                                     .stride_h = opt.strides[0], .stride_w = opt.strides[1],
                                     .dilation_h = opt.dilation[0], .dilation_w = opt.dilation[1],
                                     .padding = opt.padding, .groups = opt.groups});
  });
}

void forward_kernel(const kc::Conv2dGeometry& g, const Tensor& x, const Tensor& w, const Tensor& y) {
  if (x.dtype() == f32) kc::conv2d_forward_f32(g, x.data<float>(), w.data<float>(), y.data<float>());
  else kc::conv2d_forward_ref<double>(g, x.data<double>(), w.data<double>(), y.data<double>());
}
void backward_input_kernel(const kc::Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx) {
  if (dy.dtype() == f32) kc::conv2d_backward_input_f32(g, dy.data<float>(), w.data<float>(), dx.data<float>());
  else kc::conv2d_backward_input_ref<double>(g, dy.data<double>(), w.data<double>(), dx.data<double>());
}
void backward_filter_kernel(const kc::Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw) {
  if (dy.dtype() == f32) kc::conv2d_backward_filter_f32(g, x.data<float>(), dy.data<float>(), dw.data<float>());
  else kc::conv2d_backward_filter_ref<double>(g, x.data<double>(), dy.data<double>(), dw.data<double>());
}

// Every check of conv2d (and fused_conv2d, under its own name), then the geometry. The operands'
// shapes for a message are formatted only when there is an error (this runs every training step).
kc::Conv2dGeometry checked_conv2d_geometry(const char* op, const Tensor& x, const Tensor& filter, const Conv2dOptions& opt) {
  check_operands(op, x, filter);
  const auto ctx = [&] { return "x " + to_string(x.shape()) + ", filter " + to_string(filter.shape()); };
  if (x.dim() != 4) {
    throw ShapeError(std::string(op) + ": input must be 4-D NHWC [batch, height, width, channels], got rank " +
                     std::to_string(x.dim()) + ": " + ctx());
  }
  if (filter.dim() != 4) {
    throw ShapeError(std::string(op) + ": filter must be 4-D HWIO [height, width, in_channels, out_channels], got rank " +
                     std::to_string(filter.dim()) + ": " + ctx());
  }
  if (opt.groups < 1) {
    throw ValueError(std::string(op) + ": groups must be >= 1, got " + std::to_string(opt.groups) + ": " + ctx());
  }
  // Checked in that order so that x.size(3) / groups below is exact.
  if (x.size(3) % opt.groups != 0 || x.size(3) / opt.groups != filter.size(2)) {
    throw ShapeError(std::string(op) + ": input has " + std::to_string(x.size(3)) + " channels but the filter expects " +
                     std::to_string(filter.size(2)) +
                     (opt.groups > 1 ? " per group times " + std::to_string(opt.groups) + " groups" : std::string()) +
                     ": " + ctx());
  }
  if (filter.size(3) % opt.groups != 0) {
    throw ShapeError(std::string(op) + ": " + std::to_string(opt.groups) + " groups do not divide the filter's " +
                     std::to_string(filter.size(3)) + " output channels: " + ctx());
  }
  check_conv_dtypes(op, x, filter, ctx);
  if (opt.strides[0] < 1 || opt.strides[1] < 1) {
    throw ValueError(std::string(op) + ": strides must be >= 1, got " + pair_str(opt.strides[0], opt.strides[1]) + ": " + ctx());
  }
  if (opt.dilation[0] < 1 || opt.dilation[1] < 1) {
    throw ValueError(std::string(op) + ": dilation must be >= 1, got " + pair_str(opt.dilation[0], opt.dilation[1]) + ": " + ctx());
  }
  return geometry(op, x, filter, opt, ctx);
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& filter, Conv2dOptions opt) {
  const kc::Conv2dGeometry g = checked_conv2d_geometry("conv2d", x, filter, opt);
  const DType dt = x.dtype();
  Tensor xc = contiguous(x.detach()), wc = contiguous(filter.detach());
  Tensor y = Tensor::empty({g.batch, g.out_h, g.out_w, g.out_c}, dt);
  if (y.numel() > 0) forward_kernel(g, xc, wc, y);

  return record("conv2d", {x, filter}, y, [&] {
    const bool need_x = x.requires_grad(), need_w = filter.requires_grad();
    // dx needs only the filter, dw only the input: keep just what will be used.
    return [g, dt, need_x, need_w, sx = need_w ? saved(xc) : Tensor(), sw = need_x ? saved(wc) : Tensor()](const Tensor& gy) {
      Tensor dy = dense(gy, dt);
      Tensor dx, dw;
      if (need_x) {
        dx = Tensor::empty({g.batch, g.in_h, g.in_w, g.in_c}, dt);
        if (dy.numel() > 0) backward_input_kernel(g, dy, sw, dx);
      }
      if (need_w) {
        dw = Tensor::empty({g.k_h, g.k_w, g.in_c / g.groups, g.out_c}, dt);
        if (dy.numel() > 0) backward_filter_kernel(g, sx, dy, dw);
        else dw.fill_(0);  // an empty batch contributes nothing
      }
      return Gradients{dx, dw};
    };
  });
}

Tensor fused_conv2d(const Tensor& x, const Tensor& filter, const Tensor& bias, Conv2dOptions opt, FusedActivation act) {
  const kc::Conv2dGeometry g = checked_conv2d_geometry("fused_conv2d", x, filter, opt);
  check_fused_bias("fused_conv2d", bias, g.out_c, x,
                   [&] { return "x " + to_string(x.shape()) + ", filter " + to_string(filter.shape()); });
  const DType dt = x.dtype();
  Tensor xc = contiguous(x.detach()), wc = contiguous(filter.detach());
  Tensor bc = bias.defined() ? contiguous(bias.detach()) : Tensor();
  Tensor y = Tensor::empty({g.batch, g.out_h, g.out_w, g.out_c}, dt);
  if (y.numel() > 0) {
    if (dt == f32) {
      kc::conv2d_forward_f32(g, xc.data<float>(), wc.data<float>(), y.data<float>(),
                             bc.defined() ? bc.data<float>() : nullptr, kernel_act(act));
    } else {
      forward_kernel(g, xc, wc, y);
      bias_act_in_place(y, bc, act);
    }
  }
  return record("fused_conv2d", {x, filter, bias}, y, [&] {
    const bool need_x = x.requires_grad(), need_w = filter.requires_grad(), need_b = bias.defined() && bias.requires_grad();
    return [g, dt, act, need_x, need_w, need_b, sx = need_w ? saved(xc) : Tensor(), sw = need_x ? saved(wc) : Tensor(),
            sy = act == FusedActivation::None ? Tensor() : saved(y)](const Tensor& gy) {
      // One pass: the ReLU's gradient and the bias's; then the convolutions take it as their dy.
      BiasActGrads d = bias_act_grads(gy, sy, dt, act, need_b);
      Tensor dx, dw;
      if (need_x) {
        dx = Tensor::empty({g.batch, g.in_h, g.in_w, g.in_c}, dt);
        if (d.dpre.numel() > 0) backward_input_kernel(g, d.dpre, sw, dx);
      }
      if (need_w) {
        dw = Tensor::empty({g.k_h, g.k_w, g.in_c / g.groups, g.out_c}, dt);
        if (d.dpre.numel() > 0) backward_filter_kernel(g, sx, d.dpre, dw);
        else dw.fill_(0);  // an empty batch contributes nothing
      }
      return Gradients{dx, dw, d.db};
    };
  });
}

Tensor conv1d(const Tensor& x, const Tensor& filter, Conv1dOptions opt) {
  check_operands("conv1d", x, filter);
  const std::string ctx = "x " + to_string(x.shape()) + ", filter " + to_string(filter.shape());
  if (x.dim() != 3) {
    throw ShapeError("conv1d: input must be 3-D [batch, width, channels], got rank " + std::to_string(x.dim()) + ": " + ctx);
  }
  if (filter.dim() != 3) {
    throw ShapeError("conv1d: filter must be 3-D [width, in_channels, out_channels], got rank " +
                     std::to_string(filter.dim()) + ": " + ctx);
  }
  if (x.size(2) != filter.size(1)) {
    throw ShapeError("conv1d: input has " + std::to_string(x.size(2)) + " channels but the filter expects " +
                     std::to_string(filter.size(1)) + ": " + ctx);
  }
  check_conv_dtypes("conv1d", x, filter, ctx);
  if (opt.stride < 1) throw ValueError("conv1d: stride must be >= 1, got " + std::to_string(opt.stride) + ": " + ctx);
  if (opt.dilation < 1) throw ValueError("conv1d: dilation must be >= 1, got " + std::to_string(opt.dilation) + ": " + ctx);
  Tensor x4 = unsqueeze(x, 1), w4 = unsqueeze(filter, 0);  // [N,1,W,C], [1,k,Cin,Cout]
  // Validate the geometry here so that errors speak of the 1-D shapes, not the 4-D views.
  Conv2dOptions o2{.strides = {1, opt.stride}, .padding = opt.padding, .dilation = {1, opt.dilation}};
  (void)geometry("conv1d", x4, w4, o2, ctx);
  return squeeze(conv2d(x4, w4, o2), 1);
}

Tensor conv2d_transpose(const Tensor& x, const Tensor& filter, std::array<int64_t, 2> output_size, Conv2dOptions opt) {
  const char* op = "conv2d_transpose";
  check_operands(op, x, filter);
  const auto ctx = [&] {
    return "x " + to_string(x.shape()) + ", filter " + to_string(filter.shape()) + ", output size " +
           pair_str(output_size[0], output_size[1]);
  };
  if (x.dim() != 4) {
    throw ShapeError(std::string(op) + ": input must be 4-D NHWC [batch, height, width, channels], got rank " +
                     std::to_string(x.dim()) + ": " + ctx());
  }
  if (filter.dim() != 4) {
    throw ShapeError(std::string(op) + ": filter must be 4-D [height, width, out_channels, in_channels], got rank " +
                     std::to_string(filter.dim()) + ": " + ctx());
  }
  if (x.size(3) != filter.size(3)) {
    throw ShapeError(std::string(op) + ": input has " + std::to_string(x.size(3)) + " channels but the filter expects " +
                     std::to_string(filter.size(3)) + " (its last axis): " + ctx());
  }
  check_conv_dtypes(op, x, filter, ctx);
  if (opt.groups != 1) throw ValueError(std::string(op) + ": groups must be 1, got " + std::to_string(opt.groups) + ": " + ctx());
  if (opt.strides[0] < 1 || opt.strides[1] < 1) {
    throw ValueError(std::string(op) + ": strides must be >= 1, got " + pair_str(opt.strides[0], opt.strides[1]) + ": " + ctx());
  }
  if (opt.dilation[0] < 1 || opt.dilation[1] < 1) {
    throw ValueError(std::string(op) + ": dilation must be >= 1, got " + pair_str(opt.dilation[0], opt.dilation[1]) + ": " + ctx());
  }
  // The transposed convolution is the input-gradient of the convolution whose input has the output's
  // shape (tf.nn.conv2d_transpose): that convolution must map output_size back to x's size.
  const kc::Conv2dGeometry g = with_op_context(op, ctx, [&] {
    return kc::make_conv2d_geometry({.batch = x.size(0), .in_h = output_size[0], .in_w = output_size[1],
                                     .in_c = filter.size(2), .k_h = filter.size(0), .k_w = filter.size(1),
                                     .out_c = filter.size(3), .stride_h = opt.strides[0], .stride_w = opt.strides[1],
                                     .dilation_h = opt.dilation[0], .dilation_w = opt.dilation[1],
                                     .padding = opt.padding});
  });
  if (g.out_h != x.size(1) || g.out_w != x.size(2)) {
    throw ShapeError(std::string(op) + ": the output size cannot be met: a convolution of that size with these strides "
                     "and padding gives " + pair_str(g.out_h, g.out_w) + ", not the input's " +
                     pair_str(x.size(1), x.size(2)) + ": " + ctx());
  }
  const DType dt = x.dtype();
  Tensor xc = contiguous(x.detach()), wc = contiguous(filter.detach());
  Tensor y = Tensor::empty({g.batch, g.in_h, g.in_w, g.in_c}, dt);
  if (y.numel() > 0) backward_input_kernel(g, xc, wc, y);
  return record(op, {x, filter}, y, [&] {
    const bool need_x = x.requires_grad(), need_w = filter.requires_grad();
    return [g, dt, need_x, need_w, sx = need_w ? saved(xc) : Tensor(), sw = need_x ? saved(wc) : Tensor()](const Tensor& gy) {
      Tensor dy = dense(gy, dt);
      Tensor dx, dw;
      // The adjoint of the input-gradient is the convolution itself; the filter's gradient is the
      // convolution's filter-gradient with the roles of input (dy) and output (x) as above.
      if (need_x) {
        dx = Tensor::empty({g.batch, g.out_h, g.out_w, g.out_c}, dt);
        if (dx.numel() > 0) forward_kernel(g, dy, sw, dx);
      }
      if (need_w) {
        dw = Tensor::empty({g.k_h, g.k_w, g.in_c, g.out_c}, dt);
        if (dy.numel() > 0) backward_filter_kernel(g, dy, sx, dw);
        else dw.fill_(0);
      }
      return Gradients{dx, dw};
    };
  });
}

Tensor depthwise_conv2d(const Tensor& x, const Tensor& filter, DepthwiseConv2dOptions opt) {
  check_operands("depthwise_conv2d", x, filter);
  const auto ctx = [&] { return "x " + to_string(x.shape()) + ", filter " + to_string(filter.shape()); };
  if (x.dim() != 4) {
    throw ShapeError("depthwise_conv2d: input must be 4-D NHWC [batch, height, width, channels], got rank " +
                     std::to_string(x.dim()) + ": " + ctx());
  }
  if (filter.dim() != 4) {
    throw ShapeError("depthwise_conv2d: filter must be 4-D [height, width, in_channels, depth_multiplier], got rank " +
                     std::to_string(filter.dim()) + ": " + ctx());
  }
  if (x.size(3) != filter.size(2)) {
    throw ShapeError("depthwise_conv2d: input has " + std::to_string(x.size(3)) + " channels but the filter expects " +
                     std::to_string(filter.size(2)) + ": " + ctx());
  }
  // [kh, kw, C, m] is, in memory, the grouped filter [kh, kw, 1, C * m] with C groups: output
  // channel c * m + j reads input channel c (tf.nn.depthwise_conv2d's order).
  Tensor grouped = reshape(filter, {filter.size(0), filter.size(1), 1, filter.size(2) * filter.size(3)});
  return conv2d(x, grouped, {.strides = opt.strides, .padding = opt.padding, .dilation = opt.dilation,
                             .groups = filter.size(2)});
}

Tensor bias_add(const Tensor& x, const Tensor& bias) {
  require_defined("bias_add", x, "input");
  require_defined("bias_add", bias, "bias");
  const auto ctx = [&] { return "x " + to_string(x.shape()) + ", bias " + to_string(bias.shape()); };
  if (x.dim() < 2) throw ShapeError("bias_add: input must be at least 2-D (as tf.nn.bias_add), got " + ctx());
  if (bias.dim() != 1) throw ShapeError("bias_add: bias must be 1-D [channels], got " + ctx());
  if (bias.size(0) != x.size(-1)) {
    throw ShapeError("bias_add: bias has " + std::to_string(bias.size(0)) + " elements but the input has " +
                     std::to_string(x.size(-1)) + " channels (last axis): " + ctx());
  }
  require_same_dtype("bias_add", x, "x", bias, "bias", ctx);
  // Broadcasting add; the engine sums the bias gradient over the leading axes in its central place.
  return add(x, bias);
}

}  // namespace ember
