// `ember train`'s built-in recipes (nn::builtin_recipe): a built-in model's own settings apply to
// every recipe option the command line leaves out, a given option wins; and the recipe options
// themselves (--warmup-epochs, --label-smoothing, --tta) do what they say.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ember/data/datasets.hpp"
#include "ember/io/npy.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/builtin_models.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;
using ember::testing::run_ember;
using ember::testing::ToolRun;

namespace {

nlohmann::json run_settings(const fs::path& out) {
  return nlohmann::json::parse(ember::testing::read_file(out / "run.json")).at("settings");
}

int epoch_lines(const std::string& out) {
  int n = 0;
  for (std::size_t p = out.find("Epoch "); p != std::string::npos; p = out.find("Epoch ", p + 1)) ++n;
  return n;
}

// The history's lr column (the rate of the step after each epoch's last).
std::vector<double> lr_column(const fs::path& out) {
  std::ifstream h(out / "history.csv");
  std::string line;
  std::getline(h, line);
  std::vector<double> lr;
  while (std::getline(h, line)) lr.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  return lr;
}

std::pair<double, double> test_line(const ToolRun& r) {
  double loss = -1, acc = -1;
  std::size_t at = r.out.rfind("test_loss=");
  if (at != std::string::npos) std::sscanf(r.out.c_str() + at, "test_loss=%lf test_accuracy=%lf", &loss, &acc);
  return {loss, acc};
}

}  // namespace

TEST(RecipeCli, BuiltinRecipesAreKnownForEveryBuiltinModel) {
  for (const std::string& name : nn::builtin_model_names()) {
    nn::TrainingRecipe r = nn::builtin_recipe(name);
    EXPECT_GE(r.epochs, 1) << name;
    EXPECT_GE(r.batch_size, 1) << name;
  }
  // The tutorial models keep `ember train`'s general recipe.
  EXPECT_EQ(nn::builtin_recipe("cnn").epochs, 10);
  EXPECT_TRUE(nn::builtin_recipe("mlp").augment.empty());
  EXPECT_THROW(nn::builtin_recipe("resnet"), ValueError);
}

