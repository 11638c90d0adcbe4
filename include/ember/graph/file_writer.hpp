#pragma once
// tf.summary.FileWriter(logdir, graph) for graph mode: a TensorBoard event file (io/summary.hpp)
// whose graph record is the graph's GraphDef, so TensorBoard's Graphs tab draws it, nodes grouped
// by their name scopes ("layer1/MatMul" inside "layer1").
#include <string>
#include <vector>

#include "ember/graph/graph.hpp"
#include "ember/io/event_file.hpp"
#include "ember/io/summary.hpp"

namespace ember::graph {

class FileWriter {
 public:
  // Creates `logdir` and a new event file in it (IOError if it cannot); writes `graph` when given.
  explicit FileWriter(const std::string& logdir, const Graph* graph = nullptr, io::SummaryWriterOptions o = {});
  void add_graph(const Graph& graph, int64_t step = 0);
  // Scalars, histograms, images, text next to the graph (tf.summary's values).
  io::SummaryWriter& summary() { return writer_; }
  void flush() { writer_.flush(); }
  void close() { writer_.close(); }
  const std::string& path() const { return writer_.path(); }

 private:
  io::SummaryWriter writer_;
};

// The graph as TensorFlow NodeDefs, in creation order: name, op type, inputs as TF writes them
// ("x" for output 0, "x:1" for others, "^x" for a control input), and attributes "dtype" and "shape"
// on placeholders, variables and constants, "T" (the output dtype) on the other ops.
std::vector<io::tensorboard::NodeDef> graph_node_defs(const Graph& graph);

}  // namespace ember::graph
