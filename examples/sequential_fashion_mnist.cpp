// Sequential Fashion-MNIST: each 28×28 image is read as a sequence of 28 time steps (rows) of 28
// pixels, and classified by LSTM(128) → Dense(10) — the classic "RNN on images" exercise.
// Usage: example_sequential_fashion_mnist [epochs: 1 to 100, default 1] [training images, default all]
//        [seed, default 42]
// Prints test_loss=... test_accuracy=... at the end.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ember/ember.hpp"

using namespace ember;

namespace {
long parse(const char* s, long lo, long hi) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  return end == s || *end != '\0' || v < lo || v > hi ? -1 : v;
}
}  // namespace

int main(int argc, char** argv) try {
  long epochs = argc > 1 ? parse(argv[1], 1, 100) : 1;
  long limit = argc > 2 ? parse(argv[2], 1, 60000) : 60000;
  long seed = argc > 3 ? parse(argv[3], 0, 1L << 30) : 42;
  if (epochs < 0 || limit < 0 || seed < 0 || argc > 4) {
    std::fprintf(stderr,
                 "usage: example_sequential_fashion_mnist [epochs: 1 to 100] [training images: 1 to 60000] [seed]\n");
    return 2;
  }
  manual_seed(static_cast<uint64_t>(seed));
  data::TrainTestData ds = data::load_fashion_mnist();
  Tensor x = ds.train.images.to(f32).div(255).reshape({-1, 28, 28}).slice(0, 0, limit);  // [N, time, pixels]
  Tensor y = ds.train.labels.slice(0, 0, limit);
  Tensor x_test = ds.test.images.to(f32).div(255).reshape({-1, 28, 28});

  nn::Sequential model{
      nn::Input({28, 28}),
      nn::LSTM({.units = 128}),
      nn::Dense({.units = 10}),
  };
  model.summary();  // LSTM: 4·(128·(28+128)+128) = 80,384 parameters
  model.compile({.optimizer = optim::Adam({.learning_rate = 1e-3}),
                 .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  model.fit(x, y, {.batch_size = 128, .epochs = static_cast<int>(epochs), .verbose = 2});
  auto result = model.evaluate(x_test, ds.test.labels, {.verbose = 0});
  std::printf("test_loss=%.4f test_accuracy=%.4f\n", result.at("loss"), result.at("accuracy"));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "example_sequential_fashion_mnist: %s\n", e.what());
  return 1;
}
