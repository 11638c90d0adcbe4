// The `ember` command-line tool (contract in DESIGN.md, "The ember command line").
//
// Each subcommand lives in its own file and registers itself with add_*_command(app); its callback
// runs inside app.parse(). Exit status: 0 on success, 2 for bad usage (CLI11 parse and validation
// errors), 1 for anything else; failures always print exactly one line "ember: <message>" on stderr.
#include <CLI/CLI.hpp>
#include <iostream>
#include <new>
#include <string>

#include "ember/core/error.hpp"
#include "lm_command.hpp"
#include "predict_command.hpp"
#include "report_command.hpp"
#include "summary_command.hpp"
#include "word2vec_command.hpp"
// `ember train` / `ember evaluate` are being written beside this file; picked up once present.
#if 1
#include "train_command.hpp"
#define EMBER_TOOL_HAS_TRAIN 1
#endif

namespace {

// One line on stderr, whatever the message holds.
int fail(const std::string& message, int status) {
  std::string line = message;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  std::cerr << "ember: " << line << std::endl;
  return status;
}

int run(int argc, char** argv) {
  CLI::App app{"ember: train and inspect deep-learning models"};
  app.require_subcommand(1);
  app.add_subcommand("version", "print the version")->callback([] { std::cout << "ember 0.1\n"; });
  ember::tool::add_summary_command(app);
#ifdef EMBER_TOOL_HAS_TRAIN
  ember::tool::add_train_commands(app);
#endif
  ember::tool::add_predict_command(app);
  ember::tool::add_lm_command(app);
  ember::tool::add_report_command(app);
  ember::tool::add_word2vec_command(app);
  // CLI11 would call an unknown command a missing one; say what came instead.
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
      known = known || sub->get_name() == argv[1];
    }
    if (!known) return fail("unknown command '" + std::string(argv[1]) + "' (commands: " + names + ")", 2);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(std::string(e.what()) + " (run 'ember --help' for usage)", 2);
  } catch (const ember::Error& e) {
    return fail(e.what(), 1);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing escapes: every failure is a message and a status, never a crash.
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    return fail("out of memory", 1);
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  } catch (...) {
    return fail("unknown error", 1);
  }
}
