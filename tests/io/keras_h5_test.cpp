// Keras 2 .h5 model files. Expected predictions come from PyTorch computing with the weights that
// tests/fixtures/gen/keras_h5_fixtures.py chose and wrote in Keras's layout; Ember's own files are
// checked by h5py and PyTorch (tests/io/keras_h5_check.py), and Keras's name-list split against
// Keras's algorithm run in Python.
#include "ember/io/keras_h5.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ember;
namespace h5 = ember::io::h5;
using ember::testing::all_close;
using ember::testing::message_of;

namespace {

std::string fixture(const std::string& name) { return std::string(EMBER_FIXTURE_DIR) + "/keras_h5/" + name; }

const nlohmann::json& expected(const std::string& file) {
  static const nlohmann::json j = [] {
    std::ifstream in(fixture("expected.json"));
    return nlohmann::json::parse(in);
  }();
  return j.at(file);
}

Tensor json_tensor(const nlohmann::json& values, const nlohmann::json& shape) {
  std::vector<double> flat;
  // Row-major flattening of nested lists (depth first, in order).
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& v) {
    if (v.is_array()) {
      for (const auto& e : v) walk(e);
    } else {
      flat.push_back(v.get<double>());
    }
  };
  walk(values);
  Shape s;
  for (int64_t d : shape) s.push_back(d);
  return from_vector(flat, s, f64);
}

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_keras_h5_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The model keras_h5_check.py expects: Dense 4->5 relu, BatchNormalization, Dropout, Dense 3 softmax,
// with weights set from simple formulas (so its predictions are not those of fresh initialisation).
std::shared_ptr<nn::Sequential> checker_model() {
  auto m = std::make_shared<nn::Sequential>(
      std::initializer_list<nn::LayerRef>{nn::Input({4}), nn::Dense({.units = 5, .activation = Activation::ReLU, .name = "d1"}),
                                          nn::BatchNormalization({.name = "bn"}), nn::Dropout({.rate = 0.5, .name = "drop"}),
                                          nn::Dense({.units = 3, .activation = Activation::Softmax, .name = "d2"})},
      "mlp");
  m->materialize_weights();
  autograd::NoGradGuard no_grad;
  int k = 0;
  for (const auto& w : m->named_weights()) {
    // 0.5 sin(0.7 i + k): spread in [-0.5, 0.5]; variances kept positive.
    std::vector<double> v(static_cast<std::size_t>(w.weight->numel()));
    ++k;
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5 * std::sin(0.7 * static_cast<double>(i) + k);
    if (w.name == "bn/moving_variance") {
      for (double& d : v) d = std::abs(d) + 0.5;
    }
    w.weight->value().copy_(from_vector(v, w.weight->shape));
  }
  return m;
}

}  // namespace

// ---- files in tf.keras's layout ----

TEST(KerasH5, LoadsSequentialWithBatchNormAndPredictsAsPyTorch) {
  const auto& e = expected("mlp_bn.h5");
  std::shared_ptr<nn::Model> model = nn::load_model(fixture("mlp_bn.h5"));
  std::vector<std::string> names;
  for (const auto& l : model->layers()) names.push_back(l->name());
  EXPECT_EQ(names, e["layers"].get<std::vector<std::string>>());
  Tensor x = json_tensor(e["input"], e["input_shape"]).to(f32);
  Tensor y = model->forward({x}, false)[0];
  Tensor want = json_tensor(e["output"], nlohmann::json::array({5, 3}));
  EXPECT_TRUE(all_close(y.to(f64), want, 0, 1e-5));
}

