#pragma once
// `ember train` and `ember evaluate` (contract in DESIGN.md).
#include <CLI/CLI.hpp>

namespace ember::tool {

// Adds the train and evaluate subcommands to `app`; their callbacks throw ember::Error on failure
// (main maps those to exit status 1) and CLI::ValidationError for bad usage (exit status 2).
void add_train_commands(CLI::App& app);

}  // namespace ember::tool
