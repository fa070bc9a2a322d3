// Subcommands of the `cimkit` binary. Each adds itself to the app; `main` runs the chosen one
// and turns cimkit errors into a message and an exit code (library code never exits).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>
#include <string>

namespace cimkit::cli {

using Action = std::function<int()>;

void add_list(CLI::App& app, Action& action);
void add_describe(CLI::App& app, Action& action);
void add_docs(CLI::App& app, Action& action);
void add_mvm(CLI::App& app, Action& action);
void add_demo(CLI::App& app, Action& action);
void add_run(CLI::App& app, Action& action);
void add_search(CLI::App& app, Action& action);
void add_nas(CLI::App& app, Action& action);
void add_cost(CLI::App& app, Action& action);
void add_thermal(CLI::App& app, Action& action);
void add_plot(CLI::App& app, Action& action);

// `cimkit plot SPEC.json OUT.png` (cmd_plot.cpp): DataError naming SPEC and the key for a bad
// description.
int plot_command(const std::string& spec_path, const std::string& png_path, std::ostream& out);

// `cimkit list [KIND]` and `cimkit describe NAME`, printing to `out` (Error for unknown names).
int list_command(const std::string& kind, std::ostream& out);
int describe_command(const std::string& what, std::ostream& out);

// The generated configuration reference (docs/config.md).
std::string config_reference_markdown();

}  // namespace cimkit::cli
