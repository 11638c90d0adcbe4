// Optimizer trajectories against tests/fixtures/optim_trajectories.json (Keras formulas; produced by
// tests/fixtures/gen/gen_optim.py with PyTorch where it runs the Keras algorithm, NumPy otherwise),
// plus state, naming and bad-input behaviour.
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace ember {
namespace {

using nlohmann::json;
using optim::NamedParams;

const json& fixture() {
  static const json j = [] {
    std::ifstream in(std::string(EMBER_FIXTURE_DIR) + "/optim_trajectories.json");
    if (!in) throw IOError("cannot open optim_trajectories.json");
    return json::parse(in);
  }();
  return j;
}

Tensor tensor_of(const json& t, DType dtype = f64) {
  return from_vector(t.at("data").get<std::vector<double>>(), t.at("shape").get<Shape>(), dtype);
}

const json& find_case(const std::string& name) {
  for (const json& c : fixture().at("cases")) {
    if (c.at("name") == name) return c;
  }
  throw ValueError("no optimizer case " + name);
}

std::optional<double> opt_double(const json& a, const char* key) {
  return a.contains(key) ? std::optional<double>(a.at(key).get<double>()) : std::nullopt;
}

// Builds the optimizer a fixture case describes (Keras option names in attrs).
std::unique_ptr<optim::Optimizer> build(const json& a) {
  const std::string kind = a.at("optimizer");
  const double lr0 = a.at("learning_rate");
  optim::LearningRate lr = lr0;
  if (a.value("schedule", "") == "exponential_decay") {
    lr = optim::ExponentialDecay({.initial_learning_rate = lr0,
                                  .decay_steps = a.at("decay_steps").get<int64_t>(),
                                  .decay_rate = a.at("decay_rate").get<double>()});
  }
  const auto clipnorm = opt_double(a, "clipnorm"), global = opt_double(a, "global_clipnorm"),
             clipvalue = opt_double(a, "clipvalue");
  if (kind == "sgd") {
    return std::make_unique<optim::SGD>(optim::SGDOptions{.learning_rate = lr,
                                                          .momentum = a.value("momentum", 0.0),
                                                          .nesterov = a.value("nesterov", false),
                                                          .ewma_momentum = a.value("ewma_momentum", false),
                                                          .clipnorm = clipnorm,
                                                          .global_clipnorm = global,
                                                          .clipvalue = clipvalue});
  }
  if (kind == "adagrad") {
    return std::make_unique<optim::Adagrad>(
        optim::AdagradOptions{.learning_rate = lr,
                              .initial_accumulator_value = a.at("initial_accumulator_value").get<double>(),
                              .epsilon = a.at("epsilon").get<double>()});
  }
  if (kind == "rmsprop") {
    return std::make_unique<optim::RMSprop>(optim::RMSpropOptions{.learning_rate = lr,
                                                                  .rho = a.at("rho").get<double>(),
                                                                  .momentum = a.at("momentum").get<double>(),
                                                                  .epsilon = a.at("epsilon").get<double>(),
                                                                  .centered = a.at("centered").get<bool>()});
  }
  if (kind == "adam") {
    return std::make_unique<optim::Adam>(optim::AdamOptions{.learning_rate = lr,
                                                            .beta_1 = a.at("beta_1").get<double>(),
                                                            .beta_2 = a.at("beta_2").get<double>(),
                                                            .epsilon = a.at("epsilon").get<double>(),
                                                            .amsgrad = a.at("amsgrad").get<bool>(),
                                                            .clipnorm = clipnorm,
                                                            .global_clipnorm = global,
                                                            .clipvalue = clipvalue});
  }
  if (kind == "adamw") {
    return std::make_unique<optim::AdamW>(optim::AdamWOptions{.learning_rate = lr,
                                                              .weight_decay = a.at("weight_decay").get<double>(),
                                                              .beta_1 = a.at("beta_1").get<double>(),
                                                              .beta_2 = a.at("beta_2").get<double>(),
                                                              .epsilon = a.at("epsilon").get<double>(),
                                                              .amsgrad = a.at("amsgrad").get<bool>()});
  }
  if (kind == "nadam") {
    return std::make_unique<optim::Nadam>(
        optim::NadamOptions{.learning_rate = lr,
                            .beta_1 = a.at("beta_1").get<double>(),
                            .beta_2 = a.at("beta_2").get<double>(),
                            .epsilon = a.at("epsilon").get<double>(),
                            .momentum_cache_decay = a.at("momentum_cache_decay").get<double>()});
  }
  throw ValueError("unknown optimizer kind in fixture: " + kind);
}

// The fixed problem of gen_optim.py: loss = sum((x @ w + b - t)^2), gradients by Ember's autograd.
struct Problem {
  Tensor x, t, w, b;
  explicit Problem(DType dtype = f64) {
    const json& in = fixture().at("inputs");
    x = tensor_of(in.at("x"), dtype);
    t = tensor_of(in.at("t"), dtype);
    w = tensor_of(in.at("w0"), dtype).requires_grad_();
    b = tensor_of(in.at("b0"), dtype).requires_grad_();
  }
  void compute_grads() {
    w.zero_grad();
    b.zero_grad();
    Tensor loss = sum(square(matmul(x, w) + b - t));
    loss.backward();
  }
  // Order alternates between steps: slots must follow names, not positions.
  NamedParams params(int64_t step) const {
    if (step % 2 == 0) return {{"dense/kernel", w}, {"dense/bias", b}};
    return {{"dense/bias", b}, {"dense/kernel", w}};
  }
};

const std::vector<std::string> kCases = {
    "sgd",     "sgd_momentum",          "sgd_nesterov",  "sgd_ewma_momentum", "sgd_momentum_exponential_decay",
    "adagrad", "rmsprop",               "rmsprop_momentum_centered", "adam", "adam_amsgrad",
    "adamw",   "nadam",                 "nadam_keras2_schedule",     "sgd_momentum_global_clipnorm",
    "sgd_clipnorm", "adam_clipvalue"};

TEST(OptimizerFixture, HoldsExactlyTheTestedCases) {
  std::vector<std::string> names;
  for (const json& c : fixture().at("cases")) names.push_back(c.at("name"));
  EXPECT_EQ(names, kCases);
}

class Trajectory : public ::testing::TestWithParam<std::string> {};

TEST_P(Trajectory, MatchesGoldenF64) {
  const json& c = find_case(GetParam());
  Tensor ew = tensor_of(c.at("tensors").at("w")), eb = tensor_of(c.at("tensors").at("b"));
  auto opt = build(c.at("attrs"));
  Problem pb;
  for (int64_t s = 0; s < 20; ++s) {
    pb.compute_grads();
    opt->step(pb.params(s));
    ASSERT_EQ(opt->iterations(), s + 1);
    ASSERT_TRUE(testing::all_close(pb.w, ew.slice(0, s, s + 1).squeeze(0), 0, 1e-9)) << "w after step " << s + 1;
    ASSERT_TRUE(testing::all_close(pb.b, eb.slice(0, s, s + 1).squeeze(0), 0, 1e-9)) << "b after step " << s + 1;
  }
}

TEST_P(Trajectory, MatchesGoldenF32) {
  const json& c = find_case(GetParam());
  Tensor ew = tensor_of(c.at("tensors").at("w")), eb = tensor_of(c.at("tensors").at("b"));
  auto opt = build(c.at("attrs"));
  Problem pb(f32);
  for (int64_t s = 0; s < 20; ++s) {
    pb.compute_grads();
    opt->step(pb.params(s));
  }
  EXPECT_EQ(pb.w.dtype(), f32);
  EXPECT_TRUE(testing::all_close(pb.w, ew.slice(0, 19, 20).squeeze(0), 1e-3, 1e-4));
  EXPECT_TRUE(testing::all_close(pb.b, eb.slice(0, 19, 20).squeeze(0), 1e-3, 1e-4));
}

// Saving the state after 10 steps and loading it into a fresh optimizer continues the same trajectory.
TEST_P(Trajectory, StateRoundTripResumes) {
  const json& c = find_case(GetParam());
  Tensor ew = tensor_of(c.at("tensors").at("w")), eb = tensor_of(c.at("tensors").at("b"));
  Problem pb;
  optim::OptimizerState saved;
  {
    auto opt = build(c.at("attrs"));
    for (int64_t s = 0; s < 10; ++s) {
      pb.compute_grads();
      opt->step(pb.params(s));
    }
    saved = opt->state();
    for (const auto& [k, v] : saved.slots) saved.slots[k] = v.clone();
    EXPECT_EQ(saved.iterations, 10);
    for (const auto& [k, v] : saved.slots) {
      EXPECT_TRUE(k.rfind("dense/kernel/", 0) == 0 || k.rfind("dense/bias/", 0) == 0) << k;
    }
  }
  auto opt = build(c.at("attrs"));
  opt->load_state(saved);
  for (int64_t s = 10; s < 20; ++s) {
    pb.compute_grads();
    opt->step(pb.params(s));
  }
  EXPECT_TRUE(testing::all_close(pb.w, ew.slice(0, 19, 20).squeeze(0), 0, 1e-9));
  EXPECT_TRUE(testing::all_close(pb.b, eb.slice(0, 19, 20).squeeze(0), 0, 1e-9));
}

INSTANTIATE_TEST_SUITE_P(Golden, Trajectory, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// ---- slots, names, skipping --------------------------------------------------------------------------

TEST(Optimizer, SlotsAreKeyedByParameterNameWithKerasSlotNames) {
  Problem pb;
  optim::Adam adam({.learning_rate = 0.01, .amsgrad = true});
  pb.compute_grads();
  adam.step(pb.params(0));
  std::vector<std::string> keys;
  for (const auto& [k, v] : adam.slots()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"dense/bias/momentum", "dense/bias/velocity", "dense/bias/velocity_hat",
                                            "dense/kernel/momentum", "dense/kernel/velocity",
                                            "dense/kernel/velocity_hat"}));
  EXPECT_EQ(adam.slot("dense/kernel", "momentum").shape(), (Shape{3, 2}));
  try {
    adam.slot("dense/kernel", "accumulator");
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("dense/kernel/accumulator"), std::string::npos) << e.what();
  }
  optim::Adagrad ada({.initial_accumulator_value = 0.25});
  ada.step(pb.params(0));
  EXPECT_TRUE(testing::all_close(ada.slot("dense/bias", "accumulator"),
                                 full({2}, 0.25, f64) + square(pb.b.grad()), 0, 1e-12));
}

