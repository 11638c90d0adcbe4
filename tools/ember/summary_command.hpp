#pragma once
// `ember summary MODEL` (contract in DESIGN.md).
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "ember/nn/model.hpp"

namespace ember::tool {

// MODEL as the command line takes it: an existing Keras JSON file (or a directory holding
// model.json, as `ember train --out` writes), else a built-in name (mlp, cnn). Throws
// ValueError for a name that is neither, IOError / FormatError for a file that cannot be read.
std::shared_ptr<nn::Model> load_model_architecture(const std::string& spec);

// Adds the summary subcommand to `app`; its callback prints the model's Keras summary table to
// stdout and throws ember::Error on failure (main maps that to exit status 1).
void add_summary_command(CLI::App& app);

}  // namespace ember::tool
