// Model::compile / fit / evaluate / predict / train_on_batch / test_on_batch.
#include "ember/train/training.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "ember/autograd/autograd.hpp"
#include "ember/core/threads.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "ember/train/progress.hpp"
#include "keras_h5_training.hpp"

namespace ember::train {

namespace {
// Model::save / load_model (io/) write and read the compiled state through hooks that train/ sets:
// io/ is below train/ and cannot call it directly. Here, in the file that defines compile(), so
// that every program that can compile a model registers them.
[[maybe_unused]] const bool keras_h5_hooks_registered = (detail::register_keras_h5_training(), true);
}  // namespace

OptimizerArg::OptimizerArg(const char* name) : OptimizerArg(std::string(name)) {}
OptimizerArg::OptimizerArg(const std::string& name) {
  // Keras's default learning rates: 0.01 for SGD, 0.001 for the adaptive methods.
  bool sgd_family = name == "sgd" || name == "momentum" || name == "nesterov";
  ptr_ = optim::make_optimizer(name, sgd_family ? 0.01 : 0.001);
}

LossArg::LossArg(const char* name) : LossArg(std::string(name)) {}
LossArg::LossArg(const std::string& name) : ptr_(losses::get(name)) {}

namespace {

struct Data {
  std::vector<Tensor> xs, ys;
  Tensor sample_weight;  // [N] or undefined
  int64_t size() const { return xs.empty() ? 0 : xs[0].size(0); }
};

void validate(const Data& d, const char* what) {
  if (d.xs.empty() || d.ys.empty()) throw ValueError(std::string(what) + ": x and y must not be empty");
  for (const Tensor& t : d.xs) {
    if (!t.defined() || t.dim() == 0) throw ShapeError(std::string(what) + ": inputs need a batch axis");
  }
  int64_t n = d.xs[0].size(0);
  for (const Tensor& t : d.xs) {
    if (t.size(0) != n) {
      throw ValueError(std::string(what) + ": inputs have different numbers of samples (" + std::to_string(n) +
                       " and " + std::to_string(t.size(0)) + ")");
    }
  }
  for (const Tensor& t : d.ys) {
    if (!t.defined() || t.dim() == 0 || t.size(0) != n) {
      throw ValueError(std::string(what) + ": x has " + std::to_string(n) + " samples but y has " +
                       (t.defined() && t.dim() > 0 ? std::to_string(t.size(0)) : std::string("none")));
    }
  }
  if (d.sample_weight.defined() && (d.sample_weight.dim() != 1 || d.sample_weight.size(0) != n)) {
    throw ShapeError(std::string(what) + ": sample_weight must have shape [" + std::to_string(n) + "], got " +
                     to_string(d.sample_weight.shape()));
  }
}

// The rows `idx` of d into b (b's vectors are reused).
void take_into(Data& b, const Data& d, const Tensor& idx) {
  b.xs.clear();
  b.ys.clear();
  for (const Tensor& x : d.xs) b.xs.push_back(gather(x, idx, 0));
  for (const Tensor& y : d.ys) b.ys.push_back(gather(y, idx, 0));
  b.sample_weight = d.sample_weight.defined() ? gather(d.sample_weight, idx, 0) : Tensor();
}

Data slice_rows(const Data& d, int64_t begin, int64_t end) {
  Data b;
  for (const Tensor& x : d.xs) b.xs.push_back(slice(x, 0, begin, end));
  for (const Tensor& y : d.ys) b.ys.push_back(slice(y, 0, begin, end));
  if (d.sample_weight.defined()) b.sample_weight = slice(d.sample_weight, 0, begin, end);
  return b;
}

TrainingState& state_of(nn::Model& m) {
  if (!m.training_state()) {
    throw ValueError("model '" + m.name() + "' must be compiled (model.compile(...)) before training or evaluation");
  }
  return *m.training_state();
}

// "accuracy" is resolved by metrics::get from the loss (or, without one, from the shapes of the
// first batch) and keeps the name "accuracy", as Keras reports it.
std::vector<metrics::MetricPtr> make_metrics(const TrainingState& st) {
  std::vector<metrics::MetricPtr> out;
  for (const std::string& name : st.metric_names) out.push_back(metrics::get(name, st.losses[0].get()));
  return out;
}

// The mask the last forward pass gave output i (undefined: none).
const Tensor& output_mask(const nn::Model& model, std::size_t i) {
  static const Tensor none;
  const std::vector<Tensor>& masks = model.output_masks();
  return i < masks.size() ? masks[i] : none;
}

// Loss of one batch: weighted sum over outputs plus the model's regularization penalties. An output
// with a mask (Model::output_masks) leaves its masked steps out, as Keras (losses.hpp, item 4).
Tensor batch_loss(nn::Model& model, const TrainingState& st, const std::vector<Tensor>& outs, const Data& b) {
  if (outs.size() != b.ys.size()) {
    throw ValueError("model '" + model.name() + "' has " + std::to_string(outs.size()) + " outputs but " +
                     std::to_string(b.ys.size()) + " targets were given");
  }
  Tensor total;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const auto& loss = st.losses[std::min(i, st.losses.size() - 1)];
    Tensor l = (*loss)(b.ys[i], outs[i], b.sample_weight, output_mask(model, i));
    double w = i < st.loss_weights.size() ? st.loss_weights[i] : 1.0;
    if (w != 1.0) l = l * w;
    total = total.defined() ? total + l : l;
  }
  Tensor reg = model.regularization_loss();
  if (reg.defined()) total = total + reg.to(total.dtype());
  return total;
}

Tensor class_weights_for(const Tensor& y, const std::map<int64_t, double>& cw) {
  Tensor labels = y;
  if (y.dim() >= 2 && y.size(-1) > 1) labels = argmax(y, -1);
  std::vector<int64_t> ids = labels.to_vector<int64_t>();
  std::vector<double> w(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto it = cw.find(ids[i]);
    w[i] = it == cw.end() ? 1.0 : it->second;
  }
  return from_vector(w, {static_cast<int64_t>(w.size())}, f32);
}

// The trainable (name, tensor) list for the optimizer. The walk over the weights allocates nothing;
// the names are only built again when the weights or their trainability changed since the last step.
const optim::NamedParams& trainable_params(nn::Model& model, TrainingState& st) {
  st.step_walk.clear();
  model.collect_weights(st.step_walk);
  const bool same = std::equal(st.step_walk.begin(), st.step_walk.end(), st.step_weights.begin(),
                               st.step_weights.end(), [](const auto& a, const auto& b) {
                                 return a.weight == b.weight && a.trainable == b.trainable;
                               });
  if (!same) {
    st.step_params.clear();
    for (const auto& w : model.trainable_weights()) st.step_params.push_back({w.name, w.weight->value()});
    st.step_weights = st.step_walk;
  } else {
    std::size_t k = 0;
    for (const auto& e : st.step_walk) {
      if (e.trainable) st.step_params[k++].second = e.weight->value();
    }
  }
  return st.step_params;
}

// Drops every weight's gradient (the walk of this step's trainable_params).
void clear_grads(TrainingState& st) {
  for (const auto& e : st.step_walk) e.weight->value().zero_grad();
}

// Copies each tensor of `from` into `to` (resized to match; a buffer of the right shape and dtype
// is reused, so a steady state allocates nothing).
void copy_into(std::vector<Tensor>& to, const std::vector<const Tensor*>& from) {
  to.resize(from.size());
  for (std::size_t k = 0; k < from.size(); ++k) {
    const Tensor& t = *from[k];
    if (!to[k].defined() || to[k].shape() != t.shape() || to[k].dtype() != t.dtype()) to[k] = Tensor::empty(t.shape(), t.dtype());
    to[k].copy_(t);
  }
}

// The global L2 norm of the trainable weights' gradients, accumulated in double.
double gradient_norm(const optim::NamedParams& params) {
  double sq = 0;
  for (const auto& [name, w] : params) {
    Tensor g = w.grad();
    if (!g.defined()) continue;
    if (!g.is_contiguous()) g = g.contiguous();
    const int64_t n = g.numel();
    if (g.dtype() == f64) {
      const double* p = g.data<double>();
      for (int64_t i = 0; i < n; ++i) sq += p[i] * p[i];
    } else {
      const Tensor gf = g.dtype() == f32 ? g : g.to(f32);
      const float* p = gf.data<float>();
      for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(p[i]) * p[i];
    }
  }
  return std::sqrt(sq);
}

// SAMOptions' first pass: the gradient on (the first part of) the batch, then each trainable weight
// moved by rho * g / ||g||, with copies kept to restore them (restore_after_sam). The first pass's
// changes to non-trainable weights (batch norm's moving statistics) are undone here.
void move_to_sam_point(nn::Model& model, TrainingState& st, const Data& b) {
  const SAMOptions& sam = *st.sam;
  const optim::NamedParams& params = trainable_params(model, st);  // also refreshes st.step_walk
  std::vector<const Tensor*> others;
  for (const auto& e : st.step_walk) {
    if (!e.trainable) others.push_back(&e.weight->value());
  }
  {
    autograd::NoGradGuard no_grad;
    copy_into(st.sam_saved_other, others);
  }
  const int64_t n = b.size();
  const int64_t m = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(sam.ascent_fraction * static_cast<double>(n))), 1, n);
  {
    std::vector<Tensor> outs;
    if (m < n) {
      Data part = slice_rows(b, 0, m);
      model.forward_into(part.xs, true, outs);
      batch_loss(model, st, outs, part).backward();
    } else {
      model.forward_into(b.xs, true, outs);
      batch_loss(model, st, outs, b).backward();
    }
  }
  autograd::NoGradGuard no_grad;
  std::vector<const Tensor*> weights;
  for (const auto& [name, w] : params) weights.push_back(&w);
  copy_into(st.sam_saved_trainable, weights);
  const double norm = gradient_norm(params);
  if (norm > 0 && std::isfinite(norm)) {
    const double scale = sam.rho / norm;
    for (const auto& [name, w] : params) {
      const Tensor g = w.grad();
      if (g.defined()) Tensor(w).add_(g, scale);
    }
  }
  clear_grads(st);
  for (std::size_t k = 0; k < others.size(); ++k) Tensor(*others[k]).copy_(st.sam_saved_other[k]);
}

