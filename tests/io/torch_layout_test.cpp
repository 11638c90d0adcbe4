// PyTorch-layout weights (save_weights / load_weights with {.layout = nn::WeightLayout::torch}),
// checked against PyTorch both ways with tests/fixtures/gen/gen_torch_layout.py:
//   Ember -> torch: the file Ember writes loads into the equivalent torch.nn model with
//                   load_state_dict(strict=True), and torch's output on the committed input equals
//                   Ember's predict;
//   torch -> Ember: the committed state_dicts of torch-random weights (fixtures/torch_layout/) load
//                   into the Ember models, whose predictions equal torch's committed outputs.
#include "ember/io/torch_layout.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ember/autograd/autograd.hpp"
#include "ember/ember.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;
using ember::testing::all_close;
using ember::testing::message_of;

namespace {

std::string fixture(const std::string& name) { return std::string(EMBER_FIXTURE_DIR) + "/torch_layout/" + name; }

Tensor json_tensor(const nlohmann::json& j) {
  Shape s;
  for (int64_t d : j.at("shape")) s.push_back(d);
  return from_vector(j.at("data").get<std::vector<double>>(), s, f64).to(f32);
}

nlohmann::json expected(const std::string& kind) {
  std::ifstream in(fixture("expected.json"));
  return nlohmann::json::parse(in).at(kind);
}

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_torch_layout_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The Ember models gen_torch_layout.py mirrors (same layer names).
std::shared_ptr<nn::Sequential> make_model(const std::string& kind) {
  if (kind == "mlp") {
    return std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
        nn::Input({6}), nn::Dense({.units = 5, .activation = Activation::ReLU, .name = "d1"}), nn::Dense({.units = 3, .name = "d2"})});
  }
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({7, 7, 3}), nn::Conv2D({.filters = 4, .padding = Padding::Same, .activation = Activation::ReLU, .name = "conv"}),
      nn::BatchNormalization({.name = "bn"}),
      nn::Conv2D({.filters = 2, .strides = {2, 2}, .activation = Activation::ReLU, .name = "conv2"}), nn::Flatten("flat"),
      nn::Dense({.units = 3, .name = "fc"})});
}

// Weights from a formula, every element different (so a wrong transpose changes the output), BN
// statistics away from their initial 0 / 1.
void set_weights(nn::Model& m) {
  m.materialize_weights();
  autograd::NoGradGuard no_grad;
  int k = 0;
  for (const auto& w : m.named_weights()) {
    std::vector<double> v(static_cast<std::size_t>(w.weight->numel()));
    ++k;
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5 * std::sin(0.37 * static_cast<double>(i) + 1.3 * k);
    if (w.name == "bn/moving_variance") {
      for (double& d : v) d = std::abs(d) + 0.5;
    }
    w.weight->value().copy_(from_vector(v, w.weight->shape));
  }
}

Tensor predict(nn::Model& m, const Tensor& x) { return m.predict(x, {.batch_size = 32}); }

}  // namespace

TEST(TorchLayout, EmberWeightsLoadStrictlyIntoTorchAndGiveTheSameOutputs) {
  fs::path dir = fresh_dir("to_torch");
  for (const std::string kind : {"mlp", "cnn"}) {
    auto m = make_model(kind);
    set_weights(*m);
    const std::string path = (dir / (kind + ".safetensors")).string();
    m->save_weights(path, {.layout = nn::WeightLayout::torch});
    const std::string out = (dir / (kind + "_torch.json")).string();
    const std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/fixtures/gen/gen_torch_layout.py run " +
                            kind + " '" + path + "' '" + out + "' 2>&1";
    int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0) << kind << ": PyTorch could not load Ember's torch-layout file (output above)";
    std::ifstream in(out);
    Tensor torch_y = json_tensor(nlohmann::json::parse(in));
    Tensor y = predict(*m, json_tensor(expected(kind).at("input")));
    EXPECT_TRUE(all_close(y, torch_y, 1e-5, 1e-5)) << kind;
  }
}

TEST(TorchLayout, FileHoldsTorchNamesShapesAndBatchNormCounter) {
  fs::path dir = fresh_dir("names");
  auto m = make_model("cnn");
  set_weights(*m);
  const std::string path = (dir / "cnn.safetensors").string();
  m->save_weights(path, {.layout = nn::WeightLayout::torch});
  io::SafetensorsFile f = io::load_safetensors(path);
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : f.tensors) shapes[name] = t.shape();
  const std::map<std::string, Shape> want{
      {"conv.weight", {4, 3, 3, 3}},  {"conv.bias", {4}},         {"bn.weight", {4}},        {"bn.bias", {4}},
      {"bn.running_mean", {4}},       {"bn.running_var", {4}},    {"bn.num_batches_tracked", {}},
      {"conv2.weight", {2, 4, 3, 3}}, {"conv2.bias", {2}},        {"fc.weight", {3, 18}},    {"fc.bias", {3}}};
  EXPECT_EQ(shapes, want);
  EXPECT_EQ(f.tensors.at("bn.num_batches_tracked").dtype(), i64);
  EXPECT_EQ(f.metadata.at("format"), "pt");
  // OIHW: weight[o][i][h][w] = kernel[h][w][i][o]; Linear: weight[o][i] = kernel[i][o].
  Tensor kernel = m->get_layer("conv2")->find_weight("kernel")->value();
  EXPECT_EQ(f.tensors.at("conv2.weight").to_vector<float>()[((1 * 4 + 3) * 3 + 2) * 3 + 0],
            kernel.to_vector<float>()[((2 * 3 + 0) * 4 + 3) * 2 + 1]);
  Tensor dense = m->get_layer("fc")->find_weight("kernel")->value();
  EXPECT_EQ(f.tensors.at("fc.weight").to_vector<float>()[2 * 18 + 5], dense.to_vector<float>()[5 * 3 + 2]);
}

