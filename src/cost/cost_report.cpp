#include "cost/cost_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "cost/cost_detail.hpp"
#include "cost/mnsim_tables.hpp"
#include "crossbar/slicing.hpp"

namespace cimkit::cost {

// ---------------------------------------------------------------------------------------------
// Reports.

nlohmann::json LayerCost::to_json() const {
  nlohmann::json j = {{"name", name},
                      {"kind", kind},
                      {"weight_bits", weight_bits},
                      {"input_bits", input_bits},
                      {"adc_bits", adc_bits},
                      {"macs", macs},
                      {"vectors", vectors},
                      {"duplication", duplication},
                      {"n_arrays", arrays},
                      {"n_pes", pes},
                      {"n_tiles", tiles},
                      {"cell_utilisation", cell_utilisation},
                      {"pe_utilisation", pe_utilisation},
                      {"dac_conversions", dac_conversions},
                      {"array_reads", array_reads},
                      {"adc_conversions", adc_conversions},
                      {"energy_j", energy_j},
                      {"latency_s", latency_s},
                      {"area_m2", area_m2},
                      {"edp_js", energy_j * latency_s},
                      {"tops_per_w", energy_j > 0 ? 2.0 * static_cast<double>(macs) / energy_j / 1e12 : 0.0},
                      {"start_s", start_s},
                      {"finish_s", finish_s},
                      {"read_energy", measured_read_energy ? "measured" : "shape estimate"},
                      {"array_energy_j", array_energy_j},
                      {"pe_energy_j", pe_energy_j},
                      {"tile_energy_j", tile_energy_j}};
  for (const auto& [n, c] : components) {
    j["components"][n] = {{"energy_j", c.energy_j}, {"actions", c.actions}};
    if (c.busy_s > 0) j["components"][n]["busy_s"] = c.busy_s;
  }
  return j;
}

nlohmann::json CostTotals::to_json() const {
  return {{"n_arrays", n_arrays},
          {"n_pes", n_pes},
          {"n_tiles", n_tiles},
          {"macs", macs},
          {"energy_j", energy_j},
          {"energy_per_inference_j", energy_per_inference_j},
          {"leakage_energy_j", leakage_energy_j},
          {"latency_s", latency_s},
          {"interval_s", interval_s},
          {"area_m2", area_m2},
          {"chip_area_m2", chip_area_m2},
          {"edp_js", edp_js},
          {"tops", tops},
          {"throughput_tops", throughput_tops},
          {"tops_per_w", tops_per_w},
          {"tops_per_mm2", tops_per_mm2}};
}

nlohmann::json CostReport::to_json() const {
  nlohmann::json j;
  j["network"] = network;
  j["arch"] = architecture;
  j["conventions"] = conventions;
  j["totals"] = totals.to_json();
  j["geometry"] = {{"tiles_on_chip", geometry.tiles_on_chip}, {"pes_per_tile", geometry.pes_per_tile},
                   {"arrays_per_pe", geometry.arrays_per_pe}, {"tile_area_m2", geometry.tile_area_m2},
                   {"pe_area_m2", geometry.pe_area_m2}};
  j["layers"] = nlohmann::json::array();
  for (const auto& l : layers) j["layers"].push_back(l.to_json());
  for (const auto& [n, c] : components) {
    j["components"][n] = {{"energy_j", c.energy_j}, {"area_m2", c.area_m2}, {"actions", c.actions}};
  }
  return j;
}

std::string format_si(double v, const std::string& unit) {
  const char* prefixes[] = {"f", "p", "n", "u", "m", "", "k", "M", "G", "T"};
  if (v == 0) return "0 " + unit;
  int e = static_cast<int>(std::floor(std::log10(std::fabs(v)) / 3));
  e = std::clamp(e, -5, 4);
  return fmt::format("{:.4g} {}{}", v / std::pow(1000.0, e), prefixes[e + 5], unit);
}

namespace {
std::string si(double v, const std::string& unit) { return format_si(v, unit); }
}  // namespace

std::string CostReport::summary_table() const {
  std::ostringstream o;
  const CostTotals& t = totals;
  o << fmt::format("cost: {} on {} ({} conventions)\n", network, architecture, conventions);
  o << fmt::format("  energy / inference {:>14}   latency {:>12}   EDP {:>12}\n", si(t.energy_j, "J"), si(t.latency_s, "s"),
                   si(t.edp_js, "Js"));
  o << fmt::format("  area (tiles used)  {:>14}   TOPS/W  {:>12.4g}   TOPS/mm^2 {:.4g}\n", fmt::format("{:.4g} mm^2", t.area_m2 * 1e6),
                   t.tops_per_w, t.tops_per_mm2);
  o << fmt::format("  TOPS (1 inference) {:>14.4g}   pipeline interval {} ({:.4g} TOPS streaming)\n", t.tops,
                   si(t.interval_s, "s"), t.throughput_tops);
  o << fmt::format("  arrays {}   PEs {}   tiles {}   MACs {}\n", t.n_arrays, t.n_pes, t.n_tiles, t.macs);
  return o.str();
}

std::string CostReport::component_table() const {
  std::ostringstream o;
  double e_total = 0, a_total = 0;
  for (const auto& [n, c] : components) e_total += c.energy_j, a_total += c.area_m2;
  size_t w = 18;  // the name column fits the longest name
  for (const auto& [n, c] : components) w = std::max(w, n.size());
  o << fmt::format("  {:<{}} {:>12} {:>7} {:>14} {:>7}\n", "component", w, "energy", "%", "area mm^2", "%");
  std::vector<std::pair<std::string, ComponentCost>> rows(components.begin(), components.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.energy_j > b.second.energy_j; });
  for (const auto& [n, c] : rows) {
    if (c.energy_j == 0 && c.area_m2 == 0) continue;
    o << fmt::format("  {:<{}} {:>12} {:>6.1f}% {:>14.6g} {:>6.1f}%\n", n, w, si(c.energy_j, "J"),
                     e_total > 0 ? 100 * c.energy_j / e_total : 0.0, c.area_m2 * 1e6,
                     a_total > 0 ? 100 * c.area_m2 / a_total : 0.0);
  }
  return o.str();
}

std::string CostReport::layers_csv() const {
  std::ostringstream o;
  o << "layer,kind,weight_bits,input_bits,adc_bits,macs,vectors,duplication,n_arrays,n_pes,n_tiles,cell_utilisation,"
       "energy_j,latency_s,area_m2,start_s,finish_s\n";
  for (const auto& l : layers) {
    o << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g}\n", l.name, l.kind,
                     l.weight_bits, l.input_bits, l.adc_bits, l.macs, l.vectors, l.duplication, l.arrays, l.pes, l.tiles,
                     l.cell_utilisation, l.energy_j, l.latency_s, l.area_m2, l.start_s, l.finish_s);
  }
  return o.str();
}

}  // namespace cimkit::cost