TEST(RecipeCli, ModelRecipeFillsWhatTheCommandLineLeavesOut) {
  fs::path data = ember::testing::make_idx_dir("recipe", 256, 64);
  fs::path out = ember::testing::fresh_temp_dir("recipe_out");
  // --epochs given: 1, not the recipe's; the recipe's augmentation and test-time flips stay.
  ToolRun r = run_ember("train --model fmnist-resnet --data idx:" + data.string() +
                        " --epochs 1 --batch-size 64 --threads 1 --verbose 2 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(epoch_lines(r.out), 1) << r.out;
  nlohmann::json s = run_settings(out);
  const nn::TrainingRecipe recipe = nn::builtin_recipe("fmnist-resnet");
  EXPECT_EQ(s.at("epochs"), "1");
  EXPECT_EQ(s.at("augment"), recipe.augment);
  EXPECT_EQ(s.at("test-time augmentation"), "flip");
  EXPECT_EQ(s.contains("warm-up epochs"), recipe.warmup_epochs > 0);
  EXPECT_EQ(s.at("optimizer"), recipe.optimizer);
  EXPECT_EQ(s.contains("weight decay"), recipe.weight_decay.has_value());
  EXPECT_FALSE(s.contains("no weight decay on")) << s.dump();  // no recipe excludes parameters from its decay
  EXPECT_EQ(s.contains("label smoothing"), recipe.label_smoothing > 0);

  // Every recipe option given: nothing of the recipe is left.
  fs::path out2 = ember::testing::fresh_temp_dir("recipe_out2");
  ToolRun r2 = run_ember("train --model fmnist-resnet --data idx:" + data.string() +
                         " --epochs 1 --batch-size 64 --threads 1 --verbose 2 --augment none --tta none --label-smoothing 0"
                         " --warmup-epochs 0 --optimizer adam --learning-rate 0.001 --out " + out2.string());
  ASSERT_EQ(r2.status, 0) << r2.err;
  nlohmann::json s2 = run_settings(out2);
  EXPECT_FALSE(s2.contains("augment")) << s2.dump();
  EXPECT_FALSE(s2.contains("test-time augmentation")) << s2.dump();
  EXPECT_FALSE(s2.contains("label smoothing")) << s2.dump();
  EXPECT_FALSE(s2.contains("warm-up epochs")) << s2.dump();
  EXPECT_FALSE(s2.contains("weight decay")) << s2.dump();  // the recipe's decay goes with its optimizer
  EXPECT_EQ(s2.at("optimizer"), "adam");
}

TEST(RecipeCli, WarmupThenCosineFollowsTheFormula) {
  // 256 images, batch 64: S = 4 steps per epoch; 4 epochs, 1 of warm-up. After epoch e the next
  // step is 4e: warm-up ends at step 4 with the full rate, then lr·½(1 + cos(π (4e − 4) / 12)).
  fs::path data = ember::testing::make_idx_dir("warmup", 256, 32);
  fs::path out = ember::testing::fresh_temp_dir("warmup_out");
  ToolRun r = run_ember("train --model mlp --data idx:" + data.string() +
                        " --epochs 4 --batch-size 64 --threads 1 --verbose 0 --learning-rate 0.01 --warmup-epochs 1 --out " +
                        out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<double> lr = lr_column(out);
  ASSERT_EQ(lr.size(), 4u);
  for (int e = 1; e <= 4; ++e) {
    double expected = 0.01 * 0.5 * (1 + std::cos(M_PI * (4.0 * e - 4) / 12.0));
    EXPECT_NEAR(lr[e - 1], expected, 1e-8 + 1e-6 * expected) << "epoch " << e;
  }

  // Half an epoch of warm-up with a constant rate: the rate is the full one after the first epoch.
  fs::path out2 = ember::testing::fresh_temp_dir("warmup_out2");
  ToolRun r2 = run_ember("train --model mlp --data idx:" + data.string() +
                         " --epochs 2 --batch-size 64 --threads 1 --verbose 0 --learning-rate 0.01 --schedule constant"
                         " --warmup-epochs 0.5 --out " + out2.string());
  ASSERT_EQ(r2.status, 0) << r2.err;
  std::vector<double> lr2 = lr_column(out2);
  ASSERT_EQ(lr2.size(), 2u);
  EXPECT_NEAR(lr2[0], 0.01, 1e-9);
  EXPECT_NEAR(lr2[1], 0.01, 1e-9);
}

TEST(RecipeCli, FlipTestTimeAugmentationAveragesTheMirroredPredictions) {
  // 2,100 test images: more than one chunk of the test pass (8 batches of 256 byte images converted
  // at a time), so the chunks' order and the last, shorter one are checked too.
  fs::path data = ember::testing::make_idx_dir("tta", 256, 2100);
  fs::path out = ember::testing::fresh_temp_dir("tta_out");
  ToolRun r = run_ember("train --model mlp --data idx:" + data.string() +
                        " --epochs 2 --batch-size 32 --threads 1 --verbose 0 --label-smoothing 0.1 --tta flip --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  auto [loss, acc] = test_line(r);

  // Recompute from the saved model: softmax of the logits of each test image and of its mirror, averaged.
  auto model = nn::load_model((out / "model.h5").string());
  data::TrainTestData ds = data::load_dataset("idx:" + data.string());
  Tensor x = data::images_to_float(ds.test.images);
  Tensor p = (softmax(model->predict(x, {}), -1) + softmax(model->predict(flip_left_right(x), {}), -1)) * 0.5;
  // test_predictions.npy rows: true label, predicted label, confidence (the top probability).
  Tensor saved = io::load_npy((out / "test_predictions.npy").string());
  ASSERT_EQ(saved.shape(), (Shape{p.size(0), 3}));
  std::vector<double> rows = saved.to(f64).to_vector<double>();
  std::vector<int64_t> pred = argmax(p, -1).to(i64).to_vector<int64_t>();
  std::vector<double> top = max(p, {-1}).to(f64).to_vector<double>();
  for (int64_t i = 0; i < p.size(0); ++i) {
    EXPECT_EQ(rows[3 * i + 1], static_cast<double>(pred[i])) << i;
    EXPECT_NEAR(rows[3 * i + 2], top[i], 1e-5) << i;
  }

  // The reported metrics: accuracy of the averaged probabilities, and their plain cross-entropy.
  std::vector<double> pv = p.to(f64).contiguous().to_vector<double>();
  std::vector<int64_t> y = ds.test.labels.to(i64).to_vector<int64_t>();
  double want_loss = 0;
  int correct = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double* row = pv.data() + i * 10;
    want_loss -= std::log(std::max(row[y[i]], 1e-7));
    correct += std::max_element(row, row + 10) - row == y[i];
  }
  EXPECT_NEAR(acc, static_cast<double>(correct) / static_cast<double>(y.size()), 1e-6);
  EXPECT_NEAR(loss, want_loss / static_cast<double>(y.size()), 1e-4);

  // ember evaluate --tta flip reports the same metrics for the saved run; without it, the plain ones.
  ToolRun e = run_ember("evaluate --model " + out.string() + " --data idx:" + data.string() + " --tta flip --batch-size 100");
  ASSERT_EQ(e.status, 0) << e.err;
  auto [eval_loss, eval_acc] = test_line(e);
  EXPECT_NEAR(eval_acc, acc, 1e-9);
  EXPECT_NEAR(eval_loss, loss, 1e-5);
  ToolRun plain = run_ember("evaluate --model " + out.string() + " --data idx:" + data.string());
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_NE(test_line(plain).first, loss);
  ToolRun bad = run_ember("evaluate --model " + out.string() + " --data idx:" + data.string() + " --tta mirror");
  EXPECT_EQ(bad.status, 2) << bad.err;
  EXPECT_NE(bad.err.find("--tta"), std::string::npos) << bad.err;
}

TEST(RecipeCli, BadRecipeOptionsAreUsageErrors) {
  fs::path data = ember::testing::make_idx_dir("recipe_bad", 64, 16);
  const std::string base = "train --model mlp --data idx:" + data.string() + " --epochs 2 --threads 1 ";
  for (const char* bad : {"--label-smoothing 1", "--label-smoothing -0.1", "--tta mirror", "--warmup-epochs 2",
                          "--warmup-epochs -1", "--augment flop", "--augment flip,erase=2", "--time-limit -1", "--time-limit nan",
                          "--time-limit 5 --checkpoint-dir /tmp/ember_recipe_bad_ckpt", "--weight-decay -0.1",
                          "--weight-decay inf", "--optimizer adamx --weight-decay 0.01", "--no-decay bias,,gamma",
                          "--no-decay [bias"}) {
    ToolRun r = run_ember(base + bad);
    EXPECT_EQ(r.status, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find(std::string(bad).substr(0, std::string(bad).find(' '))), std::string::npos) << bad << ": " << r.err;
  }
}

// --weight-decay reaches the optimizer, whichever it is (Keras 3): with lr 0.001 and decay 1000 each
// step first scales the weights by 1 - 0.001*1000 = 0, so after a step every weight is one update
// step (at most a few times lr for these optimizers), and the kernels end far smaller than the
// Glorot-initialised ones of the run without decay.
class WeightDecayCli : public ::testing::TestWithParam<const char*> {};
TEST_P(WeightDecayCli, ReachesTheOptimizer) {
  const std::string optimizer = GetParam();
  fs::path data = ember::testing::make_idx_dir("recipe_wd", 256, 32);
  auto kernel_norm = [&](const char* extra, const std::string& tag) {
    fs::path out = ember::testing::fresh_temp_dir("recipe_wd_" + optimizer + "_" + tag);
    ToolRun r = run_ember("train --model mlp --data idx:" + data.string() +
                          " --epochs 1 --batch-size 64 --threads 1 --verbose 0 --optimizer " + optimizer +
                          " --learning-rate 0.001 --schedule constant --out " + out.string() + " " + extra);
    EXPECT_EQ(r.status, 0) << r.err;
    double sq = 0;
    int kernels = 0;
    for (const auto& [name, t] : io::load_safetensors((out / "model.safetensors").string()).tensors) {
      if (name.find("kernel") == std::string::npos) continue;
      ++kernels;
      for (double v : t.to(f64).contiguous().to_vector<double>()) sq += v * v;
    }
    EXPECT_EQ(kernels, 3) << tag;
    return std::make_pair(std::sqrt(sq), run_settings(out));
  };
  auto [with, settings] = kernel_norm("--weight-decay 1000", "on");
  auto [without, plain] = kernel_norm("", "off");
  EXPECT_LT(with, 0.1 * without) << with << " vs " << without;
  EXPECT_EQ(settings.value("weight decay", ""), "1000");
  EXPECT_FALSE(plain.contains("weight decay"));
}
INSTANTIATE_TEST_SUITE_P(RecipeCli, WeightDecayCli, ::testing::Values("sgd", "adam", "rmsprop"));

// --no-decay kernel leaves the kernels out of that same crushing decay: they end as large as without
// any decay (the biases, decayed to 0 every step, change the path a little), and run.json says so.
TEST(RecipeCli, NoDecayLeavesTheMatchingParametersOut) {
  fs::path data = ember::testing::make_idx_dir("recipe_nodecay", 256, 32);
  auto kernel_norm = [&](const std::string& extra, const std::string& tag) {
    fs::path out = ember::testing::fresh_temp_dir("recipe_nodecay_" + tag);
    ToolRun r = run_ember("train --model mlp --data idx:" + data.string() +
                          " --epochs 1 --batch-size 64 --threads 1 --verbose 0 --optimizer sgd --learning-rate 0.001"
                          " --schedule constant --out " + out.string() + " " + extra);
    EXPECT_EQ(r.status, 0) << r.err;
    double sq = 0;
    for (const auto& [name, t] : io::load_safetensors((out / "model.safetensors").string()).tensors) {
      if (name.find("kernel") == std::string::npos) continue;
      for (double v : t.to(f64).contiguous().to_vector<double>()) sq += v * v;
    }
    return std::make_pair(std::sqrt(sq), run_settings(out));
  };
  auto [kept, settings] = kernel_norm("--weight-decay 1000 --no-decay kernel", "kept");
  auto [without, plain] = kernel_norm("", "plain");
  EXPECT_NEAR(kept, without, 0.05 * without);
  EXPECT_EQ(settings.value("no weight decay on", ""), "kernel");
  EXPECT_FALSE(plain.contains("no weight decay on"));
}

TEST(RecipeCli, TimeLimitTrainsTheEpochsThatFitAndEndsTheScheduleWithThem) {
  // 256 images, batch 64: 4 steps per epoch. A limit already spent when the first epoch ends: that
  // epoch is the only one, and the cosine schedule, now 4 steps long, has reached 0 after it.
  fs::path data = ember::testing::make_idx_dir("time_limit", 256, 32);
  const std::string base = "train --model mlp --data idx:" + data.string() +
                           " --epochs 5 --batch-size 64 --threads 1 --verbose 2 --learning-rate 0.01 ";
  fs::path out = ember::testing::fresh_temp_dir("time_limit_out");
  ToolRun r = run_ember(base + "--time-limit 0.000001 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(epoch_lines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find("1 of the 5 epochs fit"), std::string::npos) << r.out;
  std::vector<double> lr = lr_column(out);
  ASSERT_EQ(lr.size(), 1u);
  EXPECT_NEAR(lr[0], 0.0, 1e-15);
  EXPECT_GE(test_line(r).second, 0.0) << r.out;  // the test split is still scored
  EXPECT_EQ(run_settings(out).at("time limit"), "1e-06 min (1 of 5 epochs fit)");

  // A limit that leaves room for every epoch changes nothing: the same history, bit for bit, as
  // the run without a limit.
  for (const std::string warmup : {"0", "1"}) {
    fs::path limited = ember::testing::fresh_temp_dir("time_limit_roomy"), free = ember::testing::fresh_temp_dir("time_limit_free");
    ToolRun roomy = run_ember(base + "--warmup-epochs " + warmup + " --time-limit 600 --out " + limited.string());
    ToolRun plain = run_ember(base + "--warmup-epochs " + warmup + " --out " + free.string());
    ASSERT_EQ(roomy.status, 0) << roomy.err;
    ASSERT_EQ(plain.status, 0) << plain.err;
    EXPECT_NE(roomy.out.find("Time limit 600 min: the first epoch took"), std::string::npos) << roomy.out;
    EXPECT_NE(roomy.out.find("all 5 epochs fit"), std::string::npos) << roomy.out;
    EXPECT_EQ(plain.out.find("Time limit"), std::string::npos) << plain.out;
    EXPECT_EQ(ember::testing::read_file(limited / "history.csv"), ember::testing::read_file(free / "history.csv")) << "warm-up " << warmup;
    EXPECT_EQ(lr_column(limited).size(), 5u);
  }
}

TEST(RecipeCli, BuiltinRecipesCarryTheirTimeLimitUnlessEpochsAreGiven) {
  // The limits: conv+BN within 10 minutes, the ResNet within 30.
  EXPECT_EQ(nn::builtin_recipe("fmnist-convbn").time_limit_minutes, 10);
  EXPECT_EQ(nn::builtin_recipe("fmnist-resnet").time_limit_minutes, 30);
  EXPECT_EQ(nn::builtin_recipe("mlp").time_limit_minutes, 0);
  fs::path data = ember::testing::make_idx_dir("recipe_limit", 128, 32);
  const std::string base = "train --model fmnist-convbn --data idx:" + data.string() + " --batch-size 64 --threads 1 --verbose 2 ";
  ToolRun r = run_ember(base + "--augment none --tta none");
  ASSERT_EQ(r.status, 0) << r.err;
  const int epochs = nn::builtin_recipe("fmnist-convbn").epochs;
  EXPECT_NE(r.out.find("Time limit 10 min: the first epoch took"), std::string::npos) << r.out;
  EXPECT_EQ(epoch_lines(r.out), epochs) << r.out;
  // --epochs given: that many, no plan.
  ToolRun given = run_ember(base + "--augment none --tta none --epochs 1");
  ASSERT_EQ(given.status, 0) << given.err;
  EXPECT_EQ(given.out.find("Time limit"), std::string::npos) << given.out;
  EXPECT_EQ(epoch_lines(given.out), 1) << given.out;
}

// --lr-floor ends the cosine at that fraction of the rate (Keras CosineDecay's alpha); --swa-epochs K
// ends the run with the mean of the last K epochs' weights. Both are recorded in run.json; bad
// values are refused before training.
TEST(RecipeCli, LrFloorAndSwaEpochs) {
  fs::path data = ember::testing::make_idx_dir("recipe_swa", 256, 32);
  const std::string base = "train --model mlp --data idx:" + data.string() +
                           " --epochs 3 --batch-size 64 --threads 1 --verbose 2 --learning-rate 0.01 --schedule cosine ";
  fs::path out = ember::testing::fresh_temp_dir("recipe_swa_out");
  ToolRun r = run_ember(base + "--lr-floor 0.25 --swa-epochs 2 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("SWA: the model holds the mean of 2 epoch-end weights (from epoch 2)"), std::string::npos) << r.out;
  // The last epoch's logged rate is the schedule's end: 0.25 * 0.01.
  const std::string history = ember::testing::read_file(out / "history.csv");
  const std::string last = history.substr(history.rfind('\n', history.size() - 2) + 1);
  EXPECT_NEAR(std::stod(last.substr(last.rfind(',') + 1)), 0.0025, 1e-9) << history;
  nlohmann::json s = run_settings(out);
  EXPECT_EQ(s.value("learning-rate floor (cosine alpha)", ""), "0.25");
  EXPECT_EQ(s.value("weights averaged (SWA epochs)", ""), "2");

  for (const char* bad : {"--lr-floor 1.5", "--lr-floor -0.1", "--swa-epochs -1"}) {
    ToolRun b = run_ember(base + bad);
    EXPECT_EQ(b.status, 2) << bad << ": " << b.err;
    EXPECT_NE(b.err.find(std::string(bad).substr(0, std::string(bad).find(' '))), std::string::npos) << b.err;
  }
}

// --sam RHO [--sam-fraction F] trains with sharpness-aware steps (train::SAMOptions; the step itself
// is tested in tests/train/sam_test.cpp): a different run from the plain one, recorded in run.json;
// bad values are refused before training.
TEST(RecipeCli, SamChangesTheStepsAndIsRecorded) {
  fs::path data = ember::testing::make_idx_dir("recipe_sam", 256, 32);
  const std::string base = "train --model mlp --data idx:" + data.string() +
                           " --epochs 2 --batch-size 64 --threads 1 --verbose 2 --learning-rate 0.01 ";
  fs::path sam_out = ember::testing::fresh_temp_dir("recipe_sam_out"), plain_out = ember::testing::fresh_temp_dir("recipe_sam_plain");
  ToolRun sam = run_ember(base + "--sam 0.05 --sam-fraction 0.25 --out " + sam_out.string());
  ToolRun plain = run_ember(base + "--out " + plain_out.string());
  ASSERT_EQ(sam.status, 0) << sam.err;
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_NE(ember::testing::read_file(sam_out / "history.csv"), ember::testing::read_file(plain_out / "history.csv"));
  EXPECT_EQ(run_settings(sam_out).value("sharpness-aware steps (SAM rho)", ""), "0.05, ascent on 0.25 of each batch");
  EXPECT_FALSE(run_settings(plain_out).contains("sharpness-aware steps (SAM rho)"));
  for (const char* bad : {"--sam -0.1", "--sam-fraction 0", "--sam-fraction 1.5"}) {
    ToolRun b = run_ember(base + bad);
    EXPECT_EQ(b.status, 2) << bad << ": " << b.err;
    EXPECT_NE(b.err.find(std::string(bad).substr(0, std::string(bad).find(' '))), std::string::npos) << b.err;
  }
}

// --ensemble K trains K models one after another, model k with seed --seed + k (the model a run with
// that seed alone trains), and saves one model whose output is the mean of theirs; each model's own
// test accuracy and history are kept. It cannot be checkpointed or logged to TensorBoard.
TEST(RecipeCli, EnsembleAveragesTheModelsOfConsecutiveSeeds) {
  fs::path data = ember::testing::make_idx_dir("recipe_ensemble", 256, 64);
  const std::string base = "train --model mlp --data idx:" + data.string() + " --epochs 2 --batch-size 64 --threads 1 --verbose 2 ";
  fs::path out = ember::testing::fresh_temp_dir("recipe_ensemble_out");
  ToolRun r = run_ember(base + "--seed 5 --ensemble 2 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(epoch_lines(r.out), 4) << r.out;
  EXPECT_NE(r.out.find("Ensemble: model 1 of 2 (seed 5)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Ensemble: model 2 of 2 (seed 6)"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(out / "history_model_2.csv"));
  nlohmann::json s = run_settings(out);
  EXPECT_EQ(s.value("ensemble", "").rfind("2 models averaged (seeds 5-6", 0), 0u) << s.dump();
  // The models train without scoring the test split after each epoch (a single run does).
  EXPECT_EQ(r.out.find("val_accuracy"), std::string::npos) << r.out;
  EXPECT_EQ(s.value("validation", "").rfind("none", 0), 0u) << s.dump();

  // The same models trained alone, one per seed.
  std::vector<std::shared_ptr<nn::Model>> alone;
  for (const char* seed : {"5", "6"}) {
    fs::path single = ember::testing::fresh_temp_dir(std::string("recipe_ensemble_seed") + seed);
    ToolRun one = run_ember(base + "--seed " + seed + " --out " + single.string());
    ASSERT_EQ(one.status, 0) << one.err;
    EXPECT_NE(one.out.find("val_accuracy"), std::string::npos) << one.out;
    alone.push_back(nn::load_model((single / "model.h5").string()));
  }
  auto ensemble = nn::load_model((out / "model.h5").string());
  data::TrainTestData ds = data::load_dataset("idx:" + data.string());
  Tensor x = data::images_to_float(ds.test.images);
  Tensor want = (alone[0]->predict(x, {}) + alone[1]->predict(x, {})) * 0.5;
  Tensor got = ensemble->predict(x, {});
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_LT(max(abs(got - want)).item<float>(), 1e-5f);
  // Its reported accuracy is the averaged model's.
  Tensor y = ds.test.labels.to(i64);
  const double acc = mean(equal(argmax(want, -1), y).to(f64)).item<double>();
  EXPECT_NEAR(test_line(r).second, acc, 1e-9);

  for (const char* bad : {"--ensemble 0", "--ensemble 2 --checkpoint-dir /tmp/ember_recipe_ensemble_ckpt",
                          "--ensemble 2 --tensorboard /tmp/ember_recipe_ensemble_tb"}) {
    ToolRun b = run_ember(base + bad);
    EXPECT_EQ(b.status, 2) << bad << ": " << b.err;
    EXPECT_NE(b.err.find("--ensemble"), std::string::npos) << b.err;
  }
}
