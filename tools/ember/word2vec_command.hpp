#pragma once
// `ember word2vec --data PATH ...`: skip-gram word vectors of a text (train/word2vec.hpp).
#include <CLI/CLI.hpp>

namespace ember::tool {

// Adds the word2vec subcommand to `app`; its callback trains, prints the progress and the most
// similar words, optionally writes the vectors, and throws ember::Error on failure.
void add_word2vec_command(CLI::App& app);

}  // namespace ember::tool
