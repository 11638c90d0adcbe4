// Walks the optimizer table (src/optim/optimizer.cpp): for every registered class, get_config ->
// from_config -> get_config is identical, and the re-created twin takes the same steps. A class
// added to the table without a sample here fails. See tests/nn/registry_test.cpp for the note on
// adding a class.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "ember/optim/optimizer.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using nlohmann::json;

// Non-default values, so a field from_config forgot to read breaks the round trip.
const std::map<std::string, json>& samples() {
  static const std::map<std::string, json> m = {
      {"SGD", {{"learning_rate", 0.05}, {"momentum", 0.8}, {"nesterov", true}, {"clipnorm", 1.5}}},
      {"Adagrad", {{"learning_rate", 0.02}, {"initial_accumulator_value", 0.2}, {"epsilon", 1e-5}, {"clipvalue", 0.5}}},
      {"RMSprop", {{"learning_rate", 0.003}, {"rho", 0.8}, {"momentum", 0.5}, {"epsilon", 1e-6}, {"centered", true}}},
      {"Adam",
       {{"learning_rate", 0.01},
        {"beta_1", 0.8},
        {"beta_2", 0.99},
        {"epsilon", 1e-6},
        {"amsgrad", true},
        {"global_clipnorm", 2.0}}},
      {"AdamW", {{"learning_rate", 0.01}, {"weight_decay", 0.01}, {"beta_1", 0.85}, {"amsgrad", true}}},
      {"Nadam",
       {{"learning_rate", 0.002},
        {"beta_1", 0.85},
        {"beta_2", 0.95},
        {"epsilon", 1e-5},
        {"momentum_cache_decay", 0.004}}},
  };
  return m;
}

class OptimizerRegistry : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizerRegistry, ConfigRoundTripAndSameSteps) {
  // Keras's lower-case identifiers share the class's sample.
  std::string cls;
  for (const auto& [name, sample] : samples()) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == GetParam() || lower == GetParam()) cls = name;
  }
  ASSERT_FALSE(cls.empty()) << "optimizer '" << GetParam() << "' has no sample in " << __FILE__;
  const json& sample = samples().at(cls);
  auto opt = optim::from_config({{"class_name", GetParam()}, {"config", sample}});
  EXPECT_EQ(opt->name(), cls);
  const json j = opt->get_config_json();
  for (const auto& [key, value] : sample.items()) EXPECT_EQ(j["config"].value(key, json()), value) << key;
  auto twin = optim::from_config(j);
  EXPECT_EQ(twin->get_config_json(), j);

  Tensor w1 = testing::random_f64({3, 2}, 1), w2 = w1.clone();
  for (int step = 0; step < 3; ++step) {
    Tensor g = testing::random_f64({3, 2}, 10 + step, -2, 2);
    opt->apply_gradients({{"w", w1}}, {g});
    twin->apply_gradients({{"w", w2}}, {g});
  }
  EXPECT_TRUE(testing::all_close(w2, w1, 0, 0));
  EXPECT_FALSE(testing::all_close(w1, testing::random_f64({3, 2}, 1), 0, 0)) << "the steps changed nothing";
}

INSTANTIATE_TEST_SUITE_P(EveryRegisteredClass, OptimizerRegistry, ::testing::ValuesIn(optim::registered_classes()),
                         [](const auto& info) { return info.param; });

TEST(OptimizerConfig, KerasConfigsAndErrors) {
  // What tf.keras 2.15 writes for Adam.
  auto adam = optim::from_config(json::parse(R"({"module": "keras.optimizers", "class_name": "Adam",
      "config": {"name": "Adam", "weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null,
                 "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null, "jit_compile": false,
                 "is_legacy_optimizer": false, "learning_rate": 0.0005, "beta_1": 0.9, "beta_2": 0.999,
                 "epsilon": 1e-07, "amsgrad": false}, "registered_name": null})"));
  EXPECT_DOUBLE_EQ(adam->learning_rate().constant(), 0.0005);
  EXPECT_EQ(testing::message_of<FormatError>([] {
              optim::from_config({{"class_name", "Adam"}, {"config", {{"learning_rate", "fast"}}}});
            }),
            "field 'learning_rate' of optimizer 'Adam': expected a finite number, got \"fast\"");
  // Keras 3's weight averaging round-trips; a bad frequency is named.
  auto ema = optim::from_config(
      {{"class_name", "SGD"},
       {"config", {{"name", "sgd"}, {"use_ema", true}, {"ema_momentum", 0.9}, {"ema_overwrite_frequency", 5}}}});
  EXPECT_TRUE(ema->ema().use_ema);
  EXPECT_DOUBLE_EQ(ema->ema().ema_momentum, 0.9);
  EXPECT_EQ(ema->ema().ema_overwrite_frequency, 5);
  EXPECT_EQ(ema->get_config()["ema_overwrite_frequency"], 5);
  EXPECT_EQ(ema->get_config()["use_ema"], true);
  EXPECT_NE(testing::message_of<FormatError>([] {
              optim::from_config({{"class_name", "SGD"}, {"config", {{"use_ema", true}, {"ema_overwrite_frequency", 0}}}});
            }).find("ema_overwrite_frequency"),
            std::string::npos);
  EXPECT_NE(testing::message_of<ValueError>([] {
              optim::from_config({{"class_name", "Adam"}, {"config", {{"use_ema", true}, {"ema_momentum", 1.5}}}});
            }).find("ema_momentum"),
            std::string::npos);
  EXPECT_NE(testing::message_of<FormatError>([] {
              optim::from_config({{"class_name", "Adadelta"}});
            }).find("Adadelta"),
            std::string::npos);
  EXPECT_NE(testing::message_of<ValueError>([] {
              optim::from_config({{"class_name", "SGD"}, {"config", {{"momentum", 2.0}}}});
            }).find("momentum"),
            std::string::npos);
  // A schedule has no config yet: said, not written wrong.
  optim::SGD scheduled({.learning_rate = [](int64_t) { return 0.1; }});
  EXPECT_NE(testing::message_of<ValueError>([&] { scheduled.get_config(); }).find("schedule"), std::string::npos);
}

}  // namespace
}  // namespace ember
