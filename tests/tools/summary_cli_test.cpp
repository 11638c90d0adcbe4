// `ember summary MODEL`: runs the built tool and checks stdout, stderr and the exit status.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/core/sanitizers.hpp"
#include "test_support.hpp"

namespace {

using ember::testing::ToolRun;

// `ember <args>`, stdout/stderr/status captured (tests/support).
ToolRun ember_tool(const std::string& args) { return ember::testing::run_ember(args); }

std::string fixture(const std::string& name) {
  return "'" + ember::testing::source_dir() + "/tests/fixtures/keras/" + name + "'";
}

using ember::testing::contains;

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

// Issue 16's layers in a Keras 2 to_json() file (tests/fixtures/keras/cnn_blocks.json), with Keras's
// counts worked out by hand: Conv2D 3*3*3*32 (no bias) = 864, DepthwiseConv2D 3*3*32 = 288,
// SeparableConv2D 288 + 32*64 + 64 = 2,400, Conv2DTranspose 3*3*16*64 + 16 = 9,232, Dense 16*10 + 10.
TEST(SummaryCli, CnnBlocksParameterCounts) {
  ToolRun r = ember_tool("summary " + fixture("cnn_blocks.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  for (const char* part : {"conv1_relu (ReLU)", "conv_dw_1 (DepthwiseConv2D)  (None, 32, 32, 32)        288",
                           "sep_conv (SeparableConv2D)   (None, 32, 32, 64)        2,400",
                           "up_conv (Conv2DTranspose)    (None, 64, 64, 16)        9,232", "(None, 62, 60, 16)",
                           "(None, 124, 120, 16)", "probs (Softmax)", "Total params: 12,954\n"}) {
    EXPECT_TRUE(contains(r.out, part)) << part << " not in:\n" << r.out;
  }
  EXPECT_EQ(r.err, "");
}

// A Keras 2 .h5 model (tests/fixtures/keras_h5, written in tf.keras's layout): Dense 4->6 (30
// params), BatchNormalization of 6 (12 trainable + 12 moving statistics), Dropout, Dense 6->3 (21).
TEST(SummaryCli, KerasH5Model) {
  const std::string dir = ember::testing::source_dir() + "/tests/fixtures/keras_h5/";
  ToolRun r = ember_tool("summary '" + dir + "mlp_bn.h5'");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "batch_normalization (BatchNo (None, 6)                 24\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "Total params: 75\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "Trainable params: 63\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "Non-trainable params: 12\n")) << r.out;
  ToolRun lambda = ember_tool("summary '" + dir + "lambda.h5'");
  EXPECT_EQ(lambda.status, 1);
  EXPECT_TRUE(one_error_line(lambda.err));
  EXPECT_TRUE(contains(lambda.err, "Lambda layer")) << lambda.err;
  ToolRun truncated = ember_tool("summary '" + ember::testing::source_dir() + "/tests/fixtures/h5/bad_truncated_half.h5'");
  EXPECT_EQ(truncated.status, 1);
  EXPECT_TRUE(one_error_line(truncated.err));
  EXPECT_EQ(truncated.out, "");
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

// Fuzz findings (issue 9): shape arithmetic that overflowed, and weights allocated just to print.
TEST(SummaryCli, OverflowingShapesAreAnErrorNamingTheLayer) {
  // Was "(None, 4611686024869838847)" and status 0, after a signed overflow.
  ToolRun r = ember_tool("summary " + fixture("fuzz_reshape_overflow.json"));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(one_error_line(r.err));
  EXPECT_TRUE(contains(r.err, "layer 'r' (Reshape)")) << r.err;
  EXPECT_TRUE(contains(r.err, "does not fit in 64 bits")) << r.err;
  EXPECT_EQ(r.out, "");
}

// The weights of these models would take terabytes (the 2^31-wide BatchNormalization 32 GiB); the
// tool itself needs about 10 MB. Under AddressSanitizer every process carries ~115 MB of the
// sanitizer's own runtime and shadow memory, so the bound there is looser but still proves that no
// weight was allocated.
#if EMBER_ASAN
constexpr long kMaxSummaryRssKiB = 400 * 1024;
#else
constexpr long kMaxSummaryRssKiB = 100 * 1024;
#endif

TEST(SummaryCli, ATeraParameterModelIsSummarisedFromShapesAlone) {
  // 1,011,000,785,010 parameters (4 TB of float32): the answer must come from the shapes, without
  // the memory. (Its speed is measured, not asserted: 0.03 s here, against over a minute before.)
  auto summarise = [](const char* name) {
    SCOPED_TRACE(name);
    long peak_kib = -1;
    ToolRun r = ember::testing::run_ember_measuring_peak_rss("summary " + fixture(name), peak_kib);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_GT(peak_kib, 0) << "no peak reported: " << r.err;
    EXPECT_LT(peak_kib, kMaxSummaryRssKiB) << "peak resident set of the tool, KiB";
    return r;
  };
  ToolRun r = summarise("tera_params.json");
  EXPECT_TRUE(contains(r.out, "huge (Dense)                 (None, 1000000000)")) << r.out;
  // 784*1000+1000 + 1000*10^9+10^9 + 10^10+10, computed here rather than read off the tool.
  const int64_t total = (784LL * 1000 + 1000) + (1000LL * 1000000000 + 1000000000) + (1000000000LL * 10 + 10);
  EXPECT_EQ(total, 1011000785010LL);
  EXPECT_TRUE(contains(r.out, "Total params: 1,011,000,785,010")) << r.out;
  // The wide BatchNormalization: 2 x 2,147,483,647 trainable (gamma, beta), 2 x non-trainable.
  ToolRun bn = summarise("fuzz_batchnorm_wide.json");
  EXPECT_TRUE(contains(bn.out, "Trainable params: 4,294,967,294")) << bn.out;
  EXPECT_TRUE(contains(bn.out, "Non-trainable params: 4,294,967,294")) << bn.out;
}
