// graph::Saver: tf.train.Saver over graph variables. Expected values are the tensors assigned here
// and TF1's rotation rule (the last max_to_keep checkpoints survive).
#include <gtest/gtest.h>

#include <filesystem>

#include "ember/core/error.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/saver.hpp"
#include "ember/graph/session.hpp"
#include "ember/io/safetensors.hpp"
#include "test_support.hpp"

using namespace ember;
namespace g = ember::graph;
namespace fs = std::filesystem;
using ember::testing::message_of;

namespace {
Tensor mat(std::vector<float> v, int64_t rows, int64_t cols) { return from_vector(v, {rows, cols}); }

// The notes' two variables (weights [2, 3], bias [3]) under a name scope.
struct Net {
  g::Variable weights, bias;
  explicit Net(const Tensor& w0 = zeros({2, 3}), const Tensor& b0 = zeros({3})) {
    g::NameScope scope("layer1");
    weights = g::Variable(w0, {.name = "weights"});
    bias = g::Variable(b0, {.name = "bias"});
  }
};
}  // namespace

TEST(GraphSaver, SaveThenRestoreInAFreshGraphAndSession) {
  const fs::path dir = ember::testing::fresh_temp_dir("graph_saver_roundtrip");
  const Tensor w = mat({1, 2, 3, 4, 5, 6}, 2, 3);
  const Tensor b = from_vector(std::vector<float>{-1, 0.5f, 7}, {3});
  std::string path;
  {
    g::Graph graph;
    g::GraphScope as_default(graph);
    Net net(w, b);
    g::Saver saver;
    g::Session sess(graph);
    sess.run(g::global_variables_initializer());
    path = saver.save(sess, (dir / "test.ckpt").string());
  }
  EXPECT_EQ(path, (dir / "test.ckpt").string());
  // The data file: one tensor per variable under its graph name.
  io::SafetensorsFile f = io::load_safetensors(path + ".safetensors");
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors.at("layer1/weights").to_vector<float>(), w.to_vector<float>());
  EXPECT_EQ(f.tensors.at("layer1/bias").to_vector<float>(), b.to_vector<float>());
  EXPECT_TRUE(f.checksummed);

  // The notes' restore: the same variables defined again (other initial values), no initializer run.
  g::Graph graph;
  g::GraphScope as_default(graph);
  Net net;
  g::Saver saver;
  g::Session sess(graph);
  EXPECT_FALSE(sess.initialized(net.weights));
  saver.restore(sess, path);
  EXPECT_EQ(sess.run(net.weights).to_vector<float>(), w.to_vector<float>());
  EXPECT_EQ(sess.run(net.bias).to_vector<float>(), b.to_vector<float>());
  // The restored values are the session's own: an assignment does not write back into the file.
  sess.run(net.bias.assign(g::constant(zeros({3}))));
  EXPECT_EQ(io::load_safetensors(path + ".safetensors").tensors.at("layer1/bias").to_vector<float>(), b.to_vector<float>());
}

TEST(GraphSaver, MaxToKeepAndLatestCheckpoint) {
  const fs::path dir = ember::testing::fresh_temp_dir("graph_saver_rotation");
  g::Graph graph;
  g::GraphScope as_default(graph);
  g::Variable step(g::constant(0.0, i64), {.trainable = false, .name = "step"});
  auto increment = step.assign_add(g::constant(1.0, i64));
  double t = 1000;
  g::Saver saver({.max_to_keep = 5, .clock = [&] { return t += 1; }});
  g::Session sess(graph);
  sess.run(g::global_variables_initializer());
  EXPECT_EQ(g::latest_checkpoint(dir.string()), std::nullopt);
  for (int epoch = 0; epoch < 10; ++epoch) {
    sess.run(increment);
    saver.save(sess, (dir / "model").string(), epoch);
  }
  for (int epoch = 0; epoch < 10; ++epoch)
    EXPECT_EQ(fs::exists(dir / ("model-" + std::to_string(epoch) + ".safetensors")), epoch >= 5) << epoch;
  EXPECT_EQ(saver.last_checkpoints(), (std::vector<std::string>{"model-5", "model-6", "model-7", "model-8", "model-9"}));
  std::optional<std::string> latest = g::latest_checkpoint(dir.string());
  ASSERT_TRUE(latest);
  EXPECT_EQ(*latest, (dir / "model-9").string());
  EXPECT_EQ(io::load_safetensors(*latest + ".safetensors").metadata.at("global_step"), "9");

  // Restore an older one, then the latest: the step counter says which.
  saver.restore(sess, (dir / "model-6").string());
  EXPECT_EQ(sess.run(step).item<int64_t>(), 7);
  saver.restore(sess, *latest + ".safetensors");
  EXPECT_EQ(sess.run(step).item<int64_t>(), 10);
}

