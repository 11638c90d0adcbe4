#include "ember/optim/ema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/kernels/cpu/optim.hpp"

namespace ember::optim {

namespace {

constexpr const char* kAverage = "/average";
constexpr const char* kDecayProduct = "/decay_product";

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_params(const NamedParams& params, const char* fn) {
  std::set<std::string> seen;
  for (const auto& [name, p] : params) {
    if (!seen.insert(name).second) throw ValueError(std::string("ExponentialMovingAverage.") + fn + ": duplicate name '" + name + "'");
    if (!p.defined()) throw ValueError(std::string("ExponentialMovingAverage.") + fn + ": '" + name + "' is undefined");
    if (p.dtype() != f32 && p.dtype() != f64) {
      throw DTypeError(std::string("ExponentialMovingAverage.") + fn + ": '" + name + "' must be float32 or float64, got " +
                       std::string(dtype_name(p.dtype())));
    }
  }
}

}  // namespace

ExponentialMovingAverage::ExponentialMovingAverage(EMAOptions o) : o_(o) {
  bool ok = std::isfinite(o.decay) && o.decay >= 0 && (o.bias_correction ? o.decay < 1 : o.decay <= 1);
  if (!ok) {
    throw ValueError("ExponentialMovingAverage: decay must be in " + std::string(o.bias_correction ? "[0, 1)" : "[0, 1]") +
                     ", got " + num(o.decay));
  }
}

void ExponentialMovingAverage::update(const NamedParams& params) {
  autograd::NoGradGuard no_grad;
  check_params(params, "update");
  for (const auto& [name, p] : params) {
    auto it = shadows_.find(name);
    if (it != shadows_.end() && it->second.shape() != p.shape()) {
      throw ShapeError("ExponentialMovingAverage.update: '" + name + "' has shape " + to_string(p.shape()) +
                       " but its average has " + to_string(it->second.shape()));
    }
  }
  const double n = static_cast<double>(num_updates_);
  const double d = o_.use_num_updates ? std::min(o_.decay, (1.0 + n) / (10.0 + n)) : o_.decay;
  for (const auto& [name, p] : params) {
    Tensor w = p.contiguous();
    auto it = shadows_.find(name);
    if (it == shadows_.end()) {
      it = shadows_.emplace(name, o_.bias_correction ? zeros(p.shape(), p.dtype()) : w.clone()).first;
      decay_products_[name] = 1.0;
    } else if (it->second.dtype() != p.dtype()) {
      it->second = it->second.to(p.dtype()).contiguous();
    }
    Tensor& s = it->second;
    visit_floating(p.dtype(), "ExponentialMovingAverage", [&]<typename T>() {
      kernels::cpu::ema_update<T>(w.numel(), s.data<T>(), w.data<T>(), T(d));
    });
    decay_products_[name] *= d;
  }
  ++num_updates_;
}

Tensor ExponentialMovingAverage::average(const std::string& name) const {
  auto it = shadows_.find(name);
  if (it == shadows_.end()) {
    throw ValueError("ExponentialMovingAverage: no average for '" + name + "' (update() has not seen it)");
  }
  autograd::NoGradGuard no_grad;
  if (!o_.bias_correction) return it->second.clone();
  const double correction = 1.0 - decay_products_.at(name);
  return correction > 0 ? it->second.div(correction) : it->second.clone();
}

void ExponentialMovingAverage::apply_to(const NamedParams& params) {
  autograd::NoGradGuard no_grad;
  check_params(params, "apply_to");
  if (!backup_.empty()) throw ValueError("ExponentialMovingAverage.apply_to: already applied; call restore() first");
  for (const auto& [name, p] : params) {
    auto it = shadows_.find(name);
    if (it == shadows_.end()) throw ValueError("ExponentialMovingAverage.apply_to: no average for '" + name + "'");
    if (it->second.shape() != p.shape()) {
      throw ShapeError("ExponentialMovingAverage.apply_to: '" + name + "' has shape " + to_string(p.shape()) +
                       " but its average has " + to_string(it->second.shape()));
    }
  }
  for (const auto& [name, p] : params) {
    backup_.emplace(name, p.clone());
    Tensor(p).copy_(average(name));
  }
}

void ExponentialMovingAverage::restore(const NamedParams& params) {
  autograd::NoGradGuard no_grad;
  if (backup_.empty()) throw ValueError("ExponentialMovingAverage.restore: nothing to restore; call apply_to() first");
  for (const auto& [name, p] : params) {
    if (!backup_.count(name)) throw ValueError("ExponentialMovingAverage.restore: '" + name + "' was not applied");
  }
  for (const auto& [name, p] : params) {
    Tensor(p).copy_(backup_.at(name));
    backup_.erase(name);
  }
}

OptimizerState ExponentialMovingAverage::state() const {
  OptimizerState s;
  s.iterations = num_updates_;
  for (const auto& [name, t] : shadows_) {
    s.slots[name + kAverage] = t;
    s.slots[name + kDecayProduct] = scalar_tensor(decay_products_.at(name), f64);
  }
  return s;
}

void ExponentialMovingAverage::load_state(const OptimizerState& s) {
  if (s.iterations < 0) throw ValueError("ExponentialMovingAverage.load_state: iterations must be >= 0");
  std::map<std::string, Tensor> shadows;
  std::map<std::string, double> products;
  for (const auto& [key, t] : s.slots) {
    if (ends_with(key, kAverage)) {
      shadows[key.substr(0, key.size() - std::string(kAverage).size())] = t.contiguous().clone();
    } else if (ends_with(key, kDecayProduct)) {
      products[key.substr(0, key.size() - std::string(kDecayProduct).size())] = t.item<double>();
    } else {
      throw ValueError("ExponentialMovingAverage.load_state: unexpected key '" + key +
                       "' (expected <name>/average or <name>/decay_product)");
    }
  }
  for (const auto& [name, t] : shadows) {
    if (!products.count(name)) throw ValueError("ExponentialMovingAverage.load_state: '" + name + "' has no decay_product");
  }
  shadows_ = std::move(shadows);
  decay_products_ = std::move(products);
  num_updates_ = s.iterations;
  backup_.clear();
}

}  // namespace ember::optim
