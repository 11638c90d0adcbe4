// The monitored-value rule shared by EarlyStopping, ReduceLROnPlateau and ModelCheckpoint (Keras's:
// min_delta by its absolute value, 'auto' from the monitor's name). Each callback is driven with
// hand-written logs, so the expected decisions follow from the rule alone.
//
// Before the rule was shared, ReduceLROnPlateau used min_delta with its sign: a negative min_delta
// made it count a value that got worse (or barely better) as an improvement, so it never reduced the
// rate. The *NegativeMinDelta* tests below fail against that rule.
#include <filesystem>

#include "ember/nn/layers/core.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/callbacks.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
using callbacks::Mode;

namespace {

std::shared_ptr<nn::Sequential> compiled_model(double lr) {
  nn::reset_layer_names();
  auto m = std::make_shared<nn::Sequential>(
      std::initializer_list<nn::LayerRef>{nn::Input({2}), nn::Dense({.units = 2})});
  m->compile({.optimizer = optim::SGD({.learning_rate = lr}),
              .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  return m;
}

// Feeds `values` as logs[monitor] for epochs 0, 1, ... and returns the learning rate after each.
std::vector<double> plateau_lrs(callbacks::ReduceLROnPlateauOptions o, const std::vector<double>& values) {
  auto m = compiled_model(1.0);
  const std::string monitor = o.monitor;
  callbacks::ReduceLROnPlateau cb(std::move(o));
  cb.set_model(m.get());
  cb.on_train_begin({});
  std::vector<double> lrs;
  ::testing::internal::CaptureStdout();  // the callback announces each reduction
  for (std::size_t e = 0; e < values.size(); ++e) {
    callbacks::Logs logs{{monitor, values[e]}};
    cb.on_epoch_end(static_cast<int>(e), logs);
    lrs.push_back(logs.at("lr"));
  }
  ::testing::internal::GetCapturedStdout();
  return lrs;
}

// Feeds `values` to EarlyStopping and returns the epoch at which it stopped training (-1: never).
int early_stop_epoch(callbacks::EarlyStoppingOptions o, const std::vector<double>& values) {
  auto m = compiled_model(0.1);
  const std::string monitor = o.monitor;
  callbacks::EarlyStopping cb(std::move(o));
  cb.set_model(m.get());
  cb.on_train_begin({});
  for (std::size_t e = 0; e < values.size() && !m->stop_training; ++e) {
    callbacks::Logs logs{{monitor, values[e]}};
    cb.on_epoch_end(static_cast<int>(e), logs);
  }
  return cb.stopped_epoch();
}

// Feeds `values` to a save_best_only ModelCheckpoint and returns the 1-based epochs it saved.
std::vector<int> checkpointed_epochs(callbacks::ModelCheckpointOptions o, const std::vector<double>& values) {
  auto m = compiled_model(0.1);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ember_cb_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  o.filepath = (dir / "w_{epoch}.safetensors").string();
  o.save_best_only = true;
  const std::string monitor = o.monitor;
  callbacks::ModelCheckpoint cb(std::move(o));
  cb.set_model(m.get());
  cb.on_train_begin({});
  for (std::size_t e = 0; e < values.size(); ++e) {
    callbacks::Logs logs{{monitor, values[e]}};
    cb.on_epoch_end(static_cast<int>(e), logs);
  }
  std::vector<int> saved;
  for (std::size_t e = 1; e <= values.size(); ++e) {
    if (std::filesystem::exists(dir / ("w_" + std::to_string(e) + ".safetensors"))) saved.push_back(static_cast<int>(e));
  }
  std::filesystem::remove_all(dir);
  return saved;
}

}  // namespace

TEST(MonitorRule, AutoModeMaximisesAccuracyLikeNamesOnly) {
  EXPECT_TRUE(callbacks::monitor_maximizes(Mode::Auto, "acc"));
  EXPECT_TRUE(callbacks::monitor_maximizes(Mode::Auto, "val_accuracy"));
  EXPECT_TRUE(callbacks::monitor_maximizes(Mode::Auto, "val_auc"));
  EXPECT_FALSE(callbacks::monitor_maximizes(Mode::Auto, "val_loss"));
  EXPECT_FALSE(callbacks::monitor_maximizes(Mode::Auto, "mean_absolute_error"));
  EXPECT_TRUE(callbacks::monitor_maximizes(Mode::Max, "loss"));
  EXPECT_FALSE(callbacks::monitor_maximizes(Mode::Min, "accuracy"));
}

TEST(MonitorRule, MinDeltaCountsByItsAbsoluteValue) {
  for (double d : {0.5, -0.5}) {
    // min: current < best - |d|
    EXPECT_TRUE(callbacks::improves(0.4, 1.0, false, d)) << d;
    EXPECT_FALSE(callbacks::improves(0.6, 1.0, false, d)) << d;
    EXPECT_FALSE(callbacks::improves(1.2, 1.0, false, d)) << d;
    // max: current > best + |d|
    EXPECT_TRUE(callbacks::improves(1.6, 1.0, true, d)) << d;
    EXPECT_FALSE(callbacks::improves(1.4, 1.0, true, d)) << d;
    EXPECT_FALSE(callbacks::improves(0.8, 1.0, true, d)) << d;
  }
  // Equal is no improvement; NaN never is.
  EXPECT_FALSE(callbacks::improves(1.0, 1.0, false));
  EXPECT_FALSE(callbacks::improves(1.0, 1.0, true));
  EXPECT_FALSE(callbacks::improves(std::nan(""), 1.0, false));
  EXPECT_FALSE(callbacks::improves(std::nan(""), 1.0, true));
}

TEST(ReduceLROnPlateau, NegativeMinDeltaInMinMode) {
  // 1.0 -> 0.9 improves by 0.1 < |-0.5|: a plateau, so patience 1 halves the rate at epoch 1.
  // (The old signed rule took 0.9 < 1.0 + 0.5 as an improvement, and even the worse 1.3.)
  auto lrs = plateau_lrs({.monitor = "val_loss", .factor = 0.5, .patience = 1, .mode = Mode::Min, .min_delta = -0.5},
                         {1.0, 0.9, 1.3});
  EXPECT_EQ(lrs, (std::vector<double>{1.0, 0.5, 0.25}));
  // Auto on a loss is min mode: the same.
  lrs = plateau_lrs({.monitor = "val_loss", .factor = 0.5, .patience = 1, .min_delta = -0.5}, {1.0, 0.9, 1.3});
  EXPECT_EQ(lrs, (std::vector<double>{1.0, 0.5, 0.25}));
  // A real improvement (by more than |min_delta|) keeps the rate.
  lrs = plateau_lrs({.monitor = "val_loss", .factor = 0.5, .patience = 1, .min_delta = -0.5}, {1.0, 0.4});
  EXPECT_EQ(lrs, (std::vector<double>{1.0, 1.0}));
}

TEST(ReduceLROnPlateau, NegativeMinDeltaInMaxMode) {
  // Explicit max, and auto on an accuracy: 0.5 -> 0.6 is under |-0.3|, 0.6 -> 0.4 is worse.
  for (Mode mode : {Mode::Max, Mode::Auto}) {
    auto lrs = plateau_lrs({.monitor = "val_accuracy", .factor = 0.5, .patience = 1, .mode = mode, .min_delta = -0.3},
                           {0.5, 0.6, 0.4});
    EXPECT_EQ(lrs, (std::vector<double>{1.0, 0.5, 0.25})) << static_cast<int>(mode);
    lrs = plateau_lrs({.monitor = "val_accuracy", .factor = 0.5, .patience = 1, .mode = mode, .min_delta = -0.3},
                      {0.5, 0.9});
    EXPECT_EQ(lrs, (std::vector<double>{1.0, 1.0})) << static_cast<int>(mode);
  }
}

TEST(EarlyStopping, NegativeMinDeltaInEachMode) {
  // min (explicit and auto on a loss): 1.0 then 0.9, 0.8 improve by less than 0.5 -> stops at epoch 1.
  EXPECT_EQ(early_stop_epoch({.monitor = "val_loss", .min_delta = -0.5, .patience = 1, .mode = Mode::Min},
                             {1.0, 0.9, 0.8}), 1);
  EXPECT_EQ(early_stop_epoch({.monitor = "val_loss", .min_delta = -0.5, .patience = 1}, {1.0, 0.9, 0.8}), 1);
  EXPECT_EQ(early_stop_epoch({.monitor = "val_loss", .min_delta = -0.5, .patience = 1}, {1.0, 0.4, 0.3}), 2);
  // max (explicit and auto on an accuracy).
  for (Mode mode : {Mode::Max, Mode::Auto}) {
    EXPECT_EQ(early_stop_epoch({.monitor = "val_accuracy", .min_delta = -0.2, .patience = 1, .mode = mode},
                               {0.5, 0.6, 0.65}), 1);
    EXPECT_EQ(early_stop_epoch({.monitor = "val_accuracy", .min_delta = -0.2, .patience = 1, .mode = mode},
                               {0.1, 0.4, 0.7, 0.75}), 3);
  }
}

TEST(ModelCheckpoint, SaveBestOnlyFollowsTheModeRule) {
  // min (explicit; auto on a loss): saves when the value goes down.
  EXPECT_EQ(checkpointed_epochs({.monitor = "loss", .mode = Mode::Min}, {1.0, 1.2, 0.8, 0.8}),
            (std::vector<int>{1, 3}));
  EXPECT_EQ(checkpointed_epochs({.monitor = "loss"}, {1.0, 1.2, 0.8, 0.8}), (std::vector<int>{1, 3}));
  // max (explicit on a loss-named value; auto on an accuracy): saves when it goes up.
  EXPECT_EQ(checkpointed_epochs({.monitor = "loss", .mode = Mode::Max}, {1.0, 1.2, 0.8, 1.3}),
            (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(checkpointed_epochs({.monitor = "val_accuracy"}, {0.5, 0.4, 0.7, 0.7}), (std::vector<int>{1, 3}));
}