TEST(Optimizer, SkipsParametersWithoutGradient) {
  Problem pb;
  Tensor frozen = from_vector(std::vector<double>{1, 2, 3}, {3}, f64).requires_grad_();
  optim::SGD sgd({.learning_rate = 0.1, .momentum = 0.9});
  pb.compute_grads();
  sgd.step({{"w", pb.w}, {"frozen", frozen}});
  EXPECT_TRUE(testing::all_close(frozen, from_vector(std::vector<double>{1, 2, 3}, {3}, f64), 0, 0));
  EXPECT_EQ(sgd.slots().count("frozen/momentum"), 0u);
  EXPECT_EQ(sgd.slots().count("w/momentum"), 1u);
}

TEST(Optimizer, ApplyGradientsUsesGivenGradients) {
  Tensor w = from_vector(std::vector<double>{1, -2}, {2}, f64);
  optim::SGD sgd({.learning_rate = 0.5});
  sgd.apply_gradients({{"w", w}}, {from_vector(std::vector<double>{2, 4}, {2}, f64)});
  EXPECT_TRUE(testing::all_close(w, from_vector(std::vector<double>{0, -4}, {2}, f64), 0, 1e-15));
}

TEST(Optimizer, NonContiguousParameterIsUpdatedInPlace) {
  Tensor base = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, f64);
  Tensor view = base.t();  // [3,2] strided view
  ASSERT_FALSE(view.is_contiguous());
  optim::SGD sgd({.learning_rate = 1.0});
  sgd.apply_gradients({{"v", view}}, {ones({3, 2}, f64)});
  EXPECT_TRUE(testing::all_close(base, from_vector(std::vector<double>{0, 1, 2, 3, 4, 5}, {2, 3}, f64), 0, 0));
}

