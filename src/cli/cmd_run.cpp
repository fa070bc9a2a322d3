// `cimkit run CONFIG`: the main job (run_job.hpp).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "cli/search_job.hpp"

namespace cimkit::cli {

void add_run(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "Train a network, deploy it on the chip and report what it loses "
                                        "(the main job; see configs/quickstart.yaml)");
  auto a = std::make_shared<JobArgs>();
  cmd->add_option("config", a->config, "Run config (YAML); default: configs/quickstart.yaml");
  cmd->add_option("--set", a->overrides, "Override a config key: path.to.key=value (repeatable)");
  cmd->add_flag("--resume", a->resume, "Continue from the run folder's checkpoints/last.pt");
  cmd->add_flag("--overwrite", a->overwrite, "Start afresh even if the run folder holds a checkpoint");
  cmd->add_option("--out", a->out, "Run folder (overrides the config's `out`)");
  cmd->callback([&action, a] { action = [a] { return run_job(*a, std::cout); }; });
}

void add_search(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("search", "Search per-layer bit widths on the chip with heat (paper 000; see "
                                           "configs/search/thermal_quant.yaml)");
  auto a = std::make_shared<JobArgs>();
  cmd->add_option("config", a->config, "Search config (YAML)")->required();
  cmd->add_option("--set", a->overrides, "Override a config key: path.to.key=value (repeatable)");
  cmd->add_flag("--resume", a->resume, "Continue the search from the run folder's checkpoint.pt");
  cmd->add_option("--out", a->out, "Run folder (overrides the config's `out`)");
  cmd->callback([&action, a] { action = [a] { return search_job(*a, std::cout); }; });
}

}  // namespace cimkit::cli
