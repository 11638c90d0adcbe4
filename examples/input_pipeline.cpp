// A tf.data-style input pipeline feeding Model::fit: shuffle, a random augmentation on worker
// threads (per-element generators, so the run is the same at any thread count), batch, prefetch.
// The data: points in [-1, 1)^2 labelled by their larger coordinate. Exits 1 unless the model
// learns it (accuracy > 0.9 on held-out points).
#include <cstdio>

#include "ember/ember.hpp"

using namespace ember;

int main() try {
  manual_seed(0);
  Generator g(1);
  Tensor x = rand({2000, 2}, {.low = -1, .high = 1, .generator = &g});
  Tensor y = x.argmax(1);  // i64 labels 0 / 1
  Tensor x_test = rand({500, 2}, {.low = -1, .high = 1, .generator = &g});
  Tensor y_test = x_test.argmax(1);

  // Augmentation: a little Gaussian noise on each point, drawn from the element's own generator.
  auto jitter = [](data::Element e, Generator& gen) {
    e[0] = e[0] + randn(e[0].shape(), {.stddev = 0.01, .generator = &gen});
    return e;
  };
  data::Dataset train = data::Dataset::from_tensor_slices({x, y})
                            .shuffle(2000, {.seed = 42})
                            .map(jitter, {.num_parallel_calls = 2, .seed = 7})
                            .batch(32)
                            .prefetch(2);

  nn::Sequential model{nn::Input({2}), nn::Dense({.units = 16, .activation = Activation::ReLU}), nn::Dense({.units = 2})};
  model.compile({.optimizer = optim::Adam({.learning_rate = 0.01}),
                 .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  model.fit(train, {.epochs = 5, .verbose = 2});
  auto logs = model.evaluate(data::Dataset::from_tensor_slices({x_test, y_test}).batch(100), {});
  std::printf("test_accuracy=%.4f\n", logs.at("accuracy"));
  if (logs.at("accuracy") <= 0.9) return 1;
  std::printf("input pipeline example passed\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
