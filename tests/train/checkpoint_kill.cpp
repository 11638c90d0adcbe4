// Never corrupt: `ember train --checkpoint-dir` saves a full checkpoint every epoch (tiny epochs, so
// it is saving most of the time); the test kills it with SIGKILL at a random moment, 100 times,
// resuming each time. After every kill the latest checkpoint must load into the model and every
// checkpoint the index names must be complete. Its own executable (label slow): about a minute.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "ember/core/threads.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/train/saver.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

// fork + exec right away (the only thing a child of a threaded process may safely do).
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string log_path = log.string();
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(log_path.c_str(), "a", stdout);
    (void)f;
    f = std::freopen(log_path.c_str(), "a", stderr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST(CheckpointKill, SigkillAtRandomMomentsNeverLeavesABrokenCheckpoint) {
  set_num_threads(1);
  fs::path data = ember::testing::make_idx_dir("kill", 32, 16);
  fs::path dir = fs::temp_directory_path() / ("ember_kill_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::path log = dir.string() + ".log";
  fs::remove(log);
  std::vector<std::string> base = {ember::testing::tool_path(), "train", "--model", "mlp", "--data", "idx:" + data.string(),
                                   "--batch-size", "32", "--epochs", "1000000", "--schedule", "constant", "--threads", "1",
                                   "--verbose", "0", "--checkpoint-dir", dir.string()};
  Generator rng(2024);
  int loaded = 0, mid_write = 0;
  int64_t last_step = 0;
  for (int kill_no = 0; kill_no < 100; ++kill_no) {
    std::vector<std::string> args = base;
    if (kill_no > 0) args.push_back("--resume");
    pid_t pid = spawn(args, log);
    ASSERT_GT(pid, 0);
    // Let it make progress past the last checkpoint we saw, then kill it 0-60 ms later, at a random
    // point of its save loop (writing the data file, the index, or deleting old files).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    for (;;) {
      std::optional<train::CheckpointState> s;
      try {
        s = train::get_checkpoint_state(dir.string());
      } catch (const Error&) {
      }
      if (s && s->model_checkpoint_path != dir.string() + "/ckpt-" + std::to_string(last_step)) break;
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the tool exited early; see " << log;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no checkpoint within 120 s; see " << log;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng.below(60000)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the tool ended otherwise; see " << log;

    // A temporary file left behind means the kill landed in the middle of writing a file.
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().filename().string().find(".tmp-") != std::string::npos) {
        ++mid_write;
        break;
      }
    }
    // The index names only complete checkpoints, and the latest restores into the model.
    std::optional<std::string> latest = train::latest_checkpoint(dir.string());
    ASSERT_TRUE(latest) << "kill " << kill_no;
    train::CheckpointState st = *train::get_checkpoint_state(dir.string());
    EXPECT_LE(st.all_model_checkpoint_paths.size(), 5u);
    for (const std::string& p : st.all_model_checkpoint_paths) {
      EXPECT_NO_THROW(io::load_safetensors(train::checkpoint_file(p))) << p << " after kill " << kill_no;
    }
    nn::reset_layer_names();
    auto model = nn::builtin_model("mlp");
    model->compile({.optimizer = "adam", .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
    ASSERT_NO_THROW(train::Saver().restore(*model, *latest)) << *latest << " after kill " << kill_no;
    int64_t step = std::stoll(latest->substr(latest->rfind('-') + 1));
    EXPECT_GE(step, last_step) << "the latest checkpoint went back";
    EXPECT_EQ(model->training_state()->resume->next_epoch, step);
    EXPECT_EQ(model->training_state()->optimizer->iterations(), step);  // one batch per epoch
    last_step = step;
    ++loaded;
  }
  EXPECT_EQ(loaded, 100);
  std::printf("100/100 kills left a loadable latest checkpoint (%d of them in the middle of writing a file); the last is epoch %lld\n",
              mid_write, static_cast<long long>(last_step));
  EXPECT_GT(mid_write, 0) << "no kill landed inside a save: the test did not test much";
  fs::remove_all(dir);
  fs::remove(log);
}
