// export_meta_graph / import_meta_graph: a graph rebuilt from its file alone computes the same bits
// as the graph that was built in code; corrupt files are FormatErrors naming the node.
#include <gtest/gtest.h>

#include <filesystem>

#include "ember/core/error.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/meta_graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/saver.hpp"
#include "ember/graph/session.hpp"
#include "ember/graph/train.hpp"
#include "test_support.hpp"

using namespace ember;
namespace g = ember::graph;
namespace fs = std::filesystem;
using ember::testing::message_of;

namespace {
Tensor rnd(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) { return ember::testing::random_f64(s, seed, lo, hi).to(f32); }
}  // namespace

TEST(GraphMetaGraph, ImportedGraphPlusCheckpointComputesTheSameBits) {
  const fs::path dir = ember::testing::fresh_temp_dir("graph_meta_graph");
  const Tensor x_val = rnd({5, 16}, 1, 0, 1);
  const Tensor y_val = ember::one_hot(from_vector(std::vector<int64_t>{0, 1, 2, 1, 0}, {5}), 3);
  Tensor logits_before, acc_before, conv_before;
  std::vector<std::string> omitted;
  {
    g::Graph graph;
    g::GraphScope as_default(graph);
    auto x = g::placeholder(f32, {-1, 16}, "x");
    auto y = g::placeholder(f32, {-1, 3}, "y");
    auto kp = g::placeholder(f32, {}, "keep_prob");
    g::Output hidden, logits, conv;
    {
      g::NameScope scope("layer1");
      g::Variable w(g::truncated_normal({16, 8}, 0.1), {.name = "weights"});
      g::Variable b(rnd({8}, 2), {.name = "biases"});  // a constant initial value: stored in the file
      hidden = g::nn::dropout(g::nn::relu(g::matmul(x, w) + b), kp);
    }
    {
      g::NameScope scope("conv");
      g::Variable f(g::random_uniform({3, 3, 1, 2}, -0.5, 0.5), {.name = "filter"});
      auto img = g::reshape(x, {-1, 4, 4, 1});
      conv = g::reduce_sum(g::nn::max_pool(g::nn::conv2d(img, f, {.padding = Padding::Same}), {.pool_size = {2, 2}}), {1, 2, 3});
    }
    {
      g::NameScope scope("out");
      g::Variable w(g::random_normal({8, 3}, 0.3), {.name = "weights"});
      g::Variable step(g::constant(0.0, i64), {.trainable = false, .name = "step"});
      logits = g::add(g::matmul(hidden, w), g::expand_dims(g::cast(conv, f32), 1), "logits");
      (void)step.assign_add(g::constant(1.0, i64));
    }
    auto cost = g::reduce_mean(g::nn::softmax_cross_entropy_with_logits(y, logits), {}, false, "cost");
    auto train = g::GradientDescentOptimizer(0.5).minimize(cost);
    auto accuracy = g::reduce_mean(g::cast(g::equal(g::argmax(logits, 1), g::argmax(y, 1)), f32), {}, false, "accuracy");
    auto init = g::global_variables_initializer();
    g::Saver saver;
    g::Session sess(graph);
    sess.run(init);
    for (int i = 0; i < 5; ++i) sess.run(train, {{x, x_val}, {y, y_val}, {kp, 0.5}});
    saver.save(sess, (dir / "model").string(), 5);
    omitted = g::export_meta_graph((dir / "model.meta").string(), graph);
    logits_before = sess.run(logits, {{x, x_val}, {kp, 1.0}});
    acc_before = sess.run(accuracy, {{x, x_val}, {y, y_val}, {kp, 1.0}});
    conv_before = sess.run(conv, {{x, x_val}});
    // The train op and the gradients are left out (and listed), the rest is kept.
    EXPECT_FALSE(omitted.empty());
    EXPECT_NE(std::find(omitted.begin(), omitted.end(), train.name()), omitted.end());
  }
  // A fresh graph from the file alone, then the checkpoint.
  g::Graph graph;
  g::GraphScope as_default(graph);
  std::optional<g::Saver> saver = g::import_meta_graph((dir / "model.meta").string());
  ASSERT_TRUE(saver);
  EXPECT_EQ(saver->var_list().size(), 5u);
  EXPECT_EQ(g::trainable_variables(graph).size(), 4u);  // "out/step" is not trainable
  EXPECT_EQ(graph.get_operation_by_name("layer1/weights").type(), "VariableV2");
  EXPECT_THROW(graph.get_operation_by_name("GradientDescent"), ValueError);
  g::Session sess(graph);
  saver->restore(sess, *g::latest_checkpoint(dir.string()));
  auto x = graph.get_tensor_by_name("x:0");
  auto y = graph.get_tensor_by_name("y:0");
  auto kp = graph.get_tensor_by_name("keep_prob:0");
  EXPECT_EQ(x.shape().str(), "(?, 16)");
  Tensor logits_after = sess.run(graph.get_tensor_by_name("out/logits:0"), {{x, x_val}, {kp, 1.0}});
  EXPECT_EQ(logits_after.to_vector<float>(), logits_before.to_vector<float>());
  EXPECT_EQ(sess.run(graph.get_tensor_by_name("accuracy:0"), {{x, x_val}, {y, y_val}, {kp, 1.0}}).item<float>(),
            acc_before.item<float>());
  EXPECT_EQ(sess.run(graph.get_tensor_by_name("conv/Sum:0"), {{x, x_val}}).to_vector<float>(), conv_before.to_vector<float>());
  // The imported "init" and the variables' own assign ops work too.
  g::Session fresh(graph);
  fresh.run(graph.get_operation_by_name("init"));
  EXPECT_EQ(fresh.run(graph.get_tensor_by_name("out/step:0")).item<int64_t>(), 0);
  fresh.run(graph.get_operation_by_name("out/step/AssignAdd"));
  EXPECT_EQ(fresh.run(graph.get_tensor_by_name("out/step:0")).item<int64_t>(), 1);
  // A second import into the same graph clashes by name.
  std::string msg = message_of<FormatError>([&] { g::import_meta_graph((dir / "model.meta").string()); });
  EXPECT_NE(msg.find("node 'x' (Placeholder): the name is already taken"), std::string::npos) << msg;
}