// The trainable weights back where move_to_sam_point found them, bit for bit.
void restore_after_sam(nn::Model& model, TrainingState& st) {
  autograd::NoGradGuard no_grad;
  const optim::NamedParams& params = trainable_params(model, st);
  for (std::size_t k = 0; k < params.size(); ++k) Tensor(params[k].second).copy_(st.sam_saved_trainable[k]);
}

// One optimisation step; returns the batch's mean loss.
double train_step(nn::Model& model, TrainingState& st, const Data& b) {
  adapt_num_threads();  // between batches: follow the cores other processes leave free
  if (st.sam) move_to_sam_point(model, st, b);
  std::vector<Tensor>& outs = st.step_outputs;
  model.forward_into(b.xs, true, outs);
  if (st.metrics.empty() && !st.metric_names.empty()) st.metrics = make_metrics(st);
  Tensor loss = batch_loss(model, st, outs, b);
  double value = loss.item<double>();
  loss.backward();
  if (st.sam) restore_after_sam(model, st);
  st.optimizer->step(trainable_params(model, st));
  clear_grads(st);
  autograd::NoGradGuard no_grad;
  if (!st.metrics.empty()) {
    const Tensor w = losses::masked_sample_weight(output_mask(model, 0), b.sample_weight, "metrics");
    for (auto& m : st.metrics) m->update_state(b.ys[0], outs[0].detach(), w);
  }
  outs.clear();  // keeps no activation alive between steps
  return value;
}

