// Transfer learning semantics (Keras 2): freezing a model freezes every layer in it, a frozen
// BatchNormalization runs in inference mode, and training a model around a frozen base leaves the
// base's weights — statistics included — bit-identical while the new head learns.
#include <gtest/gtest.h>

#include <cstring>

#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/losses.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

bool bit_identical(const Tensor& a, const Tensor& b) {
  Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.shape() == cb.shape() && std::memcmp(ca.raw_data(), cb.raw_data(), ca.numel() * sizeof(float)) == 0;
}

TEST(TransferLearning, FrozenBaseStaysBitIdenticalWhileTheHeadLearns) {
  nn::reset_layer_names();
  auto in = nn::Input({6, 6, 1});
  auto h = nn::Conv2D({.filters = 4, .kernel_size = {3, 3}, .name = "conv"})(in);
  h = nn::BatchNormalization({.name = "bn"})(h);
  auto base = std::make_shared<nn::Model>(in, nn::Flatten("flat")(h), "base");
  base->set_trainable(false);
  for (const auto& l : base->layers()) EXPECT_FALSE(l->trainable()) << l->name() << ": Keras freezes every layer";
  EXPECT_TRUE(base->trainable_weights().empty());

  auto x_in = nn::Input({6, 6, 1});
  auto head = nn::Dense({.units = 3, .name = "head"});
  auto head_ref = nn::LayerRef(std::move(head));
  nn::Model model(x_in, head_ref((*base)(x_in)), "transfer");
  model.compile({.optimizer = optim::SGD({.learning_rate = 0.1}),
                 .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  Tensor x = testing::random_f64({32, 6, 6, 1}, 3, 0, 1).to(f32);
  Tensor y = cast(testing::random_f64({32}, 4, 0, 2.999), i64);
  model.predict(x, {});  // materialise the weights
  std::vector<Tensor> before_base, before_head;
  for (const auto& w : base->named_weights()) before_base.push_back(w.weight->value().clone());
  for (const auto& w : head_ref->named_weights()) before_head.push_back(w.weight->value().clone());
  model.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0});
  auto after = base->named_weights();
  ASSERT_EQ(after.size(), 6u);  // kernel, bias, gamma, beta, moving_mean, moving_variance
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(bit_identical(before_base[i], after[i].weight->value())) << after[i].name << " changed";
  }
  bool head_moved = false;
  auto head_after = head_ref->named_weights();
  for (std::size_t i = 0; i < head_after.size(); ++i) {
    head_moved = head_moved || !bit_identical(before_head[i], head_after[i].weight->value());
  }
  EXPECT_TRUE(head_moved) << "the head did not learn";

  // Unfreezing the base then one layer again: only that layer stays frozen.
  base->set_trainable(true);
  base->get_layer("bn")->set_trainable(false);
  EXPECT_TRUE(base->get_layer("conv")->trainable());
  EXPECT_EQ(base->trainable_weights().size(), 2u);  // the conv's kernel and bias
}

}  // namespace
}  // namespace ember
