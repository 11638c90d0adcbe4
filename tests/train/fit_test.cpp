// The Keras training loop: compile / fit / evaluate / predict and the callbacks.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "ember/data/datasets.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {

// Two Gaussian blobs in 2-D, labels 0/1, linearly separable.
struct Blobs {
  Tensor x, y;
};
Blobs blobs(int64_t n, uint64_t seed) {
  Generator g(seed);
  Tensor labels = bernoulli({n}, 0.5, {.dtype = i64, .generator = &g});
  Tensor centers = labels.to(f32).unsqueeze(1) * 4.0 - 2.0;  // -2 or +2
  Tensor x = randn({n, 2}, {.mean = 0, .stddev = 0.5, .generator = &g}) + centers;
  return {x, labels};
}

std::shared_ptr<nn::Sequential> small_classifier() {
  nn::reset_layer_names();
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({2}), nn::Dense({.units = 8, .activation = Activation::Tanh}), nn::Dense({.units = 2})});
}

void compile_sparse(nn::Model& m, double lr = 0.05) {
  m.compile({.optimizer = optim::SGD({.learning_rate = lr}),
             .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
             .metrics = {"accuracy"}});
}

std::map<std::string, Tensor> snapshot(nn::Model& m) {
  std::map<std::string, Tensor> out;
  for (const auto& w : m.named_weights()) out[w.name] = w.weight->value().detach().clone();
  return out;
}

bool same_weights(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  for (const auto& [k, t] : a) {
    if (t.to_vector<float>() != b.at(k).to_vector<float>()) return false;
  }
  return true;
}

}  // namespace

TEST(Fit, LearnsSeparableBlobsAndRecordsHistory) {
  manual_seed(3);
  auto m = small_classifier();
  compile_sparse(*m);
  Blobs d = blobs(400, 11);
  auto h = m->fit(d.x, d.y, {.batch_size = 32, .epochs = 5, .verbose = 0, .validation_split = 0.25});
  ASSERT_EQ(h.epoch.size(), 5u);
  for (const char* k : {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}) {
    ASSERT_TRUE(h.history.count(k)) << k;
    EXPECT_EQ(h.history[k].size(), 5u) << k;
  }
  EXPECT_LT(h.history["loss"].back(), h.history["loss"].front());
  EXPECT_GT(h.history["val_accuracy"].back(), 0.97);
  EXPECT_DOUBLE_EQ(h.history["lr"].back(), 0.05);
  auto r = m->evaluate(d.x, d.y, {.batch_size = 64});
  EXPECT_GT(r.at("accuracy"), 0.97);
}

TEST(Fit, UseEmaEndsTrainingWithTheAveragedWeights) {
  // Keras 3: fit ends with finalize_variable_values, so the model's weights are the optimizer's averages.
  manual_seed(3);
  auto m = small_classifier();
  std::shared_ptr<optim::Optimizer> sgd =
      std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 0.05, .use_ema = true, .ema_momentum = 0.9});
  m->compile({.optimizer = sgd, .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}), .metrics = {"accuracy"}});
  Blobs d = blobs(128, 11);
  m->fit(d.x, d.y, {.batch_size = 32, .epochs = 2, .verbose = 0});
  int checked = 0;
  for (const auto& w : m->trainable_weights()) {
    const Tensor avg = sgd->slot(w.name, "average");
    EXPECT_EQ(w.weight->value().to_vector<float>(), avg.to_vector<float>()) << w.name;
    ++checked;
  }
  EXPECT_EQ(checked, 4);
  EXPECT_EQ(sgd->iterations(), 8);  // 2 epochs of 4 batches: the averages lag the live weights by several steps
}

