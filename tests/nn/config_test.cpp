// Keras JSON model configs: the shapes tf.keras 2.x (and Keras 3) write, round trips, bad input;
// built-in models.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/nn/builtin_models.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/model.hpp"
#include "test_support.hpp"

using namespace ember;
using nlohmann::json;

namespace {

std::string fixture(const std::string& name) { return ember::testing::source_dir() + "/tests/fixtures/keras/" + name; }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using ember::testing::contains;

// The FormatError message of loading `text`, or "" when it loads.
std::string format_error(const std::string& text) {
  try {
    nn::model_from_json(text);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

// A one-layer Sequential on `input_shape` whose layer entry is `layer`.
std::string one_layer_model(const json& layer, const json& input_shape = json::array({nullptr, 4})) {
  json input = {{"class_name", "InputLayer"}, {"config", {{"batch_input_shape", input_shape}, {"name", "input_1"}}}};
  json j = {{"class_name", "Sequential"}, {"config", {{"name", "s"}, {"layers", json::array({input, layer})}}}};
  return j.dump();
}

json dense_entry(json overrides = json::object()) {
  json c = {{"name", "dense"}, {"trainable", true}, {"dtype", "float32"}, {"units", 3}, {"activation", "relu"},
            {"use_bias", true}, {"kernel_constraint", nullptr}};
  c.update(overrides);
  return {{"class_name", "Dense"}, {"config", c}};
}

struct FreshNames : ::testing::Test {
  void SetUp() override { nn::reset_layer_names(); }
};

}  // namespace

using KerasJson = FreshNames;

// ------------------------------------------------------------------ files as tf.keras writes them

TEST_F(KerasJson, SequentialWithInputLayerEntry) {
  auto m = nn::model_from_json_file(fixture("sequential_mlp.json"));
  EXPECT_EQ(m->class_name(), "Sequential");
  EXPECT_EQ(m->name(), "sequential");
  ASSERT_EQ(m->layers().size(), 2u);
  EXPECT_EQ(m->symbolic_inputs()[0].layer()->name(), "dense_input");
  EXPECT_EQ(m->count_params(), 50890);
  Tensor y = (*m)(zeros({2, 784}));
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
  EXPECT_NEAR(y.at<float>({0, 0}) * 10, 1.0, 1e-5);  // softmax of equal logits
  EXPECT_TRUE(contains(m->summary_string(), "Total params: 50,890")) << m->summary_string();
}

TEST_F(KerasJson, NotesMlpInTheOlderFormWithoutInputLayer) {
  // Flatten(input_shape=(28, 28)) → Dense 512 relu → Dropout 0.2 → Dense 512 relu → Dropout 0.2 → Dense 10 softmax,
  // as standalone Keras 2.3 wrote it (VarianceScaling initializers, the shape on the first layer).
  auto m = nn::model_from_json_file(fixture("notes_mlp.json"));
  ASSERT_EQ(m->layers().size(), 6u);
  EXPECT_EQ(m->symbolic_inputs()[0].layer()->name(), "flatten_1_input");
  EXPECT_EQ(m->symbolic_inputs()[0].shape(), (Shape{-1, 28, 28}));
  EXPECT_EQ(m->count_params(), 669706);
  EXPECT_EQ(m->layers()[2]->class_name(), "Dropout");
  EXPECT_EQ(m->layers()[2]->get_config()["rate"], 0.2);
  EXPECT_EQ(m->layers()[5]->get_config()["activation"], "softmax");
  std::string s = m->summary_string();
  EXPECT_TRUE(contains(s, "Total params: 669,706")) << s;
  EXPECT_TRUE(contains(s, "Trainable params: 669,706")) << s;
  EXPECT_TRUE(contains(s, "(None, 784)")) << s;
  EXPECT_TRUE(contains(s, "401,920")) << s;
}

TEST_F(KerasJson, NotesConv2DGivesKerasShapeAndParams) {
  auto m = nn::model_from_json_file(fixture("notes_conv2d.json"));
  ASSERT_EQ(m->layers().size(), 1u);
  EXPECT_EQ(m->count_params(), 80);
  EXPECT_EQ(m->symbolic_outputs()[0].shape(), (Shape{-1, 100, 100, 16}));
  EXPECT_EQ(m->layers()[0]->find_weight("kernel")->value().shape(), (Shape{2, 2, 1, 16}));
  std::string s = m->summary_string();
  EXPECT_TRUE(contains(s, "(None, 100, 100, 16)")) << s;
  EXPECT_TRUE(contains(s, "Total params: 80\n")) << s;
}

TEST_F(KerasJson, NotesMaxPooling) {
  auto m = nn::model_from_json_file(fixture("notes_maxpool.json"));
  EXPECT_EQ(m->symbolic_outputs()[0].shape(), (Shape{-1, 50, 50, 15}));
  EXPECT_EQ(m->count_params(), 0);
  EXPECT_TRUE(contains(m->summary_string(), "(None, 50, 50, 15)"));
}

TEST_F(KerasJson, FunctionalWithResidualAddAndSharedDense) {
  auto m = nn::model_from_json_file(fixture("functional_residual.json"));
  EXPECT_TRUE(m->is_functional());
  EXPECT_EQ(m->name(), "residual");
  ASSERT_EQ(m->layers().size(), 5u);  // input_1, dense, shared, add, logits
  EXPECT_EQ(m->get_layer("shared")->inbound_node_count(), 2);
  EXPECT_EQ(m->count_params(), 16 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10);
  // y = logits(x + shared(shared(dense(x)))): check against the layers applied by hand.
  Tensor x = ember::testing::random_f64({3, 16}, 5).to(f32);
  Tensor y = (*m)(x);
  nn::Layer& dense = *m->get_layer("dense");
  nn::Layer& shared = *m->get_layer("shared");
  nn::Layer& logits = *m->get_layer("logits");
  Tensor expect = logits(x + shared(shared(dense(x))));
  EXPECT_TRUE(ember::testing::all_close(y, expect));
  std::string s = m->summary_string();
  EXPECT_TRUE(contains(s, "shared[1][0]")) << s;
  EXPECT_TRUE(contains(s, "Total params: 714")) << s;
}

TEST_F(KerasJson, Keras3FunctionalForm) {
  auto m = nn::model_from_json_file(fixture("functional_keras3.json"));
  ASSERT_EQ(m->layers().size(), 4u);
  EXPECT_EQ(m->count_params(), 8 * 8 + 8 + 8 * 3 + 3);
  EXPECT_EQ(m->symbolic_outputs()[0].shape(), (Shape{-1, 3}));
  EXPECT_EQ((*m)(ones({2, 8})).shape(), (Shape{2, 3}));
}

TEST_F(KerasJson, EverySupportedSequentialLayer) {
  auto m = nn::model_from_json_file(fixture("sequential_layers.json"));
  ASSERT_EQ(m->layers().size(), 12u);
  // conv 3·3·1·8+8, batch norm 4·8 (half of it moving statistics), conv1d 3·8·4+4, dense 392·10+10.
  EXPECT_EQ(m->count_params(), 80 + 32 + 100 + 3930);
  std::string s = m->summary_string();
  EXPECT_TRUE(contains(s, "(None, 30, 30, 1)")) << s;
  EXPECT_TRUE(contains(s, "(None, 196, 8)")) << s;
  EXPECT_TRUE(contains(s, "(None, 98, 4)")) << s;
  EXPECT_TRUE(contains(s, "Non-trainable params: 16")) << s;
  EXPECT_EQ(m->get_layer("leaky_re_lu")->get_config()["alpha"], 0.1);
  EXPECT_EQ((*m)(zeros({2, 28, 28, 1})).shape(), (Shape{2, 10}));
}

TEST_F(KerasJson, FunctionalBranchesWithMergesAndGlobalPooling) {
  auto m = nn::model_from_json_file(fixture("functional_branches.json"));
  ASSERT_EQ(m->layers().size(), 9u);
  EXPECT_EQ(m->count_params(), 112 + 16 + 18);
  EXPECT_EQ(m->get_layer("concatenate")->class_name(), "Concatenate");
  EXPECT_EQ((*m)(zeros({2, 8, 8, 3})).shape(), (Shape{2, 2}));
}

// ------------------------------------------------------------------ round trips

TEST_F(KerasJson, RoundTripOfEveryFixtureKeepsTheArchitecture) {
  for (const char* name : {"sequential_mlp.json", "notes_mlp.json", "notes_conv2d.json", "notes_maxpool.json",
                           "functional_residual.json", "functional_keras3.json", "sequential_layers.json",
                           "functional_branches.json", "cnn_blocks.json"}) {
    SCOPED_TRACE(name);
    auto a = nn::model_from_json_file(fixture(name));
    std::string text = nn::to_json(*a);
    json j = json::parse(text);
    EXPECT_EQ(j["backend"], "tensorflow");
    EXPECT_EQ(j["keras_version"].get<std::string>().substr(0, 2), "2.");
    auto b = nn::model_from_json(text);
    EXPECT_EQ(b->summary_string(), a->summary_string());
    EXPECT_EQ(b->count_params(), a->count_params());
    EXPECT_EQ(nn::to_json(*b), text);  // a fixed point
  }
}

TEST_F(KerasJson, WritesKerasSequentialAndFunctionalShapes) {
  auto seq = nn::model_from_json_file(fixture("notes_conv2d.json"));
  json s = json::parse(nn::to_json(*seq));
  EXPECT_EQ(s["class_name"], "Sequential");
  ASSERT_EQ(s["config"]["layers"].size(), 2u);
  EXPECT_EQ(s["config"]["layers"][0]["class_name"], "InputLayer");
  EXPECT_EQ(s["config"]["layers"][0]["config"]["batch_input_shape"], json::parse("[null, 200, 200, 1]"));
  EXPECT_EQ(s["config"]["layers"][1]["config"]["filters"], 16);

  auto fn = nn::model_from_json_file(fixture("functional_residual.json"));
  json f = json::parse(nn::to_json(*fn));
  EXPECT_EQ(f["class_name"], "Functional");
  EXPECT_EQ(f["config"]["input_layers"], json::parse(R"([["input_1", 0, 0]])"));
  EXPECT_EQ(f["config"]["output_layers"], json::parse(R"([["logits", 0, 0]])"));
  for (const json& l : f["config"]["layers"]) {
    if (l["name"] == "shared") {
      EXPECT_EQ(l["inbound_nodes"], json::parse(R"([[["dense", 0, 0, {}]], [["shared", 0, 0, {}]]])"));
    }
    if (l["name"] == "add") {
      EXPECT_EQ(l["inbound_nodes"], json::parse(R"([[["input_1", 0, 0, {}], ["shared", 1, 0, {}]]])"));
    }
    if (l["name"] == "input_1") {
      EXPECT_EQ(l["inbound_nodes"], json::array());
    }
  }
}

TEST_F(KerasJson, RoundTripOfModelsBuiltInCode) {
  // A residual block with a shared layer, where the shared layer was also called outside the
  // model first: node indices in the file count only this model's calls.
  nn::LayerRef shared = nn::Dense({.units = 6, .activation = Activation::Tanh, .name = "shared"});
  shared(nn::Input({6}));  // a call that belongs to no model below
  auto x = nn::Input({6}, "x");
  auto a = shared(x);
  auto b = shared(a);
  auto y = nn::Add()({x, b});
  auto out = nn::Dense({.units = 2, .name = "head"})(y);
  nn::Model model(x, out, "block");
  std::string text = nn::to_json(model, 2);
  json j = json::parse(text);
  for (const json& l : j["config"]["layers"]) {
    if (l["name"] == "shared") {
      EXPECT_EQ(l["inbound_nodes"], json::parse(R"([[["x", 0, 0, {}]], [["shared", 0, 0, {}]]])"));
    }
  }
  auto back = nn::model_from_json(text);
  EXPECT_EQ(nn::to_json(*back, 2), text);
  EXPECT_EQ(back->count_params(), model.count_params());
  EXPECT_EQ(back->symbolic_outputs()[0].shape(), (Shape{-1, 2}));

  for (const std::string& name : nn::builtin_model_names()) {
    auto m = nn::builtin_model(name);
    auto r = nn::model_from_json(nn::to_json(*m));
    EXPECT_EQ(r->summary_string(), m->summary_string()) << name;
  }
}

TEST_F(KerasJson, NestedSequentialInsideFunctional) {
  auto inner = std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{}, "inner");
  inner->add(nn::Input({5}, "inner_input"));
  inner->add(nn::Dense({.units = 4, .name = "inner_dense"}));
  auto x = nn::Input({5}, "outer_input");
  auto h = nn::LayerRef(inner)(x);
  auto y = nn::Dense({.units = 1, .name = "outer_dense"})(h);
  nn::Model outer(x, y, "outer");
  std::string text = nn::to_json(outer);
  auto back = nn::model_from_json(text);
  EXPECT_EQ(back->count_params(), 5 * 4 + 4 + 4 + 1);
  EXPECT_EQ(back->get_layer("inner")->class_name(), "Sequential");
  EXPECT_EQ(nn::to_json(*back), text);
}

TEST_F(KerasJson, TrainableFlagInitializersAndRegularizersAreRead) {
  auto m = nn::model_from_json(one_layer_model(dense_entry(
      {{"trainable", false},
       {"kernel_initializer", {{"class_name", "RandomNormal"}, {"config", {{"mean", 0.0}, {"stddev", 0.5}, {"seed", 3}}}}},
       {"kernel_regularizer", {{"class_name", "L2"}, {"config", {{"l2", 0.01}}}}}})));
  auto& dense = dynamic_cast<nn::Dense&>(*m->layers()[0]);
  EXPECT_FALSE(dense.trainable());
  EXPECT_EQ(dense.options().kernel_initializer->class_name(), "RandomNormal");
  ASSERT_TRUE(dense.options().kernel_regularizer);
  EXPECT_EQ(dense.options().kernel_regularizer->class_name(), "L2");
  EXPECT_TRUE(contains(m->summary_string(), "Non-trainable params: 15"));
}

TEST_F(KerasJson, SubclassedModelsHaveNoConfig) {
  struct Net : nn::Model {
    Net() : nn::Model("Model", "net") {}
    Tensor call(const std::vector<Tensor>& xs, bool) override { return xs[0]; }
  } net;
  EXPECT_THROW(nn::to_json(net), ValueError);
}

TEST_F(KerasJson, RegisteredUserLayers) {
  nn::register_layer("MyDense", [](const json& c) {
    return std::make_shared<nn::Dense>(nn::DenseOptions{.units = c.at("units").get<int64_t>(), .name = "mine"});
  });
  auto names = nn::registered_layer_classes();
  EXPECT_NE(std::find(names.begin(), names.end(), "MyDense"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "MaxPool2D"), names.end());
  auto m = nn::model_from_json(one_layer_model({{"class_name", "MyDense"}, {"config", {{"units", 2}}}}));
  EXPECT_EQ(m->count_params(), 10);
  EXPECT_THROW(nn::register_layer("InputLayer", [](const json&) { return nn::LayerPtr(); }), ValueError);
}

// ------------------------------------------------------------------ bad input

TEST_F(KerasJson, MalformedAndTruncatedJsonGiveTheBytePosition) {
  for (const char* name : {"bad_syntax.json", "bad_truncated.json"}) {
    std::string msg = format_error(read_text(fixture(name)));
    EXPECT_TRUE(contains(msg, "malformed JSON at byte")) << name << ": " << msg;
  }
  EXPECT_TRUE(contains(format_error(""), "byte 1"));
  EXPECT_TRUE(contains(format_error("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [}"), "byte 52"));
}

TEST_F(KerasJson, UnknownLayerClassIsNamed) {
  std::string msg = format_error(read_text(fixture("bad_unknown_class.json")));
  EXPECT_TRUE(contains(msg, "unknown layer class 'Conv3D' (layer 'conv3d')")) << msg;
}

TEST_F(KerasJson, WrongFieldTypeNamesLayerAndField) {
  std::string msg = format_error(read_text(fixture("bad_field_type.json")));
  EXPECT_TRUE(contains(msg, "field 'units' of layer 'dense' (Dense): expected a positive integer")) << msg;
  for (const json& bad : {json(-3), json(0), json(2.5), json(nullptr), json("3"), json(1e30), json(9223372036854775807)}) {
    msg = format_error(one_layer_model(dense_entry({{"units", bad}})));
    EXPECT_TRUE(contains(msg, "field 'units' of layer 'dense' (Dense): expected a positive integer")) << bad << ": "
                                                                                                      << msg;
  }
  // Too large to be a dimension: the message gives the bound.
  msg = format_error(one_layer_model(dense_entry({{"units", json(int64_t{1} << 40)}})));
  EXPECT_TRUE(contains(msg, "field 'units' of layer 'dense' (Dense): expected a positive integer below 2147483648, "
                            "got 1099511627776"))
      << msg;
  msg = format_error(one_layer_model(dense_entry({{"activation", "gelu_tanh_approx"}})));
  EXPECT_TRUE(contains(msg, "field 'activation'")) << msg;
  msg = format_error(one_layer_model(dense_entry({{"use_bias", "yes"}})));
  EXPECT_TRUE(contains(msg, "field 'use_bias'")) << msg;
  msg = format_error(one_layer_model(dense_entry({{"kernel_initializer", {{"class_name", "NoSuchInit"}}}})));
  EXPECT_TRUE(contains(msg, "field 'kernel_initializer'")) << msg;
}

TEST_F(KerasJson, FieldsThatWouldChangeTheComputationAreRefused) {
  json conv = {{"class_name", "Conv2D"},
               {"config", {{"name", "conv"}, {"filters", 2}, {"kernel_size", {3, 3}}, {"data_format", "channels_last"}}}};
  json shape = json::parse("[null, 8, 8, 1]");
  EXPECT_EQ(format_error(one_layer_model(conv, shape)), "");
  struct Case {
    const char* field;
    json value;
  };
  for (const Case& c : {Case{"data_format", "channels_first"}, Case{"groups", 2}, Case{"padding", "causal"},
                        Case{"kernel_constraint", {{"class_name", "MaxNorm"}, {"config", {{"max_value", 2}}}}}}) {
    json bad = conv;
    bad["config"][c.field] = c.value;
    std::string msg = format_error(one_layer_model(bad, shape));
    EXPECT_TRUE(contains(msg, "field '" + std::string(c.field) + "' of layer 'conv' (Conv2D): expected ")) << msg;
  }
  json dropout = {{"class_name", "Dropout"}, {"config", {{"name", "drop"}, {"rate", 0.5}, {"noise_shape", {1, 4}}}}};
  EXPECT_TRUE(contains(format_error(one_layer_model(dropout)), "field 'noise_shape'"));
  json gap = {{"class_name", "GlobalAveragePooling2D"}, {"config", {{"name", "gap"}, {"keepdims", true}}}};
  EXPECT_TRUE(contains(format_error(one_layer_model(gap, shape)), "field 'keepdims'"));
  // The layer's own checks come back as FormatError naming it.
  json rate = {{"class_name", "Dropout"}, {"config", {{"name", "drop"}, {"rate", 1.5}}}};
  EXPECT_TRUE(contains(format_error(one_layer_model(rate)), "layer 'drop'"));
  // So do shape mismatches found while building the graph.
  EXPECT_TRUE(contains(format_error(one_layer_model(conv)), "layer 'conv'"));
}

// Fuzz finding: a layer's error re-wrapped by the model builder repeated its prefix
// ("layer 'r' (Reshape): layer 'r' (Reshape): cannot reshape ...").
TEST_F(KerasJson, ErrorsNameTheLayerOnce) {
  auto count = [](const std::string& s, const std::string& part) {
    std::size_t n = 0;
    for (std::size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
    return n;
  };
  json reshape = {{"class_name", "Reshape"}, {"config", {{"name", "r"}, {"target_shape", {3, 5}}}}};
  std::string msg = format_error(one_layer_model(reshape));
  EXPECT_TRUE(contains(msg, "layer 'r' (Reshape): cannot reshape")) << msg;
  EXPECT_EQ(count(msg, "layer 'r'"), 1u) << msg;
  json rate = {{"class_name", "Dropout"}, {"config", {{"name", "drop"}, {"rate", 1.5}}}};
  msg = format_error(one_layer_model(rate));
  EXPECT_TRUE(contains(msg, "layer 'drop' (Dropout): rate must be in [0, 1)")) << msg;
  EXPECT_EQ(count(msg, "layer 'drop'"), 1u) << msg;
  json conv = {{"class_name", "Conv2D"}, {"config", {{"name", "conv"}, {"filters", 2}, {"kernel_size", 3}}}};
  msg = format_error(one_layer_model(conv, json::parse("[null, 2, 2, 1]")));
  EXPECT_TRUE(contains(msg, "layer 'conv' (Conv2D): input")) << msg;
  EXPECT_EQ(count(msg, "layer 'conv'"), 1u) << msg;
}

// Fuzz finding: a number outside double's range escaped as nlohmann's out_of_range.
TEST_F(KerasJson, NumberOutOfDoubleRangeIsAFormatErrorWithItsByte) {
  for (const char* text : {R"({"class_name": "Sequential", "config": {"layers": [], "x": 1e400}})",
                           R"({"class_name": "Sequential", "config": {"layers": [], "x": -1e400}})",
                           R"([1e400])"}) {
    try {
      nn::model_from_json(text);
      ADD_FAILURE() << "no error for " << text;
    } catch (const FormatError& e) {
      EXPECT_TRUE(contains(e.what(), "malformed JSON at byte ")) << e.what();
      EXPECT_TRUE(contains(e.what(), "1e400")) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a FormatError for " << text << ": " << e.what();
    }
  }
  // The byte is where the number ends (nlohmann counts the characters read).
  EXPECT_TRUE(contains(format_error("[1e400]"), "byte 6")) << format_error("[1e400]");
}

TEST_F(KerasJson, BrokenGraphsAreFormatErrors) {
  json j = json::parse(read_text(fixture("functional_residual.json")));
  json unknown = j;
  unknown["config"]["layers"][4]["inbound_nodes"] = json::parse(R"([[["nowhere", 0, 0, {}]]])");
  EXPECT_TRUE(contains(format_error(unknown.dump()), "unknown layer 'nowhere'"));
  json cycle = j;
  cycle["config"]["layers"][1]["inbound_nodes"] = json::parse(R"([[["logits", 0, 0, {}]]])");
  EXPECT_TRUE(contains(format_error(cycle.dump()), "never produced"));
  json missing_node = j;
  missing_node["config"]["output_layers"] = json::parse(R"([["shared", 5, 0]])");
  EXPECT_TRUE(contains(format_error(missing_node.dump()), "output_layers"));
  json no_layers = j;
  no_layers["config"].erase("layers");
  EXPECT_TRUE(contains(format_error(no_layers.dump()), "field 'layers'"));
  EXPECT_TRUE(contains(format_error(R"({"class_name": "Graph", "config": {}})"), "unknown model class 'Graph'"));
  EXPECT_TRUE(contains(format_error(R"([1, 2])"), "expected a JSON object"));
  EXPECT_TRUE(contains(format_error(R"({"class_name": "Sequential"})"), "'config'"));
}

TEST_F(KerasJson, EveryTruncationOfAFileIsAFormatError) {
  std::string text = read_text(fixture("sequential_layers.json"));
  for (std::size_t n = 0; n + 2 < text.size(); n += 7) {
    EXPECT_THROW(nn::model_from_json(text.substr(0, n)), FormatError) << n;
  }
}

TEST_F(KerasJson, DeeplyNestedModelsAreRefusedWithoutCrashing) {
  json m = {{"class_name", "Sequential"}, {"config", {{"name", "m"}, {"layers", json::array()}}}};
  for (int i = 0; i < 200; ++i) {
    m = {{"class_name", "Sequential"}, {"config", {{"name", "m" + std::to_string(i)}, {"layers", json::array({m})}}}};
  }
  EXPECT_TRUE(contains(format_error(m.dump()), "nested"));
  std::string deep(100000, '[');
  EXPECT_THROW(nn::model_from_json(deep), FormatError);
}

TEST_F(KerasJson, MissingFileIsAnIOError) {
  EXPECT_THROW(nn::model_from_json_file(fixture("no_such_model.json")), IOError);
  EXPECT_THROW(nn::model_from_json_file(ember::testing::source_dir()), IOError);
  try {
    nn::model_from_json_file(fixture("bad_syntax.json"));
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_TRUE(contains(e.what(), "bad_syntax.json")) << e.what();
  }
}

// ------------------------------------------------------------------ built-in models

TEST_F(KerasJson, BuiltinModels) {
  auto mlp = nn::builtin_model("mlp");
  EXPECT_EQ(mlp->count_params(), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ((*mlp)(zeros({3, 28, 28, 1})).shape(), (Shape{3, 10}));
  auto cnn = nn::builtin_model("cnn");
  EXPECT_EQ(cnn->count_params(), 832 + 51264 + 3136 * 1024 + 1024 + 10250);
  std::string s = cnn->summary_string();
  EXPECT_TRUE(contains(s, "(None, 28, 28, 32)")) << s;
  EXPECT_TRUE(contains(s, "(None, 7, 7, 64)")) << s;
  EXPECT_TRUE(contains(s, "Total params: 3,274,634")) << s;
  // Fixed names: two instances have the same weight names.
  EXPECT_EQ(nn::builtin_model("cnn")->named_weights()[0].name, cnn->named_weights()[0].name);
  try {
    nn::builtin_model("resnet");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_TRUE(contains(e.what(), "'resnet'") && contains(e.what(), "mlp") && contains(e.what(), "cnn")) << e.what();
  }
}

// An integer Input (token ids) is written as "int32"/"int64" by to_json and read back with that
// dtype; other names are still a FormatError that lists the accepted ones.
TEST(KerasJsonInput, IntegerInputDtypesRoundTrip) {
  for (DType dt : {i32, i64}) {
    nn::reset_layer_names();
    auto ids = nn::Input({5}, "ids", dt);
    auto y = nn::Flatten()(ids);
    nn::Model m(ids, y);
    auto back = nn::model_from_json(nn::to_json(m));
    EXPECT_EQ(back->symbolic_inputs().at(0).dtype(), dt);
  }
  nlohmann::json bad = nlohmann::json::parse(R"({"class_name": "InputLayer", "config": {
      "batch_input_shape": [null, 3], "dtype": "float16", "name": "x"}})");
  std::string m = ember::testing::message_of<FormatError>([&] { nn::model_from_json(nlohmann::json{
      {"class_name", "Sequential"}, {"config", {{"name", "s"}, {"layers", {bad}}}}}.dump()); });
  EXPECT_NE(m.find("\"int64\""), std::string::npos) << m;
}
