// graph::FileWriter: the notes' name_scope example (000) written for TensorBoard. The event file is
// decoded by tests/io/tfevents_check.py, an independent Python reader of the protobuf wire format;
// the expected node names are TensorFlow's for the same program.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ember/graph/file_writer.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/session.hpp"
#include "ember/graph/train.hpp"
#include "test_support.hpp"

using namespace ember;
namespace g = ember::graph;
namespace fs = std::filesystem;

namespace {
int run_checker(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/tfevents_check.py " + args + " 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
}  // namespace

TEST(GraphFileWriter, NameScopesAndEdgesAsTensorFlowWritesThem) {
  const fs::path dir = ember::testing::fresh_temp_dir("graph_file_writer");
  g::Graph graph;
  g::GraphScope as_default(graph);
  g::Output product;
  {
    // with tf.name_scope(name='xxx'): m1, m2 = tf.constant(randint(...)); pro = tf.matmul(m1, m2, name='product')
    g::NameScope scope("xxx");
    auto m1 = g::constant(cast(rand({2, 3}, {.low = 0, .high = 10}), i64), "m1");
    auto m2 = g::constant(cast(rand({3, 5}, {.low = 0, .high = 10}), i64), "m2");
    product = g::matmul(m1, m2, "product");
  }
  g::Variable w(zeros({5}), {.name = "w"});
  g::Output two = g::Output(w) + g::Output(w);  // TF names operator+ "add"
  auto init = g::global_variables_initializer();
  std::string path;
  {
    g::FileWriter writer((dir / "logs").string(), &graph);  // tf.summary.FileWriter('./logs', sess.graph)
    path = writer.path();
  }
  g::Session sess(graph);
  EXPECT_EQ(sess.run(product).shape(), (Shape{2, 5}));
  (void)two;
  (void)init;

  const auto none = nlohmann::json::array();
  nlohmann::json expected = nlohmann::json::array();
  expected.push_back({{"kind", "graph"},
                      {"nodes",
                       {{{"name", "xxx/m1"}, {"op", "Const"}, {"inputs", none}},
                        {{"name", "xxx/m2"}, {"op", "Const"}, {"inputs", none}},
                        {{"name", "xxx/product"}, {"op", "MatMul"}, {"inputs", {"xxx/m1", "xxx/m2"}}},
                        {{"name", "w/initial_value"}, {"op", "Const"}, {"inputs", none}},
                        {{"name", "w"}, {"op", "VariableV2"}, {"inputs", none}},
                        {{"name", "w/Assign"}, {"op", "Assign"}, {"inputs", {"w/initial_value"}}},
                        {{"name", "add"}, {"op", "Add"}, {"inputs", {"w", "w"}}},
                        {{"name", "init"}, {"op", "NoOp"}, {"inputs", {"^w/Assign"}}}}}});
  const fs::path exp = dir / "expected.json";
  std::ofstream(exp) << expected.dump();
  EXPECT_EQ(run_checker("expect '" + path + "' '" + exp.string() + "'"), 0) << "the reader disagreed (output above)";

  // The attributes TensorBoard shows: dtype and shape of sources, T of ops.
  auto defs = g::graph_node_defs(graph);
  ASSERT_EQ(defs.size(), 8u);
  ASSERT_EQ(defs[0].attrs.size(), 2u);
  EXPECT_EQ(defs[0].attrs[0].first, "dtype");
  EXPECT_EQ(std::get<io::tensorboard::TfDType>(defs[0].attrs[0].second), io::tensorboard::TfDType::Int64);
  EXPECT_EQ(std::get<io::tensorboard::TensorShapeAttr>(defs[0].attrs[1].second).dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(defs[2].attrs.at(0).first, "T");
}

TEST(GraphFileWriter, UnwritableLogdirIsIOError) {
  const fs::path dir = ember::testing::fresh_temp_dir("graph_file_writer_bad");
  ember::testing::write_file(dir / "file", "x");
  g::Graph graph;
  EXPECT_THROW(g::FileWriter((dir / "file" / "logs").string(), &graph), IOError);
}