namespace {
std::string doc(const std::string& nodes) { return R"({"format": "ember.meta_graph", "version": 1, "nodes": [)" + nodes + "]}"; }
const std::string kConst23 =
    R"({"name": "a", "op": "Const", "inputs": [], "attrs": {"dtype": "float32", "shape": [2, 3], "values": [1, 2, 3, 4, 5, 6]}})";

// The FormatError message of importing `text` into a fresh graph.
std::string import_error(const std::string& text) {
  g::Graph graph;
  g::GraphScope as_default(graph);
  return message_of<FormatError>([&] { g::import_meta_graph_json(text, "test"); });
}
}  // namespace

TEST(GraphMetaGraph, CorruptFilesAreFormatErrorsNamingTheNode) {
  // A valid one first, so that the cases below fail for their one defect.
  {
    g::Graph graph;
    g::GraphScope as_default(graph);
    g::import_meta_graph_json(doc(kConst23 + R"(, {"name": "t", "op": "Transpose", "inputs": ["a:0"], "attrs": {"perm": [1, 0]}},
        {"name": "mm", "op": "MatMul", "inputs": ["a:0", "t:0"], "attrs": {}})"));
    g::Session s(graph);
    EXPECT_EQ(s.run(graph.get_tensor_by_name("mm:0")).to_vector<float>(), (std::vector<float>{14, 32, 32, 77}));
  }
  struct Case {
    std::string text, want;
  };
  const std::vector<Case> cases{
      {"{not json", "not valid JSON"},
      {R"({"format": "other", "version": 1, "nodes": []})", "\"format\""},
      {R"({"format": "ember.meta_graph", "version": 2, "nodes": []})", "\"version\""},
      {doc(R"({"name": "bad", "op": "Frobnicate", "inputs": [], "attrs": {}})"), "node 'bad' (Frobnicate): unknown op type"},
      {doc(kConst23 + R"(, {"name": "mm", "op": "MatMul", "inputs": ["a:0"], "attrs": {}})"), "node 'mm' (MatMul): expected 2 input(s), got 1"},
      {doc(kConst23 + R"(, {"name": "mm", "op": "MatMul", "inputs": ["a:0", "a:0"], "attrs": {}})"), "node 'mm' (MatMul): "},
      {doc(kConst23 + R"(, {"name": "mm", "op": "MatMul", "inputs": ["a:0", "b:0"], "attrs": {}})"), "node 'mm' (MatMul): input 'b:0'"},
      {doc(kConst23 + R"(, {"name": "mm", "op": "MatMul", "inputs": ["a:0", "a:7"], "attrs": {}})"), "node 'mm' (MatMul): input 'a:7'"},
      {doc(kConst23 + R"(, {"name": "r", "op": "Reshape", "inputs": ["a:0"], "attrs": {"shape": "abc"}})"),
       "node 'r' (Reshape): attribute 'shape' must be a list"},
      {doc(kConst23 + R"(, {"name": "r", "op": "Reshape", "inputs": ["a:0"], "attrs": {}})"), "node 'r' (Reshape): attribute 'shape' is missing"},
      {doc(kConst23 + R"(, {"name": "r", "op": "Reshape", "inputs": ["a:0"], "attrs": {"shape": [-1, -1]}})"), "node 'r' (Reshape): "},
      {doc(kConst23 + R"(, {"name": "r", "op": "Reshape", "inputs": ["a:0"], "attrs": {"shape": [4, 4]}})"), "node 'r' (Reshape): "},
      {doc(R"({"name": "a", "op": "Const", "inputs": [], "attrs": {"dtype": "float32", "shape": [2, 3], "values": [1, 2]}})"),
       "node 'a' (Const): attribute 'values' must be a list of 6"},
      {doc(R"({"name": "a", "op": "Const", "inputs": [], "attrs": {"dtype": "int32", "shape": [1], "values": [1e10]}})"),
       "node 'a' (Const): values[0] must be an integer"},
      {doc(R"({"name": "a", "op": "Const", "inputs": [], "attrs": {"dtype": "uint8", "shape": [1], "values": [300]}})"),
       "node 'a' (Const): values[0] must be in [0, 255]"},
      {doc(R"({"name": "a", "op": "Const", "inputs": [], "attrs": {"dtype": "complex", "shape": [1], "values": [0]}})"),
       "node 'a' (Const): attribute 'dtype': unknown dtype"},
      {doc(R"({"name": "p", "op": "Placeholder", "inputs": [], "attrs": {"dtype": "float32", "shape": [1048576, 1048576]}})"),
       "node 'p' (Placeholder): a shape of more than 2^22 elements"},
      {doc(R"({"name": "p", "op": "Placeholder", "inputs": [], "attrs": {"dtype": "float32", "shape": [-2]}})"),
       "node 'p' (Placeholder): attribute 'shape'[0] must be in [-1"},
      {doc(R"({"name": "n", "op": "RandomStandardNormal", "inputs": [], "attrs": {"shape": [2], "stddev": "x", "mean": 0}})"),
       "node 'n' (RandomStandardNormal): attribute 'stddev' must be a number"},
      {doc(kConst23 + ", " + kConst23), "node 'a' (Const): the name is already taken"},
      {doc(R"({"name": "v", "op": "VariableV2", "inputs": [], "attrs": {"trainable": true}})"), "node 'v' (VariableV2): expected 1 input(s)"},
      {doc(kConst23 + R"(, {"name": "s", "op": "Assign", "inputs": ["a:0"], "attrs": {"variable": "a"}})"),
       "node 's' (Assign): attribute 'variable' names 'a', which is not a variable"},
      {doc(kConst23 + R"(, {"name": "g", "op": "NoOp", "inputs": [], "control_inputs": ["zzz"], "attrs": {}})"), "node 'g' (NoOp): control input"},
      {doc(R"(17)"), "node '#0' (?): expected an object"},
      {doc(kConst23 + R"(, {"name": "c", "op": "Conv2D", "inputs": ["a:0", "a:0"], "attrs": {"strides": [1], "padding": "same", "dilation": [1, 1]}})"),
       "node 'c' (Conv2D): attribute 'strides' must have 2 entries"},
      {doc(kConst23 + R"(, {"name": "c", "op": "Cast", "inputs": ["a:0"], "attrs": {"dtype": 3}})"), "node 'c' (Cast): attribute 'dtype' must be a string"},
  };
  for (const Case& c : cases) {
    std::string msg = import_error(c.text);
    EXPECT_NE(msg.find(c.want), std::string::npos) << "file: " << c.text << "\nmessage: " << msg;
    EXPECT_NE(msg.find("meta graph test"), std::string::npos) << msg;
  }
  // Files: missing, and a corrupt one names its path.
  const fs::path dir = ember::testing::fresh_temp_dir("graph_meta_graph_bad");
  g::Graph graph;
  g::GraphScope as_default(graph);
  EXPECT_THROW(g::import_meta_graph((dir / "missing.meta").string()), IOError);
  ember::testing::write_file(dir / "bad.meta", doc(R"({"name": "bad", "op": "Frobnicate", "inputs": [], "attrs": {}})"));
  std::string msg = message_of<FormatError>([&] { g::import_meta_graph((dir / "bad.meta").string()); });
  EXPECT_NE(msg.find("bad.meta"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node 'bad'"), std::string::npos) << msg;
}