TEST(KerasH5, LoadsFunctionalCnnAndPredictsAsPyTorch) {
  const auto& e = expected("cnn_functional.h5");
  std::shared_ptr<nn::Model> model = nn::load_model(fixture("cnn_functional.h5"));
  Tensor x = json_tensor(e["input"], e["input_shape"]).to(f32);
  Tensor y = model->forward({x}, false)[0];
  EXPECT_TRUE(all_close(y.to(f64), json_tensor(e["output"], nlohmann::json::array({2, 2})), 0, 1e-5));
  // The same weights through load_weights into a model built from the same config.
  h5::File f(fixture("cnn_functional.h5"));
  auto again = nn::model_from_config(nlohmann::json::parse(f.attrs().get_string("model_config")));
  again->load_weights(fixture("cnn_functional.h5"));
  EXPECT_TRUE(all_close(again->forward({x}, false)[0], y, 0, 0));
}

TEST(KerasH5, SplitLayerNamesAreReadBack) {
  const auto& e = expected("weights_split.h5");
  h5::File f(fixture("weights_split.h5"));
  EXPECT_FALSE(f.attrs().contains("layer_names"));
  EXPECT_TRUE(f.attrs().contains("layer_names1"));
  std::vector<std::string> names;
  for (int i = 0; i < e["layer_count"].get<int>(); ++i) {
    char head[32];
    std::snprintf(head, sizeof head, "dense_%03d_", i);
    names.push_back(head + std::string(e["x_count"].get<std::size_t>(), 'x'));
  }
  EXPECT_EQ(io::load_name_list(f.attrs(), "layer_names"), names);
  auto build = [&] {
    auto m = std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{nn::Input({1})});
    for (const auto& n : names) m->add(nn::Dense({.units = 1, .name = n}));
    return m;
  };
  Tensor x = json_tensor(e["input"], e["input_shape"]).to(f32);
  Tensor want = json_tensor(e["output"], nlohmann::json::array({3, 1}));
  auto by_order = build();
  by_order->load_weights(fixture("weights_split.h5"));
  EXPECT_TRUE(all_close(by_order->forward({x}, false)[0].to(f64), want, 0, 1e-5));
  auto by_name = build();
  by_name->load_weights(fixture("weights_split.h5"), {.by_name = true});
  EXPECT_TRUE(all_close(by_name->forward({x}, false)[0].to(f64), want, 0, 1e-5));
}

TEST(KerasH5, LambdaLayersAreRefused) {
  std::string m = message_of<FormatError>([] { nn::load_model(fixture("lambda.h5")); });
  EXPECT_NE(m.find("lambda.h5"), std::string::npos) << m;
  EXPECT_NE(m.find("layer 'evil' is a Lambda layer"), std::string::npos) << m;
  EXPECT_NE(m.find("never runs code"), std::string::npos) << m;
}

// ---- files Ember writes ----

TEST(KerasH5, SavedModelHasKerasLayoutAndH5pyAndTorchAgree) {
  fs::path dir = fresh_dir("save");
  std::string path = (dir / "m.h5").string();
  auto model = checker_model();
  Tensor x = arange(0, 12, 1, f32).sub(6).div(4).reshape({3, 4});
  Tensor y = model->forward({x}, false)[0];
  model->save(path);
  nlohmann::json e = {{"input", nlohmann::json::array()}, {"output", nlohmann::json::array()}};  // nested lists
  for (int i = 0; i < 3; ++i) {
    e["input"].push_back(x.slice(0, i, i + 1).reshape({4}).to_vector<double>());
    e["output"].push_back(y.slice(0, i, i + 1).reshape({3}).to_vector<double>());
  }
  std::ofstream((dir / "expected.json").string()) << e.dump();
  std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/keras_h5_check.py model '" + path + "' '" +
                    (dir / "expected.json").string() + "' 2>&1";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "h5py/PyTorch disagree with Ember's Keras file (output above)";
  // Ember reads its own file back to the same predictions, bit for bit.
  auto loaded = nn::load_model(path);
  EXPECT_TRUE(all_close(loaded->forward({x}, false)[0], y, 0, 0));
  EXPECT_EQ(loaded->name(), "mlp");
}

