// Layer/Model API: naming, building, Sequential / functional / subclassed models, summary numbers.
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/model.hpp"
#include "ember/nn/regularizers.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::random_f64;

namespace {
struct FreshNames : ::testing::Test {
  void SetUp() override { nn::reset_layer_names(); }
};
}  // namespace

using LayerApi = FreshNames;

TEST_F(LayerApi, KerasStyleAutomaticNames) {
  nn::Dense a({.units = 3}), b({.units = 3});
  nn::Flatten f;
  EXPECT_EQ(a.name(), "dense");
  EXPECT_EQ(b.name(), "dense_1");
  EXPECT_EQ(f.name(), "flatten");
  EXPECT_EQ(nn::Input({4}).layer()->name(), "input_1");
  nn::Dense named({.units = 2, .name = "head"});
  EXPECT_EQ(named.name(), "head");
}

TEST_F(LayerApi, DenseBuildsOnFirstCallAndComputes) {
  manual_seed(1);
  nn::Dense d({.units = 2, .activation = Activation::ReLU});
  EXPECT_FALSE(d.built());
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = d(x);
  EXPECT_TRUE(d.built());
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  ASSERT_EQ(d.named_weights().size(), 2u);
  EXPECT_EQ(d.named_weights()[0].name, "dense/kernel");
  EXPECT_EQ(d.named_weights()[1].name, "dense/bias");
  // y = relu(x W + b), b = 0 initially.
  Tensor w = d.find_weight("kernel")->value();
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 2; ++j) {
      double expect = 0;
      for (int64_t k = 0; k < 3; ++k) expect += x.at<float>({i, k}) * w.at<float>({k, j});
      EXPECT_NEAR(y.at<float>({i, j}), std::max(expect, 0.0), 1e-5);
    }
  }
  EXPECT_EQ(d.count_params(), 3 * 2 + 2);
}

TEST_F(LayerApi, IncompatibleShapeNamesLayerAndShapes) {
  nn::Dense d({.units = 2});
  d(zeros({4, 3}));
  try {
    d(zeros({4, 5}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("dense"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(None, 3)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4,5]"), std::string::npos) << msg;
  }
}

TEST_F(LayerApi, SequentialWithInputBuildsAtOnceAndCountsParams) {
  // The notes' MLP without dropout: 784 -> 512 -> 512 -> 10.
  nn::Sequential model{nn::Input({784}), nn::Dense({.units = 512, .activation = Activation::ReLU}),
                       nn::Dense({.units = 512, .activation = Activation::ReLU}),
                       nn::Dense({.units = 10, .activation = Activation::Softmax})};
  EXPECT_EQ(model.count_params(), 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10);  // 669,706
  EXPECT_EQ(model.layers().size(), 3u);
  Tensor y = model(zeros({2, 784}));
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
  std::string s = model.summary_string();
  EXPECT_NE(s.find("Total params: 669,706"), std::string::npos) << s;
  EXPECT_NE(s.find("Trainable params: 669,706"), std::string::npos) << s;
  EXPECT_NE(s.find("Non-trainable params: 0"), std::string::npos) << s;
  EXPECT_NE(s.find("(None, 512)"), std::string::npos) << s;
}

TEST_F(LayerApi, SequentialWithoutInputBuildsOnFirstCall) {
  nn::Sequential model{nn::Flatten(), nn::Dense({.units = 4})};
  Tensor y = model(zeros({3, 2, 5}));
  EXPECT_EQ(y.shape(), (Shape{3, 4}));
  EXPECT_NE(model.summary_string().find("(None, 10)"), std::string::npos);
  EXPECT_THROW(model(zeros({3, 2, 6})), ShapeError);
}

TEST_F(LayerApi, FunctionalWithSharedLayerAndTwoOutputs) {
  auto a = nn::Input({4}, "a");
  auto b = nn::Input({4}, "b");
  nn::LayerRef shared = nn::Dense({.units = 3, .name = "shared"});
  auto ha = shared(a), hb = shared(b);
  auto out1 = nn::Dense({.units = 1, .name = "out1"})(ha);
  auto out2 = nn::Dense({.units = 2, .name = "out2"})(hb);
  nn::Model model({a, b}, {out1, out2});
  EXPECT_EQ(model.count_params(), (4 * 3 + 3) + (3 + 1) + (3 * 2 + 2));  // shared weights counted once
  auto outs = model.forward({ones({5, 4}), zeros({5, 4})});
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0].shape(), (Shape{5, 1}));
  EXPECT_EQ(outs[1].shape(), (Shape{5, 2}));
  std::string s = model.summary_string();
  EXPECT_NE(s.find("Connected to"), std::string::npos) << s;
  EXPECT_NE(s.find("shared[1][0]"), std::string::npos) << s;
}