// Loss (weighted by batch size, as Keras's loss mean) and metrics over a sequence of batches.
struct Evaluation {
  nn::Model& model;
  TrainingState& st;
  std::vector<metrics::MetricPtr> ms;
  double total = 0;
  int64_t n = 0;

  void add(const Data& b) {
    std::vector<Tensor> outs = model.forward(b.xs, false);
    if (ms.empty() && !st.metric_names.empty()) ms = make_metrics(st);
    total += batch_loss(model, st, outs, b).item<double>() * static_cast<double>(b.size());
    n += b.size();
    if (ms.empty()) return;
    const Tensor w = losses::masked_sample_weight(output_mask(model, 0), b.sample_weight, "metrics");
    for (auto& m : ms) m->update_state(b.ys[0], outs[0], w);
  }
  std::map<std::string, double> logs() const {
    std::map<std::string, double> out{{"loss", n > 0 ? total / static_cast<double>(n) : 0.0}};
    for (auto& m : ms) out[m->name()] = m->result();
    return out;
  }
};

// FitOptions::x_transform on every input of b (nothing when unset).
void transform_inputs(Data& b, const std::function<Tensor(const Tensor&)>& x_transform) {
  if (!x_transform) return;
  for (Tensor& x : b.xs) x = x_transform(x);
}

std::map<std::string, double> run_evaluation(nn::Model& model, TrainingState& st, const Data& d, int64_t batch_size,
                                             const std::function<Tensor(const Tensor&)>& x_transform = nullptr) {
  autograd::NoGradGuard no_grad;
  if (batch_size <= 0) throw ValueError("evaluate: batch_size must be positive, got " + std::to_string(batch_size));
  Evaluation ev{model, st};
  int64_t n = d.size();
  for (int64_t start = 0; start < n; start += batch_size) {
    adapt_num_threads();
    Data b = slice_rows(d, start, std::min(n, start + batch_size));
    transform_inputs(b, x_transform);
    ev.add(b);
  }
  return ev.logs();
}

// ---- Datasets (data/dataset.hpp)

void check_steps(const std::optional<int64_t>& steps, const char* what) {
  if (steps && *steps < 1) throw ValueError(std::string(what) + " must be >= 1 when set, got " + std::to_string(*steps));
}

// A fit/evaluate batch from a Dataset element (x, y[, sample_weight]).
Data batch_of(data::Element& e, const char* what) {
  if (e.size() != 2 && e.size() != 3) {
    throw ValueError(std::string(what) + ": expected Dataset elements (x, y) or (x, y, sample_weight), got " +
                     std::to_string(e.size()) + " component(s)");
  }
  Data b{{std::move(e[0])}, {std::move(e[1])}, e.size() == 3 ? std::move(e[2]) : Tensor()};
  validate(b, what);
  return b;
}