TEST(GraphSaver, VarListSubsetSavesAndRestoresOnlyIt) {
  const fs::path dir = ember::testing::fresh_temp_dir("graph_saver_subset");
  g::Graph graph;
  g::GraphScope as_default(graph);
  Net net(mat({1, 2, 3, 4, 5, 6}, 2, 3), from_vector(std::vector<float>{1, 1, 1}, {3}));
  g::Saver all;
  g::Saver only_bias({net.bias});
  g::Session sess(graph);
  sess.run(g::global_variables_initializer());
  const std::string full = all.save(sess, (dir / "all").string());
  const std::string part = only_bias.save(sess, (dir / "bias").string());
  EXPECT_EQ(io::load_safetensors(part + ".safetensors").tensors.size(), 1u);
  sess.run(net.weights.assign(g::constant(zeros({2, 3}))));
  sess.run(net.bias.assign(g::constant(zeros({3}))));
  only_bias.restore(sess, full);  // extra tensors in the file are ignored
  EXPECT_EQ(sess.run(net.bias).to_vector<float>(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(sess.run(net.weights).to_vector<float>(), std::vector<float>(6, 0.0f));
  // The full saver needs the weights, which the bias-only file lacks.
  std::string msg = message_of<FormatError>([&] { all.restore(sess, part); });
  EXPECT_NE(msg.find("no tensor for variable 'layer1/weights'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bias.safetensors"), std::string::npos) << msg;
}

TEST(GraphSaver, MismatchedCheckpointIsAFormatErrorAndChangesNothing) {
  const fs::path dir = ember::testing::fresh_temp_dir("graph_saver_mismatch");
  std::string path;
  {
    g::Graph graph;
    g::GraphScope as_default(graph);
    g::NameScope scope("layer1");
    g::Variable weights(zeros({3, 2}), {.name = "weights"});  // transposed shape
    g::Variable bias(full({3}, 9.0), {.name = "bias"});
    g::Saver saver;
    g::Session sess(graph);
    sess.run(g::global_variables_initializer());
    path = saver.save(sess, (dir / "other").string());
  }
  g::Graph graph;
  g::GraphScope as_default(graph);
  Net net;
  g::Saver saver;
  g::Session sess(graph);
  sess.run(g::global_variables_initializer());
  std::string msg = message_of<FormatError>([&] { saver.restore(sess, path); });
  EXPECT_NE(msg.find("'layer1/weights'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("float32 (3, 2), the variable is float32 (2, 3)"), std::string::npos) << msg;
  // The bias, which matched, was not assigned either.
  EXPECT_EQ(sess.run(net.bias).to_vector<float>(), std::vector<float>(3, 0.0f));
  // A missing or corrupt file.
  EXPECT_THROW(saver.restore(sess, (dir / "nothing").string()), IOError);
  ember::testing::write_file(dir / "bad.safetensors", "not a safetensors file");
  EXPECT_THROW(saver.restore(sess, (dir / "bad").string()), FormatError);
}

TEST(GraphSaver, Errors) {
  const fs::path dir = ember::testing::fresh_temp_dir("graph_saver_errors");
  g::Graph graph;
  g::GraphScope as_default(graph);
  EXPECT_NE(message_of<ValueError>([] { g::Saver s; }).find("no variables to save"), std::string::npos);
  Net net;
  g::Saver saver;
  g::Session sess(graph);
  // Saving before the variables have values.
  std::string msg = message_of<ValueError>([&] { saver.save(sess, (dir / "m").string()); });
  EXPECT_NE(msg.find("layer1/weights"), std::string::npos) << msg;
  sess.run(g::global_variables_initializer());
  EXPECT_THROW(saver.save(sess, (dir / "missing_dir" / "m").string()), IOError);
  EXPECT_THROW(g::Saver({.keep_checkpoint_every_n_hours = 0}), ValueError);
  // A session of another graph.
  g::Graph other;
  g::Session other_sess(other);
  EXPECT_THROW(saver.save(other_sess, (dir / "m").string()), ValueError);
  // A corrupt index is a FormatError naming it.
  ember::testing::write_file(dir / "checkpoint", "model_checkpoint_path: 5\n");
  msg = message_of<FormatError>([&] { g::latest_checkpoint(dir.string()); });
  EXPECT_NE(msg.find("checkpoint"), std::string::npos) << msg;
}
