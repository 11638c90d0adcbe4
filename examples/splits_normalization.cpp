// The notes' data workflow on a synthetic data set: hold out parts (60/20/20, stratified), keep only
// the classes 0, 1, 2 (the notes' "digits 0, 1, 2 only"), fit a Normalization layer on the training
// part only (the notes: standardize the test data with the training mean and deviation, never its
// own), and train a small classifier behind it.
//
// The data: 5 classes in 2 features on very different scales (feature 0 around 1000 with spread
// 300, feature 1 around 0.01 with spread 0.003) — without standardization gradient descent crawls.
// Exits with status 1 unless the splits have the expected sizes, the training part normalizes to
// mean 0 and the validation part does not exactly, and the classifier reaches 90 % test accuracy.
#include <cmath>
#include <cstdio>

#include "ember/ember.hpp"

using namespace ember;

int main() try {
  const int64_t per_class = 200, classes = 5;
  Generator gen(7);
  std::vector<double> xs, ys;
  for (int64_t i = 0; i < per_class * classes; ++i) {
    int64_t c = i % classes;
    // Class c centred at (1000 + 300 c, 0.01 + 0.003 c), noise a third of the spacing.
    xs.push_back(1000 + 300 * static_cast<double>(c) + 100 * gen.normal());
    xs.push_back(0.01 + 0.003 * static_cast<double>(c) + 0.001 * gen.normal());
    ys.push_back(static_cast<double>(c));
  }
  Tensor x = from_vector(xs, {per_class * classes, 2});
  Tensor y = from_vector(ys, {per_class * classes}, i64);

  // Digits 0, 1, 2 only: 600 rows, labels kept as they are (already 0..2).
  data::SplitPart subset = data::select_classes(x, y, {0, 1, 2});
  // 60/20/20, every class in every part in proportion: 360 / 120 / 120 rows, 120 / 40 / 40 per class.
  std::vector<data::SplitPart> parts =
      data::split_by_fractions(subset.x, subset.y, {0.6, 0.2, 0.2}, {.seed = 1, .stratify = true});
  const data::SplitPart &train = parts[0], &val = parts[1], &test = parts[2];
  std::printf("train %lld, validation %lld, test %lld rows\n", static_cast<long long>(train.x.size(0)),
              static_cast<long long>(val.x.size(0)), static_cast<long long>(test.x.size(0)));

  // Fitted on the training part only; the statistics are weights of the model, saved with it.
  auto norm = std::make_shared<nn::Normalization>(nn::NormalizationOptions{.axis = {-1}});
  norm->adapt(train.x);
  Tensor train_mean = (*norm)(train.x).mean({0}), val_mean = (*norm)(val.x).mean({0});
  std::printf("normalized means: train [%.2g, %.2g], validation [%.3f, %.3f]\n", train_mean.at<float>({0}),
              train_mean.at<float>({1}), val_mean.at<float>({0}), val_mean.at<float>({1}));

  manual_seed(3);
  nn::Sequential model{nn::Input({2}), norm, nn::Dense({.units = 16, .activation = Activation::ReLU}),
                       nn::Dense({.units = 3})};
  model.compile({.optimizer = optim::Adam({.learning_rate = 1e-2}),
                 .loss = losses::CategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  Generator shuffle(5);
  model.fit(train.x, data::to_categorical(train.y, 3),
            {.batch_size = 32, .epochs = 20, .verbose = 0,
             .validation_data = std::pair{val.x, data::to_categorical(val.y, 3)}, .generator = &shuffle});
  double acc = model.evaluate(test.x, data::to_categorical(test.y, 3), {}).at("accuracy");
  std::printf("test_accuracy=%.4f\n", acc);

  bool ok = train.x.size(0) == 360 && val.x.size(0) == 120 && test.x.size(0) == 120 &&
            std::abs(train_mean.at<float>({0})) < 1e-4 && std::abs(train_mean.at<float>({1})) < 1e-4 &&
            val_mean.at<float>({0}) != 0.0f && acc >= 0.9;
  if (!ok) {
    std::fprintf(stderr, "splits example: a check failed\n");
    return 1;
  }
  std::printf("splits example passed\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "example_splits_normalization: %s\n", e.what());
  return 1;
}
