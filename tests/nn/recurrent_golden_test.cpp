// Golden values from PyTorch (tests/fixtures/recurrent.json, made by
// tests/fixtures/gen/recurrent_golden.py) for Embedding, SimpleRNN, LSTM and GRU (both reset_after):
// forward outputs, final states and the gradients of x and every weight, in float32 (weights
// copied into the layer's own f32 tensors) and float64 (weights replaced by f64 tensors). The cases
// with default activations run through the fused op (ops/recurrent.hpp); the tests check that they do.
#include <set>

#include "ember/nn/layers/recurrent.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/recurrent.hpp"
#include "ember/ops/reduce.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::FixtureCase;
using ember::testing::load_fixture;

namespace {

struct Tol {
  double rtol, atol;
};
constexpr Tol kF32{1e-5, 1e-5};     // the float32 bound
constexpr Tol kF64{1e-10, 1e-10};   // and its float64 bound

const char* dtype_label(DType dt) { return dt == f64 ? "f64" : "f32"; }

#define EXPECT_CLOSE(actual, key, tol) \
  EXPECT_TRUE(all_close(actual, c.at(key), tol.rtol, tol.atol)) << c.name << " (" << dtype_label(dt) << "): " << key

std::shared_ptr<nn::RecurrentLayer> make_recurrent(const FixtureCase& c) {
  const std::string kind = c.attrs.at("layer");
  nn::RecurrentOptions o{.units = c.attrs.at("units"),
                         .activation = nn::activation_from_name(c.attrs.at("activation")),
                         .return_sequences = c.attrs.at("return_sequences"),
                         .go_backwards = c.attrs.at("go_backwards"),
                         .reset_after = c.attrs.at("reset_after")};
  if (kind == "SimpleRNN") return std::make_shared<nn::SimpleRNN>(o);
  if (kind == "LSTM") return std::make_shared<nn::LSTM>(o);
  if (kind == "GRU") return std::make_shared<nn::GRU>(o);
  throw ValueError("fixture " + c.name + ": unknown layer " + kind);
}

// A weight's key in the fixtures: its local name ("kernel"), or for a Bidirectional's copies
// ("forward_<x>/<w>", "backward_<x>/<w>") "forward/<w>" / "backward/<w>".
std::string fixture_key(const nn::Layer::NamedWeight& nw) {
  for (const char* dir : {"forward", "backward"})
    if (nw.name.rfind(std::string(dir) + "_", 0) == 0) return std::string(dir) + "/" + nw.weight->name;
  return nw.weight->name;
}

// Copies (f32) or replaces (f64, requiring grad) every weight of `layer` from the fixture.
void load_weights(nn::Layer& layer, const FixtureCase& c, DType dt) {
  for (const auto& nw : layer.named_weights()) {
    nn::Weight* w = nw.weight;
    const std::string key = fixture_key(nw);
    ASSERT_TRUE(c.tensors.count(key)) << c.name << ": fixture lacks weight " << key;
    ASSERT_EQ(w->value().shape(), c.at(key).shape()) << c.name << ": " << key;
    if (dt == f32) {
      autograd::NoGradGuard no_grad;
      w->value().copy_(c.at(key));
    } else {
      w->value() = c.at(key).to(f64).detach().clone().requires_grad_();
    }
  }
}

void run_recurrent(const FixtureCase& c, DType dt, Tol tol) {
  auto layer = make_recurrent(c);
  {
    autograd::NoGradGuard no_grad;
    (*layer)(zeros(c.at("x").shape()), false);
  }
  load_weights(*layer, c, dt);
  Tensor x = c.at("x").to(dt).detach().clone().requires_grad_();
  const uint64_t fused_before = recurrent_sequence_calls();
  nn::RecurrentOutput out = layer->run(x);
  // The fused whole-sequence op serves the default activations; these goldens check it, and the
  // step-by-step path for the rest.
  const bool fusable = layer->options().activation == Activation::Tanh;
  EXPECT_EQ(recurrent_sequence_calls() - fused_before, fusable ? 1u : 0u) << c.name;
  EXPECT_EQ(out.output.dtype(), dt);
  EXPECT_CLOSE(out.output, "y", tol);
  const char* state_keys[] = {"h", "c"};
  ASSERT_EQ(static_cast<int>(out.states.size()), layer->num_states());
  Tensor loss = sum(out.output * c.at("dy").to(dt));
  for (std::size_t i = 0; i < out.states.size(); ++i) {
    const std::string key = state_keys[i];
    EXPECT_CLOSE(out.states[i], key, tol);
    loss = loss + sum(out.states[i] * c.at("d" + key).to(dt));
  }
  // call() returns the same output as run().
  EXPECT_TRUE(all_close((*layer)(x), out.output, 0, 0)) << c.name;
  loss.backward();
  ASSERT_TRUE(x.grad().defined()) << c.name;
  EXPECT_CLOSE(x.grad(), "dx", tol);
  for (const auto& nw : layer->named_weights()) {
    ASSERT_TRUE(nw.weight->value().grad().defined()) << c.name << ": no gradient for " << nw.weight->name;
    EXPECT_CLOSE(nw.weight->value().grad(), "d" + nw.weight->name, tol);
  }
}

void run_embedding(const FixtureCase& c, DType dt, Tol tol) {
  nn::Embedding emb({.input_dim = c.attrs.at("input_dim"), .output_dim = c.attrs.at("output_dim")});
  Tensor idx = c.at("x").to(i64);
  {
    autograd::NoGradGuard no_grad;
    emb(idx);
  }
  load_weights(emb, c, dt);
  Tensor y = emb(idx);
  EXPECT_EQ(y.dtype(), dt);
  EXPECT_CLOSE(y, "y", tol);
  y.backward(c.at("dy").to(dt));
  Tensor& table = emb.find_weight("embeddings")->value();
  ASSERT_TRUE(table.grad().defined());
  EXPECT_CLOSE(table.grad(), "dembeddings", tol);
}

void run_kind(const std::string& kind, bool (*pick)(const FixtureCase&) = nullptr) {
  int n = 0;
  for (const FixtureCase& c : load_fixture("recurrent.json")) {
    if (c.attrs.at("layer") != kind || (pick && !pick(c))) continue;
    ++n;
    SCOPED_TRACE(c.name);
    if (kind == "Embedding") {
      run_embedding(c, f32, kF32);
      run_embedding(c, f64, kF64);
    } else {
      run_recurrent(c, f32, kF32);
      run_recurrent(c, f64, kF64);
    }
  }
  EXPECT_GT(n, 0) << "no matching " << kind << " case in recurrent.json";
}

// Bidirectional (tests/fixtures/bidirectional.json, from torch's bidirectional=True modules).

void run_bidirectional(const FixtureCase& c, DType dt, Tol tol) {
  const std::string kind = c.attrs.at("layer");
  nn::RecurrentOptions o{.units = c.attrs.at("units"), .return_sequences = c.attrs.at("return_sequences")};
  nn::LayerPtr inner = kind == "LSTM" ? nn::LayerPtr(std::make_shared<nn::LSTM>(o))
                       : kind == "GRU" ? nn::LayerPtr(std::make_shared<nn::GRU>(o))
                                       : nn::LayerPtr(std::make_shared<nn::SimpleRNN>(o));
  nn::Bidirectional layer(inner, {.merge_mode = c.attrs.at("merge_mode")});
  {
    autograd::NoGradGuard no_grad;
    layer(zeros(c.at("x").shape()), false);
  }
  auto weights = layer.named_weights();
  ASSERT_EQ(weights.size(), 6u) << c.name;
  load_weights(layer, c, dt);
  Tensor x = c.at("x").to(dt).detach().clone().requires_grad_();
  const uint64_t fused_before = recurrent_sequence_calls();
  nn::RecurrentOutput out = layer.run(x);
  EXPECT_EQ(recurrent_sequence_calls() - fused_before, 2u) << c.name << ": the fused path";
  EXPECT_CLOSE(out.output, "y", tol);
  const auto keys = c.attrs.at("states").get<std::vector<std::string>>();
  ASSERT_EQ(out.states.size(), keys.size()) << c.name;
  Tensor loss = sum(out.output * c.at("dy").to(dt));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_CLOSE(out.states[i], keys[i], tol);
    loss = loss + sum(out.states[i] * c.at("d" + keys[i]).to(dt));
  }
  EXPECT_TRUE(all_close(layer(x), out.output, 0, 0)) << c.name;  // call() == run().output
  loss.backward();
  EXPECT_CLOSE(x.grad(), "dx", tol);
  for (const auto& nw : weights) {
    ASSERT_TRUE(nw.weight->value().grad().defined()) << c.name << ": no gradient for " << nw.name;
    EXPECT_CLOSE(nw.weight->value().grad(), "d" + fixture_key(nw), tol);
  }
}