TEST(Fit, ReportedLossIsTheMeanOverSamplesWithAPartialLastBatch) {
  // With a zero learning rate the weights never move, so the epoch's reported loss must equal the
  // loss of the whole data set: the batch losses (4, 4, 2 samples) weighted by batch size.
  manual_seed(5);
  auto m = small_classifier();
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.0}),
              .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
              .metrics = {"accuracy"}});
  Blobs d = blobs(10, 12);
  auto h = m->fit(d.x, d.y, {.batch_size = 4, .epochs = 1, .verbose = 0, .shuffle = true});
  auto r = m->evaluate(d.x, d.y, {.batch_size = 10});
  EXPECT_NEAR(h.history["loss"][0], r.at("loss"), 1e-6);
  EXPECT_NEAR(h.history["accuracy"][0], r.at("accuracy"), 1e-12);
}

TEST(Fit, ValidationSplitTakesTheLastFractionBeforeShuffling) {
  manual_seed(6);
  auto m = small_classifier();
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.0}),
              .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
              .metrics = {"accuracy"}});
  Blobs d = blobs(40, 13);
  auto h = m->fit(d.x, d.y, {.batch_size = 8, .epochs = 1, .verbose = 0, .validation_split = 0.25});
  auto r = m->evaluate(d.x.slice(0, 30, 40), d.y.slice(0, 30, 40), {.batch_size = 64});
  EXPECT_NEAR(h.history["val_loss"][0], r.at("loss"), 1e-6);
}

TEST(Fit, SameSeedGivesBitIdenticalHistory) {
  auto run = [] {
    manual_seed(21);
    auto m = small_classifier();
    compile_sparse(*m);
    Blobs d = blobs(100, 14);
    return m->fit(d.x, d.y, {.batch_size = 16, .epochs = 3, .verbose = 0}).history;
  };
  EXPECT_EQ(run(), run());
}

TEST(Fit, EarlyStoppingRestoresTheBestEpochsWeights) {
  // Validation labels are the training labels flipped, so validation loss gets worse as training
  // improves: the best epoch is an early one and training stops after `patience` more.
  manual_seed(8);
  auto m = small_classifier();
  compile_sparse(*m, 0.2);
  Blobs d = blobs(200, 15);
  Tensor flipped = 1 - d.y;
  std::vector<std::map<std::string, Tensor>> weights_per_epoch;
  std::vector<double> val_losses;
  auto recorder = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackOptions{.on_epoch_end = [&](int, callbacks::Logs& logs) {
    weights_per_epoch.push_back(snapshot(*m));
    val_losses.push_back(logs.at("val_loss"));
  }});
  auto stopper = std::make_shared<callbacks::EarlyStopping>(
      callbacks::EarlyStoppingOptions{.monitor = "val_loss", .patience = 2, .restore_best_weights = true});
  m->fit(d.x, d.y, {.batch_size = 20, .epochs = 30, .verbose = 0,
                    .validation_data = std::make_pair(d.x, flipped), .callbacks = {recorder, stopper}});
  ASSERT_GE(stopper->stopped_epoch(), 0) << "training should have stopped early";
  EXPECT_LT(val_losses.size(), 30u);
  std::size_t best = static_cast<std::size_t>(std::min_element(val_losses.begin(), val_losses.end()) - val_losses.begin());
  EXPECT_EQ(static_cast<int>(best), stopper->best_epoch());
  EXPECT_TRUE(same_weights(weights_per_epoch[best], snapshot(*m)));
  EXPECT_FALSE(same_weights(weights_per_epoch.back(), snapshot(*m)));
}

TEST(Fit, TerminateOnNaNStopsARunWhoseLossTurnsNaN) {
  manual_seed(9);
  auto m = small_classifier();
  compile_sparse(*m);
  Blobs d = blobs(64, 16);
  Tensor x = d.x.clone();
  {
    autograd::NoGradGuard ng;
    x.slice(0, 40, 41).fill_(NAN);  // one poisoned sample in the data
  }
  auto nan_stop = std::make_shared<callbacks::TerminateOnNaN>();
  ::testing::internal::CaptureStderr();
  auto h = m->fit(x, d.y, {.batch_size = 64, .epochs = 5, .verbose = 0, .shuffle = false, .callbacks = {nan_stop}});
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(nan_stop->terminated());
  EXPECT_EQ(h.epoch.size(), 1u);
  EXPECT_NE(err.find("Invalid loss, terminating training"), std::string::npos) << err;
}