// Batches over `steps` (or the whole pass), from a new pass of ds.
std::map<std::string, double> run_evaluation(nn::Model& model, TrainingState& st, const data::Dataset& ds,
                                             const std::optional<int64_t>& steps, const char* what,
                                             const std::function<Tensor(const Tensor&)>& x_transform = nullptr) {
  autograd::NoGradGuard no_grad;
  Evaluation ev{model, st};
  data::Iterator it = ds.iterate();
  for (int64_t step = 0; !steps || step < *steps; ++step) {
    std::optional<data::Element> e = it.next();
    if (!e) break;
    adapt_num_threads();
    Data b = batch_of(*e, what);
    transform_inputs(b, x_transform);
    ev.add(b);
  }
  if (ev.n == 0) throw ValueError(std::string(what) + ": the Dataset yielded no batch");
  return ev.logs();
}

// fit's validation on FitOptions::validation_dataset: a new pass each time.
std::function<callbacks::Logs()> dataset_validation(nn::Model& model, TrainingState& st, const FitOptions& o) {
  check_steps(o.validation_steps, "fit: validation_steps");
  return [&model, &st, &o] { return run_evaluation(model, st, *o.validation_dataset, o.validation_steps, "fit (validation_dataset)", o.x_transform); };
}

// Where fit's batches come from.
struct BatchSource {
  virtual ~BatchSource() = default;
  // Starts an epoch; returns its number of batches (-1: until the data ends).
  virtual int64_t begin_epoch() = 0;
  // The next batch into b; false when there is none.
  virtual bool next(Data& b) = 0;
  // Whether the data ran out before the steps asked for (training then stops).
  virtual bool ran_out() const { return false; }
};

// Rows of tensors, in a new order each epoch when shuffling.
struct TensorBatches final : BatchSource {
  const Data& data;
  int64_t batch_size;
  bool shuffle;
  Generator& gen;
  Tensor order;
  int64_t step = 0;
  TensorBatches(const Data& d, int64_t bs, bool sh, Generator& g) : data(d), batch_size(bs), shuffle(sh), gen(g) {}
  int64_t steps() const { return (data.size() + batch_size - 1) / batch_size; }
  int64_t begin_epoch() override {
    const int64_t n = data.size();
    order = shuffle ? randperm(n, &gen) : arange(n);
    step = 0;
    return steps();
  }
  bool next(Data& b) override {
    if (step >= steps()) return false;
    const int64_t n = data.size();
    take_into(b, data, order.slice(0, step * batch_size, std::min(n, (step + 1) * batch_size)));
    ++step;
    return true;
  }
};

// A Dataset's batches with Keras 2's steps_per_epoch rule (train::FitOptions).
struct DatasetBatches final : BatchSource {
  const data::Dataset& ds;
  std::optional<int64_t> steps_per_epoch;
  const std::map<int64_t, double>& class_weight;
  bool recreate;  // a new pass every epoch
  std::optional<data::Iterator> it;
  bool out = false;
  DatasetBatches(const data::Dataset& d, std::optional<int64_t> spe, const std::map<int64_t, double>& cw)
      : ds(d), steps_per_epoch(spe), class_weight(cw), recreate(!spe || *spe == d.cardinality()) {}
  int64_t begin_epoch() override {
    if (recreate || !it) it.emplace(ds.iterate());
    if (steps_per_epoch) return *steps_per_epoch;
    const int64_t n = ds.cardinality();
    return n >= 0 ? n : -1;
  }
  bool next(Data& b) override {
    std::optional<data::Element> e = it->next();
    if (!e) {
      out = steps_per_epoch.has_value();
      return false;
    }
    b = batch_of(*e, "fit");
    if (!class_weight.empty()) {
      Tensor cw = class_weights_for(b.ys[0], class_weight);
      b.sample_weight = b.sample_weight.defined() ? b.sample_weight.to(f32) * cw : cw;
    }
    return true;
  }
  bool ran_out() const override { return out; }
};