// Masked batches (tests/fixtures/masked_recurrent.json, from torch's pack_padded_sequence).
void run_masked(const FixtureCase& c, DType dt, Tol tol) {
  const std::string kind = c.attrs.at("layer");
  nn::RecurrentOptions o{.units = c.attrs.at("units"), .return_sequences = c.attrs.at("return_sequences"),
                         .go_backwards = c.attrs.at("go_backwards"),
                         .zero_output_for_mask = c.attrs.at("zero_output_for_mask")};
  nn::LayerPtr inner = kind == "LSTM" ? nn::LayerPtr(std::make_shared<nn::LSTM>(o))
                       : kind == "GRU" ? nn::LayerPtr(std::make_shared<nn::GRU>(o))
                                       : nn::LayerPtr(std::make_shared<nn::SimpleRNN>(o));
  const bool bidi = !c.attrs.at("merge_mode").is_null();
  nn::LayerPtr layer = bidi ? std::make_shared<nn::Bidirectional>(
                                  inner, nn::BidirectionalOptions{.merge_mode = c.attrs.at("merge_mode")})
                            : inner;
  const Shape xs = c.at("x").shape();
  {
    autograd::NoGradGuard no_grad;
    (*layer)(zeros(xs), false);
  }
  auto weights = layer->named_weights();
  load_weights(*layer, c, dt);
  const auto lengths = c.attrs.at("lengths").get<std::vector<int64_t>>();
  std::vector<uint8_t> m;
  for (int64_t len : lengths)
    for (int64_t t = 0; t < xs[1]; ++t) m.push_back(t < len ? 1 : 0);
  Tensor mask = from_vector(m, {xs[0], xs[1]}).to(DType::b8);
  Tensor x = c.at("x").to(dt).detach().clone().requires_grad_();
  const uint64_t fused_before = recurrent_sequence_calls();
  nn::RecurrentOutput out = bidi ? std::static_pointer_cast<nn::Bidirectional>(layer)->run(x, false, mask)
                                 : std::static_pointer_cast<nn::RecurrentLayer>(layer)->run(x, false, {}, mask);
  EXPECT_EQ(recurrent_sequence_calls() - fused_before, bidi ? 2u : 1u) << c.name << ": the fused path";
  EXPECT_CLOSE(out.output, "y", tol);
  const auto keys = c.attrs.at("states").get<std::vector<std::string>>();
  ASSERT_EQ(out.states.size(), keys.size()) << c.name;
  Tensor loss = sum(out.output * c.at("dy").to(dt));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_CLOSE(out.states[i], keys[i], tol);
    loss = loss + sum(out.states[i] * c.at("d" + keys[i]).to(dt));
  }
  loss.backward();
  EXPECT_CLOSE(x.grad(), "dx", tol);
  for (const auto& nw : weights) {
    ASSERT_TRUE(nw.weight->value().grad().defined()) << c.name << ": no gradient for " << nw.name;
    EXPECT_CLOSE(nw.weight->value().grad(), "d" + fixture_key(nw), tol);
  }
}

}  // namespace

