#pragma once
// `ember lm`: a character-level language model (ember/train/char_lm.hpp) trained on a text file or
// folder, reporting validation bits per character per epoch, then sampling text.
#include <CLI/CLI.hpp>

namespace ember::tool {

// Adds the lm subcommand to `app`; its callback trains (or loads) and samples; throws ember::Error
// on failure, CLI::ValidationError for bad option values.
void add_lm_command(CLI::App& app);

}  // namespace ember::tool
