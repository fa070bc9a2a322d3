// What a thermal run reports: statistics of the die field, per-block temperatures, and the
// standalone problem file `cimkit thermal --floorplan F.yaml` reads (die, blocks, stack,
// package, grid, mode). Temperatures in K.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/plot.hpp"
#include "thermal/floorplan.hpp"
#include "thermal/solver.hpp"

namespace cimkit::thermal {

struct FieldStats {
  double peak_k = 0, min_k = 0, mean_k = 0, std_k = 0;
  double p50_k = 0, p90_k = 0, p99_k = 0;  // percentiles over cells (linear interpolation)
  int peak_row = 0, peak_col = 0;          // row 0 = north
};
FieldStats field_stats(const Grid2D& t);

struct BlockTemperature {
  std::string name;
  double mean_k = 0;      // over the cells it covers, weighted by the covered area
  double max_k = 0;       // hottest cell it covers
  double grid_avg_k = 0;  // HotSpot's "avg" mode: unweighted mean of its bounding cell range
  double center_k = 0;    // HotSpot's "center" mode (its default): the 1, 2 or 4 central cells
};
std::vector<BlockTemperature> block_temperatures(const Floorplan& fp, const Grid2D& die_k);

// A standalone thermal problem.
struct ThermalProblem {
  Floorplan floorplan;
  ModelSpec model;  // die size and grid filled in from the floorplan and `grid`
  static ThermalProblem from_config(const ConfigNode& root);
  // The same around a floorplan built in code (`root` then holds no die or blocks; its `grid`
  // may be absent when `nx`, `ny` are given).
  static ThermalProblem from_config(const ConfigNode& root, Floorplan floorplan, int nx, int ny,
                                    const std::string& path);
  static ThermalProblem load(const std::string& path);
};

struct SteadyReport {
  ThermalField field;
  FieldStats stats;
  std::vector<BlockTemperature> blocks;
  int iterations = 0;
  double total_power_w = 0;
};
SteadyReport solve_steady(const ThermalProblem& problem);

// {"mode", "grid", "ambient_k", "total_power_w", "heat_out_w", "peak_k", "mean_k", ..., "blocks": [...]}
nlohmann::json to_json(const SteadyReport& r, const ThermalProblem& problem);
// The `n` hottest cells that are local maxima of their 3x3 neighbourhood, hottest first.
std::vector<std::pair<int, int>> hotspot_cells(const Grid2D& t, int n);

// How a die temperature map is drawn: axes in mm over the die, optionally only a window of the
// grid (a small network on a large chip), and text labels on cells (e.g. the hottest blocks).
struct MapView {
  double die_width_m = 0, die_height_m = 0;    // the grid's extent; 0: no axes
  int row0 = 0, col0 = 0, rows = 0, cols = 0;  // the window (row 0 = north); rows or cols 0: all
  std::vector<HeatLabel> labels;               // (row, col) in the whole grid
  std::string note;                            // a line under the map
};

// A die temperature grid as a heat-map PNG (K) with a colour bar, `marks` (row, col of the whole
// grid) outlined.
void write_temperature_png(const std::string& path, const std::string& title, const Grid2D& t,
                           const std::vector<std::pair<int, int>>& marks, const MapView& view = {});

// The window of `t` worth drawing: the bounding box of the cells of `blocks` widened by `pad_m`
// on each side, or the whole grid when that box covers most of the die.
MapView crop_to_blocks(const Grid2D& t, double die_width_m, double die_height_m, const std::vector<Block>& blocks,
                       double pad_m);

// The die grid as CSV, one line per row from north to south, kelvin with 6 decimals.
std::string grid_csv(const Grid2D& g);

}  // namespace cimkit::thermal
