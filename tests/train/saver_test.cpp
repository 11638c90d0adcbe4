// train::Saver, the `checkpoint` index and exact resume in one process.
#include "ember/train/saver.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/core/threads.hpp"
#include "ember/ember.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/nn/config.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_saver_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::shared_ptr<nn::Sequential> small_mlp() {
  auto m = std::make_shared<nn::Sequential>();
  m->add(nn::Input({6}));
  m->add(nn::Dense({.units = 8, .activation = Activation::ReLU}));
  m->add(nn::Dense({.units = 3}));
  return m;
}

void expect_format_error(std::string_view text, const std::string& fragment) {
  try {
    train::parse_checkpoint_index(text);
    ADD_FAILURE() << "no error for: " << text;
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

// ---------------------------------------------------------------- the index

TEST(CheckpointIndex, ReadsTensorFlowsTextFormat) {
  // As tf.compat.v1.train.Saver writes it (text_format of CheckpointState), with a comment and
  // single quotes added, which protobuf's text parser accepts as well.
  const char* text =
      "model_checkpoint_path: \"model-9\"\n"
      "all_model_checkpoint_paths: \"model-8\"\n"
      "all_model_checkpoint_paths: 'model-9'  # the latest\n"
      "all_model_checkpoint_timestamps: 1700000000.25\n"
      "all_model_checkpoint_timestamps: 1.7000000005e9\n"
      "last_preserved_timestamp: 1699999999\n";
  train::CheckpointState s = train::parse_checkpoint_index(text);
  EXPECT_EQ(s.model_checkpoint_path, "model-9");
  EXPECT_EQ(s.all_model_checkpoint_paths, (std::vector<std::string>{"model-8", "model-9"}));
  EXPECT_EQ(s.all_model_checkpoint_timestamps, (std::vector<double>{1700000000.25, 1700000000.5}));
  EXPECT_EQ(s.last_preserved_timestamp, 1699999999.0);
}

TEST(CheckpointIndex, EscapesRoundTrip) {
  train::CheckpointState s;
  s.model_checkpoint_path = "dir with \"quotes\"\\ and\ttab/\xc3\xa9t\xc3\xa9-3";  // UTF-8 "été"
  s.all_model_checkpoint_paths = {"a\nb", s.model_checkpoint_path};
  s.all_model_checkpoint_timestamps = {0.1, 1764680000.123456};
  s.last_preserved_timestamp = 12.5;
  std::string text = train::format_checkpoint_index(s);
  for (char c : text) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << "non-ASCII byte written";
  train::CheckpointState back = train::parse_checkpoint_index(text);
  EXPECT_EQ(back.model_checkpoint_path, s.model_checkpoint_path);
  EXPECT_EQ(back.all_model_checkpoint_paths, s.all_model_checkpoint_paths);
  EXPECT_EQ(back.all_model_checkpoint_timestamps, s.all_model_checkpoint_timestamps);
  EXPECT_EQ(back.last_preserved_timestamp, 12.5);
  // Octal and hex escapes decode as protobuf's do; adjacent strings are joined.
  EXPECT_EQ(train::parse_checkpoint_index("model_checkpoint_path: \"\\303\\251\" 't\\x41'").model_checkpoint_path, "\xc3\xa9tA");
}

TEST(CheckpointIndex, MalformedIndexesAreFormatErrors) {
  expect_format_error("", "no model_checkpoint_path");
  expect_format_error("model_checkpoint_path: \"\"", "no model_checkpoint_path");
  expect_format_error("model_checkpoint_path \"m\"", "line 1, column 23: expected ':'");
  expect_format_error("model_checkpoint_path: \"m\"\nmodel_checkpoint_path: \"n\"", "line 2, column 1: field 'model_checkpoint_path' appears twice");
  expect_format_error("model_checkpoint_path: \"m\"\nsome_field: 1", "unknown field 'some_field'");
  expect_format_error("model_checkpoint_path: \"m", "unterminated string");
  expect_format_error("model_checkpoint_path: \"m\\", "unterminated escape");
  expect_format_error("model_checkpoint_path: \"m\\q\"", "unknown escape");
  expect_format_error("model_checkpoint_path: m", "expected a quoted string");
  expect_format_error("model_checkpoint_path: \"\\377\"", "not valid UTF-8");
  expect_format_error("model_checkpoint_path: \"a\\000b\"", "NUL");
  expect_format_error("model_checkpoint_path: \"\\400\"", "above \\377");
  expect_format_error("model_checkpoint_path: \"m\"\nlast_preserved_timestamp: nan", "expected a finite number");
  expect_format_error("model_checkpoint_path: \"m\"\nlast_preserved_timestamp: 1e999", "expected a finite number");
  expect_format_error("model_checkpoint_path: \"m\"\nlast_preserved_timestamp: 12abc", "unexpected character");
  expect_format_error("model_checkpoint_path: \"m\"\nall_model_checkpoint_paths: \"x\"", "is not model_checkpoint_path");
  expect_format_error(
      "model_checkpoint_path: \"m\"\nall_model_checkpoint_paths: \"m\"\nall_model_checkpoint_timestamps: 1\n"
      "all_model_checkpoint_timestamps: 2",
      "2 all_model_checkpoint_timestamps for 1");
  expect_format_error(std::string(2 << 20, ' '), "more than the 1 MiB");
  expect_format_error("\x01", "expected a field name, got '\\x01'");
}

// ---------------------------------------------------------------- the notes' Saver loop

// The notes: saver.save(s, './cnn/model', global_step=i) for i in range(10) with max_to_keep = 5
// (TF's default) leaves model-5 ... model-9; saver.restore(s, './cnn/model-9').
TEST(Saver, NotesLoopKeepsTheLastFiveAndTheIndex) {
  fs::path dir = fresh_dir("notes");
  nn::reset_layer_names();
  auto model = small_mlp();
  model->materialize_weights();
  train::Saver saver({.max_to_keep = 5});
  std::map<std::string, Tensor> at9;
  for (int i = 0; i < 10; ++i) {
    // Each step's weights differ, so the restore below can tell which checkpoint it read.
    autograd::NoGradGuard no_grad;
    for (const auto& w : model->named_weights()) w.weight->value().fill_(static_cast<double>(i) + 0.5);
    EXPECT_EQ(saver.save(*model, (dir / "model").string(), i), (dir / ("model-" + std::to_string(i))).string());
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(fs::exists(dir / ("model-" + std::to_string(i) + ".safetensors")), i >= 5) << i;
  }
  std::string index = ember::testing::read_file(dir / "checkpoint");
  train::CheckpointState s = train::parse_checkpoint_index(index);
  EXPECT_EQ(s.model_checkpoint_path, "model-9");
  EXPECT_EQ(s.all_model_checkpoint_paths, (std::vector<std::string>{"model-5", "model-6", "model-7", "model-8", "model-9"}));
  EXPECT_EQ(s.all_model_checkpoint_timestamps.size(), 5u);
  EXPECT_EQ(index.rfind("model_checkpoint_path: \"model-9\"\nall_model_checkpoint_paths: \"model-5\"\n", 0), 0u) << index;
  EXPECT_EQ(saver.last_checkpoints().size(), 5u);

  std::optional<std::string> latest = train::latest_checkpoint(dir.string());
  ASSERT_TRUE(latest);
  EXPECT_EQ(*latest, (dir / "model-9").string());
  nn::reset_layer_names();
  auto fresh = small_mlp();
  saver.restore(*fresh, *latest);
  for (const auto& w : fresh->named_weights()) {
    std::vector<float> v = w.weight->value().to_vector<float>();
    for (float x : v) ASSERT_EQ(x, 9.5f) << w.name;
  }
  // The global step is in the file's metadata, as the notes' model-<step> names.
  EXPECT_EQ(io::load_safetensors((dir / "model-9.safetensors").string()).metadata.at("global_step"), "9");
  // An older one, by path (with or without the extension).
  saver.restore(*fresh, (dir / "model-6.safetensors").string());
  EXPECT_EQ(fresh->named_weights()[0].weight->value().to_vector<float>()[0], 6.5f);
}

TEST(Saver, KeepCheckpointEveryNHoursSparesOnePerPeriod) {
  // Saves one hour apart from t = 1 h (the saver is made at t = 0) with max_to_keep 2 and a 2-hour
  // period: leaving the list, step k (saved at k+1 h) is kept iff 2 h have passed since the last one
  // kept (TF's rule) -> steps 1 (2 h), 3 (4 h), 5 (6 h), 7 (8 h) survive; 8 and 9 are the list.
  fs::path dir = fresh_dir("hours");
  double t = 0;
  train::Saver saver({.max_to_keep = 2, .keep_checkpoint_every_n_hours = 2, .clock = [&t] { return t; }});
  nn::reset_layer_names();
  auto model = small_mlp();
  for (int i = 0; i < 10; ++i) {
    t = 3600.0 * (i + 1);
    saver.save(*model, (dir / "m").string(), i);
  }
  for (int i = 0; i < 10; ++i) {
    bool kept = i == 1 || i == 3 || i == 5 || i == 7 || i == 8 || i == 9;
    EXPECT_EQ(fs::exists(dir / ("m-" + std::to_string(i) + ".safetensors")), kept) << i;
  }
  train::CheckpointState s = *train::get_checkpoint_state(dir.string());
  EXPECT_EQ(s.all_model_checkpoint_paths, (std::vector<std::string>{(dir / "m-8").string(), (dir / "m-9").string()}));
  EXPECT_EQ(s.all_model_checkpoint_timestamps, (std::vector<double>{9 * 3600.0, 10 * 3600.0}));
  EXPECT_EQ(s.last_preserved_timestamp, 8 * 3600.0);
}

TEST(Saver, ANewSaverAdoptsTheIndexAndCleansInterruptedSaves) {
  fs::path dir = fresh_dir("adopt");
  nn::reset_layer_names();
  auto model = small_mlp();
  {
    train::Saver a({.max_to_keep = 3});
    for (int i = 0; i < 3; ++i) a.save(*model, (dir / "c").string(), i);
  }
  std::ofstream(dir / ".c-7.safetensors.tmp-AbC123") << "partial";
  std::ofstream(dir / ".checkpoint.tmp-XyZ789") << "partial";
  std::ofstream(dir / "unrelated.txt") << "kept";
  train::Saver b({.max_to_keep = 3});
  b.save(*model, (dir / "c").string(), 3);
  EXPECT_FALSE(fs::exists(dir / "c-0.safetensors"));  // the 4th checkpoint pushed out the first
  EXPECT_TRUE(fs::exists(dir / "c-1.safetensors"));
  EXPECT_FALSE(fs::exists(dir / ".c-7.safetensors.tmp-AbC123"));
  EXPECT_FALSE(fs::exists(dir / ".checkpoint.tmp-XyZ789"));
  EXPECT_TRUE(fs::exists(dir / "unrelated.txt"));
  EXPECT_EQ(train::get_checkpoint_state(dir.string())->all_model_checkpoint_paths.size(), 3u);
}

TEST(Saver, AnIndexNamingFilesElsewhereNeverMakesItDeleteThem) {
  // The index is untrusted: a saver adopts only checkpoints directly in its directory, so it never
  // deletes what an index names elsewhere.
  fs::path dir = fresh_dir("victim_ckpt"), elsewhere = fresh_dir("victim_files");
  std::ofstream(elsewhere / "v.safetensors") << "precious";
  std::ofstream(dir / "c-0.safetensors") << "x";
  std::ofstream(dir / "checkpoint") << "model_checkpoint_path: \"c-0\"\n"
                                    << "all_model_checkpoint_paths: \"" << (elsewhere / "v").string() << "\"\n"
                                    << "all_model_checkpoint_paths: \"../" << elsewhere.filename().string() << "/v\"\n"
                                    << "all_model_checkpoint_paths: \"c-0\"\n";
  nn::reset_layer_names();
  auto model = small_mlp();
  train::Saver saver({.max_to_keep = 1});
  saver.save(*model, (dir / "c").string(), 1);
  saver.save(*model, (dir / "c").string(), 2);
  EXPECT_TRUE(fs::exists(elsewhere / "v.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "c-0.safetensors"));  // its own, adopted, went out of the list
  EXPECT_EQ(saver.last_checkpoints(), (std::vector<std::string>{"c-2"}));
}

TEST(Saver, ErrorsNameWhatIsWrong) {
  fs::path dir = fresh_dir("errors");
  nn::reset_layer_names();
  auto model = small_mlp();
  train::Saver saver;
  EXPECT_THROW(saver.save(*model, (dir / "nosuchdir" / "m").string(), 1), IOError);
  EXPECT_FALSE(train::latest_checkpoint(dir.string()).has_value());  // no index: no checkpoint
  saver.save(*model, (dir / "m").string(), 1);
  // Another architecture: the weights do not match.
  nn::reset_layer_names();
  auto other = std::make_shared<nn::Sequential>();
  other->add(nn::Input({6}));
  other->add(nn::Dense({.units = 9}));
  other->add(nn::Dense({.units = 3}));
  try {
    saver.restore(*other, (dir / "m-1").string());
    ADD_FAILURE() << "restored into another architecture";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'dense/kernel' is float32 [6,8], the model's is float32 [6,9]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(saver.restore(*model, (dir / "m-2").string()), IOError);
  // A safetensors file that is not a checkpoint.
  io::save_safetensors((dir / "plain.safetensors").string(), {{"x", ones({2})}});
  EXPECT_THROW(saver.restore(*model, (dir / "plain").string()), FormatError);
  // A broken index, and one naming a file that is gone.
  std::ofstream(dir / "checkpoint") << "model_checkpoint_path: \"m-1\"\nbogus: 1\n";
  EXPECT_THROW(train::latest_checkpoint(dir.string()), FormatError);
  std::ofstream(dir / "checkpoint") << "model_checkpoint_path: \"m-5\"\n";
  EXPECT_THROW(train::latest_checkpoint(dir.string()), IOError);
  // Another optimizer class.
  nn::reset_layer_names();
  auto a = small_mlp();
  a->compile({.optimizer = "adam", .loss = "mse"});
  saver.save(*a, (dir / "adam").string(), 1);
  nn::reset_layer_names();
  auto b = small_mlp();
  b->compile({.optimizer = "sgd", .loss = "mse"});
  EXPECT_THROW(saver.restore(*b, (dir / "adam-1").string()), ValueError);
}

// ---------------------------------------------------------------- exact resume in one process

namespace {

struct RunResult {
  std::map<std::string, std::vector<float>> weights;
  callbacks::History history;
};

std::shared_ptr<nn::Sequential> bn_dropout_model() {
  auto m = std::make_shared<nn::Sequential>();
  m->add(nn::Input({12}));
  m->add(nn::Dense({.units = 16}));
  m->add(nn::BatchNormalization({.momentum = 0.9}));
  m->add(nn::ActivationLayer(Activation::ReLU));
  m->add(nn::Dropout({.rate = 0.3}));                  // draws from the default generator
  m->add(nn::Dense({.units = 16, .activation = Activation::ReLU}));
  m->add(nn::Dropout({.rate = 0.2, .seed = 11}));      // draws from its own
  m->add(nn::Dense({.units = 4}));
  return m;
}

void compile(nn::Model& m) {
  m.compile({.optimizer = optim::Adam({.learning_rate = optim::ExponentialDecay({.initial_learning_rate = 0.01, .decay_steps = 5, .decay_rate = 0.9})}),
             .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
             .metrics = {"accuracy"}});
}

std::vector<callbacks::CallbackRef> stateful_callbacks() {
  // EarlyStopping with best weights and a patience that does not stop 4 epochs, and a ReduceLROnPlateau
  // that is not reached; their state must come back all the same.
  return {callbacks::EarlyStopping({.monitor = "val_loss", .patience = 10, .restore_best_weights = true}),
          callbacks::ReduceLROnPlateau({.monitor = "val_loss", .patience = 5})};
}

RunResult snapshot(nn::Model& m, const callbacks::History& h) {
  RunResult r;
  for (const auto& w : m.named_weights()) r.weights[w.name] = w.weight->value().to_vector<float>();
  r.history = h;
  return r;
}

}  // namespace

TEST(Saver, FitTwoSaveRestoreFitTwoEqualsFitFourBitForBit) {
  set_num_threads(1);
  Generator data_gen(3);
  Tensor x = randn({96, 12}, {.generator = &data_gen});
  std::vector<int64_t> labels(96);
  for (auto& l : labels) l = static_cast<int64_t>(data_gen.below(4));
  Tensor y = from_vector(labels, {96});
  auto fit_options = [&](int epochs, Generator* shuffle) {
    return train::FitOptions{.batch_size = 16, .epochs = epochs, .verbose = 0, .validation_split = 0.25,
                             .callbacks = stateful_callbacks(), .generator = shuffle};
  };

  // Straight: 4 epochs.
  manual_seed(5);
  nn::reset_layer_names();
  auto straight = bn_dropout_model();
  compile(*straight);
  Generator g1(9);
  callbacks::History h4 = straight->fit(x, y, fit_options(4, &g1));
  RunResult a = snapshot(*straight, h4);

  // 2 epochs, a checkpoint, then a new model restored from it runs to epoch 4.
  fs::path dir = fresh_dir("resume");
  manual_seed(5);
  nn::reset_layer_names();
  auto first = bn_dropout_model();
  compile(*first);
  Generator g2(9);
  first->fit(x, y, fit_options(2, &g2));
  train::Saver saver;
  saver.save(*first, (dir / "ckpt").string(), 2);
  first.reset();

  default_generator().manual_seed(12345);  // whatever happened in between, the checkpoint decides
  nn::reset_layer_names();
  auto second = bn_dropout_model();
  compile(*second);
  saver.restore(*second, *train::latest_checkpoint(dir.string()));
  Generator g3(777);  // its state comes from the checkpoint too
  callbacks::History h = second->fit(x, y, fit_options(4, &g3));
  RunResult b = snapshot(*second, h);

  ASSERT_EQ(a.weights.size(), b.weights.size());
  EXPECT_TRUE(a.weights.count("batch_normalization/moving_mean"));
  for (const auto& [name, v] : a.weights) EXPECT_EQ(v, b.weights.at(name)) << name;  // bitwise
  EXPECT_EQ(b.history.epoch, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(a.history.history, b.history.history);  // every value bitwise, the first two epochs restored
  EXPECT_EQ(b.history.history.at("loss").size(), 4u);
  set_automatic_threads();
}

TEST(Saver, ASaveRightAfterARestoreKeepsTheFitState) {
  fs::path dir = fresh_dir("resave");
  nn::reset_layer_names();
  auto a = small_mlp();
  a->compile({.optimizer = "adam", .loss = "mse"});
  a->fit(ones({8, 6}), zeros({8, 3}), {.batch_size = 4, .epochs = 3, .verbose = 0,
                                       .callbacks = {callbacks::EarlyStopping({.monitor = "loss", .patience = 5})}});
  train::Saver saver;
  saver.save(*a, (dir / "a").string(), 3);
  auto restored = [&](const std::string& path) {
    nn::reset_layer_names();
    auto m = small_mlp();
    m->compile({.optimizer = "adam", .loss = "mse"});
    saver.restore(*m, path);
    return m;
  };
  auto b = restored((dir / "a-3").string());
  saver.save(*b, (dir / "b").string(), 3);  // no fit in between: the restored state is saved again
  auto c = restored((dir / "b-3").string());
  const train::FitResume& rb = *b->training_state()->resume;
  const train::FitResume& rc = *c->training_state()->resume;
  EXPECT_EQ(rc.next_epoch, 3);
  EXPECT_EQ(rc.epochs, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(rc.history, rb.history);
  ASSERT_EQ(rc.callbacks.size(), 1u);
  EXPECT_EQ(rc.callbacks[0].first, "EarlyStopping#0");
  EXPECT_EQ(rc.callbacks[0].second.json, rb.callbacks[0].second.json);
}

TEST(Saver, CustomLoopSavesTheOptimizerItIsGiven) {
  nn::reset_layer_names();
  auto model = small_mlp();
  model->materialize_weights();
  optim::Adam adam;
  Tensor x = ones({4, 6}), y = zeros({4, 3});
  for (int i = 0; i < 3; ++i) {
    Tensor d = (*model)(x, true) - y;
    Tensor loss = mean(d * d);
    loss.backward();
    optim::NamedParams params;
    for (const auto& w : model->trainable_weights()) params.push_back({w.name, w.weight->value()});
    adam.step(params);
    for (auto& w : model->named_weights()) w.weight->value().zero_grad();
  }
  fs::path dir = fresh_dir("custom");
  train::Saver saver;
  saver.save(*model, adam, (dir / "loop").string(), 3);
  nn::reset_layer_names();
  auto model2 = small_mlp();
  optim::Adam adam2;
  saver.restore(*model2, adam2, (dir / "loop-3").string());
  EXPECT_EQ(adam2.iterations(), 3);
  for (const auto& [k, t] : adam.slots()) EXPECT_EQ(t.to_vector<float>(), adam2.slots().at(k).to_vector<float>()) << k;
}

TEST(Saver, MidEpochSaveIsRefused) {
  nn::reset_layer_names();
  auto model = small_mlp();
  model->compile({.optimizer = "sgd", .loss = "mse"});
  fs::path dir = fresh_dir("midepoch");
  train::Saver saver;
  auto cb = callbacks::LambdaCallback({.on_batch_end = [&](int batch, const callbacks::Logs&) {
    if (batch == 0) saver.save(*model, (dir / "m").string(), 0);
  }});
  EXPECT_THROW(model->fit(ones({8, 6}), zeros({8, 3}), {.batch_size = 4, .epochs = 1, .verbose = 0, .callbacks = {std::move(cb)}}),
               ValueError);
  EXPECT_FALSE(fs::exists(dir / "checkpoint"));
}

// ---------------------------------------------------------------- ModelCheckpoint

TEST(ModelCheckpoint, FormatsPlaceholdersAsPythonDoes) {
  callbacks::Logs logs{{"val_loss", 0.41234}, {"loss", 0.5}, {"accuracy", 1.0}, {"val_accuracy", 12345.678}};
  // Expected strings: Python's "...".format(epoch=3, **logs).
  EXPECT_EQ(callbacks::format_filepath("ckpt/w-{epoch:02d}-{val_loss:.2f}.safetensors", 3, logs), "ckpt/w-03-0.41.safetensors");
  EXPECT_EQ(callbacks::format_filepath("{epoch}-{val_loss:.4f}", 12, logs), "12-0.4123");
  EXPECT_EQ(callbacks::format_filepath("{loss}_{accuracy}", 1, logs), "0.5_1.0");
  EXPECT_EQ(callbacks::format_filepath("{val_accuracy:.2e}|{epoch:5d}|{epoch:+d}", 7, logs), "1.23e+04|    7|+7");
  EXPECT_EQ(callbacks::format_filepath("{{epoch}}-{epoch:03}", 4, logs), "{epoch}-004");
  EXPECT_EQ(callbacks::format_filepath("{val_loss:.1%}", 1, logs), "41.2%");
  EXPECT_EQ(callbacks::format_filepath("{val_loss:8.3f}", 1, logs), "   0.412");
  EXPECT_THROW(callbacks::format_filepath("{val_loss:02d}", 1, logs), ValueError);  // Python: Unknown format code 'd' for float
  EXPECT_THROW(callbacks::format_filepath("{nosuch}", 1, logs), ValueError);
  EXPECT_THROW(callbacks::format_filepath("{epoch", 1, logs), ValueError);
  EXPECT_THROW(callbacks::format_filepath("epoch}", 1, logs), ValueError);
  EXPECT_THROW(callbacks::ModelCheckpoint({.filepath = "w-{epoch:q}.safetensors"}), ValueError);
}

TEST(ModelCheckpoint, WritesWeightsOrFullCheckpointsByOption) {
  fs::path dir = fresh_dir("modelcheckpoint");
  nn::reset_layer_names();
  auto model = small_mlp();
  model->compile({.optimizer = "adam", .loss = "mse"});
  Tensor x = ones({8, 6}), y = zeros({8, 3});
  std::string weights_pattern = (dir / "w-{epoch:02d}-{loss:.3f}.safetensors").string();
  std::string full_pattern = (dir / "full-{epoch}.safetensors").string();
  model->fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 0,
                    .callbacks = {callbacks::ModelCheckpoint({.filepath = weights_pattern, .monitor = "loss", .save_weights_only = true}),
                                  callbacks::ModelCheckpoint({.filepath = full_pattern, .monitor = "loss"})}});
  int weight_files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind("w-", 0) == 0) {
      ++weight_files;
      io::SafetensorsFile f = io::load_safetensors(e.path().string());
      EXPECT_EQ(f.tensors.size(), 4u);  // the weights only
    }
  }
  EXPECT_EQ(weight_files, 2);
  io::SafetensorsFile full = io::load_safetensors((dir / "full-2.safetensors").string());
  EXPECT_TRUE(full.tensors.count("optimizer/dense/kernel/momentum"));
  nn::reset_layer_names();
  auto back = small_mlp();
  back->compile({.optimizer = "adam", .loss = "mse"});
  train::Saver().restore(*back, (dir / "full-2").string());
  EXPECT_EQ(back->training_state()->optimizer->iterations(), 4);
  EXPECT_EQ(back->training_state()->resume->next_epoch, 2);

  // .h5 by extension: Keras's weights file, or the whole Keras model; both load back to the same weights.
  model->fit(x, y, {.epochs = 1, .verbose = 0,
                    .callbacks = {callbacks::ModelCheckpoint({.filepath = (dir / "w.h5").string(), .save_weights_only = true}),
                                  callbacks::ModelCheckpoint({.filepath = (dir / "m.h5").string()})}});
  nn::reset_layer_names();
  auto from_weights = small_mlp();
  from_weights->load_weights((dir / "w.h5").string());
  auto from_model = nn::load_model((dir / "m.h5").string());
  auto a = model->named_weights(), b = from_weights->named_weights(), c = from_model->named_weights();
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), c.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].weight->value().to_vector<double>(), b[i].weight->value().to_vector<double>()) << a[i].name;
    EXPECT_EQ(a[i].weight->value().to_vector<double>(), c[i].weight->value().to_vector<double>()) << a[i].name;
  }
  try {
    model->fit(x, y, {.epochs = 1, .verbose = 0,
                      .callbacks = {callbacks::ModelCheckpoint({.filepath = (dir / "w.txt").string(), .save_weights_only = true})}});
    ADD_FAILURE() << "no error for .txt";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("extension"), std::string::npos) << e.what();
  }
}