// fit's loop over epochs and batches, for tensors and Datasets alike: callbacks, progress, the
// checkpoint-resume state, validation after each epoch (when `validation` is set).
callbacks::History run_fit(nn::Model& model, TrainingState& st, const FitOptions& o, BatchSource& batches,
                           const std::function<callbacks::Logs()>& validation) {
  static const char* const ran_out_warning =
      "WARNING: fit: the input ran out of data; interrupting training. Make sure that the dataset can generate "
      "at least steps_per_epoch * epochs batches (use repeat()).\n";
  auto history = std::make_shared<callbacks::History>();
  std::vector<callbacks::CallbackPtr> cbs{history};
  for (const auto& c : o.callbacks) cbs.push_back(c.ptr());
  for (auto& c : cbs) c->set_model(&model);
  ProgressBar bar(stdout, o.verbose);

  // A restored checkpoint's fit state (train/saver.hpp) is consumed here, checked before anything runs.
  std::optional<FitResume> resume = std::move(st.resume);
  st.resume.reset();
  int first_epoch = o.initial_epoch;
  if (resume) {
    if (o.initial_epoch != 0 && o.initial_epoch != resume->next_epoch) {
      throw ValueError("fit: initial_epoch is " + std::to_string(o.initial_epoch) + " but the restored checkpoint continues at epoch " +
                       std::to_string(resume->next_epoch) + " (leave initial_epoch at 0)");
    }
    if (resume->generator_state.has_value() != (o.generator != nullptr)) {
      throw ValueError(resume->generator_state ? "fit: the restored checkpoint's run shuffled with its own generator; pass FitOptions::generator"
                                               : "fit: the restored checkpoint's run shuffled with the default generator, but FitOptions::generator is set");
    }
    first_epoch = resume->next_epoch;
    if (resume->generator_state) o.generator->set_state(*resume->generator_state);
  }
  st.progress = FitProgress{.active = true, .next_epoch = first_epoch, .batch = 0, .history = history,
                                   .callbacks = {cbs.begin() + 1, cbs.end()},
                                   .generator_state = o.generator ? std::optional(o.generator->state()) : std::nullopt};

  model.stop_training = false;
  bool seen_any = false;  // a batch was trained on
  callbacks::Logs logs;
  for (auto& c : cbs) c->on_train_begin(logs);
  if (resume) {
    history->epoch = resume->epochs;
    history->history = resume->history;
    std::map<std::string, int> seen_classes;
    std::map<std::string, callbacks::CallbackPtr> by_key;
    for (std::size_t i = 1; i < cbs.size(); ++i) {
      std::string cls = cbs[i]->class_name();
      by_key[cls + "#" + std::to_string(seen_classes[cls]++)] = cbs[i];
    }
    for (const auto& [key, state] : resume->callbacks) {
      auto it = by_key.find(key);
      if (it == by_key.end()) {
        throw ValueError("fit: the restored checkpoint holds the state of callback " + key + ", but this fit has no such callback");
      }
      it->second->set_state(state);
    }
    model.stop_training = resume->stopped;
  }
  for (int epoch = first_epoch; epoch < o.epochs && !model.stop_training; ++epoch) {
    for (auto& c : cbs) c->on_epoch_begin(epoch, logs);
    for (auto& m : st.metrics) m->reset_state();
    const int64_t steps = batches.begin_epoch();
    bar.begin_epoch(epoch, o.epochs, steps);
    double loss_sum = 0;
    int64_t seen = 0;
    // The batch and its logs are updated in place each step (same keys every step), so a step
    // allocates nothing once warmed up.
    callbacks::Logs batch_logs;
    Data b;
    bool got_batch = false;  // in this epoch
    for (int64_t step = 0; steps < 0 || step < steps; ++step) {
      if (!batches.next(b)) break;
      transform_inputs(b, o.x_transform);
      got_batch = true;
      for (auto& c : cbs) c->on_train_batch_begin(static_cast<int>(step), batch_logs);
      double l = train_step(model, st, b);
      st.progress.batch = step + 1;  // a checkpoint now would be mid-epoch (refused, train/saver.hpp)
      loss_sum += l * static_cast<double>(b.size());
      seen += b.size();
      batch_logs["loss"] = loss_sum / static_cast<double>(seen);
      for (auto& m : st.metrics) batch_logs[m->name()] = m->result();
      if (std::isfinite(l)) {
        for (auto& c : cbs) c->on_train_batch_end(static_cast<int>(step), batch_logs);
      } else {
        callbacks::Logs this_batch = batch_logs;
        this_batch["batch_loss"] = l;
        for (auto& c : cbs) c->on_train_batch_end(static_cast<int>(step), this_batch);
      }
      bar.update(step + 1, batch_logs);
      if (model.stop_training) break;
    }
    if (!got_batch && steps != 0) {
      // No batch this epoch: no data at all, or a dataset that ran out exactly at the end of the
      // last epoch (training then stops, as below).
      if (!seen_any) throw ValueError("fit: the data yielded no batch");
      std::fprintf(stderr, "%s", ran_out_warning);
      break;
    }
    seen_any = true;
    logs = batch_logs;
    if (validation) {
      for (const auto& [k, v] : validation()) logs["val_" + k] = v;
    }
    logs["lr"] = st.optimizer->current_learning_rate();
    st.progress.next_epoch = epoch + 1;
    st.progress.batch = 0;
    if (o.generator) st.progress.generator_state = o.generator->state();
    for (auto& c : cbs) c->on_epoch_end(epoch, logs);
    bar.end_epoch(logs);
    if (batches.ran_out()) {
      std::fprintf(stderr, "%s", ran_out_warning);
      break;
    }
  }
  // Keras 3: with use_ema the weights become their averages when training ends, before on_train_end.
  if (seen_any) st.optimizer->finalize_variable_values(trainable_params(model, st));
  for (auto& c : cbs) c->on_train_end(logs);
  return *history;
}

}  // namespace

