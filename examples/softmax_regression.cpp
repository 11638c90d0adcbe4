// Softmax regression on Fashion-MNIST, written with nothing but tensors and autograd:
// logits = x W + b, loss = sparse softmax cross-entropy, plain mini-batch gradient descent.
// Prints the test accuracy at the end (about 0.83 after 3 or 5 epochs).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ember/ember.hpp"

using namespace ember;

int main(int argc, char** argv) try {
  int epochs = 5;
  if (argc > 1) {
    char* end = nullptr;
    long v = std::strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || v < 1 || v > 1000) {
      std::fprintf(stderr, "usage: example_softmax_regression [epochs: 1 to 1000], got '%s'\n", argv[1]);
      return 2;
    }
    epochs = static_cast<int>(v);
  }
  const int64_t batch = 128;
  // 0.5 (the TF tutorial's MNIST rate) makes the test accuracy swing between 0.75 and 0.83 from
  // epoch to epoch on Fashion-MNIST (PyTorch alike); 0.1 climbs steadily.
  const double learning_rate = 0.1;
  manual_seed(42);

  data::TrainTestData ds = data::load_fashion_mnist();
  Tensor x = ds.train.images.to(f32).div(255).reshape({-1, 784});
  Tensor y = ds.train.labels;
  Tensor x_test = ds.test.images.to(f32).div(255).reshape({-1, 784});
  const int64_t n = x.size(0);

  Tensor w = zeros({784, 10}).requires_grad_();
  Tensor b = zeros({10}).requires_grad_();

  for (int epoch = 1; epoch <= epochs; ++epoch) {
    Tensor order = randperm(n);  // reshuffle every epoch
    double total = 0;
    for (int64_t start = 0; start < n; start += batch) {
      Tensor idx = order.slice(0, start, start + batch);
      Tensor xb = gather(x, idx), yb = gather(y, idx);
      Tensor loss = mean(sparse_categorical_crossentropy(yb, matmul(xb, w) + b, /*from_logits=*/true));
      loss.backward();
      {
        autograd::NoGradGuard no_grad;  // the update itself is not part of the model
        w.add_(w.grad(), -learning_rate);
        b.add_(b.grad(), -learning_rate);
      }
      w.zero_grad();
      b.zero_grad();
      total += loss.item<double>() * static_cast<double>(xb.size(0));
    }
    std::printf("epoch %d/%d loss=%.4f\n", epoch, epochs, total / static_cast<double>(n));
  }

  autograd::NoGradGuard no_grad;
  Tensor predicted = argmax(matmul(x_test, w) + b, 1);
  double accuracy = mean(equal(predicted, ds.test.labels).to(f32)).item<double>();
  std::printf("test_accuracy=%.4f\n", accuracy);
  return 0;
} catch (const ember::Error& e) {  // e.g. the data set is not installed: a message, not an abort
  std::fprintf(stderr, "example_softmax_regression: %s\n", e.what());
  return 1;
}
