// The notes' TensorFlow CNN in TF1 graph mode, on Fashion-MNIST where the notes used MNIST:
//   network (002, "Tensorflow CNN"):
//     conv1 = maxpool2d(conv2d(x, weights['conv1'], biases['conv1']))     # 5x5x1x32, SAME, ReLU, pool 2
//     conv2 = maxpool2d(conv2d(conv1, weights['conv2'], biases['conv2'])) # 5x5x32x64
//     dense = tf.nn.relu(tf.add(tf.matmul(tf.reshape(conv2, [-1, 7*7*64]), weights['dense1']), biases['dense1']))
//     dense = tf.nn.dropout(dense, keep_prob)                            # kp fed: 0.5 training, 1.0 testing
//     logits = tf.add(tf.matmul(dense, weights['out']), biases['out'])
//     cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=y))
//   the Saver loop (000): saver = tf.train.Saver(max_to_keep=5); every epoch
//     saver.save(s, save_path='./cnn/model', global_step=i); then in a new session
//     saver.restore(s, './cnn/model-9') and the test accuracy with kp: 1.0
//   name scopes (000): each layer in its own scope, the graph written for TensorBoard with
//     tf.summary.FileWriter('./logs', sess.graph)
// The training recipe is `ember train`'s (README): Adam at 1e-3 with a cosine decay to 0 over the
// run, batch 128, seed 42, Keras's initial weights (glorot uniform, zero biases: get_variable's
// default), 10 epochs. The notes' GradientDescentOptimizer and N(0, 1) weights train far worse.
//
// usage: example_tf1_cnn [--epochs N] [--train-limit N] [--test-limit N] [--save-dir DIR]
//   --train-limit / --test-limit use the first N examples only (0: all; the CTest run is short).
// Prints test_accuracy=... and exits 1 unless the checkpoints kept are the last five epochs' and
// the restored graph gives the accuracy that the trained one had.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ember/ember.hpp"

using namespace ember;
namespace tf = ember::graph;

namespace {

const Conv2dOptions kSame{.strides = {1, 1}, .padding = Padding::Same};

// conv2d(x, W, b): tf.nn.conv2d (stride 1, SAME) + tf.nn.bias_add + tf.nn.relu, in scope `name`.
tf::Output conv2d(const tf::Output& x, const std::string& name, int64_t in, int64_t out) {
  tf::VariableScope scope(name);
  auto W = tf::get_variable("weights", {5, 5, in, out});
  auto b = tf::get_variable("biases", {out}, {.initializer = tf::constant_initializer(0)});
  return tf::nn::relu(tf::nn::bias_add(tf::nn::conv2d(x, W, kSame), b));
}

// maxpool2d(x, k=2): tf.nn.max_pool(x, ksize=[k, k], strides=[k, k], padding='SAME').
tf::Output maxpool2d(const tf::Output& x, int64_t k = 2) {
  return tf::nn::max_pool(x, {.pool_size = {k, k}, .strides = std::array<int64_t, 2>{k, k}, .padding = Padding::Same});
}

tf::Output dense(const tf::Output& x, const std::string& name, int64_t in, int64_t out) {
  tf::VariableScope scope(name);
  auto W = tf::get_variable("weights", {in, out});
  auto b = tf::get_variable("biases", {out}, {.initializer = tf::constant_initializer(0)});
  return tf::add(tf::matmul(x, W), b);
}

struct Cnn {
  tf::Output x, y, kp, logits, cost, correct;
  explicit Cnn() {
    x = tf::placeholder(f32, {-1, 28, 28, 1}, "x");
    y = tf::placeholder(f32, {-1, 10}, "y");
    kp = tf::placeholder(f32, {}, "kp");
    auto conv1 = maxpool2d(conv2d(x, "conv1", 1, 32));
    auto conv2 = maxpool2d(conv2d(conv1, "conv2", 32, 64));
    tf::Output d;
    {
      tf::NameScope scope("flatten");
      d = tf::reshape(conv2, {-1, 7 * 7 * 64});
    }
    d = tf::nn::relu(dense(d, "dense1", 7 * 7 * 64, 1024));
    d = tf::nn::dropout(d, kp);
    logits = dense(d, "out", 1024, 10);
    tf::NameScope scope("loss");
    cost = tf::reduce_mean(tf::nn::softmax_cross_entropy_with_logits(y, logits));
    correct = tf::reduce_sum(tf::cast(tf::equal(tf::argmax(logits, 1), tf::argmax(y, 1)), f32));
  }
  // Accuracy with kp 1.0, in chunks (a 10,000-image batch would need gigabytes of activations).
  double accuracy(tf::Session& sess, const Tensor& images, const Tensor& labels) const {
    const int64_t n = images.size(0), chunk = 500;
    double right = 0;
    for (int64_t i = 0; i < n; i += chunk) {
      const int64_t end = std::min(n, i + chunk);
      right += sess.run(correct, {{x, images.slice(0, i, end)}, {y, labels.slice(0, i, end)}, {kp, 1.0}}).item<float>();
    }
    return right / double(n);
  }
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "usage: example_tf1_cnn [--epochs N] [--train-limit N] [--test-limit N] [--save-dir DIR]\n  %s\n",
               why.c_str());
  std::exit(2);
}

