// Gradient checking: the notes' two-sided difference test.
#include <cmath>
#include <sstream>

#include "ember/autograd/autograd.hpp"

namespace ember {

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          GradcheckOptions options) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype() != f64) {
      throw DTypeError("gradcheck: input " + std::to_string(i) + " must be float64, got " +
                       std::string(dtype_name(inputs[i].dtype())));
    }
    if (!inputs[i].is_leaf()) throw ValueError("gradcheck: input " + std::to_string(i) + " is not a leaf tensor");
  }
  std::vector<bool> had_grad(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    had_grad[i] = inputs[i].requires_grad();
    Tensor(inputs[i]).requires_grad_(true);
    inputs[i].zero_grad();
  }

  // A fixed weighting of the outputs turns f into a scalar function without needing any op here.
  Tensor y = f(inputs);
  if (y.dtype() != f64) throw DTypeError("gradcheck: f must return float64, got " + std::string(dtype_name(y.dtype())));
  Generator wgen(0x9c4ec4ULL);
  Tensor w = rand(y.shape(), {.low = 0.5, .high = 1.5, .dtype = f64, .generator = &wgen});
  std::vector<double> wv = w.to_vector<double>();
  auto weighted = [&](const Tensor& out) {
    std::vector<double> v = out.to_vector<double>();
    double s = 0;
    for (std::size_t i = 0; i < v.size(); ++i) s += v[i] * wv[i];
    return s;
  };
  y.backward(w);

  GradcheckResult r;
  double diff2 = 0, g2 = 0, n2 = 0, worst = -1;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    Tensor grad = x.grad();
    std::vector<double> analytic = grad.defined() ? grad.to_vector<double>() : std::vector<double>(x.numel(), 0.0);
    // Perturb through a contiguous index walk of the (possibly strided) input.
    std::vector<int64_t> idx(x.dim(), 0);
    double* base = static_cast<double*>(x.impl().storage->data());
    for (int64_t k = 0; k < x.numel(); ++k) {
      int64_t off = x.offset();
      for (int d = 0; d < x.dim(); ++d) off += idx[d] * x.strides()[d];
      double orig = base[off];
      double plus, minus;
      {
        autograd::NoGradGuard ng;
        base[off] = orig + options.eps;
        plus = weighted(f(inputs));
        base[off] = orig - options.eps;
        minus = weighted(f(inputs));
        base[off] = orig;
      }
      double numeric = (plus - minus) / (2 * options.eps);
      double a = analytic[static_cast<std::size_t>(k)];
      double d = a - numeric;
      diff2 += d * d;
      g2 += a * a;
      n2 += numeric * numeric;
      if (std::abs(d) > worst) {
        worst = std::abs(d);
        r.worst_input = i;
        r.worst_index = k;
        r.worst_analytic = a;
        r.worst_numeric = numeric;
      }
      for (int d2 = x.dim() - 1; d2 >= 0; --d2) {
        if (++idx[d2] < x.shape()[d2]) break;
        idx[d2] = 0;
      }
    }
  }
  double denom = std::sqrt(g2) + std::sqrt(n2);
  r.relative_error = denom == 0 ? 0 : std::sqrt(diff2) / denom;
  r.passed = r.relative_error < options.tol && std::isfinite(r.relative_error);
  std::ostringstream os;
  os << "gradcheck " << (r.passed ? "passed" : "FAILED") << ": relative error " << r.relative_error << " (tol "
     << options.tol << "); worst element: input " << r.worst_input << " index " << r.worst_index << " analytic "
     << r.worst_analytic << " numeric " << r.worst_numeric;
  r.message = os.str();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    inputs[i].zero_grad();
    if (!had_grad[i]) Tensor(inputs[i]).requires_grad_(false);
  }
  return r;
}

}  // namespace ember
