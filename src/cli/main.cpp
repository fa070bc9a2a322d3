// cimkit: the command-line entry point.
#include <iostream>

#include "cli/commands.hpp"
#include "core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"cimkit: ReRAM compute-in-memory simulation, training and search"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cimkit 0.1.0");
  cimkit::cli::Action action;
  cimkit::cli::add_run(app, action);
  cimkit::cli::add_cost(app, action);
  cimkit::cli::add_thermal(app, action);
  cimkit::cli::add_demo(app, action);
  cimkit::cli::add_mvm(app, action);
  cimkit::cli::add_list(app, action);
  cimkit::cli::add_describe(app, action);
  cimkit::cli::add_docs(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return action ? action() : 0;
  } catch (const cimkit::ConfigError& e) {
    std::cerr << "cimkit: config error: " << e.what() << "\n";
    return 2;
  } catch (const cimkit::Error& e) {
    std::cerr << "cimkit: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "cimkit: tensor error: " << e.what_without_backtrace() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "cimkit: internal error: " << e.what() << "\n";
    return 4;
  }
}
