// `cimkit thermal --floorplan F.yaml`: the thermal solver on its own (a die, rectangular blocks
// with their power, the stack and package), so it can be used and checked without a network.
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/plot.hpp"
#include "thermal/report.hpp"

namespace cimkit::cli {
namespace {

struct ThermalArgs {
  std::string floorplan, grid_csv, heatmap;
  bool json = false;
  int hotspots = 5;
};

int thermal_command(const ThermalArgs& a, std::ostream& out) {
  const auto t0 = std::chrono::steady_clock::now();
  const thermal::ThermalProblem p = thermal::ThermalProblem::load(a.floorplan);
  const thermal::SteadyReport r = thermal::solve_steady(p);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto spots = thermal::hotspot_cells(r.field.die_k, a.hotspots);
  const double cw = p.model.die_width_m / p.model.nx, ch = p.model.die_height_m / p.model.ny;
  if (!a.grid_csv.empty()) write_file_atomic(a.grid_csv, thermal::grid_csv(r.field.die_k));
  if (!a.heatmap.empty()) {
    HeatMap hm;
    hm.title = fmt::format("{}: die temperature, peak {:.2f} K", a.floorplan, r.stats.peak_k);
    hm.unit = "K";
    hm.rows = r.field.die_k.ny;
    hm.cols = r.field.die_k.nx;
    hm.values = r.field.die_k.values;
    hm.marks = spots;
    write_heatmap_png(a.heatmap, hm);
  }
  if (a.json) {
    nlohmann::json j = thermal::to_json(r, p);
    j["solve_ms"] = ms;
    j["hotspots"] = nlohmann::json::array();
    for (const auto& [row, col] : spots) {
      // Cell centre in die coordinates (x east, y north from the south-west corner).
      j["hotspots"].push_back({{"row", row}, {"col", col}, {"x_mm", (col + 0.5) * cw * 1e3},
                               {"y_mm", (p.model.die_height_m - (row + 0.5) * ch) * 1e3},
                               {"temperature_k", r.field.die_k.at(row, col)}});
    }
    out << j.dump(2) << "\n";
    return 0;
  }
  out << fmt::format("thermal: {} ({} discretisation, {} x {} grid, {} nodes, {:.1f} ms)\n", a.floorplan,
                     thermal::name_of(p.model.mode), p.model.nx, p.model.ny, r.field.rise_k.size(), ms);
  out << fmt::format("  power {:.4g} W in {} blocks; heat out through the sink {:.4g} W; ambient {:.2f} K\n",
                     r.total_power_w, p.floorplan.blocks.size(), r.field.heat_out_w, p.model.package.ambient_k);
  out << fmt::format("  die: peak {:.2f} K, mean {:.2f} K, std {:.3f} K, min {:.2f} K, p50/p90/p99 {:.2f}/{:.2f}/{:.2f} K\n",
                     r.stats.peak_k, r.stats.mean_k, r.stats.std_k, r.stats.min_k, r.stats.p50_k, r.stats.p90_k,
                     r.stats.p99_k);
  out << "  hotspots (local maxima):";
  for (const auto& [row, col] : spots) {
    out << fmt::format(" ({:.2f}, {:.2f}) mm {:.2f} K;", (col + 0.5) * cw * 1e3,
                       (p.model.die_height_m - (row + 0.5) * ch) * 1e3, r.field.die_k.at(row, col));
  }
  out << "\n" << fmt::format("  {:<16} {:>10} {:>10} {:>10}\n", "block", "mean K", "max K", "center K");
  for (const auto& b : r.blocks) out << fmt::format("  {:<16} {:>10.2f} {:>10.2f} {:>10.2f}\n", b.name, b.mean_k, b.max_k, b.center_k);
  return 0;
}

}  // namespace

void add_thermal(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("thermal", "Steady temperature of a die from a floorplan of powered blocks "
                                            "(docs/thermal.md; configs/examples/thermal_*.yaml)");
  auto a = std::make_shared<ThermalArgs>();
  cmd->add_option("--floorplan,-f", a->floorplan, "Problem file: die, blocks, stack, package, grid, mode")->required();
  cmd->add_flag("--json", a->json, "Print block temperatures, peak/mean/std/percentiles and hotspots as JSON");
  cmd->add_option("--grid-csv", a->grid_csv, "Write the die-layer grid (K, north row first) to this CSV file");
  cmd->add_option("--heatmap", a->heatmap, "Write the die-layer temperature map to this PNG file");
  cmd->add_option("--hotspots", a->hotspots, "How many hotspots (local maxima) to list (default 5)");
  cmd->callback([&action, a] { action = [a] { return thermal_command(*a, std::cout); }; });
}

}  // namespace cimkit::cli
