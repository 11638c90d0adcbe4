// The `ember` tool with models whose inputs have an unknown time axis (issue 15): `summary` prints
// None for it, `predict` runs sequences of any length through a saved .h5 model and refuses a
// wrong feature size with one line on stderr.
#include <filesystem>

#include "ember/io/npy.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/model.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ember;
using ember::testing::run_ember;
using ember::testing::ToolRun;

namespace {
using ember::testing::contains;
}  // namespace

TEST(UnknownDimsCli, SummaryOfAKerasEncoderDecoderPrintsNone) {
  ToolRun r = run_ember("summary " + ember::testing::source_dir() + "/tests/fixtures/keras/seq2seq_unknown_time.json");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* part : {"[(None, None, 5)]", "[(None, None, 4)]", "(None, None, 4)", "Total params: 580"}) {
    EXPECT_TRUE(contains(r.out, part)) << part << " missing from\n" << r.out;
  }
}

TEST(UnknownDimsCli, PredictTakesAnyLengthThroughASavedModel) {
  fs::path dir = ember::testing::fresh_temp_dir("unknown_dims_cli");
  manual_seed(3);
  nn::reset_layer_names();
  auto in = nn::Input({-1, 5});
  nn::Model m({in}, {nn::Dense({.units = 4})(nn::LSTM({.units = 6, .return_sequences = true})(in))});
  m.save((dir / "seq.h5").string());
  ToolRun s = run_ember("summary " + (dir / "seq.h5").string());
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(contains(s.out, "(None, None, 4)")) << s.out;
  for (int64_t t : {2, 9}) {
    const Tensor x = ember::testing::random_f64({3, t, 5}, static_cast<uint64_t>(t)).to(f32);
    io::save_npy((dir / "x.npy").string(), x);
    ToolRun r = run_ember("predict --model " + (dir / "seq.h5").string() + " --input " + (dir / "x.npy").string() +
                          " --output " + (dir / "y.npy").string());
    ASSERT_EQ(r.status, 0) << r.err;
    const Tensor y = io::load_npy((dir / "y.npy").string());
    ASSERT_EQ(y.shape(), (Shape{3, t, 4}));
    EXPECT_TRUE(ember::testing::all_close(y, m.predict(x, {.batch_size = 32}), 1e-6, 1e-6)) << "T = " << t;
  }
  // Features 3 instead of 5: exit 1, one line naming the shapes.
  io::save_npy((dir / "bad.npy").string(), zeros({2, 4, 3}));
  ToolRun bad = run_ember("predict --model " + (dir / "seq.h5").string() + " --input " + (dir / "bad.npy").string() +
                          " --output " + (dir / "y.npy").string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.err, "(None, None, 5)") && contains(bad.err, "[2,4,3]")) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  fs::remove_all(dir);
}
