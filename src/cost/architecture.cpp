#include "cost/architecture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/text.hpp"

namespace cimkit::cost {
namespace {

double number(const ConfigNode& parent, const std::string& key, const std::string& path, double lo, bool lo_open) {
  const ConfigNode* n = parent.find(key);
  double v = 0;
  try {
    size_t used = 0;
    v = std::stod(n->value(), &used);
    if (used != n->value().size() || !n->is_scalar()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw ConfigError(n->loc(), path + "." + key, "'" + n->value() + "' is not a number");
  }
  if (!std::isfinite(v) || v < lo || (lo_open && v == lo)) {
    throw ConfigError(n->loc(), path + "." + key, fmt::format("{} is out of range; allowed: {} {}", n->value(),
                                                              lo_open ? ">" : ">=", lo));
  }
  return v;
}

// A per-unit value from `key` (per unit) or `key_total` (all `count` units); exactly one may be given.
double per_unit(const ConfigNode& c, const std::string& key, const std::string& path, double count, double scale) {
  const bool unit = c.has(key), total = c.has(key + "_total");
  if (unit && total) throw ConfigError(c.loc(), path, "give " + key + " or " + key + "_total, not both");
  if (unit) return number(c, key, path, 0, false) * scale;
  if (total) return number(c, key + "_total", path, 0, false) * scale / count;
  return 0.0;
}

Role parse_role(const ConfigNode& n, const std::string& path) {
  const auto& names = role_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == n.value()) return static_cast<Role>(i);
  throw ConfigError(n.loc(), path, "'" + n.value() + "' is not a component role" + did_you_mean_hint(n.value(), names) +
                                       "; allowed: " + join(names, ", "));
}

// A role from the component's name when none is given ("adc", "dac", "crossbar" -> array, ...).
Role role_from_name(const std::string& name) {
  static const std::vector<std::pair<std::string, Role>> by_name = {
      {"adc", Role::Adc},           {"dac", Role::Dac},           {"crossbar", Role::Array},
      {"array", Role::Array},       {"sample_hold", Role::SampleHold}, {"shift_add", Role::ShiftAdd},
      {"input_register", Role::InputRegister}, {"output_register", Role::OutputRegister},
      {"edram_buffer", Role::Buffer}, {"buffer", Role::Buffer},   {"edram_ima_bus", Role::Bus},
      {"bus", Role::Bus},           {"router", Role::Router},     {"sigmoid", Role::Activation},
      {"activation", Role::Activation}, {"max_pool", Role::Pooling}, {"pooling", Role::Pooling},
      {"accumulator", Role::Accumulator}, {"hypertransport", Role::OffChip}, {"off_chip", Role::OffChip}};
  for (const auto& [n, r] : by_name)
    if (n == name) return r;
  return Role::Other;
}

}  // namespace

const std::vector<std::string>& role_names() {
  static const std::vector<std::string> names = {"adc",    "dac",        "array",   "sample_hold", "shift_add",
                                                 "input_register", "output_register", "buffer", "bus", "router",
                                                 "activation", "pooling", "accumulator", "off_chip", "other"};
  return names;
}

std::string to_string(Role r) { return role_names()[static_cast<size_t>(r)]; }

Schema Timing::schema() {
  Schema s("arch.timing", "Timing conventions of the native cost model (conventions: native).");
  s.real("array_read_ns", "One crossbar read, per input slice; 0: the chip's DAC read pulse (ISAAC: 100 ns)")
      .at_least(0).def(0.0).with_unit("ns");
  s.boolean("overlap_adc", "The ADCs convert read k while read k+1 happens (ISAAC's pipeline); else the two add up")
      .def(true);
  s.boolean("pipeline", "Layers run as a pipeline with line buffers (ISAAC-style); else one layer after another")
      .def(true);
  s.real("digital_cycles", "Clock cycles per input vector for shift-add, partial-sum accumulation and activation")
      .at_least(0).def(1.0);
  return s;
}

Schema Architecture::schema() {
  Schema s("arch", "The chip's hardware hierarchy and its components' energy, latency and area (cost model).");
  s.string("preset", "An architecture preset: configs/presets/arch/NAME.yaml (cimkit list arch); a config without an "
           "arch section uses " + std::string(kDefaultPreset) + ", and --set arch.KEY=VALUE refines it");
  s.real("technology_nm", "Technology node the component values are quoted at (required without a preset)").above(0)
      .with_unit("nm");
  s.real("clock_ghz", "Digital clock (required without a preset)").above(0).with_unit("GHz");
  s.choice("conventions", {"native", "mnsim"}, "native: cimkit's action-count model over `levels`; mnsim: MNSIM 2.0's "
           "mapping, latency, energy and area conventions over the `mnsim` section").def(std::string("native"));
  s.string("chip", "The chip preset this architecture carries, used when a config gives no chip section").def(std::string(""));
  s.choice("adc_scaling", {"table", "walden"}, "ADC energy and area vs resolution: table (Accelergy/Saberi 32 nm table as "
           "ratios) or walden (x2 per bit)").def(std::string("table"));
  s.boolean("share_tiles", "Layers may share a tile (PEs packed layer after layer); else each layer takes whole tiles")
      .def(false);
  s.real("adc_rate_gsps", "Run every ADC at this sampling rate instead of its preset's: conversion time 1/rate, power "
         "x rate at a constant energy per conversion (Walden FOM; below the node's speed knee)").above(0).with_unit("GS/s");
  return s;
}

std::vector<Architecture::SectionKey> Architecture::structure() {
  return {{"levels", "list", "Levels from the PE outwards: {name, role: pe|tile|chip, count, components: [...]}; "
                             "required without a preset (docs/cost.md)"},
          {"timing", "section", "Timing conventions (cimkit describe arch.timing); absent: its defaults"},
          {"mnsim", "section", "MNSIM 2.0 parameters (cimkit describe arch.mnsim); conventions: mnsim only"},
          {"sources", "list", "Where every number comes from (strings)"}};
}

Schema Architecture::mnsim_schema() {
  // Defaults: MNSIM 2.0's shipped SimConfig.ini (thu-nics/MNSIM-2.0 at ca39ccb), read in
  // ../shared/reference/mnsim.md §1; the crossbar size, bits per cell, DAC/ADC resolution and
  // weight/input widths come from the chip section instead.
  Schema s("arch.mnsim", "MNSIM 2.0's SimConfig parameters (conventions: mnsim); defaults as MNSIM ships them.");
  s.integer("subarray_rows", "Subarray_Size: rows per sub-array; DACs and ADCs are per sub-array (0: all rows)")
      .at_least(0).def(int64_t{0});
  s.real("read_latency_ns", "Read_Latency: device read time (NTHU ISSCC'19)").above(0).def(3.16).with_unit("ns");
  s.real("device_area_um2", "Device_Area: one cell (Area_Calculation 0)").above(0).def(1.44).with_unit("um^2");
  s.real("row_driver_area_um2", "Per-row driver area added to the crossbar (MNSIM Crossbar.py: 1150 um^2)")
      .at_least(0).def(1150.0).with_unit("um^2");
  s.real("transistor_tech_nm", "Transistor_Tech: mux/demux area 10*T^2 um^2 per transistor").above(0).def(130.0)
      .with_unit("nm");
  s.integer("adc_bits", "The resolution the ADC figures below are quoted at (ADC_Choice 6: 6 bits)").range(1, 16)
      .def(int64_t{6});
  s.real("adc_power_mw", "ADC power (ADC_Choice 6 'ASPDAC2': 1.26 mW)").above(0).def(1.26).with_unit("mW");
  s.real("adc_area_um2", "ADC area (ADC_Choice 6: 1650 um^2)").above(0).def(1650.0).with_unit("um^2");
  s.real("adc_rate_gsps", "ADC sample rate (ADC_Choice 6: 1 GS/s); conversion time (bits+2)/rate").above(0).def(1.0)
      .with_unit("GS/s");
  s.real("dac_power_uw_1bit", "1-bit DAC power (DAC_Choice 1, from ISAAC: 3.9 uW); x2 per extra bit (MNSIM's DAC table)")
      .above(0).def(3.9).with_unit("uW");
  s.real("dac_area_um2_1bit", "1-bit DAC area (DAC_Choice 1: 0.166 um^2); x2 per extra bit").above(0).def(0.166)
      .with_unit("um^2");
  s.real("dac_rate_gsps", "DAC sample rate (MNSIM forces 1 GS/s); conversion time (bits+2)/rate").above(0).def(1.0)
      .with_unit("GS/s");
  s.integer("dac_num", "DAC_Num: DACs per sub-array per group").at_least(1).def(int64_t{128});
  s.integer("adc_num", "ADC_Num: ADCs per sub-array per group").at_least(1).def(int64_t{128});
  s.integer("polarity", "Xbar_Polarity: 1 (signed slices in one crossbar) or 2 (positive and negative crossbars)")
      .range(1, 2).def(int64_t{2});
  s.integer("group_num", "Group_Num: crossbar groups per PE (each holds weight bit slices)").at_least(1).def(int64_t{1});
  s.real("digital_mhz", "Digital_Frequency").above(0).def(500.0).with_unit("MHz");
  s.integer("pe_num_x", "PE_Num: PEs per tile, x").at_least(1).def(int64_t{2});
  s.integer("pe_num_y", "PE_Num: PEs per tile, y").at_least(1).def(int64_t{2});
  s.integer("tile_num_x", "Tile_Num: tiles, x").at_least(1).def(int64_t{64});
  s.integer("tile_num_y", "Tile_Num: tiles, y").at_least(1).def(int64_t{64});
  s.real("shiftreg_tech_nm", "ShiftReg_Tech (area 1.42*(T/65)^2 um^2, power 8.1e-7*(T/65)^2 W)").above(0).def(65.0)
      .with_unit("nm");
  s.real("reg_tech_nm", "Reg_Tech (area 1.4256*(T/65)^2 um^2, power 18.8e-9*(T/65)^2 W)").above(0).def(45.0).with_unit("nm");
  s.real("adder_tech_nm", "Adder_Tech (area 10*14*T^2/1e6 um^2 per bit, 2.5e-9 W per bit)").above(0).def(45.0)
      .with_unit("nm");
  s.real("joint_tech_nm", "JointModule_Tech (8-bit node: 353.76*(T/65)^2 um^2, 2.64e-4*(T/65)^2 W)").above(0).def(45.0)
      .with_unit("nm");
  s.real("pooling_tech_nm", "Pooling_Tech (65 nm, 64 units: 91917.1562 um^2, 3.082 mW)").above(0).def(65.0)
      .with_unit("nm");
  s.integer("pooling_units", "Pooling_unit_num per tile").at_least(1).def(int64_t{64});
  s.real("inter_tile_gbps", "Inter_Tile_Bandwidth").above(0).def(20.0).with_unit("Gbit/s");
  s.real("intra_tile_gbps", "Intra_Tile_Bandwidth").above(0).def(1024.0).with_unit("Gbit/s");
  s.real("buffer_tech_nm", "Buffer_Technology: SRAM table bin (>= 90, >= 65, else)").above(0).def(90.0).with_unit("nm");
  s.integer("buffer_bitwidth", "Buffer_Bitwidth: SRAM bus width").at_least(1).def(int64_t{64}).with_unit("bit");
  s.real("pe_inbuf_kb", "PE_inBuf_Size (0: sized by the mapper, the largest layer's line buffer per PE)").at_least(0)
      .def(0.0).with_unit("KB");
  s.real("tile_outbuf_kb", "Tile_outBuf_Size (0: sized by the mapper, two output vectors per tile)").at_least(0).def(0.0)
      .with_unit("KB");
  s.real("input_fraction_ones", "Fraction of '1' inputs in MNSIM's average cell read power (0.1)").range(0, 1).def(0.1);
  s.real("cell_fraction_hrs", "Weight of 1/R_HRS in MNSIM's average cell conductance (0.67)").range(0, 1).def(0.67);
  return s;
}

size_t Architecture::level_index(LevelRole role) const {
  for (size_t i = 0; i < levels_.size(); ++i)
    if (levels_[i].role == role) return i;
  if (role == LevelRole::Tile) return level_index(LevelRole::Chip);
  throw Error("the architecture has no " + std::string(role == LevelRole::Pe ? "pe" : "chip") + " level");
}

Architecture Architecture::preset(const std::string& name) {
  ConfigNode section = ConfigNode::map({"<api>", 0});
  section.set("preset", ConfigNode::scalar(name, {"<api>", 0}));
  return from_config(section, "arch");
}

Architecture Architecture::from_config(const ConfigNode& raw, const std::string& path) {
  const ConfigNode node = expand_preset(raw, "arch", path);
  static const std::set<std::string> top = {"sources", "technology_nm", "clock_ghz", "levels", "conventions",
                                            "chip", "timing", "adc_scaling", "mnsim", "share_tiles", "adc_rate_gsps"};
  for (const auto& [k, v] : node.items()) {
    if (!top.count(k)) {
      throw ConfigError(v.loc(), path + "." + k, "unknown key" +
                                                     did_you_mean_hint(k, std::vector<std::string>(top.begin(), top.end())) +
                                                     "; allowed: " + join(std::vector<std::string>(top.begin(), top.end()), ", "));
    }
  }
  Architecture a;
  if (raw.has("preset")) a.name_ = raw.find("preset")->value();
  if (const ConfigNode* src = node.find("sources")) {
    for (const auto& e : src->elements()) a.sources_.push_back(e.value());
  }
  auto text_choice = [&](const std::string& key, const std::vector<std::string>& allowed, std::string def) {
    const ConfigNode* n = node.find(key);
    if (!n) return def;
    if (std::find(allowed.begin(), allowed.end(), n->value()) == allowed.end()) {
      throw ConfigError(n->loc(), path + "." + key, "'" + n->value() + "' is not allowed" +
                                                        did_you_mean_hint(n->value(), allowed) + "; allowed: " + join(allowed, ", "));
    }
    return n->value();
  };
  a.conventions_ = text_choice("conventions", {"native", "mnsim"}, "native");
  a.adc_scaling_ = text_choice("adc_scaling", {"table", "walden"}, "table") == "table" ? AdcScaling::Table : AdcScaling::Walden;
  if (const ConfigNode* c = node.find("chip")) a.default_chip_ = c->value();
  a.share_tiles_ = text_choice("share_tiles", {"true", "false"}, "false") == "true";
  if (node.has("adc_rate_gsps")) a.adc_rate_hz_ = number(node, "adc_rate_gsps", path, 0, true) * 1e9;
  {
    const ConfigNode* t = node.find("timing");
    const Params tp = parse_params(t ? *t : ConfigNode(), Timing::schema(), path + ".timing");
    a.timing_.array_read_s = tp.get_real("array_read_ns") * 1e-9;
    a.timing_.overlap_adc = tp.get_bool("overlap_adc");
    a.timing_.pipeline = tp.get_bool("pipeline");
    a.timing_.digital_cycles = tp.get_real("digital_cycles");
  }
  {
    const ConfigNode* m = node.find("mnsim");
    if (m && a.conventions_ != "mnsim") {
      throw ConfigError(m->loc(), path + ".mnsim", "an mnsim section needs conventions: mnsim");
    }
    a.mnsim_ = parse_params(m ? *m : ConfigNode(), mnsim_schema(), path + ".mnsim");
  }
  if (a.conventions_ == "mnsim") {
    // MNSIM's hierarchy is implied by its parameters; levels, when given, are ignored by the
    // MNSIM model but still validated below.
    if (!node.has("technology_nm") || !node.has("clock_ghz")) {
      throw ConfigError(node.loc(), path, "needs technology_nm and clock_ghz");
    }
    a.technology_nm_ = number(node, "technology_nm", path, 0, true);
    a.clock_hz_ = number(node, "clock_ghz", path, 0, true) * 1e9;
    if (!node.has("levels")) return a;
  }
  if (!node.has("technology_nm") || !node.has("clock_ghz") || !node.has("levels")) {
    throw ConfigError(node.loc(), path, "needs technology_nm, clock_ghz and levels");
  }
  a.technology_nm_ = number(node, "technology_nm", path, 0, true);
  a.clock_hz_ = number(node, "clock_ghz", path, 0, true) * 1e9;
  const ConfigNode& levels = *node.find("levels");
  if (!levels.is_seq() || levels.elements().empty()) throw ConfigError(levels.loc(), path + ".levels", "a non-empty list of levels");
  static const std::set<std::string> comp_keys = {
      "name",        "spec",  "count",    "power_mw",  "power_mw_total", "area_mm2", "area_mm2_total",
      "energy_pj",   "action", "source",  "role",      "leakage_mw",     "latency_ns", "bits",
      "rate_gsps",   "rows",  "cols",     "width_bits", "tech_nm", "price"};
  static const std::set<std::string> level_keys = {"name", "role", "count", "components"};
  std::set<std::string> level_names;
  for (size_t i = 0; i < levels.elements().size(); ++i) {
    const ConfigNode& l = levels.elements()[i];
    const std::string lp = fmt::format("{}.levels[{}]", path, i);
    if (!l.is_map() || !l.has("name")) throw ConfigError(l.loc(), lp, "a level is a map with name, count, components");
    for (const auto& [k, v] : l.items()) {
      if (!level_keys.count(k)) {
        throw ConfigError(v.loc(), lp + "." + k, "unknown key" +
                                                     did_you_mean_hint(k, std::vector<std::string>(level_keys.begin(), level_keys.end())) +
                                                     "; allowed: name, role, count, components");
      }
    }
    Level lv;
    lv.name = l.find("name")->value();
    // Role: given, or by position (first: pe, last: chip, in between: tile).
    const size_t n_levels = levels.elements().size();
    lv.role = i == 0 ? LevelRole::Pe : (i + 1 == n_levels ? LevelRole::Chip : LevelRole::Tile);
    if (const ConfigNode* r = l.find("role")) {
      const std::vector<std::string> allowed = {"pe", "tile", "chip"};
      if (r->value() == "pe") lv.role = LevelRole::Pe;
      else if (r->value() == "tile") lv.role = LevelRole::Tile;
      else if (r->value() == "chip") lv.role = LevelRole::Chip;
      else throw ConfigError(r->loc(), lp + ".role", "'" + r->value() + "' is not a level role" +
                                                          did_you_mean_hint(r->value(), allowed) + "; allowed: pe, tile, chip");
    }
    if (!level_names.insert(lv.name).second) throw ConfigError(l.loc(), lp + ".name", "duplicate level '" + lv.name + "'");
    lv.count = l.has("count") ? number(l, "count", lp, 0, true) : 1.0;
    if (const ConfigNode* comps = l.find("components")) {
      for (size_t j = 0; j < comps->elements().size(); ++j) {
        const ConfigNode& c = comps->elements()[j];
        const std::string cp = fmt::format("{}.components[{}]", lp, j);
        for (const auto& [k, v] : c.items()) {
          if (!comp_keys.count(k)) {
            throw ConfigError(v.loc(), cp + "." + k,
                              "unknown key" + did_you_mean_hint(k, std::vector<std::string>(comp_keys.begin(), comp_keys.end())));
          }
        }
        if (!c.has("name")) throw ConfigError(c.loc(), cp, "a component needs a name");
        Component comp;
        comp.name = c.find("name")->value();
        comp.spec = c.has("spec") ? c.find("spec")->value() : "";
        comp.action = c.has("action") ? c.find("action")->value() : "";
        comp.count = c.has("count") ? number(c, "count", cp, 0, true) : 1.0;
        comp.power_w = per_unit(c, "power_mw", cp, comp.count, 1e-3);
        comp.area_m2 = per_unit(c, "area_mm2", cp, comp.count, 1e-6);
        comp.energy_j = c.has("energy_pj") ? number(c, "energy_pj", cp, 0, false) * 1e-12 : 0.0;
        comp.source = c.has("source") ? c.find("source")->value() : "";
        comp.role = c.has("role") ? parse_role(*c.find("role"), cp + ".role") : role_from_name(comp.name);
        comp.leakage_w = c.has("leakage_mw") ? number(c, "leakage_mw", cp, 0, false) * 1e-3 : 0.0;
        comp.latency_s = c.has("latency_ns") ? number(c, "latency_ns", cp, 0, false) * 1e-9 : 0.0;
        comp.bits = c.has("bits") ? static_cast<int>(number(c, "bits", cp, 1, false)) : 0;
        comp.rate_hz = c.has("rate_gsps") ? number(c, "rate_gsps", cp, 0, true) * 1e9 : 0.0;
        comp.rows = c.has("rows") ? static_cast<int64_t>(number(c, "rows", cp, 1, false)) : 0;
        comp.cols = c.has("cols") ? static_cast<int64_t>(number(c, "cols", cp, 1, false)) : 0;
        comp.width_bits = c.has("width_bits") ? static_cast<int64_t>(number(c, "width_bits", cp, 1, false)) : 0;
        comp.tech_nm = c.has("tech_nm") ? number(c, "tech_nm", cp, 0, true) : 0.0;
        if (const ConfigNode* pr = c.find("price")) {
          if (pr->value() != "device" && pr->value() != "power") {
            throw ConfigError(pr->loc(), cp + ".price", "'" + pr->value() + "'; allowed: device, power");
          }
          comp.price_by_power = pr->value() == "power";
        }
        if (comp.tech_nm > 0 && comp.tech_nm != a.technology_nm_) {
          // Technology scaling of digital components quoted at another node: area with the
          // square of the feature size, energy and power with it (switched capacitance at a
          // fixed supply; docs/cost.md).
          const double f = a.technology_nm_ / comp.tech_nm;
          comp.power_w *= f;
          comp.energy_j *= f;
          comp.leakage_w *= f;
          comp.area_m2 *= f * f;
        }
        if ((comp.role == Role::Adc || comp.role == Role::Dac) && comp.bits == 0) {
          throw ConfigError(c.loc(), cp, "a converter (role " + to_string(comp.role) + ") needs `bits`, the resolution its "
                                         "figures are quoted at");
        }
        lv.components.push_back(comp);
      }
    }
    a.levels_.push_back(lv);
  }
  int n_pe = 0, n_chip = 0;
  for (const auto& l : a.levels_) {
    n_pe += l.role == LevelRole::Pe;
    n_chip += l.role == LevelRole::Chip;
  }
  if (n_pe != 1 || n_chip != 1 || a.levels_.front().role != LevelRole::Pe || a.levels_.back().role != LevelRole::Chip) {
    throw ConfigError(levels.loc(), path + ".levels",
                      "levels run from one pe level (first) through tile levels to one chip level (last)");
  }
  return a;
}

const Level& Architecture::level(const std::string& name) const {
  std::vector<std::string> names;
  for (const auto& l : levels_) {
    if (l.name == name) return l;
    names.push_back(l.name);
  }
  throw Error("no level '" + name + "'" + did_you_mean_hint(name, names) + "; levels: " + join(names, ", "));
}

double Architecture::sum(size_t upto, bool power) const {
  double inner = 0;  // one instance of level `upto`
  for (size_t i = 0; i <= upto; ++i) {
    double own = 0;
    for (const auto& c : levels_[i].components) own += c.count * (power ? c.power_w : c.area_m2);
    inner = own + (i > 0 ? levels_[i - 1].count * inner : 0.0);
  }
  return inner;
}

double Architecture::power_w(const std::string& name) const {
  for (size_t i = 0; i < levels_.size(); ++i)
    if (levels_[i].name == name) return sum(i, true);
  return (void)level(name), 0.0;
}

double Architecture::area_m2(const std::string& name) const {
  for (size_t i = 0; i < levels_.size(); ++i)
    if (levels_[i].name == name) return sum(i, false);
  return (void)level(name), 0.0;
}

double Architecture::total_power_w() const { return levels_.back().count * sum(levels_.size() - 1, true); }
double Architecture::total_area_m2() const { return levels_.back().count * sum(levels_.size() - 1, false); }

nlohmann::json Architecture::table() const {
  nlohmann::json j;
  j["name"] = name_;
  j["conventions"] = conventions_;
  j["sources"] = sources_;
  j["technology_nm"] = technology_nm_;
  j["clock_hz"] = clock_hz_;
  if (conventions_ == "mnsim") {
    for (const auto& spec : mnsim_.schema().specs()) {
      j["mnsim"][spec.name] = {{"value", mnsim_.to_node().find(spec.name)->value()}, {"unit", spec.unit},
                               {"source", spec.description}};
    }
  }
  for (const auto& l : levels_) {
    nlohmann::json lj = {{"name", l.name}, {"count", l.count}, {"power_w", power_w(l.name)}, {"area_m2", area_m2(l.name)}};
    for (const auto& c : l.components) {
      lj["components"].push_back({{"name", c.name},
                                  {"spec", c.spec},
                                  {"count", c.count},
                                  {"power_w_per_unit", c.power_w},
                                  {"area_m2_per_unit", c.area_m2},
                                  {"energy_j_per_action", c.energy_j},
                                  {"latency_s_per_action", c.latency_s},
                                  {"leakage_w_per_unit", c.leakage_w},
                                  {"role", to_string(c.role)},
                                  {"bits", c.bits},
                                  {"rate_hz", c.rate_hz},
                                  {"action", c.action},
                                  {"source", c.source}});
    }
    j["levels"].push_back(lj);
  }
  if (!levels_.empty()) {
    j["total_power_w"] = total_power_w();
    j["total_area_m2"] = total_area_m2();
  }
  return j;
}

}  // namespace cimkit::cost
