// Keras masks into MultiHeadAttention (Keras's _compute_attention_mask): in a functional model the
// masks of query and value (here from Embedding(mask_zero)) become the attention mask
// query_mask[:, :, None] & value_mask[:, None, :], AND-ed with the causal mask; the output carries
// the query's mask, which a masked GlobalAveragePooling1D after it then uses.
#include <gtest/gtest.h>

#include "ember/nn/layers/attention.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

// Two sequences padded with index 0: 3 and 4 real tokens of 5.
const std::vector<int64_t> kIds = {3, 1, 2, 0, 0, 5, 6, 1, 4, 0};
const int64_t kValid[] = {3, 4};
constexpr int64_t kB = 2, kT = 5;

Tensor ids() { return from_vector(kIds, {kB, kT}); }

// mask[b, t, s] = t and s are real tokens of sequence b (and s <= t when causal), worked out from
// the ids by hand rather than by the code under test.
Tensor hand_mask(bool causal) {
  std::vector<double> m;
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t t = 0; t < kT; ++t)
      for (int64_t s = 0; s < kT; ++s)
        m.push_back(kIds[b * kT + t] != 0 && kIds[b * kT + s] != 0 && (!causal || s <= t) ? 1.0 : 0.0);
  return from_vector(m, {kB, kT, kT});
}

struct Net {
  std::shared_ptr<nn::Model> model;
  nn::Embedding* embedding;
  nn::MultiHeadAttention* mha;
};

// ids -> Embedding(mask_zero) -> MHA(self-attention) -> {attention output, GlobalAveragePooling1D}.
Net masked_net(bool causal) {
  manual_seed(7);
  nn::reset_layer_names();
  auto in = nn::Input({kT}, "ids", i64);
  auto e = nn::Embedding({.input_dim = 7, .output_dim = 4, .mask_zero = true, .name = "emb"})(in);
  auto a = nn::MultiHeadAttention({.num_heads = 2, .key_dim = 3, .use_causal_mask = causal, .name = "mha"})({e, e});
  auto pooled = nn::GlobalAveragePooling1D("pool")(a);
  Net n{std::make_shared<nn::Model>(std::vector{in}, std::vector{a, pooled}), nullptr, nullptr};
  n.embedding = dynamic_cast<nn::Embedding*>(n.model->get_layer("emb").get());
  n.mha = dynamic_cast<nn::MultiHeadAttention*>(n.model->get_layer("mha").get());
  return n;
}

TEST(AttentionKerasMask, EmbeddingMaskEqualsTheHandBuiltAttentionMask) {
  for (bool causal : {false, true}) {
    Net n = masked_net(causal);
    std::vector<Tensor> out = n.model->call_all({ids()}, false);
    Tensor e = (*n.embedding)(ids(), false);  // the same embeddings, no mask attached
    Tensor want = n.mha->attend(e, e, {.attention_mask = hand_mask(causal), .use_causal_mask = causal});
    EXPECT_EQ(out[0].to_vector<float>(), want.to_vector<float>()) << "causal " << causal;
    // Without the masks the result differs (the padding is attended to): the test can fail.
    Tensor unmasked = n.mha->attend(e, e, {.use_causal_mask = causal});
    EXPECT_GT(max(abs(unmasked - out[0])).item<double>(), 1e-4) << "causal " << causal;
    // The output carries the query's (the embedding's) mask.
    ASSERT_TRUE(n.model->output_masks()[0].defined());
    EXPECT_EQ(n.model->output_masks()[0].to(i64).to_vector<int64_t>(),
              (std::vector<int64_t>{1, 1, 1, 0, 0, 1, 1, 1, 1, 0}));
  }
}

TEST(AttentionKerasMask, RealRowsAttendOnlyToRealTokensAndPaddedRowsUniformlyAsKeras) {
  Net n = masked_net(false);
  Tensor out = n.model->call_all({ids()}, false)[0];
  Tensor e = (*n.embedding)(ids(), false);
  for (int64_t b = 0; b < kB; ++b) {
    const int64_t v = kValid[b];
    Tensor eb = e.slice(0, b, b + 1);
    // A real query row sees exactly the real keys: the same as attending to the real prefix alone.
    Tensor real = n.mha->attend(eb, eb.slice(1, 0, v));
    EXPECT_TRUE(testing::all_close(out.slice(0, b, b + 1).slice(1, 0, v), real.slice(1, 0, v), 1e-6, 1e-6)) << "batch " << b;
    // A padded query row has every key masked: Keras's softmax (scores - 1e9 everywhere) is then
    // uniform over all S keys, which is the row of a call whose attention mask is all zeros.
    Tensor uniform = n.mha->attend(eb, eb, {.attention_mask = zeros({1, kT, kT})});
    EXPECT_TRUE(testing::all_close(out.slice(0, b, b + 1).slice(1, v, kT), uniform.slice(1, v, kT), 1e-6, 1e-6)) << "batch " << b;
    // The same by hand from the weights (f32: score - 1e9 rounds to -1e9, so every key weighs 1/S):
    // the mean over all S positions of the value projection, through the output projection.
    auto w = [&](const char* name) { return n.mha->find_weight(name)->value(); };
    Tensor mean_v = mean(eb.reshape({kT, 4}), {0}, true);  // [1, d]
    Tensor ctx = matmul(mean_v, w("value/kernel").reshape({4, 2 * 3})) + w("value/bias").reshape({2 * 3});
    Tensor row = matmul(ctx, w("attention_output/kernel").reshape({2 * 3, 4})) + w("attention_output/bias");
    for (int64_t t = v; t < kT; ++t)
      EXPECT_TRUE(testing::all_close(out.slice(0, b, b + 1).slice(1, t, t + 1).reshape({1, 4}), row, 1e-5, 1e-5))
          << "batch " << b << " step " << t;
  }
}