int64_t count_arg(const std::string& flag, const char* text, int64_t low) {
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < low || v > 100000000)
    usage(flag + " expects an integer >= " + std::to_string(low) + ", got '" + text + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) try {
  int64_t epochs = 10, train_limit = 0, test_limit = 0;
  std::string save_dir = (std::filesystem::temp_directory_path() / "ember_tf1_cnn").string();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value after '" + a + "'");
    if (a == "--epochs") epochs = count_arg(a, argv[++i], 1);
    else if (a == "--train-limit") train_limit = count_arg(a, argv[++i], 0);
    else if (a == "--test-limit") test_limit = count_arg(a, argv[++i], 0);
    else if (a == "--save-dir") save_dir = argv[++i];
    else usage("unknown argument '" + a + "'");
  }
  const int64_t batch_size = 128;
  manual_seed(42);

  data::TrainTestData ds = data::load_fashion_mnist();
  Tensor train_x = ds.train.images.to(f32).div(255).reshape({-1, 28, 28, 1});
  Tensor train_y = one_hot(ds.train.labels, 10);
  Tensor test_x = ds.test.images.to(f32).div(255).reshape({-1, 28, 28, 1});
  Tensor test_y = one_hot(ds.test.labels, 10);
  if (train_limit > 0 && train_limit < train_x.size(0)) {
    train_x = train_x.slice(0, 0, train_limit);
    train_y = train_y.slice(0, 0, train_limit);
  }
  if (test_limit > 0 && test_limit < test_x.size(0)) {
    test_x = test_x.slice(0, 0, test_limit);
    test_y = test_y.slice(0, 0, test_limit);
  }
  std::filesystem::remove_all(save_dir);
  std::filesystem::create_directories(save_dir);
  const std::string prefix = (std::filesystem::path(save_dir) / "model").string();

  const int64_t n = train_x.size(0), steps = (n + batch_size - 1) / batch_size;
  tf::Graph graph;
  tf::GraphScope as_default(graph);
  Cnn net;
  auto lr = std::make_shared<optim::CosineDecay>(optim::CosineDecayOptions{.initial_learning_rate = 1e-3, .decay_steps = steps * epochs});
  auto optimizer = tf::AdamOptimizer({.learning_rate = lr}).minimize(net.cost);
  auto init = tf::global_variables_initializer();
  tf::Saver saver({.max_to_keep = 5});
  tf::FileWriter((std::filesystem::path(save_dir) / "logs").string(), &graph);

  double trained_accuracy = 0;
  {
    tf::Session s(graph);
    s.run(init);
    for (int64_t i = 0; i < epochs; ++i) {
      Tensor order = randperm(n);
      double c = 0;
      for (int64_t j = 0; j < steps; ++j) {
        Tensor idx = order.slice(0, j * batch_size, std::min(n, (j + 1) * batch_size));
        auto out = s.run({optimizer, net.cost}, {{net.x, gather(train_x, idx)}, {net.y, gather(train_y, idx)}, {net.kp, 0.5}});
        c += tf::as_tensor(out[1]).item<float>() * double(idx.size(0)) / double(n);
      }
      std::printf("epoch %lld/%lld loss=%.4f\n", static_cast<long long>(i + 1), static_cast<long long>(epochs), c);
      std::fflush(stdout);
      saver.save(s, prefix, i);
    }
    trained_accuracy = net.accuracy(s, test_x, test_y);
    std::printf("test_accuracy=%.4f\n", trained_accuracy);
  }

  // The checkpoints kept: the last five epochs'.
  std::vector<std::string> want;
  for (int64_t i = std::max<int64_t>(0, epochs - 5); i < epochs; ++i) want.push_back("model-" + std::to_string(i));
  if (saver.last_checkpoints() != want) {
    std::fprintf(stderr, "example_tf1_cnn: the saver kept other checkpoints than the last five\n");
    return 1;
  }
  // A new session: restore the latest checkpoint (no initializer) and test with kp 1.0.
  tf::Session s(graph);
  const std::string latest = *tf::latest_checkpoint(save_dir);
  saver.restore(s, latest);
  const double restored_accuracy = net.accuracy(s, test_x, test_y);
  std::printf("restored %s: test_accuracy=%.4f\n", latest.c_str(), restored_accuracy);
  if (restored_accuracy != trained_accuracy) {
    std::fprintf(stderr, "example_tf1_cnn: the restored session gives another accuracy\n");
    return 1;
  }
  std::printf("tf1 cnn example passed\n");
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "example_tf1_cnn: %s\n", e.what());
  return 1;
}
