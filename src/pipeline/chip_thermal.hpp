// The chip's temperature from its power map, and the heat fed back into the cells.
//
// Floorplan: the chip's tiles on a near-square grid (tile pitch = √(tile area) from the cost
// model), each tile's PEs on a near-square grid inside it, layers on consecutive tiles in a
// snake order and each layer's PEs in row-major order inside its tiles; arrays sit in their PE
// (a = t · arrays_per_tile + c, PE = a / arrays_per_pe, the cost model's own packing), each in
// its own slot of the PE (a near-square grid of arrays_per_pe slots), so every array has
// coordinates and a temperature of its own.
// Power: each PE block carries its arrays' read power (the engine's measured per-array read
// energy when the network was run on the chip, else the layer's array energy shared equally),
// its share of the layer's other PE-level energy and of its tile's periphery energy, all per
// inference divided by the pipeline interval: the steady state of back-to-back inferences.
// Chip-level components (off-chip links) are not on the map. Temperatures: each array reads at
// the mean temperature of its slot.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "cost/cost_model.hpp"
#include "thermal/report.hpp"

namespace cimkit::pipeline {

struct ChipFloorplan {
  // One block per array slot of every used PE: "<layer>.pe<k>" (one array per PE) or
  // "<layer>.pe<k>.a<s>"; the arrays of a layer occupy its slots in order.
  thermal::Floorplan floorplan;
  int tiles_x = 0, tiles_y = 0, pes_x = 0, pes_y = 0, slots_x = 1, slots_y = 1;
  double tile_side_m = 0;
  std::vector<std::string> layers;             // layer names, in order
  std::vector<std::vector<int>> array_block;   // [layer][array] -> block index
  std::vector<std::vector<double>> array_power_w;  // [layer][array] read power alone
  double total_power_w = 0;                    // on the map
};

// `per_array_read_j`: optional, per layer (same order as report.layers) the engine's read
// energy per array per inference ([n_arrays] of the undup'd layer); empty vectors: estimate.
ChipFloorplan chip_floorplan(const cost::CostReport& report,
                             const std::vector<std::vector<double>>& per_array_read_j = {});

// The `thermal:` section of a run config: `enabled`, `feedback` (read the arrays at their
// temperatures), `cells_per_pe` (grid resolution), `ambient_k` and the thermal problem keys
// `mode`, `solver`, `stack`, `package` (docs/thermal.md). Null: defaults.
struct ChipThermalOptions {
  bool enabled = true, feedback = true;
  int cells_per_pe = 1;
  ConfigNode problem;  // mode / solver / stack / package, as a thermal problem file holds them
  static ChipThermalOptions from_config(const ConfigNode& section, const std::string& path = "thermal");
  // The ambient temperature unless `package.ambient_k` was given (the run's operating
  // temperature, so the rise reported is the chip's own heat).
  void default_ambient(double kelvin);
  static Schema schema();  // the scalar keys, for the config reference
};

struct ChipThermal {
  ChipFloorplan plan;
  thermal::ThermalProblem problem;
  thermal::SteadyReport steady;
  std::vector<std::vector<double>> array_temperature_k;  // [layer][array]
  std::vector<std::pair<int, int>> hotspots;             // (row, col) of local maxima, hottest first
  std::vector<std::string> hotspot_blocks;               // the PE block at each hotspot ("" if none)
  // The arrays' temperature distribution (paper 000 Fig. 8e): minimum, 25th percentile, median,
  // 75th percentile and maximum over every array of every layer, each array at the temperature
  // it is read at (linear interpolation between order statistics).
  std::array<double, 5> array_quantiles() const;
  nlohmann::json to_json() const;  // with "arrays": {min_k, p25_k, median_k, p75_k, max_k}
  std::string summary() const;
  // The die's temperature as a heat-map PNG, the hotspots outlined.
  void write_map_png(const std::string& path, const std::string& title) const;
};

ChipThermal solve_chip_thermal(const ChipFloorplan& plan, const ChipThermalOptions& opt);

}  // namespace cimkit::pipeline
