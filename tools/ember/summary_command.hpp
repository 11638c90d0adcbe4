#pragma once
// `ember summary MODEL` (contract in DESIGN.md).
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "ember/nn/model.hpp"

namespace ember::tool {

// Adds the summary subcommand to `app`; its callback prints the model's Keras summary table to
// stdout and throws ember::Error on failure (main maps that to exit status 1).
void add_summary_command(CLI::App& app);

}  // namespace ember::tool
