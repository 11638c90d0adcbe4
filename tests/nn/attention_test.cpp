// LayerNormalization and MultiHeadAttention: golden values from PyTorch (tests/fixtures/attention.json,
// made by tests/fixtures/gen/gen_attention.py; nn.MultiheadAttention / F.layer_norm where torch has
// the module), forward, attention probabilities and every gradient, in float32 and float64; then
// the error cases and the parameter counts (Keras's formulas).
#include <gtest/gtest.h>

#include <cmath>

#include "ember/nn/config.hpp"
#include "ember/nn/layers/attention.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::FixtureCase;
using testing::load_fixture;

struct Tol {
  double rtol, atol;
};
constexpr Tol kF32{1e-5, 1e-5};
constexpr Tol kF64{1e-10, 1e-10};

const char* label(DType dt) { return dt == f64 ? "f64" : "f32"; }

nn::LayerPtr make_layer(const FixtureCase& c) {
  const auto& a = c.attrs;
  if (a.at("layer") == "LayerNormalization") {
    Axes axes;
    for (const auto& x : a.at("axis")) axes.push_back(x.get<int64_t>());
    return std::make_shared<nn::LayerNormalization>(nn::LayerNormalizationOptions{
        .axis = axes, .epsilon = a.at("epsilon"), .center = a.at("center"), .scale = a.at("scale")});
  }
  nn::MultiHeadAttentionOptions o{.num_heads = a.at("num_heads"), .key_dim = a.at("key_dim")};
  o.value_dim = a.at("value_dim").get<int64_t>();
  o.use_bias = a.at("use_bias");
  o.output_shape = Shape{a.at("output_dim").get<int64_t>()};
  if (a.contains("attention_axes")) {
    Axes axes;
    for (const auto& x : a.at("attention_axes")) axes.push_back(x.get<int64_t>());
    o.attention_axes = axes;
  }
  return std::make_shared<nn::MultiHeadAttention>(o);
}

// Sets the layer's weights from the fixture: f32 copies into the layer's own tensors, or f64
// leaves that replace them.
void load_weights(nn::Layer& layer, const FixtureCase& c, DType dt) {
  for (const auto& nw : layer.named_weights()) {
    nn::Weight* w = nw.weight;
    ASSERT_TRUE(c.tensors.count(w->name)) << c.name << ": fixture lacks weight " << w->name;
    if (dt == f32) {
      autograd::NoGradGuard no_grad;
      w->value().copy_(c.at(w->name));
    } else {
      w->value() = c.at(w->name).to(f64).detach().clone().requires_grad_();
    }
  }
}

void run_case(const FixtureCase& c, DType dt, Tol tol) {
  SCOPED_TRACE(std::string(c.name) + " " + label(dt));
  nn::LayerPtr layer = make_layer(c);
  const bool mha = c.attrs.at("layer") == "MultiHeadAttention";
  std::vector<std::string> keys = mha ? std::vector<std::string>{"x0", "x1", "x2"} : std::vector<std::string>{"x"};
  {
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> blanks;
    for (const auto& k : keys) blanks.push_back(zeros(c.at(k).shape()));
    (*layer)(blanks, false);
  }
  load_weights(*layer, c, dt);
  std::vector<Tensor> xs;
  for (const auto& k : keys) xs.push_back(c.at(k).to(dt).detach().clone().requires_grad_());
  Tensor y, scores;
  if (mha) {
    auto& m = static_cast<nn::MultiHeadAttention&>(*layer);
    nn::AttentionCallArgs args{.key = xs[2],
                               .use_causal_mask = c.attrs.at("use_causal_mask").get<bool>(),
                               .attention_scores = &scores};
    // The mask as the bool tensor a user would pass.
    if (c.tensors.count("mask")) args.attention_mask = greater(c.at("mask"), zeros({}, f64));
    y = m.attend(xs[0], xs[1], args, /*training=*/true);
    ASSERT_TRUE(scores.defined());
    Tensor expect = c.at("scores");
    EXPECT_TRUE(all_close(scores.reshape(expect.shape()), expect, tol.rtol, tol.atol)) << "scores";
  } else {
    y = (*layer)(xs, true);
  }
  EXPECT_EQ(y.dtype(), dt);
  EXPECT_TRUE(all_close(y, c.at("y"), tol.rtol, tol.atol)) << "y";
  y.backward(c.at("dy").to(dt));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(xs[i].grad().defined()) << "no gradient for " << keys[i];
    EXPECT_TRUE(all_close(xs[i].grad(), c.at("d" + keys[i]), tol.rtol, tol.atol)) << "d" << keys[i];
  }
  for (const auto& nw : layer->named_weights()) {
    nn::Weight* w = nw.weight;
    ASSERT_TRUE(w->value().grad().defined()) << "no gradient for " << w->name;
    EXPECT_TRUE(all_close(w->value().grad(), c.at("d" + w->name), tol.rtol, tol.atol)) << "d" << w->name;
  }
}

