#include "pipeline/chip_thermal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "core/params.hpp"

namespace cimkit::pipeline {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A near-square grid for n items: columns ceil(√n), rows ceil(n / columns).
std::pair<int, int> square_grid(int64_t n) {
  const int x = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n)) - 1e-9));
  return {x, static_cast<int>(ceil_div(n, x))};
}

}  // namespace

ChipFloorplan chip_floorplan(const cost::CostReport& report, const std::vector<std::vector<double>>& per_array_read_j) {
  const cost::ChipGeometry& g = report.geometry;
  if (g.tiles_on_chip < 1 || g.pes_per_tile < 1 || g.arrays_per_pe < 1 || g.tile_area_m2 <= 0) {
    throw Error("the cost report has no chip geometry (tiles, PEs per tile, arrays per PE, tile area) to place");
  }
  if (report.totals.interval_s <= 0) throw Error("the cost report has no pipeline interval to turn energy into power");
  ChipFloorplan p;
  std::tie(p.tiles_x, p.tiles_y) = square_grid(g.tiles_on_chip);
  std::tie(p.pes_x, p.pes_y) = square_grid(g.pes_per_tile);
  std::tie(p.slots_x, p.slots_y) = square_grid(g.arrays_per_pe);
  p.tile_side_m = std::sqrt(g.tile_area_m2);
  const double pe_w = p.tile_side_m / p.pes_x, pe_h = p.tile_side_m / p.pes_y;
  p.floorplan.width_m = p.tiles_x * p.tile_side_m;
  p.floorplan.height_m = p.tiles_y * p.tile_side_m;
  const double interval = report.totals.interval_s;
  int64_t next_tile = 0;
  for (size_t li = 0; li < report.layers.size(); ++li) {
    const cost::LayerCost& l = report.layers[li];
    p.layers.push_back(l.name);
    const int64_t arrays = l.arrays;  // with duplicates
    const int64_t pes = l.pes;
    if (next_tile + l.tiles > g.tiles_on_chip) throw Error("the network's tiles exceed the chip's; cost it first");
    // The layer's PEs fill its tiles in order; PE k sits in tile next_tile + k / pes_per_tile.
    // Inside a PE its arrays_per_pe array slots lie on a near-square grid; slot s of PE k holds
    // array k * arrays_per_pe + s (the cost model's packing) and an equal share of the PE's and
    // its tile's periphery power.
    const double tile_share = l.tile_energy_j / static_cast<double>(pes);
    const double pe_share = l.pe_energy_j / static_cast<double>(pes);
    const double slot_power = (pe_share + tile_share) / interval / static_cast<double>(g.arrays_per_pe);
    std::vector<int> slot_block(static_cast<size_t>(pes * g.arrays_per_pe));
    for (int64_t k = 0; k < pes; ++k) {
      const int64_t t = next_tile + k / g.pes_per_tile, in_tile = k % g.pes_per_tile;
      // Tiles in a snake: even tile rows west to east, odd rows east to west.
      const int64_t ty = t / p.tiles_x, tx0 = t % p.tiles_x, tx = ty % 2 == 0 ? tx0 : p.tiles_x - 1 - tx0;
      const int64_t py = in_tile / p.pes_x, px = in_tile % p.pes_x;
      // Row 0 of tiles and PEs at the north edge, as the grids are printed.
      const double pe_x = static_cast<double>(tx) * p.tile_side_m + static_cast<double>(px) * pe_w;
      const double pe_y = p.floorplan.height_m - static_cast<double>(ty + 1) * p.tile_side_m +
                          (p.tile_side_m - static_cast<double>(py + 1) * pe_h);
      for (int64_t sl = 0; sl < g.arrays_per_pe; ++sl) {
        const int64_t sy = sl / p.slots_x, sx = sl % p.slots_x;
        thermal::Block b;
        b.name = g.arrays_per_pe == 1 ? fmt::format("{}.pe{}", l.name, k) : fmt::format("{}.pe{}.a{}", l.name, k, sl);
        b.width_m = pe_w / p.slots_x;
        b.height_m = pe_h / p.slots_y;
        b.x_m = pe_x + static_cast<double>(sx) * b.width_m;
        b.y_m = pe_y + pe_h - static_cast<double>(sy + 1) * b.height_m;
        b.power_w = slot_power;
        slot_block[static_cast<size_t>(k * g.arrays_per_pe + sl)] = static_cast<int>(p.floorplan.blocks.size());
        p.floorplan.blocks.push_back(b);
      }
    }
    next_tile += l.tiles;
    // Arrays: array a (of all duplicates) in slot a; its read power from the engine's per-array
    // figure (the same for every duplicate), else an equal share.
    const bool measured = li < per_array_read_j.size() && !per_array_read_j[li].empty();
    const int64_t base_arrays = arrays / std::max<int64_t>(1, l.duplication);
    if (measured && static_cast<int64_t>(per_array_read_j[li].size()) != base_arrays) {
      throw Error(fmt::format("layer {}: {} per-array read energies for {} arrays", l.name, per_array_read_j[li].size(),
                              base_arrays));
    }
    double measured_total = 0;
    if (measured)
      for (double e : per_array_read_j[li]) measured_total += e;
    std::vector<int> blocks(static_cast<size_t>(arrays));
    std::vector<double> power(static_cast<size_t>(arrays));
    for (int64_t a = 0; a < arrays; ++a) {
      const int blk = slot_block[static_cast<size_t>(std::min<int64_t>(pes * g.arrays_per_pe - 1, a))];
      double e = l.array_energy_j / static_cast<double>(arrays);
      // Measured energies keep the layer's array total (one duplicate reads a 1/d share of the
      // vectors) and distribute it as the engine saw it.
      if (measured && measured_total > 0) {
        e = l.array_energy_j * per_array_read_j[li][static_cast<size_t>(a % base_arrays)] / measured_total /
            static_cast<double>(std::max<int64_t>(1, l.duplication));
      }
      blocks[static_cast<size_t>(a)] = blk;
      power[static_cast<size_t>(a)] = e / interval;
      p.floorplan.blocks[static_cast<size_t>(blk)].power_w += e / interval;
    }
    p.array_block.push_back(std::move(blocks));
    p.array_power_w.push_back(std::move(power));
  }
  for (const auto& b : p.floorplan.blocks) p.total_power_w += b.power_w;
  return p;
}