TEST(AttentionKerasMask, TheQueryMaskReachesAMaskedGlobalAveragePooling) {
  Net n = masked_net(true);
  std::vector<Tensor> out = n.model->call_all({ids()}, false);
  ASSERT_EQ(out[1].shape(), (Shape{kB, 4}));
  for (int64_t b = 0; b < kB; ++b) {
    Tensor want = mean(out[0].slice(0, b, b + 1).slice(1, 0, kValid[b]), {1});  // real steps only
    EXPECT_TRUE(testing::all_close(out[1].slice(0, b, b + 1), want, 1e-6, 1e-6)) << "batch " << b;
  }
}

TEST(AttentionKerasMask, ValueMaskAloneAndAnExplicitMaskInputAreAnded) {
  // Query without a mask, value with one: only the value's padding is masked (no output mask);
  // an explicit attention_mask input is AND-ed in.
  manual_seed(9);
  nn::reset_layer_names();
  auto q = nn::Input({3, 4}, "q");
  auto in = nn::Input({kT}, "ids", i64);
  auto allow = nn::Input({3, kT}, "allow");
  auto e = nn::Embedding({.input_dim = 7, .output_dim = 4, .mask_zero = true, .name = "emb"})(in);
  auto a = nn::MultiHeadAttention({.num_heads = 1, .key_dim = 2, .name = "mha"})({q, e, e, allow});
  nn::Model model({q, in, allow}, {a});
  auto* emb = dynamic_cast<nn::Embedding*>(model.get_layer("emb").get());
  auto* mha = dynamic_cast<nn::MultiHeadAttention*>(model.get_layer("mha").get());
  Tensor query = testing::random_f64({kB, 3, 4}, 3).to(f32);
  std::vector<double> allowed;  // query row r may not attend to key position r
  std::vector<double> want_mask;
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t s = 0; s < kT; ++s) {
        allowed.push_back(s == r ? 0.0 : 1.0);
        want_mask.push_back(s != r && kIds[b * kT + s] != 0 ? 1.0 : 0.0);
      }
  Tensor allow_t = from_vector(allowed, {kB, 3, kT});
  Tensor out = model.call_all({query, ids(), allow_t}, false)[0];
  Tensor e_eager = (*emb)(ids(), false);
  Tensor want = mha->attend(query, e_eager, {.key = e_eager, .attention_mask = from_vector(want_mask, {kB, 3, kT})});
  EXPECT_EQ(out.to_vector<float>(), want.to_vector<float>());
  EXPECT_FALSE(model.output_masks()[0].defined());
}

TEST(AttentionKerasMask, MasksOnInputsOfAnotherRankAreAValueErrorNamingTheLayer) {
  // Keras masks are [batch, time]: attention over two axes (rank-4 inputs) with a mask is refused
  // rather than broadcast in a way Keras would not.
  nn::MultiHeadAttention mha({.num_heads = 1, .key_dim = 2, .name = "mha4"});
  Tensor x = zeros({2, 3, 3, 4});
  Tensor mask = from_vector(std::vector<int64_t>{1, 1, 0, 1, 0, 0}, {2, 3}).to(DType::b8);
  std::string m = testing::message_of<ValueError>([&] { mha.call_masked_inputs({x, x}, {mask, mask}, false); });
  EXPECT_NE(m.find("layer 'mha4' (MultiHeadAttention)"), std::string::npos) << m;
  EXPECT_NE(m.find("rank 3"), std::string::npos) << m;
  // A mask whose length is not the sequence's: ShapeError with both shapes.
  Tensor y = zeros({2, 4, 4});
  m = testing::message_of<ShapeError>([&] { mha.call_masked_inputs({y, y}, {mask, Tensor()}, false); });
  EXPECT_NE(m.find("(2, 4)"), std::string::npos) << m;
}

}  // namespace
}  // namespace ember
