// Regularizers: values on a hand-computed tensor, the notes' λ/(2m)·‖W‖²_F equivalence, gradients
// through backward, and the Keras-name factories.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/nn/regularizers.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

namespace reg = nn::regularizers;

// Σ|w| = 10, Σw² = 30.
Tensor hand_w(DType dtype = f64) { return from_vector(std::vector<double>{1, -2, 3, -4}, {2, 2}, dtype); }

TEST(Regularizers, ValuesOnAHandComputedTensor) {
  const Tensor w = hand_w();
  EXPECT_DOUBLE_EQ(reg::L1({.l1 = 0.1})(w).item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(reg::L2({.l2 = 0.01})(w).item<double>(), 0.3);
  EXPECT_DOUBLE_EQ(reg::L1L2({.l1 = 0.1, .l2 = 0.01})(w).item<double>(), 1.3);
  EXPECT_DOUBLE_EQ(reg::L1L2({.l1 = 0.0, .l2 = 0.02})(w).item<double>(), 0.6);
  EXPECT_DOUBLE_EQ(reg::L1L2({.l1 = 0.05, .l2 = 0.0})(w).item<double>(), 0.5);
  // Keras defaults: L1(0.01), L2(0.01), L1L2(0, 0).
  EXPECT_DOUBLE_EQ(reg::L1()(w).item<double>(), 0.1);
  EXPECT_DOUBLE_EQ(reg::L2()(w).item<double>(), 0.3);
  EXPECT_DOUBLE_EQ(reg::L1L2()(w).item<double>(), 0.0);
  // Conv-shaped weights: all elements count.
  const Tensor k = full({3, 3, 2, 4}, -0.5, f64);  // 72 elements
  EXPECT_DOUBLE_EQ(reg::L1L2({.l1 = 1.0, .l2 = 1.0})(k).item<double>(), 72 * 0.5 + 72 * 0.25);
}

TEST(Regularizers, PenaltyIsAScalarOfTheWeightDType) {
  for (DType dt : {f32, f64}) {
    for (const reg::RegularizerPtr& r : {reg::get("l1"), reg::get("l2"), reg::get("l1_l2"), reg::get("L1L2")}) {
      Tensor p = (*r)(hand_w(dt));
      EXPECT_EQ(p.dim(), 0) << r->class_name();
      EXPECT_EQ(p.dtype(), dt) << r->class_name();
    }
  }
  EXPECT_NEAR(reg::L1L2({.l1 = 0.1, .l2 = 0.01})(hand_w(f32)).item<float>(), 1.3f, 1e-6);
  EXPECT_THROW(reg::L2()(from_vector(std::vector<int64_t>{1, 2}, {2})), DTypeError);
  EXPECT_THROW(reg::L1()(Tensor()), ValueError);
}

TEST(Regularizers, NotesLambdaOver2mIsL2) {
  // Notes: J += λ/(2m) · ‖W‖²_F. With λ = 0.6, m = 3: l2 = 0.1, penalty = 0.1 · 30 = 3.
  const double lambda = 0.6;
  const int64_t m = 3;
  auto f = reg::frobenius(lambda, m);
  EXPECT_DOUBLE_EQ(f->l2(), lambda / (2.0 * m));
  Tensor w = hand_w();
  const double fro = frobenius_norm(w).item<double>();
  EXPECT_NEAR((*f)(w).item<double>(), lambda / (2.0 * m) * fro * fro, 1e-12);
  EXPECT_NEAR((*f)(w).item<double>(), reg::L2({.l2 = lambda / (2.0 * m)})(w).item<double>(), 1e-15);
  // Notes: dW = (from backprop) + (λ/m)·W.
  w.requires_grad_();
  (*f)(w).backward();
  EXPECT_TRUE(testing::all_close(w.grad(), hand_w() * (lambda / m), 1e-12, 1e-15));

  EXPECT_THROW(reg::frobenius(-1.0, 3), ValueError);
  EXPECT_THROW(reg::frobenius(0.1, 0), ValueError);
}

TEST(Regularizers, GradientsJoinTheLoss) {
  Tensor w = hand_w().requires_grad_();
  Tensor x = from_vector(std::vector<double>{0.5, 0.25, -1, 2}, {2, 2}, f64);
  // loss = Σ w·x + L1L2(0.1, 0.01)(w):  d/dw = x + 0.1·sign(w) + 0.02·w.
  Tensor loss = sum(w * x) + reg::L1L2({.l1 = 0.1, .l2 = 0.01})(w);
  loss.backward();
  const std::vector<double> wv = {1, -2, 3, -4}, xv = {0.5, 0.25, -1, 2};
  std::vector<double> expected;
  for (size_t i = 0; i < wv.size(); ++i) expected.push_back(xv[i] + 0.1 * (wv[i] > 0 ? 1 : -1) + 0.02 * wv[i]);
  EXPECT_TRUE(testing::all_close(w.grad(), from_vector(expected, {2, 2}, f64), 1e-12, 1e-15));
}

TEST(Regularizers, NegativeOrNonFiniteCoefficientsAreRejected) {
  EXPECT_THROW(reg::L1({.l1 = -0.1}), ValueError);
  EXPECT_THROW(reg::L2({.l2 = -1e-9}), ValueError);
  EXPECT_THROW(reg::L1L2({.l1 = 0.0, .l2 = std::nan("")}), ValueError);
  EXPECT_THROW(reg::L1L2({.l1 = INFINITY, .l2 = 0.0}), ValueError);
}

TEST(Regularizers, GetAcceptsKerasIdentifiers) {
  EXPECT_EQ(reg::get("l1")->get_config(), (nlohmann::json{{"l1", 0.01}}));
  EXPECT_EQ(reg::get("l2")->get_config(), (nlohmann::json{{"l2", 0.01}}));
  EXPECT_EQ(reg::get("l1_l2")->get_config(), (nlohmann::json{{"l1", 0.01}, {"l2", 0.01}}));  // keras l1_l2()
  EXPECT_EQ(reg::get("L1L2")->get_config(), (nlohmann::json{{"l1", 0.0}, {"l2", 0.0}}));     // the class
  EXPECT_EQ(reg::get("l1")->class_name(), "L1");
  EXPECT_EQ(reg::get("l2")->class_name(), "L2");
  EXPECT_EQ(reg::get("l1_l2")->class_name(), "L1L2");
  EXPECT_THROW(reg::get("l3"), ValueError);
  EXPECT_THROW(reg::get(""), ValueError);
}

TEST(Regularizers, ConfigRoundTripsAndKerasJson) {
  for (const reg::RegularizerPtr& r :
       {reg::RegularizerPtr(std::make_shared<reg::L1>(reg::L1Options{.l1 = 0.3})),
        reg::RegularizerPtr(std::make_shared<reg::L2>(reg::L2Options{.l2 = 1e-4})),
        reg::RegularizerPtr(std::make_shared<reg::L1L2>(reg::L1L2Options{.l1 = 0.2, .l2 = 0.05}))}) {
    const nlohmann::json j = r->get_config_json();
    auto back = reg::from_config(nlohmann::json::parse(j.dump()));
    EXPECT_EQ(back->class_name(), r->class_name());
    EXPECT_EQ(back->get_config(), r->get_config());
    EXPECT_DOUBLE_EQ((*back)(hand_w()).item<double>(), (*r)(hand_w()).item<double>());
  }
  auto k = reg::from_config(nlohmann::json::parse(R"({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}})"));
  EXPECT_DOUBLE_EQ((*k)(hand_w()).item<double>(), 0.3);
  auto k3 = reg::from_config(nlohmann::json::parse(
      R"({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.02}, "registered_name": null})"));
  EXPECT_DOUBLE_EQ((*k3)(hand_w()).item<double>(), 0.6);
  auto alias = reg::from_config(nlohmann::json::parse(R"({"class_name": "l1_l2", "config": {"l1": 0.1}})"));
  EXPECT_EQ(alias->get_config(), (nlohmann::json{{"l1", 0.1}, {"l2", 0.0}}));
  EXPECT_EQ(reg::from_config(nlohmann::json{{"class_name", "L1"}})->get_config(), (nlohmann::json{{"l1", 0.01}}));
}

template <typename E>
void expect_throw_naming(const nlohmann::json& j, const std::string& fragment) {
  try {
    reg::from_config(j);
    ADD_FAILURE() << "no exception for " << j.dump();
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type for " << j.dump() << ": " << e.what();
  }
}

TEST(Regularizers, BadConfigsAreReportedByName) {
  using nlohmann::json;
  expect_throw_naming<FormatError>(json{{"class_name", "OrthogonalRegularizerX"}}, "OrthogonalRegularizerX");
  expect_throw_naming<FormatError>(json{{"class_name", "L1"}, {"config", {{"l1", "0.1"}}}}, "l1");
  expect_throw_naming<FormatError>(json{{"class_name", "L1L2"}, {"config", {{"l2", nullptr}}}}, "l2");
  expect_throw_naming<FormatError>(json{{"class_name", "L1"}, {"config", {{"l2", 0.1}}}}, "l2");
  expect_throw_naming<FormatError>(json{{"class_name", "L2"}, {"config", "l2"}}, "config");
  expect_throw_naming<FormatError>(json{{"class_name", 2}}, "class_name");
  expect_throw_naming<FormatError>(json{{"config", json::object()}}, "class_name");
  expect_throw_naming<FormatError>(json("l2"), "object");
  expect_throw_naming<ValueError>(json{{"class_name", "L2"}, {"config", {{"l2", -0.5}}}}, "l2");
}

}  // namespace
}  // namespace ember