TEST(Optimizer, LearningRateScheduleAndSetLearningRate) {
  optim::SGD sgd({.learning_rate = optim::PiecewiseConstantDecay({1}, {0.5, 0.25})});
  Tensor w = zeros({1}, f64);
  EXPECT_DOUBLE_EQ(sgd.current_learning_rate(), 0.5);  // schedule(0): the first step
  sgd.apply_gradients({{"w", w}}, {ones({1}, f64)});
  EXPECT_DOUBLE_EQ(w.item<double>(), -0.5);
  sgd.apply_gradients({{"w", w}}, {ones({1}, f64)});  // schedule(1) = 0.5 (step <= boundary)
  sgd.apply_gradients({{"w", w}}, {ones({1}, f64)});  // schedule(2) = 0.25
  EXPECT_DOUBLE_EQ(w.item<double>(), -1.25);
  sgd.set_learning_rate(0.125);
  EXPECT_FALSE(sgd.learning_rate().is_schedule());
  sgd.apply_gradients({{"w", w}}, {ones({1}, f64)});
  EXPECT_DOUBLE_EQ(w.item<double>(), -1.375);
  sgd.set_learning_rate([](int64_t step) { return 1.0 / static_cast<double>(step); });
  EXPECT_DOUBLE_EQ(sgd.current_learning_rate(), 0.25);  // iterations() == 4
}

