// A graph saved by one program and run by another that has none of its code (TF1's
// export_meta_graph / import_meta_graph + Saver):
//   example_tf1_meta_graph export DIR   builds and trains a small two-layer network, saves the
//                                       checkpoint, DIR/model.meta, and DIR/expected.safetensors
//                                       (inputs and the logits they gave);
//   example_tf1_meta_graph import DIR   imports DIR/model.meta, restores the latest checkpoint and
//                                       exits 1 unless the logits are bit-identical.
#include <cstdio>
#include <filesystem>
#include <string>

#include "ember/ember.hpp"

using namespace ember;
namespace tf = ember::graph;
namespace fs = std::filesystem;

namespace {

int export_model(const fs::path& dir) {
  manual_seed(1);
  fs::create_directories(dir);
  // A synthetic task: the class of a point is the largest of its first three coordinates.
  Tensor x_train = randn({256, 8});
  Tensor y_train = one_hot(argmax(x_train.slice(1, 0, 3), 1), 3);

  tf::Graph graph;
  tf::GraphScope as_default(graph);
  auto x = tf::placeholder(f32, {-1, 8}, "x");
  auto y = tf::placeholder(f32, {-1, 3}, "y");
  tf::Output h, logits;
  {
    tf::VariableScope scope("hidden");
    h = tf::nn::relu(tf::matmul(x, tf::get_variable("weights", {8, 16})) +
                     tf::get_variable("biases", {16}, {.initializer = tf::constant_initializer(0)}));
  }
  {
    tf::VariableScope scope("out");
    logits = tf::add(tf::matmul(h, tf::get_variable("weights", {16, 3})),
                     tf::get_variable("biases", {3}, {.initializer = tf::constant_initializer(0)}), "logits");
  }
  auto cost = tf::reduce_mean(tf::nn::softmax_cross_entropy_with_logits(y, logits));
  auto train = tf::AdamOptimizer({.learning_rate = 0.01}).minimize(cost);
  tf::Saver saver;
  tf::Session sess(graph);
  sess.run(tf::global_variables_initializer());
  for (int step = 0; step < 200; ++step) sess.run(train, {{x, x_train}, {y, y_train}});
  saver.save(sess, (dir / "model").string(), 200);
  std::vector<std::string> omitted = tf::export_meta_graph((dir / "model.meta").string(), graph);
  std::printf("exported %s (%zu training nodes left out)\n", (dir / "model.meta").c_str(), omitted.size());
  Tensor x_test = randn({20, 8});
  io::save_safetensors((dir / "expected.safetensors").string(), {{"x", x_test}, {"logits", sess.run(logits, {{x, x_test}})}});
  return 0;
}

int import_model(const fs::path& dir) {
  tf::Graph graph;
  tf::GraphScope as_default(graph);
  std::optional<tf::Saver> saver = tf::import_meta_graph((dir / "model.meta").string());
  if (!saver) throw ValueError("the meta graph has no variables");
  tf::Session sess(graph);
  saver->restore(sess, *tf::latest_checkpoint(dir.string()));
  io::SafetensorsFile expected = io::load_safetensors((dir / "expected.safetensors").string());
  Tensor logits = sess.run(graph.get_tensor_by_name("out/logits:0"), {{graph.get_tensor_by_name("x:0"), expected.tensors.at("x")}});
  if (logits.to_vector<float>() != expected.tensors.at("logits").to_vector<float>()) {
    std::fprintf(stderr, "example_tf1_meta_graph: the imported graph computes other logits\n");
    return 1;
  }
  std::printf("imported graph + checkpoint: the same logits bit for bit (%zu operations)\n", graph.operations().size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string mode = argc == 3 ? argv[1] : "";
  if (mode != "export" && mode != "import") {
    std::fprintf(stderr, "usage: example_tf1_meta_graph export|import DIR\n");
    return 2;
  }
  return mode == "export" ? export_model(argv[2]) : import_model(argv[2]);
} catch (const ember::Error& e) {
  std::fprintf(stderr, "example_tf1_meta_graph: %s\n", e.what());
  return 1;
}
