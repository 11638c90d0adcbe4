// libFuzzer target for the meta-graph reader (graph::import_meta_graph_json): Ember's JSON form of a
// TF1 graph, rebuilt node by node through the graph::ops functions (which probe static shapes).
// Build and run: see fuzz/README.md. The contract it checks: any input either imports or throws an
// ember::Error; never a crash, a sanitizer report or any other exception. What imports must export
// and import again (into a second graph) without an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ember/core/error.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/meta_graph.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string again;
  try {
    ember::graph::Graph graph;
    ember::graph::GraphScope as_default(graph);
    ember::graph::import_meta_graph_json(text, "fuzz input");
    again = ember::graph::meta_graph_json(graph);
  } catch (const ember::Error&) {
    // The documented outcome for a malformed file; anything else escapes and libFuzzer reports it.
    return 0;
  }
  ember::graph::Graph second;
  ember::graph::GraphScope as_default(second);
  ember::graph::import_meta_graph_json(again, "re-export");  // an Error here escapes: a finding
  return 0;
}
