// Normalization (adapt vs NumPy: tests/fixtures/gen/gen_normalization.py), Rescaling, GaussianNoise
// and GaussianDropout: values from maths or NumPy, never from Ember's own output.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "ember/data/splits.hpp"
#include "ember/nn/layers/noise.hpp"
#include "ember/nn/layers/scaling.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::message_of;

// ------------------------------------------------------------------ Normalization

TEST(Normalization, AdaptMatchesNumPy) {
  for (const auto& c : testing::load_fixture("normalization.json")) {
    SCOPED_TRACE(c.name);
    std::vector<int64_t> axis = c.attrs.at("axis").get<std::vector<int64_t>>();
    nn::Normalization layer({.axis = axis});
    layer.adapt(c.at("data"));
    EXPECT_TRUE(all_close(layer.find_weight("mean")->value(), c.at("mean"), 1e-6, 1e-6));
    EXPECT_TRUE(all_close(layer.find_weight("variance")->value(), c.at("variance"), 1e-6, 1e-6));
    EXPECT_EQ(layer.find_weight("count")->value().dtype(), i64);
    EXPECT_EQ(layer.find_weight("count")->value().item<int64_t>(), c.attrs.at("count").get<int64_t>());
    EXPECT_EQ(layer(c.at("x").to(f32)).dtype(), f32);
    // In f64 (the statistics are stored as f32, as Keras's): the constant feature's 5 + 1e-8 is not
    // an f32, and its output (x - 5) / 1e-7 = 0.1 needs it.
    EXPECT_TRUE(all_close(layer(c.at("x")), c.at("y"), 2e-5, 2e-5));
  }
}

TEST(Normalization, KerasDocExamples) {
  // keras.layers.Normalization(axis=None).adapt([1, 2, 3, 4, 5]) on [1, 2, 3]: mean 3, var 2.
  nn::Normalization global({.axis = {}});
  global.adapt(from_vector(std::vector<double>{1, 2, 3, 4, 5}, {5, 1}, f64));
  Tensor y = global(from_vector(std::vector<double>{1, 2, 3}, {3, 1}, f64));
  EXPECT_TRUE(all_close(y, from_vector(std::vector<double>{-2 / std::sqrt(2.0), -1 / std::sqrt(2.0), 0}, {3, 1}, f64)));
  // Fixed mean=3, variance=2 gives the same; invert undoes it.
  nn::Normalization fixed({.mean = {3.0}, .variance = {2.0}});
  EXPECT_TRUE(all_close(fixed(from_vector(std::vector<double>{1, 2, 3}, {3, 1}, f64)), y));
  nn::Normalization inverse({.mean = {3.0}, .variance = {2.0}, .invert = true});
  EXPECT_TRUE(all_close(inverse(y), from_vector(std::vector<double>{1, 2, 3}, {3, 1}, f64)));
  EXPECT_TRUE(fixed.named_weights().empty()) << "fixed statistics are config, not weights";
  // Per-feature fixed statistics, one per kept position.
  nn::Normalization per({.mean = {1.0, 10.0}, .variance = {4.0, 0.25}});
  Tensor z = per(from_vector(std::vector<double>{3, 11, -1, 9}, {2, 2}, f64));
  EXPECT_EQ(z.to_vector<double>(), (std::vector<double>{1, 2, -1, -2}));
}

TEST(Normalization, BeforeAdaptIsIdentityAndWeightsAreKeras) {
  nn::Normalization layer({.name = "norm"});
  Tensor x = testing::random_f64({4, 3}, 1).to(f32);
  EXPECT_TRUE(all_close(layer(x), x, 0, 0));
  auto weights = layer.named_weights();
  ASSERT_EQ(weights.size(), 3u);
  EXPECT_EQ(weights[0].name, "norm/mean");
  EXPECT_EQ(weights[1].name, "norm/variance");
  EXPECT_EQ(weights[2].name, "norm/count");
  for (const auto& w : weights) EXPECT_FALSE(w.trainable) << w.name;
  EXPECT_EQ(weights[0].weight->value().shape(), (Shape{3}));
  EXPECT_EQ(weights[2].weight->value().shape(), (Shape{}));
  EXPECT_EQ(layer.count_params(), 7);
}

