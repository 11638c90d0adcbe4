// The `ember` command-line tool (contract in DESIGN.md).
#include <CLI/CLI.hpp>
#include <iostream>

#include "ember/ember.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ember: train and inspect deep-learning models"};
  app.require_subcommand(1);
  app.add_subcommand("version", "print the version")->callback([] { std::cout << "ember 0.1\n"; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const ember::Error& e) {
    std::cerr << "ember: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