TEST(KerasH5, NameListSplitMatchesKeras) {
  fs::path dir = fresh_dir("split");
  for (auto [n, len] : {std::pair{100, 1000}, std::pair{3, 50}, std::pair{7, 30000}}) {
    std::string path = (dir / ("split_" + std::to_string(n) + ".h5")).string();
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      char head[16];
      std::snprintf(head, sizeof head, "n%05d", i);
      names.push_back(head + std::string(static_cast<std::size_t>(len - 6), 'y'));
    }
    {
      h5::File f(path, "w");
      io::save_name_list(f.attrs(), "names", names);
    }
    h5::File f(path);
    EXPECT_EQ(io::load_name_list(f.attrs(), "names"), names);
    std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/keras_h5_check.py split '" + path + "' " +
                      std::to_string(n) + " " + std::to_string(len) + " 2>&1";
    int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << n << " names of " << len << " bytes";
  }
  h5::File f((dir / "too_long.h5").string(), "w");
  EXPECT_THROW(io::save_name_list(f.attrs(), "names", {std::string(70000, 'z')}), ValueError);
}

TEST(KerasH5, WeightsRoundTripInH5AndSafetensors) {
  fs::path dir = fresh_dir("weights");
  auto a = checker_model();
  Tensor x = arange(0, 8, 1, f32).div(3).reshape({2, 4});
  Tensor y = a->forward({x}, false)[0];
  for (const char* name : {"w.h5", "w.safetensors"}) {
    std::string path = (dir / name).string();
    a->save_weights(path);
    nn::Sequential b{nn::Input({4}), nn::Dense({.units = 5, .activation = Activation::ReLU, .name = "d1"}),
                     nn::BatchNormalization({.name = "bn"}), nn::Dropout({.rate = 0.5, .name = "drop"}),
                     nn::Dense({.units = 3, .activation = Activation::Softmax, .name = "d2"})};
    b.load_weights(path);
    EXPECT_TRUE(all_close(b.forward({x}, false)[0], y, 0, 0)) << name;
  }
  // A whole-model file serves load_weights too (its /model_weights).
  a->save((dir / "m.h5").string());
  auto c = checker_model();
  {
    autograd::NoGradGuard no_grad;
    for (const auto& w : c->named_weights()) w.weight->value().fill_(0);
  }
  c->load_weights((dir / "m.h5").string());
  EXPECT_TRUE(all_close(c->forward({x}, false)[0], y, 0, 0));
}

