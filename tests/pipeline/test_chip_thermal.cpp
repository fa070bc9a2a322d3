// The chip's power map and temperature: the floorplan holds every PE of the network with the
// cost model's power, the heat is where the power is, the arrays get their PE's temperature,
// and per-array temperatures change what the analog layer reads.
#include <gtest/gtest.h>

#include <set>

#include "core/config_tree.hpp"
#include "cost/cost_model.hpp"
#include "mapping/network.hpp"
#include "nn/analog.hpp"
#include "pipeline/chip_thermal.hpp"
#include "support/scratch.hpp"

namespace cimkit::pipeline {
namespace {

const std::string kNets = CIMKIT_NETWORKS_DIR;

cost::CostReport vgg8_on_thermal_quant() {
  const cost::CostModel cm = cost::CostModel::from_config(nullptr, nullptr, {});
  return cm.evaluate(mapping::load_layer_list(kNets + "/mnsim/vgg8.yaml"));
}

TEST(ChipThermal, FloorplanCarriesTheCostModelsPower) {
  const cost::CostReport rep = vgg8_on_thermal_quant();
  const ChipFloorplan plan = chip_floorplan(rep);
  // paper 000's chip: 256 tiles on a 16 x 16 grid, 8 x 8 PEs per tile.
  EXPECT_EQ(plan.tiles_x, 16);
  EXPECT_EQ(plan.tiles_y, 16);
  EXPECT_EQ(plan.pes_x, 8);
  EXPECT_EQ(plan.pes_y, 8);
  EXPECT_EQ(static_cast<int64_t>(plan.floorplan.blocks.size()), rep.totals.n_pes);
  EXPECT_NO_THROW(plan.floorplan.validate());  // inside the die, no overlaps
  // Power on the map = (array + PE + tile energy) / interval, summed over layers.
  double e = 0;
  for (const auto& l : rep.layers) e += l.array_energy_j + l.pe_energy_j + l.tile_energy_j;
  EXPECT_NEAR(plan.total_power_w, e / rep.totals.interval_s, 1e-9 * plan.total_power_w);
  ASSERT_EQ(plan.array_block.size(), rep.layers.size());
  for (size_t i = 0; i < rep.layers.size(); ++i) EXPECT_EQ(static_cast<int64_t>(plan.array_block[i].size()), rep.layers[i].arrays);
}

TEST(ChipThermal, EveryArrayHasItsOwnSlot) {
  // ISAAC: 8 arrays per IMA, on a 3 x 3 grid of slots; every array of the network in a block of
  // its own, no two blocks overlapping.
  ConfigNode arch = ConfigNode::map({"t", 0});
  arch.set("preset", ConfigNode::scalar("isaac", {"t", 0}));
  const cost::CostReport rep =
      cost::CostModel::from_config(&arch, nullptr, {}).evaluate(mapping::load_layer_list(kNets + "/mnsim/vgg8.yaml"));
  const ChipFloorplan plan = chip_floorplan(rep);
  EXPECT_EQ(plan.slots_x, 3);
  EXPECT_EQ(plan.slots_y, 3);
  EXPECT_EQ(static_cast<int64_t>(plan.floorplan.blocks.size()), rep.totals.n_pes * 8);
  EXPECT_NO_THROW(plan.floorplan.validate());
  std::set<int> seen;
  for (const auto& layer : plan.array_block)
    for (int b : layer) EXPECT_TRUE(seen.insert(b).second) << "two arrays in block " << b;
  const ChipThermal heat = solve_chip_thermal(plan, ChipThermalOptions::from_config(load_yaml_string("cells_per_pe: 3\n", "t.yaml")));
  EXPECT_EQ(heat.problem.model.nx, plan.tiles_x * plan.pes_x * 3);
  EXPECT_NEAR(heat.steady.field.heat_out_w, plan.total_power_w, 1e-6 * plan.total_power_w);
}

TEST(ChipThermal, HeatIsWhereThePowerIs) {
  const cost::CostReport rep = vgg8_on_thermal_quant();
  const ChipFloorplan plan = chip_floorplan(rep);
  const ChipThermal heat = solve_chip_thermal(plan, ChipThermalOptions::from_config(load_yaml_string("package: {ambient_k: 300}\n", "t.yaml")));
  EXPECT_EQ(heat.problem.model.nx, 128);
  EXPECT_NEAR(heat.steady.field.heat_out_w, plan.total_power_w, 1e-6 * plan.total_power_w);
  EXPECT_GT(heat.steady.stats.peak_k, 300.0);
  // The hottest block is the one with the highest power density (all PEs have the same area).
  size_t hottest = 0, densest = 0;
  for (size_t b = 0; b < plan.floorplan.blocks.size(); ++b) {
    if (heat.steady.blocks[b].mean_k > heat.steady.blocks[hottest].mean_k) hottest = b;
    if (plan.floorplan.blocks[b].power_w > plan.floorplan.blocks[densest].power_w) densest = b;
  }
  // Neighbours add heat, so the hottest block is among the densest few, in the same layer.
  const std::string layer_of_hottest = plan.floorplan.blocks[hottest].name.substr(0, plan.floorplan.blocks[hottest].name.find(".pe"));
  const std::string layer_of_densest = plan.floorplan.blocks[densest].name.substr(0, plan.floorplan.blocks[densest].name.find(".pe"));
  EXPECT_EQ(layer_of_hottest, layer_of_densest);
  // Every array reads at its PE's temperature, above ambient.
  for (size_t l = 0; l < heat.array_temperature_k.size(); ++l)
    for (size_t a = 0; a < heat.array_temperature_k[l].size(); ++a) {
      EXPECT_DOUBLE_EQ(heat.array_temperature_k[l][a], heat.steady.blocks[static_cast<size_t>(plan.array_block[l][a])].mean_k);
      EXPECT_GT(heat.array_temperature_k[l][a], 300.0);
    }
  // Twice the power: twice the rise (the model is linear).
  ChipFloorplan doubled = plan;
  for (auto& b : doubled.floorplan.blocks) b.power_w *= 2;
  const ChipThermal hot2 = solve_chip_thermal(doubled, ChipThermalOptions::from_config(load_yaml_string("package: {ambient_k: 300}\n", "t.yaml")));
  EXPECT_NEAR(hot2.steady.stats.peak_k - 300, 2 * (heat.steady.stats.peak_k - 300), 1e-6);
  const auto j = heat.to_json();
  EXPECT_EQ(j["layers"].size(), rep.layers.size());
  EXPECT_FALSE(heat.summary().empty());
}

TEST(ChipThermal, MeasuredPerArrayEnergyShapesTheMap) {
  const cost::CostReport rep = vgg8_on_thermal_quant();
  // All of layer 0's read energy in its first array: that array's PE carries the layer's array
  // power, the others none.
  std::vector<std::vector<double>> per_array(rep.layers.size());
  per_array[0].assign(static_cast<size_t>(rep.layers[0].arrays), 0.0);
  per_array[0][0] = 1.0;
  const ChipFloorplan plan = chip_floorplan(rep, per_array);
  EXPECT_NEAR(plan.array_power_w[0][0], rep.layers[0].array_energy_j / rep.totals.interval_s, 1e-15);
  for (size_t a = 1; a < plan.array_power_w[0].size(); ++a) EXPECT_EQ(plan.array_power_w[0][a], 0.0);
  per_array[0].pop_back();
  EXPECT_HAS(testing::error_of([&] { chip_floorplan(rep, per_array); }), "per-array read energies");
}

TEST(ChipThermal, ConfigErrors) {
  EXPECT_HAS(testing::error_of([] { ChipThermalOptions::from_config(load_yaml_string("cells_per_pe: 0\n", "t.yaml")); }),
             "thermal.cells_per_pe");
  EXPECT_HAS(testing::error_of([] { ChipThermalOptions::from_config(load_yaml_string("feedbak: true\n", "t.yaml")); }),
             "feedback");
  const ChipFloorplan plan = chip_floorplan(vgg8_on_thermal_quant());
  EXPECT_HAS(testing::error_of([&] {
               solve_chip_thermal(plan, ChipThermalOptions::from_config(load_yaml_string("mode: hotspots\n", "t.yaml")));
             }),
             "hotspot");
}

TEST(ChipThermal, PerArrayTemperatureChangesTheRead) {
  // A layer read at a hot per-array temperature differs from the same layer at the reference:
  // the temperatures reach the device model (LRS conductance falls with temperature).
  auto chip = Chip::from_config(load_yaml_string("preset: thermal_quant\n", "chip.yaml"), "chip");
  auto ctx = std::make_shared<nn::AnalogContext>(chip, 7);
  nn::AnalogLinear layer(nn::AnalogLinearOptions(40, 6));
  layer->set_context(ctx);
  layer->set_mode(nn::LayerMode::Analog);
  layer->eval();
  torch::manual_seed(1);
  const torch::Tensor x = torch::rand({4, 40});
  torch::NoGradGuard ng;
  const torch::Tensor cold = layer->forward(x).clone();
  const int64_t n = layer->mapping().n_arrays;
  layer->set_temperature(torch::full({n}, 380.0, torch::kFloat64));
  const torch::Tensor hot = layer->forward(x);
  EXPECT_GT((hot - cold).abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace cimkit::pipeline
