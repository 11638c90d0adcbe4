// Lazily materialised weights, the parameter memory budget, and checked shape arithmetic (issue 9,
// fuzz findings): a model is built from shapes alone, its weights are created on first use with the
// very numbers an eager build would have drawn, and a model too large for the budget is refused
// before anything is allocated.
#include <chrono>

#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/reshaping.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::message_of;

namespace {

using ember::testing::contains;

struct Lazy : ::testing::Test {
  void SetUp() override { nn::reset_layer_names(); }
  void TearDown() override { nn::set_param_memory_budget(std::nullopt); }
};

// Values of a tensor, exactly.
std::vector<double> values(const Tensor& t) { return t.to(f64).to_vector<double>(); }

}  // namespace

// ------------------------------------------------------------------ shapes only

TEST_F(Lazy, SummaryOfATeraParameterModelAllocatesNothing) {
  nn::Sequential m{nn::Input({1000000}), nn::Dense({.units = 1000000}), nn::Dense({.units = 10})};
  std::string table = m.summary_string();
  // 10^12 + 10^6 + 10^7 + 10: from the declared shapes.
  EXPECT_EQ(m.count_params(), 1000011000010);
  EXPECT_TRUE(contains(table, "Total params: 1,000,011,000,010")) << table;
  for (const auto& w : m.named_weights()) EXPECT_FALSE(w.weight->materialized()) << w.name;
  EXPECT_EQ(m.named_weights()[0].weight->shape, (Shape{1000000, 1000000}));
}

TEST_F(Lazy, FirstCallMaterialisesAndComputes) {
  manual_seed(3);
  nn::Sequential m{nn::Input({4}), nn::Dense({.units = 2})};
  EXPECT_FALSE(m.named_weights()[0].weight->materialized());
  Tensor y = m(ones({3, 4}));
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  for (const auto& w : m.named_weights()) EXPECT_TRUE(w.weight->materialized()) << w.name;
  EXPECT_TRUE(m.named_weights()[0].weight->value().requires_grad());
}

// ------------------------------------------------------------------ same numbers as an eager build

TEST_F(Lazy, InitialWeightsAreTheDrawsOfAnEagerBuildInOrder) {
  // The reference: the same initializers called directly, in build order, on an identically seeded
  // Generator (what add_weight did eagerly before weights were lazy).
  Generator ref(1234);
  Tensor k1 = nn::initializers::GlorotUniform()({3, 5}, f32, ref);
  Tensor k2 = nn::initializers::RandomNormal({.stddev = 0.5})({5, 2}, f32, ref);
  Tensor b2 = nn::initializers::RandomUniform({.minval = -1, .maxval = 1})({2}, f32, ref);
  double next_after_build = ref.uniform();

  manual_seed(1234);
  nn::Sequential m{nn::Input({3}), nn::Dense({.units = 5, .use_bias = false}),
                   nn::Dense({.units = 2,
                              .kernel_initializer = std::make_shared<nn::initializers::RandomNormal>(
                                  nn::initializers::RandomNormalOptions{.stddev = 0.5}),
                              .bias_initializer = std::make_shared<nn::initializers::RandomUniform>(
                                  nn::initializers::RandomUniformOptions{.minval = -1, .maxval = 1})})};
  // Something else draws from the generator before any weight is used: it must get the number it
  // would have got after an eager build, and the weights must not be shifted by it.
  EXPECT_EQ(default_generator().uniform(), next_after_build);
  auto ws = m.named_weights();
  ASSERT_EQ(ws.size(), 3u);
  // Accessed out of order on purpose.
  EXPECT_EQ(values(ws[2].weight->value()), values(b2));
  EXPECT_EQ(values(ws[0].weight->value()), values(k1));
  EXPECT_EQ(values(ws[1].weight->value()), values(k2));
}

TEST_F(Lazy, ReseedingOrDestroyingTheGeneratorKeepsTheBuildTimeState) {
  Generator ref(77);
  Tensor expected = nn::initializers::GlorotUniform()({4, 3}, f32, ref);
  Generator after_reseed(5);
  double first_after_reseed = after_reseed.uniform();

  auto gen = std::make_unique<Generator>(77);
  nn::Dense d({.units = 3});
  d.set_generator(gen.get());
  nn::Sequential m{nn::Input({4}), nn::LayerRef(std::make_shared<nn::Dense>(std::move(d)))};
  gen->manual_seed(5);
  EXPECT_EQ(gen->uniform(), first_after_reseed);  // the reseeded stream is untouched by the weight
  gen.reset();                                    // and the weight no longer needs the generator
  EXPECT_EQ(values(m.named_weights()[0].weight->value()), values(expected));
}