// An ensemble of nested models built from one architecture: the members' layers share their names,
// and their weights must still keep apart (named through their model) in .h5 and .safetensors files.
TEST(KerasH5, NestedModelsOfOneArchitectureKeepTheirWeightsApart) {
  fs::path dir = fresh_dir("nested");
  auto ensemble = [](int members) {
    nn::SymbolicTensor in = nn::Input({4}, "x");
    std::vector<nn::SymbolicTensor> outs;
    for (int k = 1; k <= members; ++k) {
      auto arch = checker_model();
      {
        autograd::NoGradGuard no_grad;
        for (const auto& w : arch->named_weights()) w.weight->value().mul_(static_cast<double>(k));
      }
      auto member = std::make_shared<nn::Model>(arch->symbolic_inputs(), arch->symbolic_outputs(), "member_" + std::to_string(k));
      outs.push_back((*member)(in));
    }
    if (members == 1) return std::make_shared<nn::Model>(in, outs[0], "single");
    return std::make_shared<nn::Model>(in, nn::Average("mean")(outs), "ensemble");
  };
  auto a = ensemble(2);
  std::vector<std::string> names;
  for (const auto& w : a->named_weights()) names.push_back(w.name);
  ASSERT_EQ(names.size(), 16u);  // 8 weights per member
  EXPECT_EQ(names[0], "member_1/d1/kernel");
  EXPECT_EQ(names[8], "member_2/d1/kernel");
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());

  Tensor x = arange(0, 8, 1, f32).div(3).reshape({2, 4});
  Tensor y = a->forward({x}, false)[0];
  for (const char* name : {"w.h5", "w.safetensors"}) {
    std::string path = (dir / name).string();
    a->save_weights(path);
    auto b = ensemble(2);
    {
      autograd::NoGradGuard no_grad;
      for (const auto& w : b->named_weights()) w.weight->value().fill_(0);
    }
    b->load_weights(path);
    EXPECT_TRUE(all_close(b->forward({x}, false)[0], y, 0, 0)) << name;
  }

  // A file written before the members' names carried their model ("d1/kernel"): it loads where the
  // old name can only mean one weight, and is refused where it could mean either member's.
  auto single = ensemble(1);
  Tensor y1 = single->forward({x}, false)[0];
  io::TensorMap old;
  for (const auto& w : single->named_weights()) old[w.name.substr(w.name.find('/') + 1)] = w.weight->value();
  ASSERT_TRUE(old.count("d1/kernel"));
  const std::string legacy = (dir / "legacy.safetensors").string();
  io::save_safetensors(legacy, old, {{"format", "ember"}});
  auto fresh = ensemble(1);
  {
    autograd::NoGradGuard no_grad;
    for (const auto& w : fresh->named_weights()) w.weight->value().fill_(0);
  }
  fresh->load_weights(legacy);
  EXPECT_TRUE(all_close(fresh->forward({x}, false)[0], y1, 0, 0));
  auto two = ensemble(2);
  std::string m = message_of<FormatError>([&] { two->load_weights(legacy); });
  EXPECT_NE(m.find("member_1/d1/kernel"), std::string::npos) << m;
}

TEST(KerasH5, ConfigsOverTheHeaderLimitSaveAndLoad) {
  // 400 layers: model_config is far over the 64 KiB an attribute can hold in an object header (a
  // variable-length string lives in the file's global heap, as h5py stores Keras's bytes).
  fs::path dir = fresh_dir("big_config");
  nn::Sequential m{nn::Input({2})};
  for (int i = 0; i < 400; ++i) m.add(nn::Dense({.units = 2}));
  std::string path = (dir / "big.h5").string();
  m.save(path);
  EXPECT_GT(h5::File(path).attrs().get_string("model_config").size(), 65536u);
  auto loaded = nn::load_model(path);
  Tensor x = from_vector(std::vector<float>{0.25f, -1}, {1, 2});
  EXPECT_TRUE(all_close(loaded->forward({x}, false)[0], m.forward({x}, false)[0], 0, 0));
  std::string cmd = "/usr/bin/python3 -c \"import h5py, json, sys; f = h5py.File(sys.argv[1]); "
                    "sys.exit(0 if len(json.loads(f.attrs['model_config'])['config']['layers']) == 401 else 1)\" '" + path + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "h5py cannot read the large model_config";
}

