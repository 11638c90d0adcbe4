#pragma once
// tf.train.export_meta_graph / import_meta_graph: a graph saved as data, so that a graph plus a
// checkpoint (graph/saver.hpp) can be restored and run by a program that does not have the code
// that built it.
//
//   tf::export_meta_graph("model.meta", graph);                 // after building (and training)
//   ...in another program:
//   tf::Graph graph;  tf::GraphScope as_default(graph);
//   std::optional<tf::Saver> saver = tf::import_meta_graph("model.meta");
//   tf::Session sess(graph);
//   saver->restore(sess, *tf::latest_checkpoint("ckpt"));
//   Tensor y = sess.run(graph.get_tensor_by_name("logits:0"), {{graph.get_tensor_by_name("x:0"), x}});
//
// Ember's own form (not TF's MetaGraphDef protobuf): a JSON object
//   {"format": "ember.meta_graph", "version": 1,
//    "nodes": [{"name": "layer1/MatMul", "op": "MatMul", "inputs": ["x:0", "w:0"],
//               "control_inputs": [], "attrs": {...}}, ...],
//    "omitted": [names of the nodes left out]}
// in creation order (so every input precedes its user). Each node is rebuilt by the graph::ops
// function of its op type from its attributes (a fixed registry; nothing in the file is executed).
// Constants carry their values; variables their trainable flag and initial-value input, so
// global_variables_initializer() and the graph's "init" op work after an import; variables keep
// their creation order (the variables / trainable_variables collections).
//
// Not exported: gradients() nodes and optimizer updates (their slots and closures are not data), and
// every node that depends on one (train ops, the groups holding them): an imported graph is for
// inference, evaluation and restoring checkpoints, not for continuing training.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ember/graph/graph.hpp"
#include "ember/graph/saver.hpp"

namespace ember::graph {

// The graph as the JSON text above; `omitted` (when given) receives the names left out.
std::string meta_graph_json(const Graph& graph, std::vector<std::string>* omitted = nullptr);
// Writes meta_graph_json atomically (io/atomic_file.hpp). Returns the names left out. IOError.
std::vector<std::string> export_meta_graph(const std::string& path, const Graph& graph = get_default_graph());

// Rebuilds the nodes of a meta graph in the default graph, under their own names. Untrusted input:
// anything malformed — not JSON, a wrong format or version, an unknown op type, a wrong number of
// inputs, an input or control input naming no earlier node, an attribute missing or of the wrong
// type or range, a static shape over 2^22 elements (2^26 for the whole file), a name already in
// the graph — is a FormatError naming the node ("meta graph <source>: node 'x' (MatMul): ..."),
// and so is an op that rejects its inputs' shapes or dtypes. On an error the nodes before the bad
// one stay in the graph: import into a fresh Graph.
void import_meta_graph_json(std::string_view text, const std::string& source = "<memory>");
// Reads `path` (IOError; at most 1 GiB) and imports it; returns a Saver over the imported
// variables (nullopt when there are none, as TF returns None).
std::optional<Saver> import_meta_graph(const std::string& path, SaverOptions o = {});

}  // namespace ember::graph
