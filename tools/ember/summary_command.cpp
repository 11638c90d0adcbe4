// `ember summary MODEL`: prints the Keras summary table (layers, output shapes, parameter counts).
#include "summary_command.hpp"

#include <filesystem>
#include <iostream>

#include "ember/core/error.hpp"
#include "ember/io/keras_h5.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/nn/config.hpp"

namespace ember::tool {

namespace fs = std::filesystem;

std::shared_ptr<nn::Model> load_model_architecture(const std::string& spec) {
  std::error_code ec;
  if (fs::exists(spec, ec)) {
    fs::path path = fs::is_directory(spec, ec) ? fs::path(spec) / "model.json" : fs::path(spec);
    std::string ext = path.extension().string();
    if (ext == ".h5" || ext == ".hdf5") return io::load_model_config_h5(path.string());  // Keras 2 HDF5
    if (ext == ".keras") {
      throw FormatError("'" + spec + "': Keras 3 .keras archives are not supported (use a Keras 2 .h5 file or JSON)");
    }
    return nn::model_from_json_file(path.string());
  }
  for (const std::string& n : nn::builtin_model_names()) {
    if (n == spec) return nn::builtin_model(spec);
  }
  std::string names;
  for (const std::string& n : nn::builtin_model_names()) names += (names.empty() ? "" : ", ") + n;
  throw ValueError("unknown model '" + spec + "': no such file, and not a built-in model (" + names + ")");
}

void add_summary_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("summary", "print the Keras summary table of a model");
  cmd->add_option("MODEL", *model, "a built-in model (mlp, cnn), a Keras model.to_json() file or a Keras .h5 model")->required();
  cmd->callback([model] {
    // Built completely before printing, so a failure leaves stdout empty.
    std::string table = load_model_architecture(*model)->summary_string();
    std::cout << table << std::flush;
  });
}

}  // namespace ember::tool