TEST(Fit, FrozenLayerIsBitIdenticalAfterTraining) {
  manual_seed(10);
  auto m = small_classifier();
  m->layers()[0]->set_trainable(false);
  compile_sparse(*m);
  auto before = snapshot(*m);
  Blobs d = blobs(64, 17);
  m->fit(d.x, d.y, {.batch_size = 16, .epochs = 1, .verbose = 0});
  auto after = snapshot(*m);
  EXPECT_EQ(before.at("dense/kernel").to_vector<float>(), after.at("dense/kernel").to_vector<float>());
  EXPECT_EQ(before.at("dense/bias").to_vector<float>(), after.at("dense/bias").to_vector<float>());
  EXPECT_NE(before.at("dense_1/kernel").to_vector<float>(), after.at("dense_1/kernel").to_vector<float>());
}

TEST(Fit, PredictIsBatchedInferenceWithoutGradient) {
  manual_seed(11);
  auto m = small_classifier();
  Blobs d = blobs(37, 18);
  Tensor p = m->predict(d.x, {.batch_size = 8});
  EXPECT_EQ(p.shape(), (Shape{37, 2}));
  EXPECT_FALSE(p.requires_grad());
  EXPECT_TRUE(ember::testing::all_close(p, (*m)(d.x), 1e-6, 1e-6));
}

TEST(Fit, CallbacksAdjustTheLearningRateAndLogToCsv) {
  manual_seed(12);
  auto m = small_classifier();
  compile_sparse(*m, 0.1);
  Blobs d = blobs(64, 19);
  std::string csv = (std::filesystem::temp_directory_path() / ("ember_fit_" + std::to_string(::getpid()) + ".csv")).string();
  auto h = m->fit(d.x, d.y,
                  {.batch_size = 16, .epochs = 3, .verbose = 0,
                   .callbacks = {callbacks::LearningRateScheduler([](int epoch, double lr) { return epoch == 0 ? lr : lr / 2; }),
                                 callbacks::CSVLogger({.filename = csv})}});
  EXPECT_DOUBLE_EQ(h.history["lr"][0], 0.1);
  EXPECT_DOUBLE_EQ(h.history["lr"][1], 0.05);
  EXPECT_DOUBLE_EQ(h.history["lr"][2], 0.025);
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header, "epoch,accuracy,loss,lr");
  int rows = 0;
  while (std::getline(in, row)) ++rows;
  EXPECT_EQ(rows, 3);
}

