// `cimkit thermal --floorplan F.yaml`: the thermal solver on its own (a die, rectangular blocks
// with their power, the stack and package), so it can be used and checked without a network.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "cli/cost_job.hpp"
#include "cli/file_kind.hpp"
#include "core/paths.hpp"
#include "core/text.hpp"
#include "pipeline/chip_thermal.hpp"
#include "thermal/report.hpp"

namespace cimkit::cli {
namespace {

struct ThermalArgs {
  std::string floorplan, grid_csv, heatmap;
  bool json = false;
  int hotspots = 5;
  CostArgs chip;  // network mode: the network on the chip (as `cimkit cost`)
};

// Where the files went, for the end of the text output (with --json, its "written" object).
std::string written_text(const ThermalArgs& a) {
  std::string t;
  if (!a.grid_csv.empty()) t += "grid written to " + a.grid_csv + "\n";
  if (!a.heatmap.empty()) t += "heat map written to " + a.heatmap + "\n";
  return t;
}

nlohmann::json written(const ThermalArgs& a) {
  nlohmann::json w = nlohmann::json::object();
  if (!a.heatmap.empty()) w["heatmap"] = a.heatmap;
  if (!a.grid_csv.empty()) w["grid_csv"] = a.grid_csv;
  return w;
}

// The heat map is a PNG: refuse another name before any work is done.
void check_heatmap_name(const std::string& path) {
  if (path.empty()) return;
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext != ".png") {
    throw Error("--heatmap '" + path + "': the heat map is written as a PNG image; give a file name ending in .png");
  }
}

// Network mode: the network's shape-only cost on the architecture, its floorplan and power map,
// and the chip's steady temperature (no accuracy: nothing is trained or read).
int chip_thermal_command(const ThermalArgs& a, std::ostream& out) {
  const auto t0 = std::chrono::steady_clock::now();
  const CostSetup setup = load_cost_setup(a.chip);
  const cost::CostReport rep = setup.model.evaluate(setup.network);
  const ConfigNode* th = setup.root.find("thermal");
  pipeline::ChipThermalOptions opt = pipeline::ChipThermalOptions::from_config(th ? *th : ConfigNode(), "thermal");
  // Ambient: the config's operating temperature (default 300 K) unless the package gives one, as
  // in cimkit run.
  const ConfigNode* op = setup.root.find("operating");
  opt.default_ambient(
      parse_params(op ? *op : ConfigNode(), OperatingConditions::schema(), "operating").get_real("temperature_k"));
  const pipeline::ChipThermal heat = pipeline::solve_chip_thermal(pipeline::chip_floorplan(rep), opt);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!a.grid_csv.empty()) write_file_atomic(a.grid_csv, thermal::grid_csv(heat.steady.field.die_k));
  if (!a.heatmap.empty()) {
    heat.write_map_png(a.heatmap, fmt::format("{} on {}: die temperature, peak {:.2f} K", rep.network, rep.architecture,
                                              heat.steady.stats.peak_k));
  }
  if (a.json) {
    nlohmann::json j = heat.to_json();
    j["network"] = rep.network;
    j["arch"] = rep.architecture;
    j["cost_totals"] = rep.totals.to_json();
    j["seconds"] = ms / 1e3;
    j["written"] = written(a);
    out << j.dump(2) << "\n";
    return 0;
  }
  out << rep.summary_table() << heat.summary();
  const nlohmann::json layers = heat.to_json()["layers"];
  size_t w = 22;  // the name column fits the longest layer name
  for (const auto& l : layers) w = std::max(w, l["name"].get<std::string>().size());
  out << fmt::format("  {:<{}} {:>7} {:>12} {:>9} {:>9} {:>9}\n", "layer", w, "arrays", "array power", "min K",
                     "mean K", "max K");
  for (const auto& l : layers) {
    out << fmt::format("  {:<{}} {:>7} {:>12} {:>9.3f} {:>9.3f} {:>9.3f}\n", l["name"].get<std::string>(), w,
                       l["arrays"].get<int64_t>(), cost::format_si(l["array_power_w"].get<double>(), "W"),
                       l["min_k"].get<double>(), l["mean_k"].get<double>(), l["max_k"].get<double>());
  }
  out << fmt::format("  ({:.0f} ms)\n", ms) << written_text(a);
  return 0;
}