void run_layer(const std::string& kind) {
  int n = 0;
  for (const FixtureCase& c : load_fixture("attention.json")) {
    if (c.attrs.at("layer") != kind) continue;
    ++n;
    run_case(c, f32, kF32);
    run_case(c, f64, kF64);
  }
  EXPECT_GE(n, 3) << "too few " << kind << " cases in attention.json";
}

TEST(AttentionGolden, LayerNormalization) { run_layer("LayerNormalization"); }
TEST(AttentionGolden, MultiHeadAttention) { run_layer("MultiHeadAttention"); }

TEST(AttentionGolden, MultiHeadAttentionThroughCallWithMaskInput) {
  // The functional-API form: call({query, value, key, mask}) equals attend() with the same mask.
  for (const FixtureCase& c : load_fixture("attention.json")) {
    if (c.name != "mha_cross_kdim_vdim_masked") continue;
    nn::LayerPtr layer = make_layer(c);
    {
      autograd::NoGradGuard no_grad;
      (*layer)({zeros(c.at("x0").shape()), zeros(c.at("x1").shape()), zeros(c.at("x2").shape())}, false);
    }
    load_weights(*layer, c, f32);
    Tensor y = (*layer)({c.at("x0").to(f32), c.at("x1").to(f32), c.at("x2").to(f32), c.at("mask").to(f32)}, false);
    EXPECT_TRUE(all_close(y, c.at("y"), 1e-5, 1e-5));
    return;
  }
  FAIL() << "attention.json lacks mha_cross_kdim_vdim_masked";
}

TEST(MultiHeadAttention, KerasJsonWithKeywordTensorsLoadsCountsAndRoundTrips) {
  // Keras 2 writes mha(x, value=x, use_causal_mask=True) as one entry whose kwargs hold the value
  // tensor and the flag. Parameters (Keras): 3 projections 32*64 + 64, the output 64*32 + 32, the norm 2*32.
  auto model = nn::model_from_json_file(std::string(EMBER_FIXTURE_DIR) + "/keras/transformer_block.json");
  EXPECT_EQ(model->count_params(), 3 * (32 * 64 + 64) + (64 * 32 + 32) + 2 * 32);
  auto* mha = dynamic_cast<nn::MultiHeadAttention*>(model->get_layer("multi_head_attention").get());
  ASSERT_NE(mha, nullptr);
  EXPECT_TRUE(mha->options().use_causal_mask);
  EXPECT_EQ(mha->options().attention_axes, (Axes{1}));
  // The causal flag acts: the output at position 0 does not depend on later positions.
  Tensor x = testing::random_f64({1, 10, 32}, 9).to(f32);
  Tensor y = (*model)(x);
  Tensor x2 = x.clone();
  {
    autograd::NoGradGuard no_grad;
    x2.slice(1, 5, 10).fill_(3.0);
  }
  Tensor y2 = (*model)(x2);
  EXPECT_TRUE(all_close(y.slice(1, 0, 5), y2.slice(1, 0, 5), 1e-6, 1e-6));
  EXPECT_FALSE(all_close(y.slice(1, 5, 10), y2.slice(1, 5, 10), 1e-3, 1e-3));
  // Ember writes the same node form, and reads it back to the same computation.
  std::string text = nn::to_json(*model);
  EXPECT_NE(text.find("\"value\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"use_causal_mask\":true"), std::string::npos) << text;
  auto again = nn::model_from_json(text);
  {
    autograd::NoGradGuard no_grad;
    for (std::size_t i = 0; i < model->named_weights().size(); ++i) {
      again->named_weights()[i].weight->value().copy_(model->named_weights()[i].weight->value());
    }
  }
  EXPECT_TRUE(all_close((*again)(x), y, 0, 0));
}

// ------------------------------------------------------------------ semantics not in the fixture

TEST(MultiHeadAttention, FullyMaskedRowAttendsUniformlyAsKeras) {
  // Keras adds -1e9 to masked scores: a row with every key masked gets equal weights, not NaN.
  nn::MultiHeadAttention mha({.num_heads = 1, .key_dim = 2});
  Tensor q = testing::random_f64({1, 2, 3}, 1).to(f32), v = testing::random_f64({1, 4, 3}, 2).to(f32);
  Tensor mask = ones({1, 2, 4});
  {
    autograd::NoGradGuard no_grad;
    mask.slice(1, 0, 1).fill_(0);
  }
  Tensor scores;
  Tensor y = mha.attend(q, v, {.attention_mask = mask, .attention_scores = &scores});
  for (int64_t s = 0; s < 4; ++s) EXPECT_NEAR(scores.at<float>({0, 0, 0, s}), 0.25f, 1e-6);
  EXPECT_TRUE(std::isfinite(y.sum().item<float>()));
}

