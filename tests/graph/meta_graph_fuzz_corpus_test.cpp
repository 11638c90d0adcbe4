// Replays the committed libFuzzer corpus of the meta-graph reader (fuzz/corpus/meta_graph/: the
// seeds and every input a fuzzer finding was fixed for) in the ordinary test build, as
// fuzz/meta_graph_fuzz.cpp runs each input: it imports or throws an ember::Error, and what imports
// exports and imports again.
#include <gtest/gtest.h>

#include <filesystem>

#include "ember/core/error.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/meta_graph.hpp"
#include "test_support.hpp"

using namespace ember;
namespace g = ember::graph;

TEST(MetaGraphFuzzCorpus, EveryInputImportsOrIsAnEmberError) {
  const std::filesystem::path dir = ember::testing::source_dir() + "/fuzz/corpus/meta_graph";
  int files = 0, imported = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    const std::string text = ember::testing::read_file(entry.path());
    std::string again;
    try {
      g::Graph graph;
      g::GraphScope as_default(graph);
      g::import_meta_graph_json(text, entry.path().filename().string());
      again = g::meta_graph_json(graph);
    } catch (const Error&) {
      continue;
    }
    ++imported;
    g::Graph second;
    g::GraphScope as_default(second);
    EXPECT_NO_THROW(g::import_meta_graph_json(again, "re-export")) << entry.path();
    EXPECT_EQ(g::meta_graph_json(second), again) << entry.path();
  }
  EXPECT_GE(files, 3);
  EXPECT_GE(imported, 3);  // the seeds are valid files
}
