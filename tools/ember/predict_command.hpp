#pragma once
// `ember predict --model FILE|DIR --input FILE [--output FILE] [--top-k K] [--labels NAMES]`
// (contract in DESIGN.md).
#include <CLI/CLI.hpp>

namespace ember::tool {

void add_predict_command(CLI::App& app);

}  // namespace ember::tool
