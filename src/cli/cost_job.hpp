// `cimkit cost`: the hardware cost of a network on an architecture, shapes only (no training).
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "cost/cost_model.hpp"
#include "mapping/network.hpp"

namespace cimkit::cli {

struct CostArgs {
  std::string config;                  // optional: a config with chip / arch / cost / model sections
  std::vector<std::string> overrides;  // --set
  std::string network;                 // zoo name or layer-list file (overrides cost.network)
  std::string arch, chip;              // presets (override the config's sections)
  std::string input = "3x32x32";       // zoo networks: CxHxW
  int64_t classes = 10;                // zoo networks
  std::string duplication;             // none | balance (overrides cost.duplication)
  bool json = false;
};

// A network by zoo name or layer-list path. Zoo models are traced from `model` (a `model:`
// section, may be null: the chip's widths apply to every layer) at input `input` ("CxHxW").
mapping::NetworkShape network_for(const std::string& network, const ConfigNode* model, const std::string& input,
                                  int64_t classes);

// The config (file, presets and --set applied), the network and the cost model of `args`.
struct CostSetup {
  ConfigNode root;
  mapping::NetworkShape network;
  cost::CostModel model;
};
CostSetup load_cost_setup(const CostArgs& args);

int cost_command(const CostArgs& args, std::ostream& out);

}  // namespace cimkit::cli
