// Subcommands of the `cimkit` binary. Each adds itself to the app; `main` runs the chosen one
// and turns cimkit errors into a message and an exit code (library code never exits).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace cimkit::cli {

using Action = std::function<int()>;

void add_list(CLI::App& app, Action& action);
void add_describe(CLI::App& app, Action& action);
void add_docs(CLI::App& app, Action& action);
void add_mvm(CLI::App& app, Action& action);
void add_demo(CLI::App& app, Action& action);
void add_run(CLI::App& app, Action& action);
void add_cost(CLI::App& app, Action& action);
void add_thermal(CLI::App& app, Action& action);

// The generated configuration reference (docs/config.md).
std::string config_reference_markdown();

}  // namespace cimkit::cli