TEST(Fit, ReduceLROnPlateauCutsTheRateWhenTheMonitorStalls) {
  manual_seed(13);
  auto m = small_classifier();
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.0}),  // nothing improves
              .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  Blobs d = blobs(32, 20);
  ::testing::internal::CaptureStdout();
  auto h = m->fit(d.x, d.y, {.batch_size = 32, .epochs = 4, .verbose = 0,
                             .callbacks = {callbacks::ReduceLROnPlateau({.monitor = "loss", .factor = 0.5, .patience = 1})}});
  ::testing::internal::GetCapturedStdout();
  // lr 0 stays 0; the callback only reduces rates above min_lr, so check the schedule on a real rate.
  EXPECT_DOUBLE_EQ(h.history["lr"].back(), 0.0);
  auto m2 = small_classifier();
  m2->compile({.optimizer = optim::SGD({.learning_rate = 1e-12}),
               .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  ::testing::internal::CaptureStdout();
  auto h2 = m2->fit(d.x, d.y, {.batch_size = 32, .epochs = 4, .verbose = 0,
                               .callbacks = {callbacks::ReduceLROnPlateau({.monitor = "loss", .factor = 0.5, .patience = 1, .min_delta = 1.0})}});
  ::testing::internal::GetCapturedStdout();
  EXPECT_LT(h2.history["lr"].back(), 1e-12);
}

TEST(Fit, BadInputGivesClearErrors) {
  auto m = small_classifier();
  Blobs d = blobs(20, 21);
  EXPECT_THROW(m->fit(d.x, d.y, {.verbose = 0}), ValueError);  // not compiled
  compile_sparse(*m);
  try {
    m->fit(d.x, d.y.slice(0, 0, 19), {.verbose = 0});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("20 samples"), std::string::npos) << e.what();
  }
  Tensor bad_labels = d.y.clone();
  {
    autograd::NoGradGuard ng;
    bad_labels.slice(0, 3, 4).fill_(7);  // the model has 2 classes
  }
  EXPECT_THROW(m->fit(d.x, bad_labels, {.verbose = 0}), ValueError);
  EXPECT_THROW(m->compile({.optimizer = "no_such_optimizer", .loss = "mse"}), ValueError);
  EXPECT_THROW(m->compile({.optimizer = "adam", .loss = "no_such_loss"}), ValueError);
  EXPECT_THROW(m->fit(d.x, d.y, {.batch_size = 0, .verbose = 0}), ValueError);
  EXPECT_THROW(m->fit(d.x, d.y, {.verbose = 0, .validation_split = 1.5}), ValueError);
}

TEST(Fit, TrainOnBatchAndTestOnBatch) {
  manual_seed(14);
  auto m = small_classifier();
  compile_sparse(*m, 0.5);
  Blobs d = blobs(64, 22);
  double first = m->train_on_batch(d.x, d.y).at("loss");
  for (int i = 0; i < 20; ++i) m->train_on_batch(d.x, d.y);
  auto r = m->test_on_batch(d.x, d.y);
  EXPECT_LT(r.at("loss"), first);
  EXPECT_TRUE(r.count("accuracy"));
}

TEST(Fit, ModelCheckpointWritesTheBestWeightsAsSafetensors) {
  manual_seed(15);
  auto m = small_classifier();
  compile_sparse(*m, 0.1);
  Blobs d = blobs(64, 23);
  std::string path = (std::filesystem::temp_directory_path() / ("ember_ckpt_" + std::to_string(::getpid()) + "_{epoch}.safetensors")).string();
  m->fit(d.x, d.y, {.batch_size = 16, .epochs = 2, .verbose = 0,
                    .callbacks = {callbacks::ModelCheckpoint({.filepath = path, .monitor = "loss", .save_weights_only = true})}});
  std::string second = path;
  second.replace(second.find("{epoch}"), 7, "2");
  io::SafetensorsFile f = io::load_safetensors(second);
  EXPECT_EQ(f.metadata.at("epoch"), "2");
  auto now = snapshot(*m);
  ASSERT_EQ(f.tensors.size(), now.size());
  for (const auto& [k, t] : now) EXPECT_EQ(f.tensors.at(k).to_vector<float>(), t.to_vector<float>()) << k;
}

TEST(Fit, ClassAndSampleWeightsScaleTheLoss) {
  // With a zero learning rate the reported loss is the weighted loss of the fixed model:
  // Keras's sum(w_i * l_i) / N. Class weights of 2 on every class double it; sample weights of 0
  // on half the samples keep the other half's share.
  manual_seed(16);
  auto m = small_classifier();
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.0}),
              .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  Blobs d = blobs(16, 24);
  double plain = m->fit(d.x, d.y, {.batch_size = 16, .verbose = 0}).history["loss"][0];
  double doubled = m->fit(d.x, d.y, {.batch_size = 16, .verbose = 0, .class_weight = {{0, 2.0}, {1, 2.0}}}).history["loss"][0];
  EXPECT_NEAR(doubled, 2 * plain, 1e-5);
  std::vector<float> half(16, 0.0f);
  for (int i = 0; i < 8; ++i) half[static_cast<std::size_t>(i)] = 1.0f;
  double first_half = m->fit(d.x, d.y, {.batch_size = 16, .verbose = 0, .shuffle = false,
                                        .sample_weight = from_vector(half, {16})}).history["loss"][0];
  auto r = m->evaluate(d.x.slice(0, 0, 8), d.y.slice(0, 0, 8), {.batch_size = 8});
  EXPECT_NEAR(first_half, r.at("loss") / 2, 1e-5);
}

