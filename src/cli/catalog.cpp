#include "cli/catalog.hpp"

#include "cli/run_config.hpp"
#include "core/registry.hpp"
#include "cost/architecture.hpp"
#include "cost/cost_model.hpp"
#include "crossbar/chip.hpp"
#include "nn/zoo.hpp"
#include "pipeline/chip_eval.hpp"
#include "pipeline/chip_thermal.hpp"
#include "pipeline/job.hpp"
#include "pipeline/pretrain.hpp"
#include "pipeline/job_data.hpp"
#include "nas/settings.hpp"
#include "search/settings.hpp"

namespace cimkit::cli {

std::vector<Section> fixed_sections() {
  std::vector<StructuredKey> arch;
  for (const auto& k : cost::Architecture::structure()) arch.push_back({k.name, k.kind, k.description});
  std::vector<Section> sections{{"run", RunConfig::top_schema(), {}},
          {"crossbar", CrossbarSpec::schema(), {}},
          {"operating", OperatingConditions::schema(), {}},
          {"model", nn::ZooOptions::schema(), {}},
          {"data", pipeline::data_schema(), {}},
          {"train", pipeline::train_schema(), {}},
          {"pretrain", pipeline::PretrainOptions::schema(), {}},
          {"eval", pipeline::ChipEvalOptions::schema(), {}},
          {"arch", cost::Architecture::schema(), arch},
          {"arch.timing", cost::Timing::schema(), {}},
          {"arch.mnsim", cost::Architecture::mnsim_schema(), {}},
          {"cost", cost::CostOptions::schema(), {}},
          {"thermal", pipeline::ChipThermalOptions::schema(),
           {{"mode", "value", "Discretisation of the thermal problem: default or hotspot (docs/thermal.md)"},
            {"solver", "value", "cg (default) or direct"},
            {"stack", "section", "{layers: [{name, thickness_um, k_w_mk, cv_j_m3k, z_cells}]}, from the heat source "
                                 "down (default: cimkit's stack, docs/thermal.md)"},
            {"package", "section", "The heat sink and spreader, ambient_k, r_convec_k_w, ... (docs/thermal.md)"}}},
          {"search", search::SearchSettings::schema(),
           {{"strategy", "section", "{impl: ddpg | random | fixed, ...}: the search strategy and its parameters "
                                    "(cimkit describe strategy.NAME)"},
            {"overrides", "section", "{LAYER: {weight_min_bits, weight_max_bits, act_min_bits, act_max_bits}}: a "
                                     "layer's ranges instead of the rule's"}}}};
  for (const auto& [name, schema] : nas::NasSettings::schemas()) {
    std::vector<StructuredKey> lists;
    if (name == "nas.space") {
      lists = {{"blocks", "list", "Choice block types: VGG, MVGG, RES (default all three)"},
               {"channels", "list", "Output channels a block may have (default [32, 64, 128])"}};
    } else if (name == "nas.quant") {
      lists = {{"bits", "list", "Weight and activation bits drawn per layer per step (paper 004: [5, 7, 9])"}};
    } else if (name == "nas.chip_search") {
      lists = {{"xbar_sizes", "list", "Crossbar sizes (rows = columns; Table 1: [32, 64, 128, 256])"},
               {"adc_bits", "list", "ADC resolutions (Table 1: [4, 6, 8, 10])"},
               {"dac_bits", "list", "DAC resolutions (Table 1: [1, 2])"}};
    }
    sections.push_back({name, schema, lists});
  }
  return sections;
}

std::vector<std::string> list_kinds() {
  std::vector<std::string> kinds = {"arch", "model", "dataset", "chip"};
  for (auto* r : all_registries()) kinds.push_back(r->interface_name());
  return kinds;
}

std::vector<std::string> describable_names() {
  std::vector<std::string> names;
  for (const auto& s : fixed_sections()) names.push_back(s.name);
  names.push_back("chip");
  for (auto* r : all_registries()) names.push_back(r->interface_name());
  return names;
}

}  // namespace cimkit::cli