TEST(RecurrentGolden, MaskedVariableLengthBatches) {
  int n = 0;
  for (const FixtureCase& c : load_fixture("masked_recurrent.json")) {
    SCOPED_TRACE(c.name);
    run_masked(c, f32, kF32);
    run_masked(c, f64, kF64);
    ++n;
  }
  EXPECT_EQ(n, 7);
}

TEST(RecurrentGolden, Bidirectional) {
  std::set<std::string> layers, modes;
  for (const FixtureCase& c : load_fixture("bidirectional.json")) {
    SCOPED_TRACE(c.name);
    run_bidirectional(c, f32, kF32);
    run_bidirectional(c, f64, kF64);
    layers.insert(c.attrs.at("layer").get<std::string>());
    modes.insert(c.attrs.at("merge_mode").get<std::string>());
  }
  EXPECT_EQ(layers, (std::set<std::string>{"SimpleRNN", "LSTM", "GRU"}));
  EXPECT_EQ(modes, (std::set<std::string>{"concat", "sum", "mul", "ave"}));
}

TEST(RecurrentGolden, Embedding) { run_kind("Embedding"); }
TEST(RecurrentGolden, SimpleRNN) { run_kind("SimpleRNN"); }
TEST(RecurrentGolden, LSTM) { run_kind("LSTM"); }
TEST(RecurrentGolden, GRUResetAfter) {
  run_kind("GRU", [](const FixtureCase& c) { return c.attrs.at("reset_after").get<bool>(); });
}
TEST(RecurrentGolden, GRUResetBefore) {
  run_kind("GRU", [](const FixtureCase& c) { return !c.attrs.at("reset_after").get<bool>(); });
}
TEST(RecurrentGolden, GoBackwardsIsCovered) {
  // Every recurrent class has a go_backwards case (the fixture, not Ember, is checked here).
  std::set<std::string> seen;
  for (const FixtureCase& c : load_fixture("recurrent.json")) {
    if (c.attrs.value("go_backwards", false)) seen.insert(c.attrs.at("layer").get<std::string>() +
                                                          (c.attrs.at("reset_after").get<bool>() ? "" : "_before"));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"SimpleRNN", "LSTM", "GRU", "GRU_before"}));
}
