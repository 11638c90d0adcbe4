// The notes' TF1 softmax regression (notes 002, "Mini-Batch"), in graph mode on Fashion-MNIST:
//   features = tf.placeholder(tf.float32, [None, 784]); labels = tf.placeholder(tf.float32, [None, 10])
//   weights = tf.Variable(tf.random_normal([784, 10])); bias = tf.Variable(tf.random_normal([10]))
//   logits = tf.add(tf.matmul(features, weights), bias)
//   cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=labels))
//   optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(cost)
//   correct_prediction = tf.equal(tf.argmax(logits, 1), tf.argmax(labels, 1))
//   accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
// Differences, for an accuracy worth reporting: the initial weights have stddev 0.01 (the notes' 1.0
// with learning rate 0.001 and one pass barely trains), learning rate 0.1, 5 epochs.
// Prints test_accuracy=...; CTest requires >= 0.83.
#include <cstdio>

#include "ember/ember.hpp"

using namespace ember;
namespace tf = ember::graph;

int main() try {
  const int epochs = 5;
  manual_seed(42);
  const int64_t batch_size = 128;
  data::TrainTestData ds = data::load_fashion_mnist();
  Tensor train_features = ds.train.images.to(f32).div(255).reshape({-1, 784});
  Tensor train_labels = one_hot(ds.train.labels, 10);
  Tensor test_features = ds.test.images.to(f32).div(255).reshape({-1, 784});
  Tensor test_labels = one_hot(ds.test.labels, 10);

  tf::Graph graph;
  tf::GraphScope as_default(graph);
  auto features = tf::placeholder(f32, {-1, 784}, "features");
  auto labels = tf::placeholder(f32, {-1, 10}, "labels");
  tf::Variable weights(tf::random_normal({784, 10}, 0.01), {.name = "weights"});
  tf::Variable bias(tf::random_normal({10}, 0.01), {.name = "bias"});
  auto logits = tf::add(tf::matmul(features, weights), bias);
  auto cost = tf::reduce_mean(tf::nn::softmax_cross_entropy_with_logits(labels, logits));
  auto optimizer = tf::GradientDescentOptimizer(0.1).minimize(cost);
  auto correct_prediction = tf::equal(tf::argmax(logits, 1), tf::argmax(labels, 1));
  auto accuracy = tf::reduce_mean(tf::cast(correct_prediction, f32));
  auto init = tf::global_variables_initializer();

  tf::Session sess(graph);
  sess.run(init);
  const int64_t n = train_features.size(0);
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    Tensor order = randperm(n);
    double total = 0;
    for (int64_t start = 0; start < n; start += batch_size) {
      Tensor idx = order.slice(0, start, std::min(n, start + batch_size));
      Tensor bx = gather(train_features, idx), by = gather(train_labels, idx);
      auto out = sess.run({optimizer, cost}, {{features, bx}, {labels, by}});
      total += tf::as_tensor(out[1]).item<double>() * double(bx.size(0));
    }
    std::printf("epoch %d/%d cost=%.4f\n", epoch, epochs, total / double(n));
  }
  double test_accuracy = sess.run(accuracy, {{features, test_features}, {labels, test_labels}}).item<float>();
  std::printf("test_accuracy=%.4f\n", test_accuracy);
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "example_tf1_softmax_regression: %s\n", e.what());
  return 1;
}