TEST(KerasH5, MismatchesAndMisuseAreClearErrors) {
  fs::path dir = fresh_dir("bad");
  auto a = checker_model();
  std::string path = (dir / "w.h5").string();
  a->save_weights(path);
  nn::Sequential wider{nn::Input({4}), nn::Dense({.units = 6, .name = "d1"}), nn::BatchNormalization({.name = "bn"}),
                       nn::Dense({.units = 3, .name = "d2"})};
  std::string m = message_of<FormatError>([&] { wider.load_weights(path); });
  EXPECT_NE(m.find("layer 'd1'"), std::string::npos) << m;
  EXPECT_NE(m.find("has shape [4,5] in the file, the model's 'd1/kernel' has [4,6]"), std::string::npos) << m;
  nn::Sequential fewer{nn::Input({4}), nn::Dense({.units = 3, .name = "d2"})};
  m = message_of<FormatError>([&] { fewer.load_weights(path); });
  EXPECT_NE(m.find("the model has 1 layers with weights, the file 3"), std::string::npos) << m;
  // by_name: only d2 matches by name; its shapes differ, so it is refused, or skipped on request.
  EXPECT_THROW(fewer.load_weights(path, {.by_name = true}), FormatError);
  fewer.load_weights(path, {.by_name = true, .skip_mismatch = true});
  m = message_of<FormatError>([&] { nn::load_model(path); });
  EXPECT_NE(m.find("no 'model_config' attribute"), std::string::npos) << m;
  EXPECT_THROW(a->save((dir / "m.keras").string()), ValueError);
  EXPECT_THROW(a->save_weights((dir / "w.bin").string()), ValueError);
  EXPECT_THROW(nn::load_model((dir / "missing.h5").string()), IOError);
  EXPECT_THROW(nn::load_model(std::string(EMBER_FIXTURE_DIR) + "/h5/bad_truncated_half.h5"), FormatError);
  EXPECT_THROW(nn::load_model(std::string(EMBER_FIXTURE_DIR) + "/h5/h5py_data.h5"), FormatError);  // HDF5, not Keras
  // Nothing but the files saved above is left in the directory (no temporary files).
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir)) left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"w.h5"});
}

// Damaged Keras files, made from the tf.keras-layout fixture by editing one thing each: one clean
// FormatError naming the file and what is wrong, never a crash.
TEST(KerasH5, DamagedKerasFilesAreFormatErrors) {
  fs::path dir = fresh_dir("damaged");
  struct Case {
    const char* name;
    std::function<void(h5::File&)> damage;
    const char* says;
  };
  std::vector<Case> cases = {
      {"config_not_json", [](h5::File& f) { f.attrs().set("model_config", "{\"class_name\": "); }, "model_config is not valid JSON"},
      {"config_not_string", [](h5::File& f) { f.attrs().set("model_config", 7); }, "expected a string, found an integer"},
      {"config_unknown_class",
       [](h5::File& f) {
         std::string c = f.attrs().get_string("model_config");
         c.replace(c.find("\"Dropout\""), 9, "\"Dropper\"");
         f.attrs().set("model_config", c);
       },
       "unknown layer class 'Dropper'"},
      {"no_model_weights", [](h5::File& f) { f.remove("model_weights"); }, "no 'model_weights' group"},
      {"ghost_layer",
       [](h5::File& f) {
         f.group("model_weights").attrs().set("layer_names", std::vector<std::string>{"dense", "ghost"}, {.variable_length = false});
       },
       "layer_names lists 'ghost', which has no group"},
      {"missing_weight", [](h5::File& f) { f.remove("model_weights/dense/dense/bias:0"); },
       "weight_names lists 'dense/bias:0', which is not in the group"},
      {"integer_weight",
       [](h5::File& f) {
         f.remove("model_weights/dense/dense/bias:0");
         f.create_dataset("model_weights/dense/dense/bias:0", zeros({6}, i32));
       },
       "is int32, expected floating-point values"},
      {"wrong_shape",
       [](h5::File& f) {
         f.remove("model_weights/dense_1/dense_1/bias:0");
         f.create_dataset("model_weights/dense_1/dense_1/bias:0", zeros({4}));
       },
       "weight 'dense_1/bias:0' has shape [4] in the file, the model's 'dense_1/bias' has [3]"},
      {"weights_missing_in_layer",
       [](h5::File& f) {
         f.group("model_weights/dense_1").attrs().set("weight_names", std::vector<std::string>{"dense_1/kernel:0"}, {.variable_length = false});
       },
       "layer 'dense_1' (group '/model_weights/dense_1'): the model's layer has 2 weights, the file 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = (dir / (std::string(c.name) + ".h5")).string();
    fs::copy_file(fixture("mlp_bn.h5"), path);
    {
      h5::File f(path, "r+");
      c.damage(f);
    }
    std::string m = message_of<FormatError>([&] { nn::load_model(path); });
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(c.says), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}
