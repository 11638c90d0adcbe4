// `ember summary MODEL`: runs the built tool and checks stdout, stderr and the exit status.
#include "test_support.hpp"

namespace {

using ember::testing::ToolRun;

// `ember <args>`, stdout/stderr/status captured (tests/support).
ToolRun ember_tool(const std::string& args) { return ember::testing::run_ember(args); }

std::string fixture(const std::string& name) {
  return "'" + ember::testing::source_dir() + "/tests/fixtures/keras/" + name + "'";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Exactly one line, starting "ember: ".
::testing::AssertionResult one_error_line(const std::string& err) {
  if (err.rfind("ember: ", 0) != 0 || err.empty() || err.back() != '\n' ||
      err.find('\n') != err.size() - 1) {
    return ::testing::AssertionFailure() << "stderr is not one 'ember: ' line: [" << err << "]";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

TEST(SummaryCli, NotesMlpFromKerasJson) {
  ToolRun r = ember_tool("summary " + fixture("notes_mlp.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Total params: 669,706")) << r.out;
  EXPECT_TRUE(contains(r.out, "Trainable params: 669,706")) << r.out;
  EXPECT_TRUE(contains(r.out, "dense_3 (Dense)")) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(SummaryCli, NotesConvolutionAndPooling) {
  ToolRun conv = ember_tool("summary " + fixture("notes_conv2d.json"));
  EXPECT_EQ(conv.status, 0) << conv.err;
  EXPECT_TRUE(contains(conv.out, "(None, 100, 100, 16)")) << conv.out;
  EXPECT_TRUE(contains(conv.out, "Total params: 80\n")) << conv.out;
  ToolRun pool = ember_tool("summary " + fixture("notes_maxpool.json"));
  EXPECT_EQ(pool.status, 0) << pool.err;
  EXPECT_TRUE(contains(pool.out, "(None, 50, 50, 15)")) << pool.out;
}

TEST(SummaryCli, FunctionalModelShowsConnections) {
  ToolRun r = ember_tool("summary " + fixture("functional_residual.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Connected to")) << r.out;
  EXPECT_TRUE(contains(r.out, "shared[1][0]")) << r.out;
  EXPECT_TRUE(contains(r.out, "Total params: 714")) << r.out;
}

TEST(SummaryCli, BuiltinModels) {
  ToolRun mlp = ember_tool("summary mlp");
  EXPECT_EQ(mlp.status, 0) << mlp.err;
  EXPECT_TRUE(contains(mlp.out, "Total params: 235,146")) << mlp.out;
  ToolRun cnn = ember_tool("summary cnn");
  EXPECT_EQ(cnn.status, 0) << cnn.err;
  EXPECT_TRUE(contains(cnn.out, "Total params: 3,274,634")) << cnn.out;
  EXPECT_TRUE(contains(cnn.out, "(None, 14, 14, 32)")) << cnn.out;
}

TEST(SummaryCli, BadFilesExitWithStatusOneAndOneLine) {
  for (const char* name : {"bad_syntax.json", "bad_truncated.json", "bad_unknown_class.json", "bad_field_type.json",
                           "no_such_file.json"}) {
    SCOPED_TRACE(name);
    ToolRun r = ember_tool("summary " + fixture(name));
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(one_error_line(r.err));
    EXPECT_EQ(r.out, "");
  }
  ToolRun unknown = ember_tool("summary " + fixture("bad_unknown_class.json"));
  EXPECT_TRUE(contains(unknown.err, "unknown layer class 'Conv3D'")) << unknown.err;
  ToolRun syntax = ember_tool("summary " + fixture("bad_syntax.json"));
  EXPECT_TRUE(contains(syntax.err, "byte")) << syntax.err;
  ToolRun name = ember_tool("summary resnet");
  EXPECT_EQ(name.status, 1);
  EXPECT_TRUE(one_error_line(name.err));
  EXPECT_TRUE(contains(name.err, "mlp")) << name.err;
}

// Fuzz finding: a number outside double's range (1e400) printed nlohmann's out_of_range message
// without the file's name.
TEST(SummaryCli, NumberOutOfRangeNamesTheFileAndByte) {
  ToolRun r = ember_tool("summary " + fixture("bad_number_range.json"));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(one_error_line(r.err));
  EXPECT_TRUE(contains(r.err, "bad_number_range.json: Keras JSON: malformed JSON at byte ")) << r.err;
  EXPECT_TRUE(contains(r.err, "1e400")) << r.err;
  EXPECT_FALSE(contains(r.err, "json.exception")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(SummaryCli, BadUsageExitsWithStatusTwo) {
  for (const char* args : {"", "summary", "summary mlp extra", "summary --no-such-flag mlp", "no-such-command"}) {
    SCOPED_TRACE(args);
    ToolRun r = ember_tool(args);
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(one_error_line(r.err));
  }
  EXPECT_TRUE(contains(ember_tool("no-such-command").err, "unknown command 'no-such-command'"));
}

TEST(SummaryCli, HelpExitsWithZero) {
  ToolRun r = ember_tool("summary --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.out, "MODEL")) << r.out;
}
