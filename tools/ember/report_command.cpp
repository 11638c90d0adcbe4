// `ember report RUN_DIR`: the run's HTML report, rebuilt from its files without retraining.
#include "report_command.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "ember/train/report.hpp"

namespace ember::tool {

void add_report_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "write RUN_DIR/report.html, a self-contained page (curves, diagnosis, test metrics, confusion matrix, "
      "misclassified images, model summary, settings) from the files ember train --out wrote: history.csv, run.json, "
      "test_predictions.npy (true label, prediction, confidence per test example), misclassified.npy (the grid's "
      "images) and model.json");
  cmd->add_option("RUN_DIR", *dir, "a directory written by ember train --out")->required();
  cmd->callback([dir] {
    train::ReportData data = train::read_run_dir(*dir);
    std::string path = (std::filesystem::path(*dir) / "report.html").string();
    train::write_report_html(path, data);
    std::cout << "report: " << path << "\n";
  });
}

}  // namespace ember::tool