namespace {
// A subclassed model: a residual MLP.
class ResidualMlp : public nn::Model {
 public:
  ResidualMlp() : Model("ResidualMlp", "residual_mlp") {
    hidden_ = track(nn::Dense({.units = 6, .activation = Activation::Tanh}));
    out_ = track(nn::Dense({.units = 6}));
  }
  Tensor call(const std::vector<Tensor>& inputs, bool training) override {
    return inputs[0] + out_(hidden_(inputs[0], training), training);
  }

 private:
  nn::LayerRef hidden_, out_;
};
}  // namespace

TEST_F(LayerApi, SubclassedModelOwnsTrackedLayers) {
  ResidualMlp m;
  Tensor y = m(ones({2, 6}));
  EXPECT_EQ(y.shape(), (Shape{2, 6}));
  EXPECT_EQ(m.count_params(), 2 * (6 * 6 + 6));
  EXPECT_EQ(m.trainable_weights().size(), 4u);
  m.layers()[0]->set_trainable(false);
  EXPECT_EQ(m.trainable_weights().size(), 2u);
  EXPECT_EQ(m.non_trainable_weights().size(), 2u);
}

TEST_F(LayerApi, GradientsFlowToEveryWeightOfAFunctionalModel) {
  auto x = nn::Input({3});
  auto h = nn::Dense({.units = 4, .activation = Activation::Sigmoid})(x);
  auto y = nn::Dense({.units = 1})(h);
  nn::Model model(x, y);
  Tensor loss = sum(square(model(ones({2, 3}))));
  loss.backward();
  for (const auto& w : model.trainable_weights()) {
    ASSERT_TRUE(w.weight->value().grad().defined()) << w.name;
    EXPECT_EQ(w.weight->value().grad().shape(), w.weight->value().shape()) << w.name;
  }
}

// A BatchNormalization whose only consumer is Activation("relu") runs with it as one op
// (batch_norm_relu, ops/normalization.hpp): the same outputs and gradients as the two layers run
// apart, bit for bit. The unfused reference is the same layers in a model that also outputs the
// batch norm's value, which keeps the pair apart.
TEST_F(LayerApi, BatchNormFollowedByReluRunsAsOneOpWithTheSameResults) {
  manual_seed(4);
  nn::SymbolicTensor in = nn::Input({6, 6, 3});
  nn::SymbolicTensor conv = nn::Conv2D({.filters = 8, .kernel_size = {3, 3}, .padding = Padding::Same})(in);
  nn::SymbolicTensor bn = nn::BatchNormalization({.momentum = 0.9})(conv);
  nn::SymbolicTensor relu = nn::ActivationLayer(Activation::ReLU)(bn);
  nn::Model fused(in, relu);
  nn::Model apart(std::vector<nn::SymbolicTensor>{in}, std::vector<nn::SymbolicTensor>{relu, bn});
  Tensor x = random_f64({4, 6, 6, 3}, 5).to(f32), seed = random_f64({4, 6, 6, 8}, 6).to(f32);
  auto node_name = [](const Tensor& t) { return std::string(t.impl().autograd->grad_fn->name()); };
  for (bool training : {true, false}) {
    auto run = [&](nn::Model& m) {
      for (const auto& w : m.trainable_weights()) w.weight->value().set_grad(Tensor());
      Tensor y = m.forward({x}, training)[0];
      y.backward(seed);
      std::vector<Tensor> out{y.detach()};
      for (const auto& w : m.trainable_weights()) out.push_back(w.weight->value().grad());
      return std::pair{out, node_name(y)};
    };
    auto [want, want_node] = run(apart);
    auto [got, got_node] = run(fused);
    EXPECT_EQ(want_node, "relu");
    EXPECT_EQ(got_node, "batch_norm_relu");
    ASSERT_EQ(got.size(), 5u);  // y, conv kernel and bias, gamma, beta
    for (std::size_t k = 0; k < got.size(); ++k) {
      ASSERT_TRUE(got[k].defined() && want[k].defined()) << k;
      EXPECT_EQ(got[k].to_vector<double>(), want[k].to_vector<double>()) << "training " << training << ", tensor " << k;
    }
  }
  // An activity penalty on the batch norm, set after the model ran, must see the batch norm's own
  // output: the pair runs apart from then on, and the penalty is the unfused model's.
  fused.get_layer("batch_normalization")->set_activity_regularizer(nn::regularizers::get("l2"));
  Tensor y = fused.forward({x}, true)[0];
  EXPECT_EQ(node_name(y), "relu");
  Tensor penalty = fused.regularization_loss();
  apart.forward({x}, true);
  ASSERT_TRUE(penalty.defined());
  EXPECT_EQ(penalty.item<double>(), apart.regularization_loss().item<double>());
}