TEST(Normalization, FittedOnTheTrainingSplitOnly) {
  // Features with a strong trend over the rows, so that the two parts differ: x[i] = [i, i^2 / 10].
  std::vector<double> v;
  for (int i = 0; i < 100; ++i) {
    v.push_back(i);
    v.push_back(i * i / 10.0);
  }
  Tensor x = from_vector(v, {100, 2}, f64);
  auto split = data::train_test_split(x, Tensor(), {.test_size = 0.3, .seed = 11});
  nn::Normalization norm;
  norm.adapt(split.x_train);
  Tensor train_mean = norm(split.x_train).mean({0});
  Tensor test_mean = norm(split.x_test).mean({0});
  EXPECT_TRUE(all_close(train_mean, zeros({2}, f64), 0, 1e-6));  // the train part is centred
  // The test part's mean, normalised with the train statistics, is not exactly 0: NumPy would
  // say the same, since mean(test) != mean(train) for this seeded split.
  std::vector<double> tm = test_mean.to_vector<double>();
  std::vector<double> train_raw = split.x_train.mean({0}).to_vector<double>();
  std::vector<double> test_raw = split.x_test.mean({0}).to_vector<double>();
  for (int f = 0; f < 2; ++f) {
    EXPECT_NE(tm[f], 0.0);
    EXPECT_NE(train_raw[f], test_raw[f]);
  }
  // Adapting again on everything gives the full data's statistics (adapt replaces, not accumulates).
  norm.adapt(x);
  EXPECT_NEAR(norm.find_weight("mean")->value().at<float>({0}), 49.5, 1e-4);
  EXPECT_EQ(norm.find_weight("count")->value().item<int64_t>(), 100);
}

TEST(Normalization, ConfigAsKeras2) {
  nn::Normalization layer({.axis = {1, 2}, .name = "n"});
  nlohmann::json c = layer.get_config();
  EXPECT_EQ(c["axis"], nlohmann::json({1, 2}));
  EXPECT_EQ(c["mean"], nullptr);
  EXPECT_EQ(c["variance"], nullptr);
  EXPECT_EQ(c["invert"], false);
  // Keras 2 writes axis=None as an empty tuple, and fixed statistics as lists or numbers.
  auto from = nn::Normalization::from_config(
      {{"name", "k"}, {"axis", nlohmann::json::array()}, {"mean", 2.0}, {"variance", {{4.0}}}, {"invert", false}});
  auto* k = dynamic_cast<nn::Normalization*>(from.get());
  ASSERT_NE(k, nullptr);
  EXPECT_TRUE(k->options().axis.empty());
  EXPECT_EQ(k->options().variance, (std::vector<double>{4.0}));
  EXPECT_EQ((*from)(from_vector(std::vector<double>{4, 6}, {2, 1}, f64)).to_vector<double>(),
            (std::vector<double>{1, 2}));
}

TEST(Normalization, BadArguments) {
  EXPECT_NE(message_of<ValueError>([] { nn::Normalization({.mean = {1.0}, .name = "n"}); }).find("together"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { nn::Normalization({.mean = {0.0}, .variance = {-1.0}}); }).find(">= 0"),
            std::string::npos);
  nn::Normalization batch_axis({.axis = {0}, .name = "nb"});
  EXPECT_EQ(message_of<ValueError>([&] { batch_axis.adapt(zeros({4, 3})); }),
            "layer 'nb' (Normalization): axis 0 is not a feature axis of input (None, 3) (the batch axis 0 cannot "
            "keep its own statistics)");
  nn::Normalization wrong_count({.mean = {1, 2}, .variance = {1, 1}, .name = "nw"});
  EXPECT_NE(message_of<ValueError>([&] { wrong_count(zeros({4, 3})); }).find("mean has 2 values; expected 1 or 3"),
            std::string::npos);
  nn::Normalization fixed({.mean = {1}, .variance = {1}});
  EXPECT_NE(message_of<ValueError>([&] { fixed.adapt(zeros({4, 3})); }).find("fixed"), std::string::npos);
  nn::Normalization adapted({.name = "na"});
  adapted.adapt(ones({4, 3}));
  EXPECT_NE(message_of<ShapeError>([&] { adapted.adapt(ones({4, 5})); }).find("(None, 3)"), std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { adapted(ones({4, 2})); }).find("(None, 3)"), std::string::npos);
  EXPECT_NE(message_of<ValueError>([&] { adapted.adapt(zeros({0, 3})); }).find("non-empty"), std::string::npos);
  EXPECT_THROW(nn::Normalization::from_config({{"name", "x"}, {"mean", "a"}, {"variance", 1}}), FormatError);
}