Schema ChipThermalOptions::schema() {
  Schema s("thermal", "The chip's temperature from the cost model's power map, fed back into the cells (docs/thermal.md). "
                      "Also takes the thermal problem keys mode, solver, stack and package.");
  s.boolean("enabled", "Solve the chip's steady temperature after the cost model (cimkit run)").def(true);
  s.boolean("feedback", "Read every array at its temperature and report the accuracy with heat").def(true);
  s.integer("cells_per_pe", "Grid cells along each side of a PE (the grid is tiles x PEs x this)").range(1, 16).def(int64_t{1});
  return s;
}

ChipThermalOptions ChipThermalOptions::from_config(const ConfigNode& section, const std::string& path) {
  ChipThermalOptions o;
  ConfigNode scalars = ConfigNode::map(section.loc());
  o.problem = ConfigNode::map(section.loc());
  if (!section.is_null()) {
    if (!section.is_map()) throw ConfigError(section.loc(), path, "a map of thermal settings");
    for (const auto& [k, v] : section.items()) {
      if (k == "mode" || k == "solver" || k == "stack" || k == "package" || k == "sources") o.problem.set(k, v);
      else scalars.set(k, v);
    }
  }
  const Params p = parse_params(scalars, schema(), path);
  o.enabled = p.get_bool("enabled");
  o.feedback = p.get_bool("feedback");
  o.cells_per_pe = static_cast<int>(p.get_int("cells_per_pe"));
  return o;
}

void ChipThermalOptions::default_ambient(double kelvin) {
  if (problem.has("package") && problem.find("package")->has("ambient_k")) return;
  ConfigNode pk = problem.has("package") ? *problem.find("package") : ConfigNode::map({"<default>", 0});
  pk.set("ambient_k", ConfigNode::scalar(fmt::format("{}", kelvin), {"operating.temperature_k", 0}));
  problem.set("package", pk);
}

void ChipThermal::write_map_png(const std::string& path, const std::string& title) const {
  // A small network on a large chip: only the used tiles and one tile around them; the three
  // hottest arrays labelled with their block names.
  thermal::MapView view = thermal::crop_to_blocks(steady.field.die_k, problem.model.die_width_m,
                                                  problem.model.die_height_m, plan.floorplan.blocks, plan.tile_side_m);
  for (size_t i = 0; i < hotspots.size() && i < 3; ++i) {
    if (!hotspot_blocks[i].empty()) {
      view.labels.push_back({hotspots[i].first, hotspots[i].second,
                             fmt::format("{} {:.2f} K", hotspot_blocks[i],
                                         steady.field.die_k.at(hotspots[i].first, hotspots[i].second))});
    }
  }
  thermal::write_temperature_png(path, title, steady.field.die_k, hotspots, view);
}

