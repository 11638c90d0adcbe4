// The built-in models' parameter counts, from the layer formulas (not from Ember's output), and a
// forward pass of each on a small batch.
#include <gtest/gtest.h>

#include "ember/ember.hpp"
#include "ember/nn/builtin_models.hpp"

using namespace ember;

namespace {
// A bias-free k×k convolution; a batch norm (gamma, beta trainable; the moving mean and variance not).
int64_t conv(int64_t k, int64_t cin, int64_t cout) { return k * k * cin * cout; }
int64_t bn_trainable(int64_t c) { return 2 * c; }
int64_t bn_all(int64_t c) { return 4 * c; }
int64_t dense(int64_t in, int64_t out, bool bias = true) { return in * out + (bias ? out : 0); }

int64_t trainable_count(nn::Model& m) {
  int64_t n = 0;
  for (const auto& w : m.trainable_weights()) n += w.weight->numel();
  return n;
}
}  // namespace

TEST(BuiltinModels, FmnistConvBnCounts) {
  auto m = nn::builtin_model("fmnist-convbn");
  const int64_t convs = conv(5, 1, 32) + conv(3, 32, 64) + conv(3, 64, 64);
  const int64_t fc = dense(7 * 7 * 64, 256, false) + dense(256, 10);
  EXPECT_EQ(m->count_params(), convs + fc + bn_all(32) + bn_all(64) + bn_all(64) + bn_all(256));
  EXPECT_EQ(trainable_count(*m), convs + fc + bn_trainable(32) + bn_trainable(64) + bn_trainable(64) + bn_trainable(256));
}

TEST(BuiltinModels, FmnistResNetCounts) {
  auto m = nn::builtin_model("fmnist-resnet");
  // stem: 5×5 1→32, 3×3 32→32; stage 1 block 1: 3×3 32→64, 3×3 64→64, 1×1 projection 32→64;
  // block 2: two 3×3 64→64; stage 2 block 1: 3×3 64→128, 3×3 128→128, 1×1 projection 64→128;
  // block 2: two 3×3 128→128.
  const int64_t convs = conv(5, 1, 32) + conv(3, 32, 32) + conv(3, 32, 64) + conv(3, 64, 64) + conv(1, 32, 64) + 2 * conv(3, 64, 64) +
                        conv(3, 64, 128) + conv(3, 128, 128) + conv(1, 64, 128) + 2 * conv(3, 128, 128);
  const int64_t bn_channels[] = {32, 32, 64, 64, 64, 64, 64, 128, 128, 128, 128, 128};
  int64_t bn = 0, bn_t = 0;
  for (int64_t c : bn_channels) bn += bn_all(c), bn_t += bn_trainable(c);
  EXPECT_EQ(m->count_params(), convs + bn + dense(128, 10));
  EXPECT_EQ(trainable_count(*m), convs + bn_t + dense(128, 10));
}

TEST(BuiltinModels, EveryModelMapsImagesToTenLogits) {
  for (const std::string& name : nn::builtin_model_names()) {
    auto m = nn::builtin_model(name);
    Tensor y = m->predict(rand({3, 28, 28, 1}), {});
    EXPECT_EQ(y.shape(), (Shape{3, 10})) << name;
  }
  EXPECT_THROW(nn::builtin_model("fmnist-vgg"), ValueError);
}
