// `cimkit run CONFIG`: the main job (run_job.hpp).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "cli/nas_job.hpp"
#include "cli/search_job.hpp"

namespace cimkit::cli {

namespace {

// torchrun's launch flags (each falls back on its environment variable).
std::shared_ptr<dist::GroupOptions> dist_flags(CLI::App* cmd, const std::string& what, const std::string& rank0) {
  auto d = std::make_shared<dist::GroupOptions>();
  d->world_size = 0;  // unset: the environment's WORLD_SIZE, else 1
  d->rank = -1;
  d->master_addr = "";
  d->master_port = 0;
  cmd->add_option("--world-size", d->world_size, what + " (env WORLD_SIZE; default 1)");
  cmd->add_option("--rank", d->rank, "This process's rank, " + rank0 + " (env RANK)");
  cmd->add_option("--master-addr", d->master_addr, "Rank 0's address (env MASTER_ADDR; default 127.0.0.1)");
  cmd->add_option("--master-port", d->master_port, "Rank 0's port (env MASTER_PORT; default 29500)");
  cmd->add_option("--dist-timeout", d->timeout_s, "Longest wait between processes, in seconds (default 3600)");
  return d;
}

}  // namespace

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
  auto d = dist_flags(cmd, "Processes evaluating candidates together", "0 runs the strategy");
  cmd->callback([&action, a, d] { action = [a, d] { return search_job(*a, *d, std::cout); }; });
}

void add_nas(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("nas", "Search a network's architecture, its per-layer bits and the chip together "
                                        "(paper 004, CrossNAS; see configs/search/crossnas.yaml)");
  auto a = std::make_shared<JobArgs>();
  cmd->add_option("config", a->config, "CrossNAS config (YAML)")->required();
  cmd->add_option("--set", a->overrides, "Override a config key: path.to.key=value (repeatable)");
  cmd->add_flag("--resume", a->resume, "Continue every stage from its checkpoint in the run folder");
  cmd->add_option("--out", a->out, "Run folder (overrides the config's `out`)");
  cmd->add_option("--until", a->until, "Stop after this stage (its checkpoint written; --resume continues)")
      ->check(CLI::IsMember({"supernet", "arch_search", "quant", "chip_search", "final"}));
  auto d = dist_flags(cmd, "Processes training the supernet and scoring candidates together", "0 writes the run folder");
  cmd->callback([&action, a, d] { action = [a, d] { return nas_job(*a, *d, std::cout); }; });
}

}  // namespace cimkit::cli
