// The TensorBoard callback (train/tensorboard.hpp) during a real fit: what it writes is read back by
// the independent reader (tests/io/tfevents_check.py) and compared with the logs fit handed to the
// callbacks, the trained weights (histograms, first-layer filters as images) and the model's layers.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ember/io/event_file.hpp"
#include "ember/io/summary.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/train/tensorboard.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_tbcb_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

std::string only_event_file(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  EXPECT_EQ(files.size(), 1u) << dir;
  return files.empty() ? "" : files[0];
}

int check(const std::string& file, const json& expected, const fs::path& dir, const std::string& name) {
  const fs::path exp = dir / (name + ".json");
  std::ofstream(exp) << expected.dump();
  const std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/tfevents_check.py expect '" +
                          file + "' '" + exp.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(TensorBoardCallback, WritesWhatFitLogged) {
  const fs::path dir = fresh_dir("fit");
  nn::reset_layer_names();
  Generator gen(5);
  std::vector<double> xs(16 * 4 * 4), ys(16);
  for (auto& v : xs) v = gen.uniform();
  for (std::size_t i = 0; i < ys.size(); ++i) ys[i] = static_cast<double>(i % 3);
  nn::Sequential model{nn::Input({4, 4, 1}, "x"), nn::Conv2D({.filters = 2, .kernel_size = {3, 3}, .name = "c"}),
                       nn::Flatten("f"), nn::Dense({.units = 3, .name = "d"})};
  model.compile({.optimizer = optim::SGD({.learning_rate = 0.1}),
                 .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  std::vector<callbacks::Logs> batch_logs;
  callbacks::Logs epoch_logs;
  model.fit(from_vector(xs, {16, 4, 4, 1}), from_vector(ys, {16}, i64),
            {.batch_size = 8, .epochs = 1, .verbose = 0, .validation_split = 0.25, .shuffle = false,
             .callbacks = {callbacks::TensorBoard({.log_dir = dir.string(), .histogram_freq = 1, .write_images = true,
                                                   .update_freq = std::string("batch")}),
                           callbacks::LambdaCallback({.on_epoch_end = [&](int, callbacks::Logs& l) { epoch_logs = l; },
                                                      .on_batch_end = [&](int, const callbacks::Logs& l) { batch_logs.push_back(l); }})}});
  ASSERT_EQ(batch_logs.size(), 2u);  // 12 training samples in batches of 8

  const json none = json::array();
  json train = json::array();
  train.push_back({{"kind", "graph"},
                   {"nodes",
                    {{{"name", "x"}, {"op", "Placeholder"}, {"inputs", none}},
                     {{"name", "c/kernel"}, {"op", "VariableV2"}, {"inputs", none}},
                     {{"name", "c/bias"}, {"op", "VariableV2"}, {"inputs", none}},
                     {{"name", "c/Conv2D"}, {"op", "Conv2D"}, {"inputs", {"x", "c/kernel", "c/bias"}}},
                     {{"name", "f/Flatten"}, {"op", "Flatten"}, {"inputs", {"c/Conv2D"}}},
                     {{"name", "d/kernel"}, {"op", "VariableV2"}, {"inputs", none}},
                     {{"name", "d/bias"}, {"op", "VariableV2"}, {"inputs", none}},
                     {{"name", "d/Dense"}, {"op", "Dense"}, {"inputs", {"f/Flatten", "d/kernel", "d/bias"}}}}}});
  for (int b = 0; b < 2; ++b)
    for (const char* k : {"accuracy", "loss"})
      train.push_back({{"kind", "scalar"}, {"tag", std::string("batch_") + k}, {"step", b}, {"value", batch_logs[b].at(k)}});
  train.push_back({{"kind", "scalar"}, {"tag", "epoch_accuracy"}, {"step", 0}, {"value", epoch_logs.at("accuracy")}});
  train.push_back({{"kind", "scalar"}, {"tag", "epoch_loss"}, {"step", 0}, {"value", epoch_logs.at("loss")}});
  train.push_back({{"kind", "scalar"}, {"tag", "epoch_learning_rate"}, {"step", 0}, {"value", 0.1}});
  for (const char* w : {"c/kernel", "c/bias", "d/kernel", "d/bias"}) {
    nn::Weight* layer_w = model.get_layer(std::string(w).substr(0, 1))->find_weight(std::string(w).substr(2));
    ASSERT_NE(layer_w, nullptr);
    train.push_back({{"kind", "histogram"}, {"tag", std::string(w) + "_0"}, {"step", 0},
                     {"values", layer_w->value().to_vector<double>()}});
  }
  // The 3x3x1x2 kernel's two filters, each pixel (k - min) / (max - min) over the whole kernel.
  const auto k = model.get_layer("c")->find_weight("kernel")->value().to_vector<double>();
  const auto [lo, hi] = std::minmax_element(k.begin(), k.end());
  for (int o = 0; o < 2; ++o) {
    std::vector<double> px;
    for (int p = 0; p < 9; ++p) px.push_back(static_cast<float>((k[p * 2 + o] - *lo) / (*hi - *lo)));
    train.push_back({{"kind", "image"}, {"tag", "c/kernel_0/image/" + std::to_string(o)}, {"step", 0},
                     {"height", 3}, {"width", 3}, {"channels", 1}, {"values", px}});
  }
  EXPECT_EQ(check(only_event_file(dir / "train"), train, dir, "train"), 0) << "train run (output above)";

  json val = json::array();
  val.push_back({{"kind", "scalar"}, {"tag", "epoch_accuracy"}, {"step", 0}, {"value", epoch_logs.at("val_accuracy")}});
  val.push_back({{"kind", "scalar"}, {"tag", "epoch_loss"}, {"step", 0}, {"value", epoch_logs.at("val_loss")}});
  EXPECT_EQ(check(only_event_file(dir / "validation"), val, dir, "validation"), 0) << "validation run (output above)";
  fs::remove_all(dir);
}

TEST(TensorBoardCallback, BadOptionsAreValueErrors) {
  EXPECT_THROW(callbacks::TensorBoard({.update_freq = std::string("often")}), ValueError);
  EXPECT_THROW(callbacks::TensorBoard({.update_freq = int64_t{0}}), ValueError);
  EXPECT_THROW(callbacks::TensorBoard({.histogram_freq = -1}), ValueError);
  EXPECT_NO_THROW(callbacks::TensorBoard({.update_freq = int64_t{100}}));
}

// The README's TensorBoard snippet, as written there (run in a temporary directory).
TEST(TensorBoardCallback, ReadmeSnippetRuns) {
  const fs::path dir = fresh_dir("readme");
  fs::create_directories(dir);
  const fs::path old = fs::current_path();
  fs::current_path(dir);
  nn::reset_layer_names();
  auto built = nn::builtin_model("mlp");
  nn::Model& model = *built;
  model.compile({.optimizer = optim::SGD({.learning_rate = 0.01}),
                 .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  Tensor images = zeros({4, 28, 28, 1});
  Tensor x = zeros({8, 28, 28, 1}), y = zeros({8}, i64);
  // ---- README ----
  io::SummaryWriter writer("logs/custom");                 // logs/custom/events.out.tfevents.<s>.<host>.<pid>.<n>
  for (int64_t step = 0; step < 100; ++step) {
    writer.scalar("loss", 1.0 / (step + 1), step);
    if (step % 10 == 0) writer.histogram("dense/kernel_0", model.get_layer("dense")->find_weight("kernel")->value(), step);
  }
  writer.image("samples", images.slice(0, 0, 3), 0);       // NHWC, floats in [0, 1] or u8 -> PNG
  writer.text("notes", "**lr** 1e-3, batch 128", 0);
  writer.graph(model);                                      // one node per layer and weight, grouped by layer
  writer.close();                                           // also on destruction
  model.fit(x, y, {.epochs = 5, .callbacks = {callbacks::TensorBoard({.log_dir = "logs/fit", .histogram_freq = 1})}});
  // ---- end ----
  fs::current_path(old);
  EXPECT_EQ(io::tensorboard::read_event_records((dir / writer.path()).string()).payloads.size(), 1u + 100 + 10 + 1 + 1 + 1);
  fs::remove_all(dir);
}
