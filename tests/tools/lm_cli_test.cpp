// `ember lm` (issue 15): trains a character-level model on a small text file, prints the validation
// bits per character per epoch and a sample; --out saves it and --load samples from it later; bad
// usage is exit status 2 with one line on stderr.
#include <filesystem>
#include <string>

#include "test_support.hpp"

namespace fs = std::filesystem;
using ember::testing::run_ember;
using ember::testing::ToolRun;

namespace {

using ember::testing::contains;

fs::path periodic_text(const std::string& name) {
  fs::path dir = ember::testing::fresh_temp_dir(name);
  std::string text;
  for (int k = 0; k < 400; ++k) text += "the cat sat. ";
  ember::testing::write_file(dir / "text.txt", text);
  return dir / "text.txt";
}

}  // namespace

TEST(LmCli, TrainsSavesAndSamplesLater) {
  fs::path text = periodic_text("lm_cli_train");
  fs::path out = text.parent_path() / "model";
  ToolRun r = run_ember("lm --data " + text.string() +
                        " --epochs 2 --seq-len 16 --units 32 --batch-size 16 --learning-rate 0.01 --threads 1"
                        " --sample 30 --temperature 0.5 --prime \"the \" --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "epoch 1/2: train_bpc=") && contains(r.out, "epoch 2/2:")) << r.out;
  EXPECT_TRUE(contains(r.out, "val_bpc=")) << r.out;
  EXPECT_TRUE(contains(r.out, "--- sample, temperature 0.5 ---\nthe ")) << r.out;
  ASSERT_TRUE(fs::exists(out / "char_lm.json") && fs::exists(out / "model.safetensors"));

  ToolRun s = run_ember("lm --load " + out.string() + " --sample 40 --prime \"the c\"");
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(contains(s.out, "loaded lstm model")) << s.out;
  EXPECT_TRUE(contains(s.out, "the c")) << s.out;
  fs::remove_all(text.parent_path());
}

TEST(LmCli, TransformerTrainsSavesAndSamplesLater) {
  fs::path text = periodic_text("lm_cli_transformer");
  ToolRun r = run_ember("lm --data " + text.string() +
                        " --model transformer --epochs 1 --seq-len 16 --units 16 --layers 1 --batch-size 16 --threads 1"
                        " --sample 20 --prime \"the \" --out " + (text.parent_path() / "model").string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "epoch 1/1: train_bpc=") && contains(r.out, "--- sample")) << r.out;
  ASSERT_TRUE(fs::exists(text.parent_path() / "model" / "model.h5"));
  ToolRun s = run_ember("lm --load " + (text.parent_path() / "model").string() + " --sample 50 --prime \"the \"");
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(contains(s.out, "loaded transformer model")) << s.out;
  const std::size_t at = s.out.find("the ", s.out.find('\n'));
  ASSERT_NE(at, std::string::npos) << s.out;
  EXPECT_GE(s.out.size() - at, 4u + 50u) << s.out;  // the prime and 50 sampled characters
  fs::remove_all(text.parent_path());
}

TEST(LmCli, BadUsageIsStatusTwoWithOneLine) {
  fs::path text = periodic_text("lm_cli_bad");
  const std::string data = " --data " + text.string();
  for (const std::string& args :
       {std::string("lm"), "lm" + data + " --model rnn", "lm" + data + " --temperature 0",
        "lm" + data + " --temperature -1", "lm" + data + " --epochs 0", "lm" + data + " --prime \"#\"",
        "lm" + data + " --learning-rate -1", "lm" + data + " --load " + text.parent_path().string()}) {
    ToolRun r = run_ember(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "ember: ")) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << "\n" << r.err;  // one line
  }
  ToolRun bad_prime = run_ember("lm" + data + " --prime \"#\"");
  EXPECT_TRUE(contains(bad_prime.err, "'#'")) << bad_prime.err;
  // A missing file is not bad usage but a failure: status 1.
  ToolRun missing = run_ember("lm --data " + (text.parent_path() / "nope.txt").string());
  EXPECT_EQ(missing.status, 1) << missing.err;
  ToolRun no_model = run_ember("lm --load " + (text.parent_path() / "nothing").string());
  EXPECT_EQ(no_model.status, 1) << no_model.err;
  fs::remove_all(text.parent_path());
}
