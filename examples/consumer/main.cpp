// A program built outside Ember's tree against an installed Ember (see CMakeLists.txt here): it
// trains a tiny model on the XOR problem and prints the result, so the install is checked from
// the headers through the library to its dependencies (oneDNN's GEMM, OpenMP, the optimizers).
#include <ember/ember.hpp>

#include <cstdio>

using namespace ember;

int main() {
  try {
    manual_seed(1);
    Tensor x = from_vector(std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
    Tensor y = from_vector(std::vector<float>{0, 1, 1, 0}, {4, 1});
    nn::Sequential model{
        nn::Input({2}),
        nn::Dense({.units = 8, .activation = Activation::Tanh}),
        nn::Dense({.units = 1, .activation = Activation::Sigmoid}),
    };
    model.compile({.optimizer = optim::Adam({.learning_rate = 0.05}),
                   .loss = losses::BinaryCrossentropy(),
                   .metrics = {"accuracy"}});
    model.fit(x, y, {.batch_size = 4, .epochs = 300, .verbose = 0});
    auto result = model.evaluate(x, y, {.verbose = 0});
    std::printf("consumer: loss=%.4f accuracy=%.2f\n", result.at("loss"), result.at("accuracy"));
    return result.at("accuracy") == 1.0 ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