int thermal_command(const ThermalArgs& a, std::ostream& out) {
  check_heatmap_name(a.heatmap);
  for (const std::string* o : {&a.grid_csv, &a.heatmap})
    if (!o->empty()) resolve_output_path(*o);  // a bad output path fails before the solve
  if (!a.chip.config.empty()) {
    refuse_misplaced_file(a.chip.config, FileKind::Config,
                          {{FileKind::Floorplan, "use --floorplan " + a.chip.config},
                           {FileKind::LayerList, "use --network " + a.chip.config}});
  }
  if (!a.floorplan.empty()) {
    refuse_misplaced_file(a.floorplan, FileKind::Floorplan,
                          {{FileKind::Config, "give it as the config: cimkit thermal " + a.floorplan},
                           {FileKind::LayerList, "use --network " + a.floorplan}});
  }
  const bool network_mode = !a.chip.network.empty() || !a.chip.config.empty() || !a.chip.arch.empty();
  if (!a.floorplan.empty() && network_mode) {
    throw Error("cimkit thermal: give --floorplan F.yaml, or a network on a chip (--network / --arch / a config), not both");
  }
  if (a.floorplan.empty() && !network_mode) {
    throw Error("cimkit thermal: give --floorplan F.yaml (a die of powered blocks), or a network on a chip: --network "
                "NAME|FILE, --arch PRESET, or a config with chip / arch / thermal sections");
  }
  if (network_mode) return chip_thermal_command(a, out);
  const auto t0 = std::chrono::steady_clock::now();
  const thermal::ThermalProblem p = thermal::ThermalProblem::load(a.floorplan);
  const thermal::SteadyReport r = thermal::solve_steady(p);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto spots = thermal::hotspot_cells(r.field.die_k, a.hotspots);
  const double cw = p.model.die_width_m / p.model.nx, ch = p.model.die_height_m / p.model.ny;
  if (!a.grid_csv.empty()) write_file_atomic(a.grid_csv, thermal::grid_csv(r.field.die_k));
  if (!a.heatmap.empty()) {
    thermal::MapView view;  // the whole die, axes in mm, the hottest blocks labelled
    view.die_width_m = p.model.die_width_m;
    view.die_height_m = p.model.die_height_m;
    for (size_t i = 0; i < spots.size() && i < 3; ++i) {
      const double x = (spots[i].second + 0.5) * cw, y = p.model.die_height_m - (spots[i].first + 0.5) * ch;
      for (const auto& b : p.floorplan.blocks) {
        if (x >= b.x_m && x < b.x_m + b.width_m && y >= b.y_m && y < b.y_m + b.height_m) {
          view.labels.push_back({spots[i].first, spots[i].second,
                                 fmt::format("{} {:.2f} K", b.name, r.field.die_k.at(spots[i].first, spots[i].second))});
          break;
        }
      }
    }
    thermal::write_temperature_png(a.heatmap, fmt::format("{}: die temperature, peak {:.2f} K", a.floorplan, r.stats.peak_k),
                                   r.field.die_k, spots, view);
  }
  if (a.json) {
    nlohmann::json j = thermal::to_json(r, p);
    j["solve_ms"] = ms;
    j["written"] = written(a);
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
  size_t w = 16;  // the name column fits the longest block name
  for (const auto& b : r.blocks) w = std::max(w, b.name.size());
  out << "\n" << fmt::format("  {:<{}} {:>10} {:>10} {:>10}\n", "block", w, "mean K", "max K", "center K");
  for (const auto& b : r.blocks) {
    out << fmt::format("  {:<{}} {:>10.2f} {:>10.2f} {:>10.2f}\n", b.name, w, b.mean_k, b.max_k, b.center_k);
  }
  out << written_text(a);
  return 0;
}

}  // namespace

void add_thermal(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("thermal", "Steady temperature of a die: from a floorplan of powered blocks, or of a "
                                            "network's chip from its cost (docs/thermal.md)");
  auto a = std::make_shared<ThermalArgs>();
  cmd->add_option("--floorplan,-f", a->floorplan, "Problem file: die, blocks, stack, package, grid, mode");
  cmd->add_option("config", a->chip.config, "Network mode: a config with chip / arch / cost / thermal / model sections");
  cmd->add_option("--network,-n", a->chip.network, "Network mode: zoo model name or layer-list file");
  cmd->add_option("--arch", a->chip.arch, "Network mode: architecture preset: " + join(list_presets("arch"), ", "));
  cmd->add_option("--chip", a->chip.chip, "Network mode: chip preset (default: the architecture's own)");
  cmd->add_option("--input", a->chip.input, "Network mode, zoo networks: input shape CxHxW (default 3x32x32)");
  cmd->add_option("--set", a->chip.overrides, "Network mode: override a config key, e.g. thermal.package.r_convec_k_w=0.5");
  cmd->add_flag("--json", a->json, "Print block temperatures, peak/mean/std/percentiles and hotspots as JSON");
  cmd->add_option("--grid-csv", a->grid_csv, "Write the die-layer grid (K, north row first) to this CSV file");
  cmd->add_option("--heatmap", a->heatmap, "Write the die-layer temperature map to this PNG file");
  cmd->add_option("--hotspots", a->hotspots, "How many hotspots (local maxima) to list (default 5)")->check(CLI::Range(0, 1000));
  cmd->callback([&action, a] { action = [a] { return thermal_command(*a, std::cout); }; });
}

}  // namespace cimkit::cli