TEST(Optimizer, EwmaMomentumIsKerasMomentumWithRescaledLearningRate) {
  // The header's claim: for constant lr, notes' form with lr == Keras form with lr*(1-beta).
  Problem a, b;
  optim::SGD notes({.learning_rate = 0.05, .momentum = 0.9, .ewma_momentum = true});
  optim::SGD keras({.learning_rate = 0.05 * (1 - 0.9), .momentum = 0.9});
  for (int64_t s = 0; s < 15; ++s) {
    a.compute_grads();
    b.compute_grads();
    notes.step(a.params(s));
    keras.step(b.params(s));
  }
  EXPECT_TRUE(testing::all_close(a.w, b.w, 1e-10, 1e-12));
  EXPECT_TRUE(testing::all_close(a.b, b.b, 1e-10, 1e-12));
}

TEST(Optimizer, FactoryKnowsEveryName) {
  for (const std::string& n : optim::optimizer_names()) {
    auto opt = optim::make_optimizer(n, 0.05);
    ASSERT_TRUE(opt) << n;
    EXPECT_DOUBLE_EQ(opt->current_learning_rate(), 0.05) << n;
  }
  EXPECT_EQ(optim::make_optimizer("Adam", 1e-3)->name(), "Adam");
  EXPECT_EQ(optim::make_optimizer("adamw", 1e-3)->name(), "AdamW");
  auto nest = optim::make_optimizer("nesterov", 0.1);
  auto* sgd = dynamic_cast<optim::SGD*>(nest.get());
  ASSERT_NE(sgd, nullptr);
  EXPECT_TRUE(sgd->options().nesterov);
  EXPECT_DOUBLE_EQ(sgd->options().momentum, 0.9);
}