TEST(Fit, InitialEpochContinuesTheEpochCount) {
  manual_seed(17);
  auto m = small_classifier();
  compile_sparse(*m);
  Blobs d = blobs(32, 25);
  auto h = m->fit(d.x, d.y, {.batch_size = 16, .epochs = 5, .verbose = 0, .initial_epoch = 3});
  EXPECT_EQ(h.epoch, (std::vector<int>{3, 4}));
}

// FitOptions::x_transform: u8 images converted batch by batch (data::images_to_float) train exactly
// as the same images converted up front — training batches, validation_data, validation_split and
// Dataset batches alike — and the transform sees every batch.
TEST(Fit, XTransformConvertsEachBatchWithTheSameResults) {
  Generator g(5);
  const int64_t n = 96;
  Tensor bytes = rand({n, 4, 4}, {.low = 0, .high = 256, .generator = &g}).to(u8);
  Tensor labels = greater(bytes.to(f32).sum({1, 2}), full({}, 16 * 127.5, f32)).to(i64);  // bright images are class 1
  Tensor floats = data::images_to_float(bytes);
  ASSERT_EQ(floats.shape(), (Shape{n, 4, 4, 1}));
  auto model = [] {
    manual_seed(3);
    nn::reset_layer_names();
    auto m = std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
        nn::Input({4, 4, 1}), nn::Flatten(), nn::Dense({.units = 8, .activation = Activation::ReLU}), nn::Dense({.units = 2})});
    compile_sparse(*m, 0.1);
    return m;
  };
  int64_t transformed_rows = 0;
  auto counting = [&](const Tensor& x) {
    transformed_rows += x.size(0);
    return data::images_to_float(x);
  };
  for (bool split : {false, true}) {
    SCOPED_TRACE(split ? "validation_split" : "validation_data");
    train::FitOptions up_front{.batch_size = 16, .epochs = 3, .verbose = 0};
    train::FitOptions per_batch = up_front;
    if (split) {
      up_front.validation_split = per_batch.validation_split = 0.25;
    } else {
      up_front.validation_data = std::make_pair(floats.slice(0, 0, 32), labels.slice(0, 0, 32));
      per_batch.validation_data = std::make_pair(bytes.slice(0, 0, 32), labels.slice(0, 0, 32));
    }
    per_batch.x_transform = counting;
    transformed_rows = 0;
    auto a = model();  // (each model right before its fit: the seed also drives the shuffling)
    const auto ha = a->fit(floats, labels, up_front).history;
    auto b = model();
    const auto hb = b->fit(bytes, labels, per_batch).history;
    EXPECT_EQ(ha, hb);
    ASSERT_TRUE(ha.count("val_loss"));
    EXPECT_TRUE(same_weights(snapshot(*a), snapshot(*b)));
    EXPECT_EQ(transformed_rows, split ? 3 * n : 3 * (n + 32));  // every training and validation row, each epoch
  }
  // fit(Dataset): the Dataset's batches go through the transform too.
  auto a = model();
  const auto ha = a->fit(data::Dataset::from_tensor_slices({floats, labels}).batch(16), {.epochs = 2, .verbose = 0}).history;
  auto b = model();
  const auto hb = b->fit(data::Dataset::from_tensor_slices({bytes, labels}).batch(16),
                         {.epochs = 2, .verbose = 0, .x_transform = data::images_to_float}).history;
  EXPECT_EQ(ha, hb);
  EXPECT_TRUE(same_weights(snapshot(*a), snapshot(*b)));
}
