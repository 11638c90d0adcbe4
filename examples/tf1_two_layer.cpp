// The notes' two-layer network in TF1 graph mode (notes 002, "训练两层网络" and "保存和读取模型"),
// on Fashion-MNIST where the notes used MNIST, ported line by line:
//   x = tf.placeholder(tf.float32, [None, 28, 28, 1]); y = tf.placeholder(tf.float32, [None, n_classes])
//   x_flat = tf.reshape(x, [-1, n_input])
//   weights = {'hidden_layer': tf.Variable(tf.random_normal([n_input, n_hidden_layer])), 'out': ...}
//   hidden_layer = tf.nn.relu(tf.add(tf.matmul(x_flat, weights['hidden_layer']), biases['hidden_layer']))
//   logits = tf.add(tf.matmul(hidden_layer, weights['out']), biases['out'])
//   cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=y))
//   optimizer = tf.train.GradientDescentOptimizer(learning_rate=learning_rate).minimize(cost)
//   ... for epoch: for i in range(total_batch): sess.run(optimizer, feed_dict={x: batch_x, y: batch_y})
//   saver.save(sess, save_file)            # then, in a new program with the same variables:
//   saver.restore(sess, save_file)
// The notes' recipe is the default (learning rate 0.001, 20 epochs, batch 128, 256 hidden units,
// weights and biases drawn from N(0, 1)). The second half is the notes' second program: a new graph
// with the same variable definitions restores the checkpoint and must give the same test accuracy.
//
// usage: example_tf1_two_layer [--epochs N] [--learning-rate LR] [--save-dir DIR]
// Prints test_accuracy=... and exits 1 unless the restored graph reproduces it exactly.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ember/ember.hpp"

using namespace ember;
namespace tf = ember::graph;

namespace {

constexpr int64_t n_input = 784, n_classes = 10, n_hidden_layer = 256;

// The notes' graph. The variables are unnamed, as in the notes: TF names them "Variable",
// "Variable_1", ..., which is why the restoring program must create them in the same order.
struct TwoLayerNetwork {
  tf::Output x, y, cost, accuracy;
  tf::Operation optimizer;
  TwoLayerNetwork(double learning_rate) {
    tf::Variable weights_hidden_layer(tf::random_normal({n_input, n_hidden_layer}));
    tf::Variable weights_out(tf::random_normal({n_hidden_layer, n_classes}));
    tf::Variable biases_hidden_layer(tf::random_normal({n_hidden_layer}));
    tf::Variable biases_out(tf::random_normal({n_classes}));

    x = tf::placeholder(f32, {-1, 28, 28, 1});
    y = tf::placeholder(f32, {-1, n_classes});
    auto x_flat = tf::reshape(x, {-1, n_input});

    auto hidden_layer = tf::add(tf::matmul(x_flat, weights_hidden_layer), biases_hidden_layer);
    hidden_layer = tf::nn::relu(hidden_layer);
    auto logits = tf::add(tf::matmul(hidden_layer, weights_out), biases_out);

    cost = tf::reduce_mean(tf::nn::softmax_cross_entropy_with_logits(y, logits));
    optimizer = tf::GradientDescentOptimizer(learning_rate).minimize(cost);

    auto correct_prediction = tf::equal(tf::argmax(logits, 1), tf::argmax(y, 1));
    accuracy = tf::reduce_mean(tf::cast(correct_prediction, f32));
  }
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "usage: example_tf1_two_layer [--epochs N] [--learning-rate LR] [--save-dir DIR]\n  %s\n", why.c_str());
  std::exit(2);
}

double number_arg(const char* flag, const char* text, double low, double high) {
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= low && v <= high))
    usage(std::string(flag) + " expects a number in [" + std::to_string(low) + ", " + std::to_string(high) + "], got '" + text + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) try {
  int training_epochs = 20;
  double learning_rate = 0.001;
  std::string save_dir = (std::filesystem::temp_directory_path() / "ember_tf1_two_layer").string();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value after '" + a + "'");
    if (a == "--epochs") training_epochs = static_cast<int>(number_arg("--epochs", argv[++i], 1, 1000));
    else if (a == "--learning-rate") learning_rate = number_arg("--learning-rate", argv[++i], 1e-9, 10);
    else if (a == "--save-dir") save_dir = argv[++i];
    else usage("unknown argument '" + a + "'");
  }
  const int64_t batch_size = 128;
  manual_seed(42);

  data::TrainTestData mnist = data::load_fashion_mnist();
  Tensor train_x = mnist.train.images.to(f32).div(255).reshape({-1, 28, 28, 1});
  Tensor train_y = one_hot(mnist.train.labels, n_classes);
  Tensor test_x = mnist.test.images.to(f32).div(255).reshape({-1, 28, 28, 1});
  Tensor test_y = one_hot(mnist.test.labels, n_classes);

  std::filesystem::create_directories(save_dir);
  const std::string save_file = (std::filesystem::path(save_dir) / "test.ckpt").string();

  // The notes' training program.
  float trained_accuracy = 0;
  {
    tf::Graph graph;
    tf::GraphScope as_default(graph);
    TwoLayerNetwork net(learning_rate);
    auto init = tf::global_variables_initializer();
    tf::Saver saver;
    tf::Session sess(graph);
    sess.run(init);
    const int64_t n = train_x.size(0);
    for (int epoch = 0; epoch < training_epochs; ++epoch) {
      const int64_t total_batch = n / batch_size;
      Tensor order = randperm(n);  // mnist.train.next_batch: a shuffled pass per epoch
      double c = 0;
      for (int64_t i = 0; i < total_batch; ++i) {
        Tensor idx = order.slice(0, i * batch_size, (i + 1) * batch_size);
        auto out = sess.run({net.optimizer, net.cost}, {{net.x, gather(train_x, idx)}, {net.y, gather(train_y, idx)}});
        c += tf::as_tensor(out[1]).item<float>() / double(total_batch);
      }
      std::printf("Epoch: %04d cost=%.4f\n", epoch + 1, c);
    }
    trained_accuracy = sess.run(net.accuracy, {{net.x, test_x}, {net.y, test_y}}).item<float>();
    std::printf("test_accuracy=%.4f\n", trained_accuracy);
    std::printf("saved %s\n", saver.save(sess, save_file).c_str());
  }

  // The notes' second program: the same variable definitions, restored instead of initialised.
  tf::Graph graph;
  tf::GraphScope as_default(graph);
  TwoLayerNetwork net(learning_rate);
  tf::Saver saver;
  tf::Session sess(graph);
  saver.restore(sess, *tf::latest_checkpoint(save_dir));
  float restored_accuracy = sess.run(net.accuracy, {{net.x, test_x}, {net.y, test_y}}).item<float>();
  std::printf("restored test_accuracy=%.4f\n", restored_accuracy);
  if (restored_accuracy != trained_accuracy) {
    std::fprintf(stderr, "example_tf1_two_layer: the restored graph gives another accuracy\n");
    return 1;
  }
  std::printf("tf1 two-layer example passed: the restored graph gives the same test accuracy\n");
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "example_tf1_two_layer: %s\n", e.what());
  return 1;
}