namespace {

void collect_batch_norms(nn::Layer& layer, std::vector<nn::BatchNormalization*>& out) {
  if (auto* bn = dynamic_cast<nn::BatchNormalization*>(&layer)) {
    if (std::find(out.begin(), out.end(), bn) == out.end()) out.push_back(bn);
  }
  for (const nn::LayerPtr& sub : layer.sublayers()) collect_batch_norms(*sub, out);
}

}  // namespace

void update_bn(nn::Model& model, const Tensor& x, int64_t batch_size) {
  if (batch_size < 1) throw ValueError("update_bn: batch_size must be at least 1, got " + std::to_string(batch_size));
  if (!x.defined() || x.dim() < 1 || x.size(0) < 1) throw ValueError("update_bn: expected inputs with at least one row");
  std::vector<nn::BatchNormalization*> layers;
  collect_batch_norms(model, layers);
  // Layers that keep their statistics in training mode: frozen ones (inference mode, as Keras),
  // and momentum 1 (the moving values never move).
  std::erase_if(layers, [](nn::BatchNormalization* bn) { return !bn->trainable() || bn->options().momentum >= 1.0; });
  if (layers.empty()) return;
  autograd::NoGradGuard no_grad;
  struct Sums {
    nn::Weight* mean;
    nn::Weight* variance;
    Tensor mean_sum, variance_sum, mean_before, variance_before;
  };
  std::vector<Sums> sums;
  for (nn::BatchNormalization* bn : layers) {
    bn->materialize_weights();
    Tensor& mean = bn->find_weight("moving_mean")->value();
    Tensor& variance = bn->find_weight("moving_variance")->value();
    sums.push_back({bn->find_weight("moving_mean"), bn->find_weight("moving_variance"), zeros_like(mean), zeros_like(variance),
                    mean.clone(), variance.clone()});
  }
  const int64_t n = x.size(0);
  try {
    for (int64_t start = 0; start < n; start += batch_size) {
      const int64_t end = std::min(n, start + batch_size);
      // From zero, one training-mode call leaves moving = (1 - momentum) * the batch's statistic.
      for (Sums& s : sums) {
        s.mean->value().fill_(0);
        s.variance->value().fill_(0);
      }
      model.call({slice(x, 0, start, end)}, true);
      const double rows = static_cast<double>(end - start);
      for (std::size_t i = 0; i < sums.size(); ++i) {
        const double scale = rows / (1.0 - layers[i]->options().momentum);
        sums[i].mean_sum = sums[i].mean_sum + sums[i].mean->value() * scale;
        sums[i].variance_sum = sums[i].variance_sum + sums[i].variance->value() * scale;
      }
    }
  } catch (...) {
    // Bad input (a shape the model refuses): the statistics go back to what they were.
    for (Sums& s : sums) {
      s.mean->value().copy_(s.mean_before);
      s.variance->value().copy_(s.variance_before);
    }
    throw;
  }
  // The mean of the batch statistics, each batch weighted by its rows.
  for (Sums& s : sums) {
    s.mean->value().copy_(s.mean_sum / static_cast<double>(n));
    s.variance->value().copy_(s.variance_sum / static_cast<double>(n));
  }
}

}  // namespace ember::train