// Keras 3's decoupled decay, w -= lr*weight_decay*w before the update. Without momentum that is
// exactly PyTorch's coupled decay (gradient g + weight_decay*w): w(1 - lr*wd) - lr*g.
TEST(Optimizer, SgdWeightDecayWithoutMomentumIsTheCoupledDecay) {
  Problem a, b;
  const double lr = 0.05, wd = 0.1;
  optim::SGD decoupled({.learning_rate = lr, .weight_decay = wd});
  optim::SGD plain({.learning_rate = lr});
  for (int64_t s = 0; s < 10; ++s) {
    a.compute_grads();
    b.compute_grads();
    decoupled.step(a.params(s));
    plain.apply_gradients({{"dense/kernel", b.w}, {"dense/bias", b.b}},
                          {b.w.grad() + b.w.detach() * wd, b.b.grad() + b.b.detach() * wd});
  }
  EXPECT_TRUE(testing::all_close(a.w, b.w, 1e-12, 1e-14));
  EXPECT_TRUE(testing::all_close(a.b, b.b, 1e-12, 1e-14));
}

// Two steps by hand, w0 = 2, g = 1, lr = 0.5, momentum 0.9, weight_decay 0.1 (decay factor 0.95):
//   momentum: v1 = -0.5, w1 = 2*0.95 - 0.5 = 1.4;    v2 = -0.95, w2 = 1.4*0.95 - 0.95 = 0.38
//   nesterov: w1 = 1.9 + 0.9*(-0.5) - 0.5 = 0.95;     w2 = 0.95*0.95 + 0.9*(-0.95) - 0.5 = -0.4525
//   ewma (v = 0.9v + 0.1g, w -= lr*v): v1 = 0.1, w1 = 1.9 - 0.05 = 1.85; v2 = 0.19, w2 = 1.85*0.95 - 0.095 = 1.6625
TEST(Optimizer, SgdWeightDecayWithMomentumByHand) {
  struct Case {
    bool nesterov, ewma;
    double w1, w2;
  };
  for (const Case& c : {Case{false, false, 1.4, 0.38}, Case{true, false, 0.95, -0.4525}, Case{false, true, 1.85, 1.6625}}) {
    Tensor w = full({1}, 2.0, f64);
    optim::SGD sgd({.learning_rate = 0.5, .momentum = 0.9, .nesterov = c.nesterov, .ewma_momentum = c.ewma, .weight_decay = 0.1});
    sgd.apply_gradients({{"w", w}}, {ones({1}, f64)});
    EXPECT_NEAR(w.item<double>(), c.w1, 1e-14) << c.nesterov << c.ewma;
    sgd.apply_gradients({{"w", w}}, {ones({1}, f64)});
    EXPECT_NEAR(w.item<double>(), c.w2, 1e-14) << c.nesterov << c.ewma;
  }
}