TEST(Normalization, SavedWithTheModelInH5AndSafetensors) {
  auto dir = std::filesystem::temp_directory_path() / "ember_normalization_save";
  std::filesystem::create_directories(dir);
  Tensor data = from_vector(std::vector<double>{1, 10, 3, 20, 5, 60}, {3, 2}, f64);
  auto make = [] {
    return nn::Sequential{nn::Input({2}), nn::Normalization({.name = "norm"}), nn::Dense({.units = 1, .name = "d"})};
  };
  nn::Sequential model = make();
  dynamic_cast<nn::Normalization&>(*model.layers()[0]).adapt(data);
  // NumPy: mean [3, 30], var [8/3, 1400/3].
  for (const char* file : {"w.h5", "w.safetensors"}) {
    SCOPED_TRACE(file);
    std::string path = (dir / file).string();
    model.save_weights(path);
    nn::Sequential twin = make();
    twin(zeros({1, 2}));
    twin.load_weights(path);
    auto& norm = dynamic_cast<nn::Normalization&>(*twin.layers()[0]);
    EXPECT_TRUE(all_close(norm.find_weight("mean")->value(), from_vector(std::vector<double>{3, 30}, {2}, f64)));
    EXPECT_TRUE(all_close(norm.find_weight("variance")->value(),
                          from_vector(std::vector<double>{8.0 / 3, 1400.0 / 3}, {2}, f64)));
    EXPECT_EQ(norm.find_weight("count")->value().item<int64_t>(), 3);
  }
  std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------------ Rescaling

TEST(Rescaling, ScaleAndOffset) {
  nn::Rescaling images({.scale = 1.0 / 255});
  Tensor u = from_vector(std::vector<uint8_t>{0, 51, 255}, {1, 3});
  Tensor y = images(u);
  EXPECT_EQ(y.dtype(), f32);
  EXPECT_TRUE(all_close(y, from_vector(std::vector<double>{0, 0.2, 1}, {1, 3}, f64)));
  // [0, 255] -> [-1, 1] (Keras's example: scale 1/127.5, offset -1).
  nn::Rescaling centred({.scale = 1.0 / 127.5, .offset = -1});
  EXPECT_TRUE(all_close(centred(u), from_vector(std::vector<double>{-1, -0.6, 1}, {1, 3}, f64)));
  EXPECT_THROW(nn::Rescaling({.scale = std::nan("")}), ValueError);
  EXPECT_THROW(nn::Rescaling::from_config({{"name", "r"}}), FormatError);  // scale is required
}

// ------------------------------------------------------------------ GaussianNoise, GaussianDropout

TEST(GaussianNoise, IdentityAtInferenceNoiseWithStddevInTraining) {
  nn::GaussianNoise layer({.stddev = 0.5, .seed = 3});
  Tensor x = full({200, 100}, 2.0, f64);
  EXPECT_TRUE(layer(x, false).is_same(x));
  Tensor y = layer(x, true);
  Tensor noise = y - x;
  // 20000 draws of N(0, 0.25): the sample mean is within 4 sigma/sqrt(n) = 0.014 of 0 and the
  // sample std within 2 % of 0.5.
  double mean = noise.mean().item<double>();
  double sd = std::sqrt(square(noise - mean).mean().item<double>());
  EXPECT_LT(std::abs(mean), 0.014);
  EXPECT_NEAR(sd, 0.5, 0.01);
  // Seeded: a fresh layer draws the same noise; the next call draws new noise.
  nn::GaussianNoise twin({.stddev = 0.5, .seed = 3});
  EXPECT_TRUE(all_close(twin(x, true), y, 0, 0));
  EXPECT_FALSE(all_close(layer(x, true), y, 0, 0));
  EXPECT_THROW(nn::GaussianNoise({.stddev = -1}), ValueError);
}

TEST(GaussianDropout, MultiplicativeNoiseOfDropoutVariance) {
  // rate 0.2: m ~ N(1, 0.2 / 0.8 = 0.25), so std 0.5.
  nn::GaussianDropout layer({.rate = 0.2, .seed = 4});
  Tensor x = full({200, 100}, 3.0, f64);
  EXPECT_TRUE(layer(x, false).is_same(x));
  Tensor m = layer(x, true) / 3.0;
  double mean = m.mean().item<double>();
  double sd = std::sqrt(square(m - mean).mean().item<double>());
  EXPECT_NEAR(mean, 1.0, 0.014);
  EXPECT_NEAR(sd, 0.5, 0.01);
  nn::GaussianDropout none({.rate = 0.0});
  EXPECT_TRUE(none(x, true).is_same(x));
  EXPECT_EQ(message_of<ValueError>([] { nn::GaussianDropout({.rate = 1.0, .name = "gd"}); }),
            "layer 'gd' (GaussianDropout): rate must be in [0, 1), got 1.000000");
}

TEST(GaussianNoise, ActiveOnlyInFit) {
  // In a model: predict (inference) is deterministic and noise-free; a training call is not.
  nn::Sequential model{nn::Input({4}), nn::GaussianNoise({.stddev = 1.0, .seed = 1}),
                       nn::GaussianDropout({.rate = 0.5, .seed = 2})};
  Tensor x = ones({3, 4});
  EXPECT_TRUE(all_close(model(x, false), x, 0, 0));
  EXPECT_FALSE(all_close(model(x, true), x, 0, 0.1));
}

}  // namespace
}  // namespace ember
