// `ember train --checkpoint-dir DIR [--resume]`: 4 epochs straight and 2 epochs + a resumed 2 in a
// new process give bit-identical weights and history.csv; and the errors of a resume that cannot be.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/io/safetensors.hpp"
#include "ember/train/saver.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;
using ember::testing::make_idx_dir;
using ember::testing::read_file;
using ember::testing::run_ember;
using ember::testing::ToolRun;

namespace {

fs::path temp(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("ember_resume_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p;
}

// Trains `model` 4 epochs straight, and 2 + 2 resumed in a new process; compares the outputs.
void expect_resume_is_exact(const std::string& model, const fs::path& data, const std::string& extra) {
  const std::string common = "train --model " + model + " --data idx:" + data.string() + " --batch-size 32 --seed 3 --threads 1 --verbose 0 " + extra;
  fs::path straight = temp(model.substr(model.rfind('/') + 1) + "_straight"), resumed = temp(model.substr(model.rfind('/') + 1) + "_resumed");
  fs::path ckpt = resumed / "ckpt";
  ToolRun a = run_ember(common + " --epochs 4 --out " + straight.string());
  ASSERT_EQ(a.status, 0) << a.err;
  ToolRun b1 = run_ember(common + " --epochs 2 --checkpoint-dir " + ckpt.string());
  ASSERT_EQ(b1.status, 0) << b1.err;
  EXPECT_EQ(*train::latest_checkpoint(ckpt.string()), (ckpt / "ckpt-2").string());
  ToolRun b2 = run_ember(common + " --epochs 4 --checkpoint-dir " + ckpt.string() + " --resume --out " + resumed.string());
  ASSERT_EQ(b2.status, 0) << b2.err;
  EXPECT_NE(b2.out.find("Resuming from " + (ckpt / "ckpt-2").string()), std::string::npos) << b2.out;

  std::string h_straight = read_file(straight / "history.csv"), h_resumed = read_file(resumed / "history.csv");
  EXPECT_EQ(h_straight, h_resumed);
  EXPECT_EQ(std::count(h_resumed.begin(), h_resumed.end(), '\n'), 5) << h_resumed;  // header + 4 epochs
  io::SafetensorsFile w1 = io::load_safetensors((straight / "model.safetensors").string());
  io::SafetensorsFile w2 = io::load_safetensors((resumed / "model.safetensors").string());
  ASSERT_EQ(w1.tensors.size(), w2.tensors.size());
  for (const auto& [name, t] : w1.tensors) {
    ASSERT_TRUE(w2.tensors.count(name)) << name;
    EXPECT_EQ(t.to(f64).to_vector<double>(), w2.tensors.at(name).to(f64).to_vector<double>()) << name;  // bitwise
  }
  EXPECT_EQ(a.out.substr(a.out.rfind("test_loss=")), b2.out.substr(b2.out.rfind("test_loss=")));
  // Checkpoints of every epoch, the last 5 kept (here all 4), and the index names the last.
  for (int e = 1; e <= 4; ++e) EXPECT_TRUE(fs::exists(ckpt / ("ckpt-" + std::to_string(e) + ".safetensors"))) << e;
  EXPECT_EQ(*train::latest_checkpoint(ckpt.string()), (ckpt / "ckpt-4").string());
}

}  // namespace

TEST(ResumeCli, MlpTwoPlusTwoEqualsFourBitForBit) {
  fs::path data = make_idx_dir("resume_mlp", 256, 64);
  // The default cosine schedule spans --epochs, so the first run is told the whole run's length
  // would differ; with it, --epochs must match: this run uses a constant rate (see the settings test).
  expect_resume_is_exact("mlp", data, "--schedule constant --validation-split 0.25");
}

TEST(ResumeCli, BatchNormAndDropoutModelTwoPlusTwoEqualsFour) {
  fs::path data = make_idx_dir("resume_bn", 192, 48);
  expect_resume_is_exact(ember::testing::source_dir() + "/tests/fixtures/keras/bn_dropout_mlp.json", data,
                         "--schedule constant --optimizer momentum --learning-rate 0.05");
}

TEST(ResumeCli, CnnTwoPlusTwoEqualsFour) {
  // The built-in cnn (Conv 5x5x32, Conv 5x5x64, Dense 1024, Dropout 0.4) on 64 images: a few seconds.
  fs::path data = make_idx_dir("resume_cnn", 64, 16);
  expect_resume_is_exact("cnn", data, "--schedule constant");
}

TEST(ResumeCli, MaxToKeepFiveOverAResume) {
  fs::path data = make_idx_dir("resume_keep", 64, 16);
  fs::path ckpt = temp("keep");
  std::string common = "train --model mlp --data idx:" + data.string() + " --batch-size 32 --threads 1 --verbose 0 --schedule constant --checkpoint-dir " + ckpt.string();
  ASSERT_EQ(run_ember(common + " --epochs 4").status, 0);
  ToolRun r = run_ember(common + " --epochs 7 --resume");
  ASSERT_EQ(r.status, 0) << r.err;
  for (int e = 1; e <= 7; ++e) EXPECT_EQ(fs::exists(ckpt / ("ckpt-" + std::to_string(e) + ".safetensors")), e >= 3) << e;
  train::CheckpointState s = *train::get_checkpoint_state(ckpt.string());
  EXPECT_EQ(s.all_model_checkpoint_paths.size(), 5u);
  EXPECT_EQ(s.model_checkpoint_path, (ckpt / "ckpt-7").string());
}

namespace {
void expect_one_line_error(const ToolRun& r, int status, const std::string& fragment) {
  EXPECT_EQ(r.status, status) << r.out << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected exactly one line on stderr, got: " << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}
}  // namespace

TEST(ResumeCli, ResumeErrorsAreOneLineAndStatus1Or2) {
  fs::path data = make_idx_dir("resume_err", 64, 16);
  fs::path ckpt = temp("err");
  std::string base = "train --data idx:" + data.string() + " --threads 1 --verbose 0 ";
  std::string one = "--batch-size 32 --epochs 1 ";
  expect_one_line_error(run_ember(base + one + "--model mlp --resume"), 2, "--checkpoint-dir");
  expect_one_line_error(run_ember(base + one + "--model mlp --checkpoint-dir " + ckpt.string() + " --resume"), 1, "no checkpoint in");
  ASSERT_EQ(run_ember(base + one + "--model mlp --checkpoint-dir " + ckpt.string()).status, 0);
  // A fresh run into a directory with checkpoints, other settings, another model.
  expect_one_line_error(run_ember(base + one + "--model mlp --checkpoint-dir " + ckpt.string()), 1, "already holds checkpoints");
  expect_one_line_error(run_ember(base + "--epochs 1 --model mlp --batch-size 64 --checkpoint-dir " + ckpt.string() + " --resume"), 1,
                        "were made with --batch-size 32, this run has --batch-size 64");
  expect_one_line_error(run_ember(base + "--batch-size 32 --model mlp --epochs 3 --checkpoint-dir " + ckpt.string() + " --resume"), 1,
                        "--epochs 1");  // the cosine schedule spans --epochs
  // --swa-epochs counts back from the last epoch: with it even a constant rate needs the same --epochs.
  fs::path swa = temp("err_swa");
  const std::string constant = base + "--batch-size 32 --model mlp --schedule constant --swa-epochs 1 --checkpoint-dir " + swa.string();
  ASSERT_EQ(run_ember(constant + " --epochs 1").status, 0);
  expect_one_line_error(run_ember(constant + " --epochs 2 --resume"), 1, "--epochs 1");
  expect_one_line_error(run_ember(base + "--batch-size 32 --model mlp --schedule constant --epochs 1 --checkpoint-dir " + swa.string() + " --resume"),
                        1, "--swa-epochs 1");
  // Another model with the same settings file: the restore names the first weight that differs.
  fs::path settings = ckpt / "train_settings.json";
  std::string text = read_file(settings);
  std::string patched = text;
  patched.replace(patched.find("\"mlp\""), 5, "\"cnn\"");
  std::ofstream(settings, std::ios::trunc) << patched;
  expect_one_line_error(run_ember(base + one + "--model cnn --checkpoint-dir " + ckpt.string() + " --resume"), 1, "does not match");
  // A damaged index.
  std::ofstream(ckpt / "checkpoint", std::ios::trunc) << "model_checkpoint_path: \"ckpt-1\"\nnonsense\n";
  expect_one_line_error(run_ember(base + one + "--model cnn --checkpoint-dir " + ckpt.string() + " --resume"), 1, "checkpoint index");
}