namespace ember::nn {

using train::Data;

void Model::compile(const train::CompileOptions& o) {
  auto st = std::make_shared<train::TrainingState>();
  st->optimizer = o.optimizer.ptr();
  if (!st->optimizer) throw ValueError("compile: an optimizer is required");
  if (!o.losses.empty()) {
    for (const auto& l : o.losses) st->losses.push_back(l.ptr());
  } else if (o.loss.ptr()) {
    st->losses.push_back(o.loss.ptr());
  }
  if (st->losses.empty()) throw ValueError("compile: a loss is required");
  for (const auto& l : st->losses) {
    if (!l) throw ValueError("compile: empty loss");
  }
  if (!o.losses.empty() && o.losses.size() != num_outputs()) {
    throw ValueError("compile: " + std::to_string(o.losses.size()) + " losses for a model with " +
                     std::to_string(num_outputs()) + " outputs");
  }
  if (!o.loss_weights.empty() && o.loss_weights.size() != num_outputs()) {
    throw ValueError("compile: " + std::to_string(o.loss_weights.size()) + " loss_weights for a model with " +
                     std::to_string(num_outputs()) + " outputs");
  }
  st->loss_weights = o.loss_weights;
  st->metric_names = o.metrics;
  if (o.sam) {
    if (!(o.sam->rho > 0) || !std::isfinite(o.sam->rho)) {
      throw ValueError("compile: sam.rho must be a finite number > 0, got " + std::to_string(o.sam->rho));
    }
    if (!(o.sam->ascent_fraction > 0 && o.sam->ascent_fraction <= 1)) {
      throw ValueError("compile: sam.ascent_fraction must be in (0, 1], got " + std::to_string(o.sam->ascent_fraction));
    }
    st->sam = o.sam;
  }
  // Unknown metric names fail here, not in the middle of training.
  for (const std::string& m : o.metrics) metrics::get(m, st->losses[0].get());
  // Training needs every weight: refuse a model over the parameter memory budget here, before
  // anything is allocated, rather than be killed for it in the middle of the first step.
  materialize_weights();
  training_ = std::move(st);
}

callbacks::History Model::fit(const Tensor& x, const Tensor& y, const train::FitOptions& o) {
  return fit(std::vector<Tensor>{x}, std::vector<Tensor>{y}, o);
}

callbacks::History Model::fit(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const train::FitOptions& o) {
  train::TrainingState& st = train::state_of(*this);
  materialize_weights();  // a model built after compile() (no Input) is checked here
  if (o.batch_size <= 0) throw ValueError("fit: batch_size must be positive, got " + std::to_string(o.batch_size));
  if (o.epochs < 0 || o.initial_epoch < 0) throw ValueError("fit: epochs and initial_epoch must be >= 0");
  if (!(o.validation_split >= 0 && o.validation_split < 1)) {
    throw ValueError("fit: validation_split must be in [0, 1), got " + std::to_string(o.validation_split));
  }
  if (o.steps_per_epoch || o.validation_steps) {
    throw ValueError("fit: steps_per_epoch and validation_steps are supported with a data::Dataset only, not with tensors");
  }
  if (o.validation_dataset && (o.validation_data || o.validation_split > 0)) {
    throw ValueError("fit: give validation_dataset, validation_data or validation_split, not several");
  }
  Data all{xs, ys, o.sample_weight};
  train::validate(all, "fit");
  if (!o.class_weight.empty()) {
    Tensor cw = train::class_weights_for(ys[0], o.class_weight);
    all.sample_weight = all.sample_weight.defined() ? all.sample_weight.to(f32) * cw : cw;
  }

  Data train_data = all;
  std::optional<Data> val;
  if (o.validation_data) {
    val = Data{{o.validation_data->first}, {o.validation_data->second}, Tensor()};
    train::validate(*val, "fit (validation_data)");
  } else if (o.validation_split > 0) {
    int64_t n = all.size();
    int64_t split_at = static_cast<int64_t>(std::floor(static_cast<double>(n) * (1.0 - o.validation_split)));
    if (split_at <= 0 || split_at >= n) {
      throw ValueError("fit: validation_split " + std::to_string(o.validation_split) + " leaves no training or no validation samples out of " + std::to_string(n));
    }
    train_data = train::slice_rows(all, 0, split_at);
    val = train::slice_rows(all, split_at, n);
  }
  train::TensorBatches batches(train_data, o.batch_size, o.shuffle, o.generator ? *o.generator : default_generator());
  std::function<callbacks::Logs()> validation;
  if (val) validation = [&] { return train::run_evaluation(*this, st, *val, o.batch_size, o.x_transform); };
  if (o.validation_dataset) validation = train::dataset_validation(*this, st, o);
  return train::run_fit(*this, st, o, batches, validation);
}

callbacks::History Model::fit(const data::Dataset& dataset, const train::FitOptions& o) {
  train::TrainingState& st = train::state_of(*this);
  materialize_weights();
  if (o.epochs < 0 || o.initial_epoch < 0) throw ValueError("fit: epochs and initial_epoch must be >= 0");
  if (o.validation_split > 0) {
    throw ValueError("fit: validation_split is not supported with a data::Dataset (nor in Keras); use validation_dataset");
  }
  if (o.validation_data && o.validation_dataset) throw ValueError("fit: give validation_data or validation_dataset, not both");
  if (o.sample_weight.defined()) {
    throw ValueError("fit: sample_weight cannot be given with a data::Dataset; yield (x, y, sample_weight) batches");
  }
  if (o.validation_steps && !o.validation_dataset) throw ValueError("fit: validation_steps needs a validation_dataset");
  train::check_steps(o.steps_per_epoch, "fit: steps_per_epoch");
  train::check_steps(o.validation_steps, "fit: validation_steps");
  if (dataset.cardinality() == 0) throw ValueError("fit: the Dataset is empty");
  if (!o.steps_per_epoch && dataset.cardinality() == data::kInfiniteCardinality) {
    throw ValueError("fit: the Dataset is infinite (repeat() without a count): set steps_per_epoch");
  }
  if (st.resume) {
    throw ValueError("fit: a restored checkpoint cannot be continued with a data::Dataset (the pipeline's position is "
                     "not saved); resume with tensors, or compile() again to start afresh");
  }
  train::DatasetBatches batches(dataset, o.steps_per_epoch, o.class_weight);
  std::function<callbacks::Logs()> validation;
  std::optional<Data> val;
  if (o.validation_data) {
    val = Data{{o.validation_data->first}, {o.validation_data->second}, Tensor()};
    train::validate(*val, "fit (validation_data)");
    validation = [&] { return train::run_evaluation(*this, st, *val, o.batch_size, o.x_transform); };
  }
  if (o.validation_dataset) validation = train::dataset_validation(*this, st, o);
  return train::run_fit(*this, st, o, batches, validation);
}

std::map<std::string, double> Model::evaluate(const Tensor& x, const Tensor& y, const train::EvaluateOptions& o) {
  return evaluate(std::vector<Tensor>{x}, std::vector<Tensor>{y}, o);
}

std::map<std::string, double> Model::evaluate(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys,
                                              const train::EvaluateOptions& o) {
  train::TrainingState& st = train::state_of(*this);
  materialize_weights();  // a model built after compile() (no Input) is checked here
  if (o.steps) throw ValueError("evaluate: steps is supported with a data::Dataset only, not with tensors");
  Data d{xs, ys, o.sample_weight};
  train::validate(d, "evaluate");
  auto logs = train::run_evaluation(*this, st, d, o.batch_size);
  if (o.verbose) std::printf("%s\n", train::format_logs(logs).substr(3).c_str());
  return logs;
}

Tensor Model::predict(const Tensor& x, const train::PredictOptions& o) {
  if (o.batch_size <= 0) throw ValueError("predict: batch_size must be positive, got " + std::to_string(o.batch_size));
  if (!x.defined() || x.dim() == 0) throw ShapeError("predict: input needs a batch axis");
  if (o.steps) throw ValueError("predict: steps is supported with a data::Dataset only, not with tensors");
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += o.batch_size) {
    adapt_num_threads();
    parts.push_back(forward({slice(x, 0, start, std::min(x.size(0), start + o.batch_size))}, false)[0]);
  }
  if (parts.empty()) return forward({x}, false)[0];
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

std::map<std::string, double> Model::train_on_batch(const Tensor& x, const Tensor& y) {
  std::map<std::string, double> logs;
  train_on_batch(x, y, logs);
  return logs;
}

void Model::train_on_batch(const Tensor& x, const Tensor& y, std::map<std::string, double>& logs) {
  train::TrainingState& st = train::state_of(*this);
  materialize_weights();  // a model built after compile() (no Input) is checked here
  // The batch's lists are the state's, lent for the call (and returned emptied, also on an error).
  struct Lend {
    Data b;
    train::TrainingState& st;
    ~Lend() {
      b.xs.clear();
      b.ys.clear();
      st.step_xs.swap(b.xs);
      st.step_ys.swap(b.ys);
    }
  } lend{Data{}, st};
  Data& b = lend.b;
  b.xs.swap(st.step_xs);
  b.ys.swap(st.step_ys);
  b.xs.push_back(x);
  b.ys.push_back(y);
  train::validate(b, "train_on_batch");
  for (auto& m : st.metrics) m->reset_state();
  logs["loss"] = train::train_step(*this, st, b);
  for (auto& m : st.metrics) logs[m->name()] = m->result();
}

std::map<std::string, double> Model::test_on_batch(const Tensor& x, const Tensor& y) {
  train::TrainingState& st = train::state_of(*this);
  materialize_weights();  // a model built after compile() (no Input) is checked here
  Data b{{x}, {y}, Tensor()};
  train::validate(b, "test_on_batch");
  return train::run_evaluation(*this, st, b, std::max<int64_t>(b.size(), 1));
}

std::map<std::string, double> Model::evaluate(const data::Dataset& dataset, const train::EvaluateOptions& o) {
  train::TrainingState& st = train::state_of(*this);
  materialize_weights();
  train::check_steps(o.steps, "evaluate: steps");
  if (o.sample_weight.defined()) {
    throw ValueError("evaluate: sample_weight cannot be given with a data::Dataset; yield (x, y, sample_weight) batches");
  }
  auto logs = train::run_evaluation(*this, st, dataset, o.steps, "evaluate");
  if (o.verbose) std::printf("%s\n", train::format_logs(logs).substr(3).c_str());
  return logs;
}

Tensor Model::predict(const data::Dataset& dataset, const train::PredictOptions& o) {
  train::check_steps(o.steps, "predict: steps");
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> parts;
  data::Iterator it = dataset.iterate();
  for (int64_t step = 0; !o.steps || step < *o.steps; ++step) {
    std::optional<data::Element> e = it.next();
    if (!e) break;
    if (e->empty()) throw ValueError("predict: the Dataset's elements have no component");
    const Tensor& x = (*e)[0];
    if (!x.defined() || x.dim() == 0) throw ShapeError("predict: the Dataset's x needs a batch axis");
    adapt_num_threads();
    parts.push_back(forward({x}, false)[0]);
  }
  if (parts.empty()) throw ValueError("predict: the Dataset yielded no batch");
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

}  // namespace ember::nn
