// cimkit: the command-line entry point. Exit statuses: cli/exit_status.hpp (README "Exit status").
#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_status.hpp"

int main(int argc, char** argv) {
  CLI::App app{"cimkit: ReRAM compute-in-memory simulation, training and search", "cimkit"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cimkit 0.1.0");
  cimkit::cli::Action action;
  cimkit::cli::add_run(app, action);
  cimkit::cli::add_search(app, action);
  cimkit::cli::add_nas(app, action);
  cimkit::cli::add_cost(app, action);
  cimkit::cli::add_thermal(app, action);
  cimkit::cli::add_plot(app, action);
  cimkit::cli::add_demo(app, action);
  cimkit::cli::add_mvm(app, action);
  cimkit::cli::add_list(app, action);
  cimkit::cli::add_describe(app, action);
  cimkit::cli::add_docs(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cimkit::cli::report_parse_error(app, e, std::cout, std::cerr);
  }
  try {
    return action ? action() : 0;
  } catch (...) {
    return cimkit::cli::report_current_exception(std::cerr);
  }
}