TEST(Optimizer, SgdWeightDecayConfigAndFactory) {
  optim::SGD sgd({.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
  nlohmann::json c = sgd.get_config();
  EXPECT_DOUBLE_EQ(c.at("weight_decay").get<double>(), 5e-4);
  auto back = optim::SGD::from_config(c);
  EXPECT_DOUBLE_EQ(dynamic_cast<optim::SGD&>(*back).options().weight_decay, 5e-4);
  EXPECT_TRUE(optim::SGD().get_config().at("weight_decay").is_null());  // Keras 3's "none"
  EXPECT_DOUBLE_EQ(dynamic_cast<optim::SGD&>(*optim::SGD::from_config(optim::SGD().get_config())).options().weight_decay, 0.0);

  for (const char* name : {"sgd", "momentum", "nesterov"}) {
    auto opt = optim::make_optimizer(name, 0.1, 5e-4);
    EXPECT_DOUBLE_EQ(dynamic_cast<optim::SGD&>(*opt).options().weight_decay, 5e-4) << name;
  }
  EXPECT_DOUBLE_EQ(dynamic_cast<optim::SGD&>(*optim::make_optimizer("nesterov", 0.1)).options().weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(dynamic_cast<optim::AdamW&>(*optim::make_optimizer("adamw", 1e-3, 0.01)).weight_decay(), 0.01);
  EXPECT_DOUBLE_EQ(dynamic_cast<optim::AdamW&>(*optim::make_optimizer("adamw", 1e-3)).weight_decay(), 0.004);
}

// Every optimizer takes Keras 3's decoupled decay. Its update does not read w, so a step with decay
// from w is the step without decay from w*(1 - lr*wd): run both side by side on the same gradients.
TEST(Optimizer, WeightDecayOfEveryOptimizerScalesTheWeightsFirst) {
  const double lr = 0.05, wd = 0.3;
  using Make = std::function<std::unique_ptr<optim::Optimizer>(double)>;  // weight decay -> optimizer
  std::vector<std::pair<std::string, Make>> cases;
  for (const std::string& name : optim::optimizer_names()) {
    if (name == "adamw") continue;  // Adam below with a decay is AdamW
    cases.emplace_back(name, [=](double decay) { return optim::make_optimizer(name, lr, decay); });
  }
  cases.emplace_back("rmsprop centered, momentum", [=](double decay) {
    return std::make_unique<optim::RMSprop>(
        optim::RMSpropOptions{.learning_rate = lr, .momentum = 0.5, .centered = true, .weight_decay = decay});
  });
  cases.emplace_back("adam amsgrad", [=](double decay) {
    return std::make_unique<optim::Adam>(optim::AdamOptions{.learning_rate = lr, .amsgrad = true, .weight_decay = decay});
  });
  for (const auto& [name, make] : cases) {
    auto with = make(wd), without = make(0.0), reference = make(0.0);
    ASSERT_DOUBLE_EQ(with->weight_decay(), wd) << name;
    Tensor a = arange(1.0, 7.0, 1.0, f64).reshape({2, 3}), b = a.clone(), c = a.clone();
    for (int s = 0; s < 4; ++s) {
      Tensor g = arange(-2.0 + s, 4.0 + s, 1.0, f64).reshape({2, 3}) * 0.7;
      with->apply_gradients({{"w", a}}, {g});
      {
        autograd::NoGradGuard no_grad;
        b.mul_(1.0 - lr * wd);
      }
      without->apply_gradients({{"w", b}}, {g});
      reference->apply_gradients({{"w", c}}, {g});  // no decay at all
    }
    EXPECT_TRUE(testing::all_close(a, b, 1e-13, 1e-14)) << name;
    // The decay took about 1 - (1 - 0.015)^4 = 6 % off the weights (1 to 6).
    EXPECT_FALSE(testing::all_close(a, c, 0.0, 0.05)) << name;
  }
}

TEST(Optimizer, WeightDecayConfigOfEveryOptimizer) {
  for (const std::string& name : optim::optimizer_names()) {
    auto opt = optim::make_optimizer(name, 1e-3, 0.02);
    nlohmann::json c = opt->get_config_json();
    EXPECT_DOUBLE_EQ(c.at("config").at("weight_decay").get<double>(), 0.02) << name;
    EXPECT_DOUBLE_EQ(optim::from_config(c)->weight_decay(), 0.02) << name;
  }
  EXPECT_TRUE(optim::Adam().get_config().at("weight_decay").is_null());  // Keras 3's "none"
  EXPECT_DOUBLE_EQ(optim::from_config(optim::Adam().get_config_json())->weight_decay(), 0.0);
  EXPECT_DOUBLE_EQ(optim::AdamW({.weight_decay = 0.0}).get_config().at("weight_decay").get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(optim::from_config(optim::AdamW({.weight_decay = 0.0}).get_config_json())->weight_decay(), 0.0);
}

// Keras 3's exclude_from_weight_decay(var_names=...): a name matching one of the expressions anywhere
// (re.search) gets no decay; the others are decayed as before. With lr 0.5, decay 0.1 and a zero
// gradient, plain SGD takes a decayed weight from 2 to 2*(1 - 0.05) = 1.9 and leaves the rest at 2.
TEST(Optimizer, ExcludeFromWeightDecayByNamePattern) {
  for (const std::string& name : optim::optimizer_names()) {
    auto opt = optim::make_optimizer(name, 0.5, 0.1);
    opt->exclude_from_weight_decay({"gamma", "beta$", "^dense/bias"});
    const std::vector<std::string> names = {"bn/gamma", "bn/beta", "bn/beta_x", "dense/bias", "out/dense/bias", "dense/kernel"};
    const std::vector<bool> decayed = {false, false, true, false, true, true};
    optim::NamedParams params;
    std::vector<Tensor> grads, reference;
    for (const std::string& n : names) {
      params.emplace_back(n, full({3}, 2.0, f64));
      grads.push_back(zeros({3}, f64));
    }
    // What the same optimizer without any decay does with these gradients (Adam etc. move a little
    // even on a zero gradient only through their slots, which start at 0: not at all).
    auto plain = optim::make_optimizer(name, 0.5, 0.0);
    optim::NamedParams plain_params;
    for (const std::string& n : names) plain_params.emplace_back(n, full({3}, 2.0, f64));
    opt->apply_gradients(params, grads);
    plain->apply_gradients(plain_params, grads);
    for (std::size_t i = 0; i < names.size(); ++i) {
      const double got = params[i].second.to_vector<double>()[0], base = plain_params[i].second.to_vector<double>()[0];
      EXPECT_NEAR(got, decayed[i] ? base * 0.95 : base, 1e-12) << name << " " << names[i];
      EXPECT_DOUBLE_EQ(opt->weight_decay_of(names[i]), decayed[i] ? 0.1 : 0.0) << name << " " << names[i];
    }
  }
  optim::SGD sgd({.learning_rate = 0.1, .weight_decay = 0.1});
  sgd.exclude_from_weight_decay({"gamma"});
  EXPECT_EQ(sgd.weight_decay_exclusions(), std::vector<std::string>{"gamma"});
  sgd.exclude_from_weight_decay({});  // replaces: nothing excluded any more
  EXPECT_DOUBLE_EQ(sgd.weight_decay_of("bn/gamma"), 0.1);
  try {
    sgd.exclude_from_weight_decay({"bias", "gam(ma"});
    ADD_FAILURE() << "an invalid expression was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'gam(ma' is not a valid regular expression"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(sgd.weight_decay_exclusions().empty());  // the failed call changed nothing
}

TEST(Optimizer, KerasDefaults) {
  optim::Adam adam;
  EXPECT_DOUBLE_EQ(adam.current_learning_rate(), 1e-3);
  EXPECT_DOUBLE_EQ(adam.options().beta_1, 0.9);
  EXPECT_DOUBLE_EQ(adam.options().beta_2, 0.999);
  EXPECT_DOUBLE_EQ(adam.options().epsilon, 1e-7);
  EXPECT_DOUBLE_EQ(optim::SGD().current_learning_rate(), 0.01);
  EXPECT_DOUBLE_EQ(optim::Adagrad().options().initial_accumulator_value, 0.1);
  EXPECT_DOUBLE_EQ(optim::RMSprop().options().rho, 0.9);
  EXPECT_DOUBLE_EQ(optim::AdamW().weight_decay(), 0.004);
}

// ---- bad input -------------------------------------------------------------------------------------

template <typename F>
std::string value_error_message(F&& f) {
  return testing::message_of<ValueError>(std::forward<F>(f));
}

TEST(OptimizerBadInput, UnknownNameListsKnownOnes) {
  std::string msg = value_error_message([] { optim::make_optimizer("foo", 0.1); });
  EXPECT_NE(msg.find("unknown optimizer 'foo'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected one of sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, nadam"), std::string::npos)
      << msg;
}

TEST(OptimizerBadInput, NegativeLearningRate) {
  std::string msg = value_error_message([] { optim::SGD({.learning_rate = -0.1}); });
  EXPECT_NE(msg.find("learning_rate must be >= 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-0.1"), std::string::npos) << msg;
  value_error_message([] { optim::make_optimizer("adam", -1.0); });
  optim::SGD sgd;
  value_error_message([&] { sgd.set_learning_rate(-2.0); });
  // A schedule that goes negative is caught at the step that uses it; nothing is updated.
  optim::SGD bad({.learning_rate = [](int64_t) { return -1.0; }});
  Tensor w = ones({2}, f64);
  value_error_message([&] { bad.apply_gradients({{"w", w}}, {ones({2}, f64)}); });
  EXPECT_TRUE(testing::all_close(w, ones({2}, f64), 0, 0));
  EXPECT_EQ(bad.iterations(), 0);
}

TEST(OptimizerBadInput, BetasAndRatesOutOfRange) {
  EXPECT_NE(value_error_message([] { optim::Adam({.beta_1 = 1.0}); }).find("beta_1 must be in [0, 1)"), std::string::npos);
  EXPECT_NE(value_error_message([] { optim::Adam({.beta_2 = -0.1}); }).find("beta_2"), std::string::npos);
  EXPECT_NE(value_error_message([] { optim::Nadam({.beta_1 = 1.5}); }).find("beta_1"), std::string::npos);
  EXPECT_NE(value_error_message([] { optim::AdamW({.beta_2 = 1.0}); }).find("AdamW: beta_2"), std::string::npos);
  EXPECT_NE(value_error_message([] { optim::RMSprop({.rho = 1.0}); }).find("rho"), std::string::npos);
  EXPECT_NE(value_error_message([] { optim::SGD({.momentum = 1.5}); }).find("momentum"), std::string::npos);
  EXPECT_NE(value_error_message([] { optim::Adagrad({.epsilon = -1}); }).find("epsilon"), std::string::npos);
  EXPECT_NE(value_error_message([] { optim::AdamW({.weight_decay = -0.1}); }).find("weight_decay"), std::string::npos);
  EXPECT_NE(value_error_message([] { optim::SGD({.weight_decay = -0.1}); }).find("SGD: weight_decay must be >= 0"),
            std::string::npos);
  EXPECT_NE(value_error_message([] { optim::Adagrad({.weight_decay = -1e-3}); }).find("Adagrad: weight_decay must be >= 0"),
            std::string::npos);
  EXPECT_NE(value_error_message([] { optim::RMSprop({.weight_decay = std::nan("")}); }).find("RMSprop: weight_decay"),
            std::string::npos);
  EXPECT_NE(value_error_message([] { optim::make_optimizer("nadam", 1e-3, -0.5); }).find("Nadam: weight_decay"),
            std::string::npos);
  EXPECT_NE(value_error_message([] { optim::SGD({.clipnorm = 1.0, .clipvalue = 1.0}); }).find("only one of"),
            std::string::npos);
  EXPECT_NE(value_error_message([] { optim::Adam({.global_clipnorm = 0.0}); }).find("global_clipnorm must be > 0"),
            std::string::npos);
}

TEST(OptimizerBadInput, NamesShapesAndState) {
  Tensor w = ones({2}, f64), v = ones({3}, f64);
  optim::Adam adam;
  EXPECT_NE(value_error_message([&] { adam.apply_gradients({{"w", w}, {"w", v}}, {ones({2}, f64), ones({3}, f64)}); })
                .find("duplicate parameter name 'w'"),
            std::string::npos);
  EXPECT_THROW(adam.apply_gradients({{"w", w}}, {ones({3}, f64)}), ShapeError);
  EXPECT_THROW(adam.apply_gradients({{"w", from_vector(std::vector<int64_t>{1, 2}, {2})}}, {ones({2}, f64)}), DTypeError);
  value_error_message([&] { adam.apply_gradients({{"w", w}}, {}); });
  EXPECT_EQ(adam.iterations(), 0);
  // A loaded slot of the wrong shape is reported before anything changes.
  adam.load_state({.iterations = 3, .slots = {{"w/momentum", zeros({5}, f64)}}});
  EXPECT_THROW(adam.apply_gradients({{"w", w}}, {ones({2}, f64)}), ShapeError);
  EXPECT_TRUE(testing::all_close(w, ones({2}, f64), 0, 0));
  value_error_message([&] { adam.load_state({.iterations = -1}); });
  value_error_message([&] { adam.load_state({.iterations = 0, .slots = {{"noslash", zeros({2}, f64)}}}); });
}

}  // namespace
}  // namespace ember