TEST(TorchLayout, TorchStateDictsLoadIntoEmberAndPredictAsTorch) {
  for (const std::string kind : {"mlp", "cnn"}) {
    auto m = make_model(kind);
    m->load_weights(fixture(kind + ".safetensors"), {.layout = nn::WeightLayout::torch});
    Tensor y = predict(*m, json_tensor(expected(kind).at("input")));
    EXPECT_TRUE(all_close(y, json_tensor(expected(kind).at("output")), 1e-5, 1e-5)) << kind;
  }
}

TEST(TorchLayout, RoundTripIsExact) {
  fs::path dir = fresh_dir("round_trip");
  auto a = make_model("cnn");
  set_weights(*a);
  const std::string path = (dir / "w.safetensors").string();
  a->save_weights(path, {.layout = nn::WeightLayout::torch});
  auto b = make_model("cnn");
  b->load_weights(path, {.layout = nn::WeightLayout::torch});
  auto wa = a->named_weights(), wb = b->named_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (std::size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(all_close(wb[i].weight->value(), wa[i].weight->value(), 0, 0)) << wa[i].name;
}

TEST(TorchLayout, MismatchesAndUnmappedLayersAreClearErrors) {
  fs::path dir = fresh_dir("bad");
  // A layer with weights but no torch mapping: refused, naming it, before anything is written.
  nn::Sequential conv1d{nn::Input({8, 2}), nn::Conv1D({.filters = 2, .name = "c1d"}), nn::Flatten(), nn::Dense({.units = 1, .name = "out"})};
  const std::string refused = (dir / "refused.safetensors").string();
  std::string msg = message_of<ValueError>([&] { conv1d.save_weights(refused, {.layout = nn::WeightLayout::torch}); });
  EXPECT_NE(msg.find("layer 'c1d' (Conv1D) has no PyTorch mapping"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(refused));
  msg = message_of<ValueError>([&] { conv1d.load_weights(fixture("mlp.safetensors"), {.layout = nn::WeightLayout::torch}); });
  EXPECT_NE(msg.find("'c1d'"), std::string::npos) << msg;
  // The torch layout is a safetensors file.
  auto mlp = make_model("mlp");
  EXPECT_THROW(mlp->save_weights((dir / "w.h5").string(), {.layout = nn::WeightLayout::torch}), ValueError);
  EXPECT_THROW(mlp->load_weights((dir / "w.h5").string(), {.layout = nn::WeightLayout::torch}), ValueError);
  // Another model's state_dict: missing tensors, or the same names with other shapes.
  msg = message_of<FormatError>([&] { make_model("cnn")->load_weights(fixture("mlp.safetensors"), {.layout = nn::WeightLayout::torch}); });
  EXPECT_NE(msg.find("no tensor 'conv.weight'"), std::string::npos) << msg;
  nn::Sequential wider{nn::Input({6}), nn::Dense({.units = 7, .name = "d1"}), nn::Dense({.units = 3, .name = "d2"})};
  msg = message_of<FormatError>([&] { wider.load_weights(fixture("mlp.safetensors"), {.layout = nn::WeightLayout::torch}); });
  EXPECT_NE(msg.find("tensor 'd1.weight' has shape [5,6], the model expects [7,6]"), std::string::npos) << msg;
  // Extra tensors (torch's strict loading refuses them too), and integer weights.
  io::SafetensorsFile f = io::load_safetensors(fixture("mlp.safetensors"));
  io::TensorMap extra = f.tensors;
  extra["d3.weight"] = zeros({2, 2});
  io::save_safetensors((dir / "extra.safetensors").string(), extra);
  msg = message_of<FormatError>([&] { mlp->load_weights((dir / "extra.safetensors").string(), {.layout = nn::WeightLayout::torch}); });
  EXPECT_NE(msg.find("unexpected tensor 'd3.weight'"), std::string::npos) << msg;
  io::TensorMap ints = f.tensors;
  ints["d2.bias"] = zeros({3}, i32);
  io::save_safetensors((dir / "ints.safetensors").string(), ints);
  msg = message_of<FormatError>([&] { mlp->load_weights((dir / "ints.safetensors").string(), {.layout = nn::WeightLayout::torch}); });
  EXPECT_NE(msg.find("tensor 'd2.bias' is int32"), std::string::npos) << msg;
  // Nothing was assigned by the failed loads: the model still predicts as after the good one.
  mlp->load_weights(fixture("mlp.safetensors"), {.layout = nn::WeightLayout::torch});
  Tensor before = predict(*mlp, json_tensor(expected("mlp").at("input")));
  EXPECT_THROW(mlp->load_weights((dir / "ints.safetensors").string(), {.layout = nn::WeightLayout::torch}), FormatError);
  EXPECT_TRUE(all_close(predict(*mlp, json_tensor(expected("mlp").at("input"))), before, 0, 0));
}