ChipThermal solve_chip_thermal(const ChipFloorplan& plan, const ChipThermalOptions& opt) {
  ChipThermal r;
  r.plan = plan;
  const int nx = plan.tiles_x * plan.pes_x * opt.cells_per_pe, ny = plan.tiles_y * plan.pes_y * opt.cells_per_pe;
  r.problem = thermal::ThermalProblem::from_config(opt.problem, plan.floorplan, nx, ny, "thermal");
  r.steady = thermal::solve_steady(r.problem);
  for (size_t li = 0; li < plan.array_block.size(); ++li) {
    std::vector<double> t;
    t.reserve(plan.array_block[li].size());
    for (int blk : plan.array_block[li]) t.push_back(r.steady.blocks[static_cast<size_t>(blk)].mean_k);
    r.array_temperature_k.push_back(std::move(t));
  }
  r.hotspots = thermal::hotspot_cells(r.steady.field.die_k, 5);
  const double cw = r.problem.model.die_width_m / nx, ch = r.problem.model.die_height_m / ny;
  for (const auto& [row, col] : r.hotspots) {
    const double x = (col + 0.5) * cw, y = r.problem.model.die_height_m - (row + 0.5) * ch;
    std::string name;
    for (const auto& b : plan.floorplan.blocks) {
      if (x >= b.x_m && x < b.x_m + b.width_m && y >= b.y_m && y < b.y_m + b.height_m) {
        name = b.name;
        break;
      }
    }
    r.hotspot_blocks.push_back(name);
  }
  return r;
}

nlohmann::json ChipThermal::to_json() const {
  nlohmann::json j = thermal::to_json(steady, problem);
  j.erase("blocks");  // one per PE: in the grid CSV and the per-layer figures instead
  j["die_mm"] = {problem.model.die_width_m * 1e3, problem.model.die_height_m * 1e3};
  j["tiles"] = {plan.tiles_x, plan.tiles_y};
  j["pes_per_tile"] = {plan.pes_x, plan.pes_y};
  j["power_on_map_w"] = plan.total_power_w;
  j["hotspots"] = nlohmann::json::array();
  for (size_t i = 0; i < hotspots.size(); ++i) {
    j["hotspots"].push_back({{"row", hotspots[i].first},
                             {"col", hotspots[i].second},
                             {"temperature_k", steady.field.die_k.at(hotspots[i].first, hotspots[i].second)},
                             {"block", hotspot_blocks[i]}});
  }
  const auto q = array_quantiles();
  j["arrays"] = {{"min_k", q[0]}, {"p25_k", q[1]}, {"median_k", q[2]}, {"p75_k", q[3]}, {"max_k", q[4]}};
  for (size_t li = 0; li < plan.layers.size(); ++li) {
    const auto& t = array_temperature_k[li];
    double lo = 1e300, hi = -1e300, sum = 0;
    for (double v : t) lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
    double p = 0;
    for (double v : plan.array_power_w[li]) p += v;
    j["layers"].push_back({{"name", plan.layers[li]},
                           {"arrays", t.size()},
                           {"array_power_w", p},
                           {"min_k", lo},
                           {"mean_k", sum / static_cast<double>(t.size())},
                           {"max_k", hi}});
  }
  return j;
}

std::array<double, 5> ChipThermal::array_quantiles() const {
  std::vector<double> arrays;
  for (const auto& layer : array_temperature_k) arrays.insert(arrays.end(), layer.begin(), layer.end());
  if (arrays.empty()) throw Error("the chip's thermal solution has no arrays to take the temperature distribution of");
  std::sort(arrays.begin(), arrays.end());
  std::array<double, 5> out{};
  const double qs[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
  for (size_t i = 0; i < 5; ++i) {
    const double pos = qs[i] * static_cast<double>(arrays.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, arrays.size() - 1);
    out[i] = arrays[lo] + (pos - static_cast<double>(lo)) * (arrays[hi] - arrays[lo]);
  }
  return out;
}

std::string ChipThermal::summary() const {
  std::ostringstream o;
  const auto& s = steady.stats;
  o << fmt::format("thermal: {:.4g} W on a {:.2f} x {:.2f} mm die ({} x {} tiles, {} x {} grid, {} discretisation), "
                   "ambient {:.2f} K\n",
                   plan.total_power_w, problem.model.die_width_m * 1e3, problem.model.die_height_m * 1e3, plan.tiles_x,
                   plan.tiles_y, problem.model.nx, problem.model.ny, thermal::name_of(problem.model.mode),
                   problem.model.package.ambient_k);
  o << fmt::format("  die: peak {:.2f} K, mean {:.2f} K, std {:.3f} K, p50/p90/p99 {:.2f}/{:.2f}/{:.2f} K\n", s.peak_k,
                   s.mean_k, s.std_k, s.p50_k, s.p90_k, s.p99_k);
  if (!hotspots.empty()) {
    o << "  hotspots:";
    for (size_t i = 0; i < hotspots.size() && i < 3; ++i) {
      o << fmt::format(" {} {:.2f} K;", hotspot_blocks[i].empty() ? std::string("(idle area)") : hotspot_blocks[i],
                       steady.field.die_k.at(hotspots[i].first, hotspots[i].second));
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace cimkit::pipeline
