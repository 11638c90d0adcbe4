#pragma once
// `ember report RUN_DIR` (contract in DESIGN.md).
#include <CLI/CLI.hpp>

namespace ember::tool {

// Adds the report subcommand to `app`; its callback rebuilds RUN_DIR/report.html from the files
// `ember train --out RUN_DIR` wrote and prints its path; throws ember::Error on failure.
void add_report_command(CLI::App& app);

}  // namespace ember::tool
