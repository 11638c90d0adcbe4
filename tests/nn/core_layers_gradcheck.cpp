// f64 gradient checks of the core layers (Dense, Activation, Flatten) with respect to their input
// and every weight, and of a whole functional model with respect to all its weights.
#include "ember/nn/layers/core.hpp"
#include "ember/nn/model.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

namespace {
// Builds `layer` on `input_shape`, then swaps every weight for a float64 copy that gradcheck can
// perturb; returns those weights.
std::vector<Tensor> to_f64_weights(nn::Layer& layer, uint64_t seed) {
  std::vector<Tensor> ws;
  for (const auto& w : layer.named_weights()) {
    w.weight->value() = random_f64(w.weight->value().shape(), seed++, -0.5, 0.5);
    ws.push_back(w.weight->value());
  }
  return ws;
}
}  // namespace

TEST(CoreLayersGradcheck, DenseWithBiasAndActivation) {
  nn::Dense d({.units = 3, .activation = Activation::Tanh});
  d(zeros({2, 4}, f32));  // build
  std::vector<Tensor> inputs = to_f64_weights(d, 1);
  inputs.insert(inputs.begin(), random_f64({2, 4}, 7));
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return d(v[0]); }, inputs));
}

TEST(CoreLayersGradcheck, DenseOnRank3InputWithoutBias) {
  nn::Dense d({.units = 2, .use_bias = false});
  d(zeros({2, 3, 4}, f32));
  std::vector<Tensor> inputs = to_f64_weights(d, 11);
  inputs.insert(inputs.begin(), random_f64({2, 3, 4}, 12));
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return d(v[0]); }, inputs));
}

TEST(CoreLayersGradcheck, DenseWithRegularizersThroughTheModelLoss) {
  nn::Dense d({.units = 2,
               .kernel_regularizer = std::make_shared<nn::regularizers::L2>(nn::regularizers::L2Options{.l2 = 0.1}),
               .activity_regularizer = std::make_shared<nn::regularizers::L1>(nn::regularizers::L1Options{.l1 = 0.01})});
  d(zeros({3, 2}, f32));
  std::vector<Tensor> inputs = to_f64_weights(d, 21);
  inputs.insert(inputs.begin(), random_f64({3, 2}, 22, 0.2, 1.0));
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& v) {
        Tensor out = sum(d(v[0]));  // the call first: the activity penalty is that of the last call
        return out + d.regularization_loss();
      },
      inputs));
}

TEST(CoreLayersGradcheck, ActivationLayerByName) {
  nn::ActivationLayer a("softplus");
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return a(v[0]); }, {random_f64({3, 4}, 31)}));
}

TEST(CoreLayersGradcheck, Flatten) {
  nn::Flatten f;
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return f(v[0]); }, {random_f64({2, 3, 2}, 41)}));
}

TEST(CoreLayersGradcheck, WholeFunctionalModelWithRespectToEveryWeight) {
  nn::reset_layer_names();
  auto x = nn::Input({3});
  auto h = nn::Dense({.units = 4, .activation = Activation::Sigmoid})(x);
  auto y = nn::Dense({.units = 2})(h);
  nn::Model model(x, y);
  std::vector<Tensor> weights = to_f64_weights(model, 51);
  Tensor input = random_f64({5, 3}, 52);
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>&) { return model(input); }, weights));
}
