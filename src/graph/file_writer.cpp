#include "ember/graph/file_writer.hpp"

namespace ember::graph {

namespace tb = io::tensorboard;

namespace {
tb::TfDType tf_dtype(const TensorType& t) {
  if (t.is_string) return tb::TfDType::String;
  switch (t.dtype) {
    case DType::f64: return tb::TfDType::Double;
    case DType::i32: return tb::TfDType::Int32;
    case DType::i64: return tb::TfDType::Int64;
    case DType::u8: return tb::TfDType::UInt8;
    case DType::b8: return tb::TfDType::Bool;
    default: return tb::TfDType::Float;
  }
}
}  // namespace

std::vector<tb::NodeDef> graph_node_defs(const Graph& graph) {
  std::vector<tb::NodeDef> defs;
  for (const Operation& op : graph.operations()) {
    const Node& n = *op.node();
    tb::NodeDef d{.name = n.name, .op = n.type};
    for (const Output& in : n.inputs) d.inputs.push_back(in.index() == 0 ? in.op().name() : in.name());
    for (const Operation& c : n.control_inputs) d.inputs.push_back("^" + c.name());
    if (!n.outputs.empty() && n.type != "NoOp") {
      const OutputSpec& out = n.outputs[0];
      const bool source = n.kind == NodeKind::Placeholder || n.kind == NodeKind::Variable || n.type == "Const";
      d.attrs.emplace_back(source ? "dtype" : "T", tf_dtype(out.type));
      if (source && out.shape.known_rank) d.attrs.emplace_back("shape", tb::TensorShapeAttr{out.shape.dims});
    }
    defs.push_back(std::move(d));
  }
  return defs;
}

FileWriter::FileWriter(const std::string& logdir, const Graph* graph, io::SummaryWriterOptions o)
    : writer_(logdir, std::move(o)) {
  if (graph) add_graph(*graph);
}

void FileWriter::add_graph(const Graph& graph, int64_t step) {
  writer_.graph_def(tb::encode_graph_def(graph_node_defs(graph)), step);
}

}  // namespace ember::graph
