#include "ember/graph/saver.hpp"

#include "ember/core/error.hpp"
#include "ember/io/safetensors.hpp"

namespace ember::graph {

Saver::Saver(SaverOptions o) : Saver(global_variables(), std::move(o)) {}

Saver::Saver(std::span<const Variable> var_list, SaverOptions o)
    : vars_(var_list.begin(), var_list.end()), keeper_(std::move(o)) {
  if (vars_.empty()) throw ValueError("graph: Saver: no variables to save");
  for (const Variable& v : vars_) {
    if (!v.op().valid()) throw ValueError("graph: Saver: an empty variable handle in var_list");
    if (&v.op().graph() != &vars_[0].op().graph())
      throw ValueError("graph: Saver: variables '" + vars_[0].name() + "' and '" + v.name() + "' are in different graphs");
  }
}

namespace {
void check_session(const Session& sess, const std::vector<Variable>& vars, const char* what) {
  if (&sess.graph() != &vars[0].op().graph())
    throw ValueError(std::string("graph: Saver::") + what + ": the session runs another graph than the saver's variables ('" +
                     vars[0].name() + "')");
}
}  // namespace

std::string Saver::save(Session& sess, const std::string& save_path, std::optional<int64_t> global_step) {
  check_session(sess, vars_, "save");
  io::TensorMap tensors;
  for (const Variable& v : vars_) tensors.emplace(v.name(), sess.variable_value(v));  // ValueError if uninitialised
  std::map<std::string, std::string> meta;
  if (global_step) meta["global_step"] = std::to_string(*global_step);
  return keeper_.save(
      save_path, global_step, [&](const std::string& file) { io::save_safetensors(file, tensors, meta); }, "graph: Saver::save");
}

void Saver::restore(Session& sess, const std::string& save_path) {
  check_session(sess, vars_, "restore");
  const std::string file = io::checkpoint_file(save_path);
  io::SafetensorsFile f = io::load_safetensors(file);
  // Every check before any assignment: a failed restore leaves the session as it was.
  for (const Variable& v : vars_) {
    auto it = f.tensors.find(v.name());
    if (it == f.tensors.end())
      throw FormatError("graph: Saver::restore: '" + file + "' has no tensor for variable '" + v.name() + "'");
    const Output out = v.value();
    if (it->second.dtype() != out.dtype() || !out.shape().compatible_with(it->second.shape()))
      throw FormatError("graph: Saver::restore: '" + file + "': tensor '" + v.name() + "' is " +
                        std::string(dtype_name(it->second.dtype())) + " " +
                        PartialShape(std::vector<int64_t>(it->second.shape().begin(), it->second.shape().end())).str() +
                        ", the variable is " + out.type().str() + " " + out.shape().str());
  }
  for (const Variable& v : vars_) sess.load_variable(v, f.tensors.at(v.name()));
}

}  // namespace ember::graph