TEST(MultiHeadAttention, DropoutOnlyInTrainingAndSeeded) {
  Tensor q = testing::random_f64({2, 3, 4}, 3).to(f32);
  nn::MultiHeadAttention a({.num_heads = 2, .key_dim = 2, .dropout = 0.5, .seed = 7});
  nn::MultiHeadAttention b({.num_heads = 2, .key_dim = 2, .dropout = 0.5, .seed = 7});
  a(std::vector<Tensor>{q, q}, false);
  b(std::vector<Tensor>{q, q}, false);
  {
    autograd::NoGradGuard no_grad;
    for (std::size_t i = 0; i < a.named_weights().size(); ++i) {
      b.named_weights()[i].weight->value().copy_(a.named_weights()[i].weight->value());
    }
  }
  Tensor inf1 = a(std::vector<Tensor>{q, q}, false), inf2 = a(std::vector<Tensor>{q, q}, false);
  EXPECT_TRUE(all_close(inf1, inf2, 0, 0));
  Tensor tr_a = a(std::vector<Tensor>{q, q}, true), tr_b = b(std::vector<Tensor>{q, q}, true);
  EXPECT_TRUE(all_close(tr_a, tr_b, 0, 0)) << "same seed, same masks";
  EXPECT_FALSE(all_close(tr_a, inf1, 1e-3, 1e-3)) << "dropout changed nothing in training";
}

TEST(MultiHeadAttention, ParameterCountsAreKeras) {
  // Keras: 3 projections d*H*k (+H*k) ... written out from the layer's definition, not Ember's output.
  nn::MultiHeadAttention mha({.num_heads = 4, .key_dim = 16});
  Tensor x = zeros({1, 5, 32});
  mha(std::vector<Tensor>{x, x}, false);
  const int64_t d = 32, h = 4, k = 16;
  EXPECT_EQ(mha.count_params(), 3 * (d * h * k + h * k) + (h * k * d + d));  // 6,336 + 2,080
  EXPECT_EQ(mha.count_params(), 8416);
  nn::MultiHeadAttention nb({.num_heads = 2, .key_dim = 3, .value_dim = 5, .use_bias = false, .output_shape = Shape{7}});
  Tensor q = zeros({1, 2, 4}), v = zeros({1, 3, 6});
  nb(std::vector<Tensor>{q, v}, false);
  EXPECT_EQ(nb.count_params(), 4 * 2 * 3 + 6 * 2 * 3 + 6 * 2 * 5 + 2 * 5 * 7);
  nn::LayerNormalization ln;
  ln(zeros({2, 3, 10}), false);
  EXPECT_EQ(ln.count_params(), 20);
}

TEST(MultiHeadAttention, BadInputsNameTheLayer) {
  auto expect_error = [](auto&& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("MultiHeadAttention"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error([] { nn::MultiHeadAttention({.num_heads = 0, .key_dim = 2}); }, "num_heads");
  expect_error([] { nn::MultiHeadAttention({.num_heads = 1, .key_dim = 2, .dropout = 1.0}); }, "dropout");
  expect_error(
      [] {
        nn::MultiHeadAttention m({.num_heads = 1, .key_dim = 2});
        m(std::vector<Tensor>{zeros({2, 3}), zeros({2, 3})}, false);
      },
      "rank >= 3");
  expect_error(
      [] {
        nn::MultiHeadAttention m({.num_heads = 1, .key_dim = 2});
        m.attend(zeros({2, 3, 4}), zeros({2, 5, 4}), {.attention_mask = ones({2, 3, 4})});
      },
      "attention_mask must have shape (2, 3, 5)");
  expect_error(
      [] {
        nn::MultiHeadAttention m({.num_heads = 1, .key_dim = 2});
        m(std::vector<Tensor>{zeros({2, 3, 4}), zeros({2, 5, 4})}, false);
        m(std::vector<Tensor>{zeros({2, 3, 6}), zeros({2, 5, 4})}, false);
      },
      "query shape (None, None, 4)");
  expect_error(
      [] {
        nn::MultiHeadAttention m({.num_heads = 1, .key_dim = 2, .attention_axes = Axes{2}});
        m(std::vector<Tensor>{zeros({2, 3, 4}), zeros({2, 5, 4})}, false);
      },
      "attention_axes");
  expect_error(
      [] {
        nn::MultiHeadAttention m({.num_heads = 1, .key_dim = 2, .attention_axes = Axes{2}});
        m(std::vector<Tensor>{zeros({2, 3, 4, 4}), zeros({2, 5, 4, 4})}, false);
      },
      "not attended over");
}

TEST(LayerNormalization, BadAxesAndShapesNameTheLayer) {
  nn::LayerNormalization batch_axis({.axis = {0}});
  EXPECT_THROW(batch_axis(zeros({2, 3}), false), ValueError);
  nn::LayerNormalization twice({.axis = {1, -1}});
  EXPECT_THROW(twice(zeros({2, 3}), false), ValueError);
  EXPECT_THROW(nn::LayerNormalization({.epsilon = 0}), ValueError);
  nn::LayerNormalization ln;
  ln(zeros({2, 3}), false);
  try {
    ln(zeros({2, 4}), false);
    ADD_FAILURE() << "no error for a different feature size";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("LayerNormalization"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ember
