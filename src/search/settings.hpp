// The `search:` section of a job config (`cimkit search`, issue 13): the strategy (a registry
// section), the budget, the inner loop's rung, the finalists re-evaluated bit-exactly, the
// refinement, the reward and the per-layer bit ranges (paper 000's rule, overrides by name).
#pragma once
#include <string>

#include "core/config_tree.hpp"
#include "core/params.hpp"
#include "search/driver.hpp"
#include "search/reward.hpp"
#include "search/space_rules.hpp"

namespace cimkit::search {

struct SearchSettings {
  ConfigNode strategy;          // {impl: ddpg, ...}: make_strategy's section
  Budget budget;
  std::string fidelity = "tile";
  int64_t finalists = 3;        // best candidates re-evaluated at final_fidelity
  std::string final_fidelity = "bit_exact";
  bool refine = true;
  std::string reward_images = "validation";  // "validation" | "test": what the reward's accuracy reads
  int64_t validation_limit = 1000;           // validation images per evaluation (0: all)
  double refine_fraction = 0.05;
  int64_t finetune_steps = 0;   // HAQ's short fine-tune per candidate, in training batches (0: none)
  double finetune_lr = 1e-3;
  RewardOptions reward;         // origin accuracy: set by the job
  std::string budget_metric = "none";  // "none" | "energy" | "latency": HAQ's action wall
  double budget_fraction = 0.5;        // of the fixed 8-bit model's
  LayerRules rules;
  ConfigNode resolved;          // every key with its value (resolved_config.yaml)

  static Schema schema();       // the scalar keys (docs/config.md)
  // Error naming the file, line and key for anything out of place.
  static SearchSettings from_config(const ConfigNode& section, const std::string& path = "search");
};

}  // namespace cimkit::search
