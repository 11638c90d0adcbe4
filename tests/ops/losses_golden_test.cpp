// Golden values from PyTorch (tests/fixtures/gen/gen_softmax_xent.py, TensorFlow/Keras semantics):
// every case of softmax_xent.json, in float32 (rtol 1e-5) and float64 (rtol 1e-10): the forward
// per-sample losses, their mean, and the gradient of that mean (or, for softmax / log_softmax,
// the output and its vector-Jacobian product with the stored dy).
#include <set>
#include <string>

#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::FixtureCase;
using ember::testing::load_fixture;

namespace {

const std::vector<std::string> kCases = {
    "softmax", "log_softmax", "sparse_softmax_xent_logits", "categorical_xent_logits_onehot",
    "categorical_xent_logits_soft", "categorical_xent_probs", "categorical_xent_probs_clipped",
    "binary_xent_logits", "binary_xent_probs", "mse", "mae", "huber_delta1_0", "huber_delta0_5",
    "multiclass_svm_hinge"};

const std::vector<FixtureCase>& fixture() {
  static const std::vector<FixtureCase> cases = load_fixture("softmax_xent.json");
  return cases;
}

const FixtureCase& find_case(const std::string& name) {
  for (const auto& c : fixture()) {
    if (c.name == name) return c;
  }
  throw ValueError("softmax_xent.json has no case " + name);
}

struct Param {
  std::string name;
  DType dtype;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.name << " (" << dtype_name(p.dtype) << ")"; }

class LossesGolden : public ::testing::TestWithParam<Param> {
 protected:
  DType dt() const { return GetParam().dtype; }
  double rtol() const { return dt() == f32 ? 1e-5 : 1e-10; }
  double atol() const { return dt() == f32 ? 1e-6 : 1e-12; }
  // A fresh leaf in the dtype under test.
  Tensor input(const FixtureCase& c, const std::string& key, bool grad = false) const {
    Tensor t = cast(c.at(key), dt()).detach();
    if (grad) t.requires_grad_(true);
    return t;
  }
  // The expected tensor; float32 runs use "<key>_f32" where the fixture has one.
  const Tensor& expected(const FixtureCase& c, const std::string& key) const {
    if (dt() == f32 && c.tensors.count(key + "_f32")) return c.at(key + "_f32");
    return c.at(key);
  }
  // Checks losses (when stored), mean loss and d(mean)/d(input) for a loss function.
  void check_loss(const FixtureCase& c, const Tensor& losses, const Tensor& x, const std::string& grad_key) const {
    ASSERT_EQ(losses.dtype(), dt());
    ASSERT_EQ(losses.shape(), Shape{6});
    if (c.tensors.count("losses")) {
      EXPECT_TRUE(all_close(losses, expected(c, "losses"), rtol(), atol())) << "losses";
    }
    Tensor loss = mean(losses);
    EXPECT_TRUE(all_close(loss, expected(c, "loss"), rtol(), atol())) << "loss";
    loss.backward();
    ASSERT_TRUE(x.grad().defined());
    EXPECT_TRUE(all_close(x.grad(), expected(c, grad_key), rtol(), atol())) << grad_key;
  }
};

TEST_P(LossesGolden, Case) {
  const FixtureCase& c = find_case(GetParam().name);
  const std::string op = c.attrs.at("op").get<std::string>();
  if (op == "softmax" || op == "log_softmax") {
    Tensor x = input(c, "logits", true);
    int64_t axis = c.attrs.value("axis", -1);
    Tensor y = op == "softmax" ? softmax(x, axis) : log_softmax(x, axis);
    EXPECT_TRUE(all_close(y, expected(c, "y"), rtol(), atol())) << "y";
    y.backward(input(c, "dy"));
    EXPECT_TRUE(all_close(x.grad(), expected(c, "dlogits"), rtol(), atol())) << "dlogits";
  } else if (op == "sparse_softmax_xent_logits") {
    Tensor x = input(c, "logits", true);
    check_loss(c, sparse_categorical_crossentropy(input(c, "labels"), x, true), x, "dlogits");
    // Same values through the tf.nn name and with int64 labels.
    Tensor x2 = input(c, "logits", true);
    Tensor int_labels = cast(c.at("labels"), i64);
    check_loss(c, sparse_softmax_cross_entropy_with_logits(int_labels, x2), x2, "dlogits");
  } else if (op == "categorical_xent_logits") {
    Tensor x = input(c, "logits", true);
    check_loss(c, categorical_crossentropy(input(c, "labels"), x, true), x, "dlogits");
    Tensor x2 = input(c, "logits", true);
    check_loss(c, softmax_cross_entropy_with_logits(input(c, "labels"), x2), x2, "dlogits");
  } else if (op == "categorical_xent_probs") {
    Tensor p = input(c, "probs", true);
    check_loss(c, categorical_crossentropy(input(c, "labels"), p), p, "dprobs");
  } else if (op == "binary_xent_logits") {
    Tensor x = input(c, "logits", true);
    check_loss(c, binary_crossentropy(input(c, "labels"), x, true), x, "dlogits");
  } else if (op == "binary_xent_probs") {
    Tensor p = input(c, "probs", true);
    check_loss(c, binary_crossentropy(input(c, "labels"), p), p, "dprobs");
  } else if (op == "mse" || op == "mae" || op == "huber") {
    Tensor yp = input(c, "y_pred", true);
    Tensor yt = input(c, "y_true");
    Tensor losses = op == "mse"   ? mean_squared_error(yt, yp)
                    : op == "mae" ? mean_absolute_error(yt, yp)
                                  : huber(yt, yp, c.attrs.at("delta").get<double>());
    check_loss(c, losses, yp, "dy_pred");
  } else if (op == "multiclass_svm_hinge") {
    Tensor s = input(c, "scores", true);
    check_loss(c, multiclass_svm_loss(input(c, "labels"), s, c.attrs.at("margin").get<double>()), s, "dscores");
  } else {
    FAIL() << "unhandled fixture op " << op;
  }
}

std::vector<Param> all_params() {
  std::vector<Param> ps;
  for (DType dt : {f32, f64}) {
    for (const auto& n : kCases) ps.push_back({n, dt});
  }
  return ps;
}

INSTANTIATE_TEST_SUITE_P(SoftmaxXent, LossesGolden, ::testing::ValuesIn(all_params()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return info.param.name + "_" + std::string(info.param.dtype == f32 ? "f32" : "f64");
                         });

// Every case in the fixture is exercised above (a new case cannot be silently skipped).
TEST(LossesGoldenFixture, CoversEveryCase) {
  std::set<std::string> listed(kCases.begin(), kCases.end());
  ASSERT_EQ(fixture().size(), kCases.size());
  for (const auto& c : fixture()) EXPECT_TRUE(listed.count(c.name)) << c.name;
}

}  // namespace
