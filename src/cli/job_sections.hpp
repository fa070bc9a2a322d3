// The validated sections of a job config (`cimkit run`, the fidelity experiment, later the
// search): data, model, train, pretrain, eval, cost, thermal and the architecture, each checked against its
// schema (errors name file:line and key) and written back into the config's resolved tree.
#pragma once
#include "cli/run_config.hpp"
#include "core/params.hpp"
#include "cost/architecture.hpp"
#include "pipeline/chip_thermal.hpp"
#include "pipeline/pretrain.hpp"
#include "pipeline/raoq.hpp"

namespace cimkit::cli {

struct JobSections {
  Params data, model, train, eval, cost;
  pipeline::ChipThermalOptions thermal;  // its ambient defaults to the operating temperature
  cost::Architecture arch;               // `arch:` or the default preset
  pipeline::PretrainOptions pretrain;    // `pretrain:` (off unless enabled)
  pipeline::RaoqOptions raoq;            // `raoq:` (off unless enabled)
};

// Validates rc's job sections up front (so a typo fails in seconds) and records their resolved
// values in rc.resolved.
JobSections parse_job_sections(RunConfig& rc);

}  // namespace cimkit::cli
