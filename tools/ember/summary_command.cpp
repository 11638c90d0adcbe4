// `ember summary MODEL`: prints the Keras summary table (layers, output shapes, parameter counts).
#include "summary_command.hpp"

#include "ember/train/model_files.hpp"

#include <filesystem>
#include <iostream>

#include "ember/core/error.hpp"
#include "ember/io/keras_h5.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/nn/config.hpp"

namespace ember::tool {

namespace fs = std::filesystem;

void add_summary_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("summary", "print the Keras summary table of a model");
  cmd->add_option("MODEL", *model,
                 "a built-in model (mlp, cnn), a classic network (lenet5, alexnet, vgg11-vgg19, resnet18/34/50, "
                 "googlenet, mobilenetv2), a Keras model.to_json() file or a Keras .h5 model")
      ->required();
  cmd->callback([model] {
    // Built completely before printing, so a failure leaves stdout empty.
    std::string table = train::load_model_architecture(*model)->summary_string();
    std::cout << table << std::flush;
  });
}

}  // namespace ember::tool