TEST_F(Lazy, BatchNormalizationStatisticsAndFreezingSeeMaterialisedWeights) {
  nn::Sequential m{nn::Input({3}), nn::BatchNormalization()};
  auto* bn = static_cast<nn::BatchNormalization*>(m.layers()[0].get());
  EXPECT_FALSE(bn->find_weight("moving_variance")->materialized());
  bn->set_trainable(false);
  EXPECT_EQ(m.trainable_weights().size(), 0u);
  EXPECT_EQ(values(bn->find_weight("moving_variance")->value()), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(values(bn->find_weight("moving_mean")->value()), (std::vector<double>{0, 0, 0}));
  // Inference with the frozen layer uses the materialised statistics: (x - 0) / sqrt(1 + eps).
  Tensor y = m(full({1, 3}, 2.0));
  EXPECT_NEAR(y.to(f64).to_vector<double>()[0], 2.0 / std::sqrt(1.0 + 1e-3), 1e-6);
}

// ------------------------------------------------------------------ the budget

TEST_F(Lazy, AWeightOverTheBudgetIsRefusedBeforeAllocation) {
  nn::set_param_memory_budget(int64_t{1} << 20, "test budget");
  nn::Sequential m{nn::Input({1024}), nn::Dense({.units = 1024})};
  std::string msg = message_of<MemoryError>([&] { m.materialize_weights(); });
  EXPECT_EQ(msg, "layer 'dense' (Dense): kernel [1024,1024] float32 needs 4.00 MiB; the parameter budget is "
                 "1.00 MiB (test budget)");
  for (const auto& w : m.named_weights()) EXPECT_FALSE(w.weight->materialized()) << w.name;
  // Every way into the weights' memory checks it: a call, compile.
  EXPECT_TRUE(contains(message_of<MemoryError>([&] { m(ones({1, 1024})); }), "needs 4.00 MiB"));
  EXPECT_TRUE(contains(message_of<MemoryError>([&] {
                         m.compile({.optimizer = optim::SGD(), .loss = losses::MeanSquaredError()});
                       }),
                       "needs 4.00 MiB"));
  EXPECT_FALSE(m.named_weights()[0].weight->materialized());
  // Within the budget the same model runs.
  nn::set_param_memory_budget(int64_t{8} << 20, "test budget");
  EXPECT_EQ(m(ones({1, 1024})).shape(), (Shape{1, 1024}));
}

TEST_F(Lazy, ManyWeightsOverTheBudgetTogetherAreRefused) {
  nn::set_param_memory_budget(int64_t{3} << 20, "test budget");  // each kernel 1 MiB, 4 of them
  nn::Sequential m{nn::Input({512}), nn::Dense({.units = 512, .use_bias = false}),
                   nn::Dense({.units = 512, .use_bias = false}), nn::Dense({.units = 512, .use_bias = false}),
                   nn::Dense({.units = 512, .use_bias = false, .name = "last"})};
  std::string msg = message_of<MemoryError>([&] { m.materialize_weights(); });
  EXPECT_TRUE(contains(msg, "its 1048576 parameters not yet in memory need 4.00 MiB; the parameter budget is 3.00 MiB "
                            "(test budget)"))
      << msg;
  EXPECT_TRUE(contains(msg, "layer 'dense' (Dense): kernel [512,512] float32, 1.00 MiB")) << msg;
}

TEST_F(Lazy, TheDefaultBudgetIsTheMemoryAvailable) {
  nn::ParamMemoryBudget b = nn::param_memory_budget();
  EXPECT_EQ(b.source, "memory available");
  EXPECT_GT(b.bytes, int64_t{1} << 20);
  EXPECT_LT(b.bytes, int64_t{1} << 50);
  nn::Sequential m{nn::Input({1000000}), nn::Dense({.units = 1000000})};
  std::string msg = message_of<MemoryError>([&] { m.materialize_weights(); });
  EXPECT_TRUE(contains(msg, "layer 'dense' (Dense): kernel [1000000,1000000] float32 needs 3.64 TiB; the parameter "
                            "budget is "))
      << msg;
  EXPECT_TRUE(contains(msg, "(memory available)")) << msg;
}

// ------------------------------------------------------------------ checked shape arithmetic

TEST_F(Lazy, ReshapeOfAnOverflowingInputIsAShapeError) {
  // The fuzz finding: printed (None, 4611686024869838847) after a signed overflow.
  auto build = [] {
    nn::Sequential m{nn::Input({2147483647, 2147483647, 2147483647}), nn::Reshape({-1})};
  };
  std::string msg = message_of<ShapeError>(build);
  EXPECT_TRUE(contains(msg, "layer 'reshape' (Reshape)")) << msg;
  EXPECT_TRUE(contains(msg, "does not fit in 64 bits")) << msg;
  nn::reset_layer_names();
  std::string target = message_of<ShapeError>(
      [] { nn::Sequential m{nn::Input({4}), nn::Reshape({4294967296, 4294967296, 2})}; });
  EXPECT_TRUE(contains(target, "layer 'reshape' (Reshape): target_shape")) << target;
}

TEST_F(Lazy, FlattenDenseAndParamTotalsAreChecked) {
  std::string flat = message_of<ShapeError>(
      [] { nn::Sequential m{nn::Input({2147483647, 2147483647, 2147483647}), nn::Flatten()}; });
  EXPECT_TRUE(contains(flat, "layer 'flatten' (Flatten)")) << flat;
  // A kernel [2^40, 2^40] has 2^80 elements.
  std::string dense = message_of<ShapeError>(
      [] { nn::Sequential m{nn::Input({int64_t{1} << 40}), nn::Dense({.units = int64_t{1} << 40})}; });
  EXPECT_TRUE(contains(dense, "layer 'dense' (Dense): weight 'kernel': the product of [1099511627776,1099511627776] does not fit")) << dense;
  // Two kernels of 2^62 elements each: each fits, the total does not.
  nn::reset_layer_names();
  nn::Sequential m{nn::Input({int64_t{1} << 31}), nn::Dense({.units = int64_t{1} << 31, .use_bias = false}),
                   nn::Dense({.units = int64_t{1} << 31, .use_bias = false})};
  std::string total = message_of<ShapeError>([&] { m.count_params(); });
  EXPECT_TRUE(contains(total, "the parameter count overflows 64 bits")) << total;
  EXPECT_TRUE(contains(message_of<ShapeError>([&] { m.summary_string(); }), "the parameter count overflows"));
}

TEST_F(Lazy, WindowsPaddingAndConcatenationAreChecked) {
  // A dilated window whose span does not fit in 64 bits does not fit the input: no overflow.
  std::string conv = message_of<ShapeError>([] {
    nn::Sequential m{nn::Input({8, 8, 1}),
                     nn::Conv2D({.filters = 1, .kernel_size = {int64_t{1} << 40, 1}, .dilation_rate = {int64_t{1} << 40, 1}})};
  });
  EXPECT_TRUE(contains(conv, "layer 'conv2d' (Conv2D)")) << conv;
  EXPECT_TRUE(contains(conv, "smaller than the window (9223372036854775807)")) << conv;
  // SAME padding near INT64_MAX: ceil(in / stride) without overflow.
  nn::Sequential same{nn::Input({INT64_MAX, 1, 1}),
                      nn::Conv2D({.filters = 1, .kernel_size = {1, 1}, .strides = {2, 1}, .padding = Padding::Same})};
  EXPECT_EQ(same.symbolic_outputs()[0].shape(), (Shape{-1, INT64_MAX / 2 + 1, 1, 1}));
  std::string pad = message_of<ShapeError>([] {
    nn::Sequential m{nn::Input({INT64_MAX - 1, 1, 1}), nn::ZeroPadding2D({.padding = {{{1, 1}, {0, 0}}}})};
  });
  EXPECT_TRUE(contains(pad, "layer 'zero_padding2d' (ZeroPadding2D)")) << pad;
  std::string cat = message_of<ShapeError>([] {
    auto a = nn::Input({INT64_MAX - 1}), b = nn::Input({2});
    nn::Model m(std::vector<nn::SymbolicTensor>{a, b}, std::vector<nn::SymbolicTensor>{nn::Concatenate()({a, b})});
  });
  EXPECT_TRUE(contains(cat, "layer 'concatenate' (Concatenate)")) << cat;
}
