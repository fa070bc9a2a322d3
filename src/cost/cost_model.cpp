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
using detail::ceil_div;
namespace {

// Accelergy's ISAAC library ADC table at 32 nm (energy pJ, area um^2) for 4..10 bits, derived
// from Saberi et al. (IEEE TCAS-I 58(8), 2011); ../shared/reference/algorithms.md §6. Used as
// ratios between resolutions; beyond the table, the end ratios per bit continue.
constexpr int kTableLo = 4, kTableHi = 10;
constexpr double kTableEnergy[] = {0.79, 0.99, 1.20, 1.42, 1.67, 1.97, 2.38};
constexpr double kTableArea[] = {361, 477, 627, 845, 1200, 1828, 3002};

double table_value(const double* t, int bits) {
  if (bits < kTableLo) return t[0] * std::pow(t[0] / t[1], kTableLo - bits);
  if (bits > kTableHi) return t[kTableHi - kTableLo] * std::pow(t[6] / t[5], bits - kTableHi);
  return t[bits - kTableLo];
}

}  // namespace

std::pair<double, double> adc_scale(AdcScaling rule, int from_bits, int to_bits) {
  if (from_bits == to_bits) return {1.0, 1.0};
  if (rule == AdcScaling::Walden) {
    const double f = std::pow(2.0, to_bits - from_bits);
    return {f, f};
  }
  return {table_value(kTableEnergy, to_bits) / table_value(kTableEnergy, from_bits),
          table_value(kTableArea, to_bits) / table_value(kTableArea, from_bits)};
}

ChipParams ChipParams::from_chip(const Chip& chip) {
  ChipParams c;
  c.spec = chip.spec();
  c.dac_bits = chip.dac().bits();
  c.adc_bits = chip.adc().bits();
  c.read_voltage_v = chip.dac().read_voltage_v();
  c.t_read_s = chip.dac().t_read_s();
  c.g_on_s = chip.device().g_on_siemens();
  c.g_off_s = chip.device().g_off_siemens();
  return c;
}

Schema CostOptions::schema() {
  Schema s("cost", "Hardware cost of the network on the architecture (arch section): energy, latency, area.");
  s.boolean("enabled", "Price the network and report energy, latency, area, EDP and TOPS/W (cimkit run)").def(true);
  s.string("network", "cimkit cost: a zoo model name or a layer-list file (networks/mnsim/*.yaml); empty: the model "
           "section's, else resnet18").def(std::string(""));
  s.choice("duplication", {"none", "balance"},
           "Weight duplication: none, or balance (replicate the slowest layers while tiles are left, ISAAC-style)")
      .def(std::string("none"));
  s.real("input_activity", "Shape-only array energy: mean input slice level / top level").range(0, 1).def(0.5);
  s.real("cell_on_fraction", "Shape-only array energy: fraction of cells in the LRS").range(0, 1).def(0.5);
  return s;
}

CostOptions CostOptions::from_params(const Params& p) {
  CostOptions o;
  o.duplication = p.get_string("duplication");
  o.input_activity = p.get_real("input_activity");
  o.cell_on_fraction = p.get_real("cell_on_fraction");
  return o;
}

CostModel::CostModel(Architecture arch, ChipParams chip, CostOptions options)
    : arch_(std::move(arch)), chip_(std::move(chip)), options_(std::move(options)) {
  if (options_.duplication != "none" && options_.duplication != "balance") {
    throw Error("cost.duplication '" + options_.duplication + "': allowed none, balance");
  }
}

CostModel CostModel::from_config(const ConfigNode* arch_section, const ConfigNode* chip_section, CostOptions options) {
  Architecture arch = arch_section ? Architecture::from_config(*arch_section, "arch") : Architecture::preset(Architecture::kDefaultPreset);
  std::shared_ptr<const Chip> chip;
  if (chip_section) {
    chip = Chip::from_config(*chip_section, "chip");
  } else if (!arch.default_chip().empty()) {
    ConfigNode c = ConfigNode::map({"<arch " + arch.name() + ">", 0});
    c.set("preset", ConfigNode::scalar(arch.default_chip(), {"<arch>", 0}));
    chip = Chip::from_config(c, "chip");
  } else {
    chip = Chip::default_chip();
  }
  return CostModel(std::move(arch), ChipParams::from_chip(*chip), std::move(options));
}

CostModel::Converter CostModel::adc_at(int bits) const {
  Converter c;
  if (arch_.conventions() == "mnsim") {
    const Params& m = arch_.mnsim();
    const auto [fe, fa] = adc_scale(arch_.adc_scaling(), static_cast<int>(m.get_int("adc_bits")), bits);
    const double rate0 = m.get_real("adc_rate_gsps") * 1e9;
    const double rate = arch_.adc_rate_hz() > 0 ? arch_.adc_rate_hz() : rate0;
    c.power_w = m.get_real("adc_power_mw") * 1e-3 * fe * rate / rate0;  // constant energy per conversion
    c.area_m2 = m.get_real("adc_area_um2") * 1e-12 * fa;
    c.conversion_s = bits == 1 ? 1.0 / rate : (bits + 2) / rate;  // MNSIM ADC.py (SAR-like)
    c.energy_j = c.power_w * c.conversion_s;
    return c;
  }
  for (const auto& lev : arch_.levels()) {
    for (const auto& comp : lev.components) {
      if (comp.role != Role::Adc) continue;
      const auto [fe, fa] = adc_scale(arch_.adc_scaling(), comp.bits, bits);
      const double rate = arch_.adc_rate_hz() > 0 ? arch_.adc_rate_hz() : (comp.rate_hz > 0 ? comp.rate_hz : arch_.clock_hz());
      const double e0 = comp.energy_j > 0 ? comp.energy_j : comp.power_w / (comp.rate_hz > 0 ? comp.rate_hz : rate);
      c.energy_j = e0 * fe;
      c.area_m2 = comp.area_m2 * fa;
      c.conversion_s = 1.0 / rate;
      c.power_w = c.energy_j * rate;
      return c;
    }
  }
  return c;  // no ADC component: free and instantaneous
}

CostModel::Converter CostModel::dac_at(int bits) const {
  Converter c;
  if (arch_.conventions() == "mnsim") {
    const Params& m = arch_.mnsim();
    const double f = std::pow(2.0, bits - 1);  // MNSIM DAC.py table: x2 per bit (from ISAAC)
    const double rate = m.get_real("dac_rate_gsps") * 1e9;
    c.power_w = m.get_real("dac_power_uw_1bit") * 1e-6 * f;
    c.area_m2 = m.get_real("dac_area_um2_1bit") * 1e-12 * f;
    c.conversion_s = (bits + 2) / rate;  // MNSIM DAC.py
    c.energy_j = c.power_w * c.conversion_s;
    return c;
  }
  for (const auto& l : arch_.levels()) {
    for (const auto& comp : l.components) {
      if (comp.role != Role::Dac) continue;
      const double f = std::pow(2.0, bits - comp.bits);  // ISAAC/MNSIM DAC table: x2 per bit
      const double t = comp.latency_s > 0 ? comp.latency_s : 1.0 / arch_.clock_hz();
      c.energy_j = (comp.energy_j > 0 ? comp.energy_j : comp.power_w * t) * f;
      c.area_m2 = comp.area_m2 * f;
      c.power_w = comp.power_w * f;
      c.conversion_s = comp.latency_s;
      return c;
    }
  }
  return c;
}

CostReport CostModel::evaluate(const mapping::NetworkShape& net) const {
  if (net.layers.empty()) throw Error("network '" + net.name + "' has no conv or linear layer to cost");
  CostReport r = arch_.conventions() == "mnsim" ? evaluate_mnsim(net) : evaluate_native(net);
  r.network = net.name;
  r.architecture = arch_.name().empty() ? "inline" : arch_.name();
  r.conventions = arch_.conventions();
  // Totals common to both conventions.
  CostTotals& t = r.totals;
  t.macs = net.macs();
  t.energy_per_inference_j = t.energy_j;
  t.edp_js = t.energy_j * t.latency_s;
  const double ops = 2.0 * static_cast<double>(t.macs);
  t.tops = t.latency_s > 0 ? ops / t.latency_s / 1e12 : 0.0;
  t.throughput_tops = t.interval_s > 0 ? ops / t.interval_s / 1e12 : 0.0;
  t.tops_per_w = t.energy_j > 0 ? ops / t.energy_j / 1e12 : 0.0;
  t.tops_per_mm2 = t.area_m2 > 0 ? t.tops / (t.area_m2 * 1e6) : 0.0;
  const nlohmann::json derived = r.reference;
  r.reference = arch_.table();
  if (derived.is_object()) r.reference.update(derived);
  r.reference["chip"] = {{"rows", chip_.spec.rows},       {"cols", chip_.spec.cols},
                         {"cell_bits", chip_.spec.cell_bits}, {"weight_bits", chip_.spec.weight_bits},
                         {"input_bits", chip_.spec.input_bits}, {"dac_bits", chip_.dac_bits},
                         {"adc_bits", chip_.adc_bits},    {"read_voltage_v", chip_.read_voltage_v},
                         {"t_read_s", chip_.t_read_s},    {"g_on_s", chip_.g_on_s},
                         {"g_off_s", chip_.g_off_s}};
  const Converter adc = adc_at(chip_.adc_bits), dac = dac_at(chip_.dac_bits);
  r.reference["converters_at_chip_resolution"] = {
      {"adc", {{"bits", chip_.adc_bits}, {"energy_j", adc.energy_j}, {"area_m2", adc.area_m2},
               {"conversion_s", adc.conversion_s}}},
      {"dac", {{"bits", chip_.dac_bits}, {"energy_j", dac.energy_j}, {"area_m2", dac.area_m2}}},
      {"adc_scaling", arch_.adc_scaling() == AdcScaling::Table
                          ? "table: Accelergy ISAAC library 32 nm ADC table (Saberi et al. 2011) as ratios"
                          : "walden: x2 energy and area per bit (Walden FOM)"}};
  return r;
}

// ---------------------------------------------------------------------------------------------
// Native conventions.

namespace {

struct Hier {
  double arrays_per_pe = 1, pes_per_tile = 1, tiles = 1, adcs_per_array = 1;
};

// One layer's geometry at its precision and duplication.
struct Placed {
  const mapping::WeightLayer* layer = nullptr;
  CrossbarSpec spec;
  int adc_bits = 8;
  LayerMapping map;
  int64_t dup = 1, pes = 0, tiles = 0;
  double t_slice = 0, t_layer = 0, t_vector = 0;
};

}  // namespace

namespace detail {

// Adds a priced layer to the report's totals and per-component sums.
void accumulate(CostReport& r, const LayerCost& lc) {
  CostTotals& t = r.totals;
  t.n_arrays += lc.arrays;
  t.n_pes += lc.pes;
  t.n_tiles += lc.tiles;
  t.energy_j += lc.energy_j;
  t.area_m2 += lc.area_m2;
  t.interval_s = std::max(t.interval_s, lc.latency_s);
  for (const auto& [name, cc] : lc.components) {
    ComponentCost& tc = r.components[name];
    tc.energy_j += cc.energy_j;
    tc.area_m2 += cc.area_m2;
    tc.actions += cc.actions;
    tc.busy_s += cc.busy_s;
  }
}

// Places layer `lc` (of shape `l`, lc.latency_s set) in the network schedule after `prev`. With
// `pipeline`, a conv layer starts once its producer has written the first (k - padding) of its
// input rows (line buffers); a linear layer needs its whole input; no layer finishes before its
// producer has, plus the time of its own last output row. Otherwise layers run one by one.
void schedule(LayerCost& lc, const mapping::WeightLayer& l, const LayerCost* prev, bool pipeline) {
  const double t_layer = lc.latency_s;
  if (!prev) {
    lc.start_s = 0;
    lc.finish_s = t_layer;
  } else if (pipeline) {
    const bool conv = l.kind == "conv2d" && l.input.height > 1;
    const double f = conv ? std::min(1.0, static_cast<double>(std::max<int64_t>(1, l.kernel - l.padding)) /
                                              static_cast<double>(l.input.height))
                          : 1.0;
    lc.start_s = prev->start_s + f * prev->latency_s;
    const double last_row = conv ? t_layer / static_cast<double>(std::max<int64_t>(1, l.output.height)) : t_layer;
    lc.finish_s = std::max(lc.start_s + t_layer, prev->finish_s + last_row);
  } else {
    lc.start_s = prev->finish_s;
    lc.finish_s = prev->finish_s + t_layer;
  }
}

}  // namespace detail

using detail::accumulate;
using detail::schedule;

CostReport CostModel::evaluate_native(const mapping::NetworkShape& net) const {
  const auto& levels = arch_.levels();
  const size_t ipe = arch_.level_index(LevelRole::Pe), itile = arch_.level_index(LevelRole::Tile),
               ichip = arch_.level_index(LevelRole::Chip);
  Hier h;
  {
    double arrays = 0, adcs = 0;
    for (const auto& c : levels[ipe].components) {
      if (c.role == Role::Array) arrays += c.count;
      if (c.role == Role::Adc) adcs += c.count;
    }
    h.arrays_per_pe = arrays > 0 ? arrays : 1;
    h.adcs_per_array = adcs > 0 ? adcs / h.arrays_per_pe : 0;
    h.pes_per_tile = 1;
    for (size_t i = ipe; i < itile; ++i) h.pes_per_tile *= levels[i].count;
    h.tiles = 1;
    for (size_t i = itile; i <= ichip; ++i) h.tiles *= levels[i].count;
  }
  const double clock = arch_.clock_hz();
  const double t_read = arch_.timing().array_read_s > 0 ? arch_.timing().array_read_s : chip_.t_read_s;
  const Converter adc_chip = adc_at(chip_.adc_bits), dac_chip = dac_at(chip_.dac_bits);
  if (itile == ichip) {
    throw Error("architecture '" + arch_.name() + "': the native cost model needs a tile level between the pe and chip levels");
  }

  // Geometry and timing of every layer at duplication d.
  std::vector<Placed> placed(net.layers.size());
  auto place = [&](Placed& p, int64_t d) {
    const auto& l = *p.layer;
    p.dup = d;
    p.pes = ceil_div(p.map.n_arrays * d, static_cast<int64_t>(std::ceil(h.arrays_per_pe - 1e-9)));
    p.tiles = ceil_div(p.pes, static_cast<int64_t>(std::llround(h.pes_per_tile)));
    const Converter adc = adc_at(p.adc_bits);
    const int64_t gcols = p.map.column_groups * p.map.out_features;
    const int64_t cols_used = std::min<int64_t>(p.map.data_cols_per_array, gcols);
    const double conv_per_adc =
        h.adcs_per_array > 0 ? std::ceil(static_cast<double>(cols_used) / h.adcs_per_array - 1e-9) : 0.0;
    const double t_conv = conv_per_adc * adc.conversion_s;
    const double t_front = t_read + dac_chip.conversion_s;
    p.t_slice = arch_.timing().overlap_adc ? std::max(t_front, t_conv) : t_front + t_conv;
    p.t_vector = static_cast<double>(p.map.input_slices) * p.t_slice;
    const double digital = arch_.timing().digital_cycles / clock;
    p.t_layer = static_cast<double>(ceil_div(l.vectors, d)) * p.t_vector + digital;
  };
  for (size_t i = 0; i < net.layers.size(); ++i) {
    Placed& p = placed[i];
    const auto& l = net.layers[i];
    p.layer = &l;
    p.spec = chip_.spec;
    const auto lo = options_.layers.find(l.name);
    const LayerOptions* o = lo == options_.layers.end() ? nullptr : &lo->second;
    if (o && o->weight_bits) p.spec.weight_bits = o->weight_bits;
    else if (l.weight_bits) p.spec.weight_bits = l.weight_bits;
    if (o && o->input_bits) p.spec.input_bits = o->input_bits;
    else if (l.input_bits) p.spec.input_bits = l.input_bits;
    p.adc_bits = o && o->adc_bits ? o->adc_bits : (l.adc_bits ? l.adc_bits : chip_.adc_bits);
    p.map = plan_mapping(p.spec, chip_.dac_bits, l.out_features, l.in_features);
    place(p, o && o->duplication > 0 ? o->duplication : 1);
  }
  const bool share = arch_.share_tiles();
  auto tiles_used = [&]() {
    if (share) {
      int64_t pes = 0;
      for (const auto& p : placed) pes += p.pes;
      return ceil_div(pes, static_cast<int64_t>(std::llround(h.pes_per_tile)));
    }
    int64_t t = 0;
    for (const auto& p : placed) t += p.tiles;
    return t;
  };
  const int64_t tiles_avail = static_cast<int64_t>(std::llround(h.tiles));
  if (tiles_used() > tiles_avail) {
    int64_t arrays = 0, pes = 0;
    for (const auto& p : placed) arrays += p.map.n_arrays * p.dup, pes += p.pes;
    throw Error(fmt::format("{} does not fit the chip ({}): it needs {} tiles ({} arrays in {} PEs, {} PEs per tile), the "
                            "chip has {}: {} tiles short ({:.1f}x the chip)",
                            net.name, arch_.name(), tiles_used(), arrays, pes, h.pes_per_tile, tiles_avail,
                            tiles_used() - tiles_avail, static_cast<double>(tiles_used()) / static_cast<double>(tiles_avail)));
  }
  if (options_.duplication == "balance") {
    // Smallest pipeline interval tau such that d_l = min(V_l, ceil(T_l(1) / tau)) fits the chip.
    std::vector<double> t1(placed.size());
    std::vector<int64_t> base(placed.size());
    double hi = 0, lo = 1e300;
    for (size_t i = 0; i < placed.size(); ++i) {
      base[i] = placed[i].dup;
      t1[i] = placed[i].t_layer;
      hi = std::max(hi, t1[i]);
      lo = std::min(lo, placed[i].t_vector);
    }
    auto apply = [&](double tau) {
      for (size_t i = 0; i < placed.size(); ++i) {
        const int64_t d = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(t1[i] / tau - 1e-9)), base[i],
                                              std::max<int64_t>(base[i], placed[i].layer->vectors));
        place(placed[i], d);
      }
      return tiles_used() <= tiles_avail;
    };
    for (int it = 0; it < 60 && hi / lo > 1 + 1e-9; ++it) {
      const double mid = std::sqrt(hi * lo);
      if (apply(mid)) hi = mid;
      else lo = mid;
    }
    apply(hi);
  }

  // Effective per-unit area of every component (converters at the chip's resolution, arrays at
  // its geometry) and the area of one tile (its components plus its PEs').
  auto unit_area = [&](const Component& c) {
    if (c.role == Role::Adc) return adc_chip.area_m2;
    if (c.role == Role::Dac) return dac_chip.area_m2;
    if (c.role == Role::Array && c.rows > 0 && c.cols > 0) {
      return c.area_m2 * static_cast<double>(chip_.spec.rows * chip_.spec.cols) / static_cast<double>(c.rows * c.cols);
    }
    return c.area_m2;
  };
  ChipGeometry r_geometry;
  std::vector<double> level_area(levels.size(), 0.0);  // one instance, including inner levels
  for (size_t i = 0; i < levels.size(); ++i) {
    double own = 0;
    for (const auto& c : levels[i].components) own += c.count * unit_area(c);
    level_area[i] = own + (i > 0 ? levels[i - 1].count * level_area[i - 1] : 0.0);
  }
  const double tile_area = level_area[itile];
  r_geometry = {static_cast<int64_t>(std::llround(h.tiles)), static_cast<int64_t>(std::llround(h.pes_per_tile)),
                static_cast<int64_t>(std::ceil(h.arrays_per_pe - 1e-9)), tile_area, level_area[ipe]};

  CostReport r;
  CostTotals& t = r.totals;
  r.geometry = r_geometry;
  // Schedule.
  for (size_t i = 0; i < placed.size(); ++i) {
    Placed& p = placed[i];
    const auto& l = *p.layer;
    LayerCost lc;
    lc.name = l.name;
    lc.kind = l.kind;
    lc.weight_bits = p.spec.weight_bits;
    lc.input_bits = p.spec.input_bits;
    lc.adc_bits = p.adc_bits;
    lc.macs = l.macs();
    lc.vectors = l.vectors;
    lc.duplication = p.dup;
    lc.arrays = p.map.n_arrays * p.dup;
    lc.pes = p.pes;
    lc.tiles = p.tiles;
    lc.cell_utilisation = p.map.utilisation;
    lc.pe_utilisation = static_cast<double>(lc.arrays) / (static_cast<double>(p.pes) * h.arrays_per_pe);
    lc.latency_s = p.t_layer;
    schedule(lc, l, r.layers.empty() ? nullptr : &r.layers.back(), arch_.timing().pipeline);
    r.layers.push_back(std::move(lc));
  }
  for (const auto& lc : r.layers) t.latency_s = std::max(t.latency_s, lc.finish_s);
  if (!arch_.timing().pipeline) t.interval_s = t.latency_s;

  // Energy per layer and component.
  const double g_mean = chip_.g_off_s + options_.cell_on_fraction * (chip_.g_on_s - chip_.g_off_s);
  for (size_t i = 0; i < placed.size(); ++i) {
    const Placed& p = placed[i];
    const auto& l = *p.layer;
    LayerCost& lc = r.layers[i];
    const LayerMapping& m = p.map;
    const int64_t V = l.vectors, S = m.input_slices, T = m.row_tiles, G = m.column_groups;
    const int64_t n_dac = V * S * m.in_features * m.arrays_per_tile;
    const int64_t n_read = V * S * m.n_arrays;
    const int64_t n_adc = V * S * T * G * m.out_features;
    lc.dac_conversions = n_dac;
    lc.array_reads = n_read;
    lc.adc_conversions = n_adc;
    const int64_t in_bits = V * m.in_features * p.spec.input_bits;
    const int64_t out_bits = V * m.out_features * p.spec.input_bits;
    const auto lo = options_.layers.find(l.name);
    std::optional<double> measured;
    if (lo != options_.layers.end()) measured = lo->second.read_energy_j;
    for (size_t li = 0; li < levels.size(); ++li) {
      const Level& lev = levels[li];
      // Instances of this level the layer keeps busy, and for how long.
      double instances = 1;
      if (lev.role == LevelRole::Pe) instances = static_cast<double>(p.pes);
      else if (lev.role == LevelRole::Tile) {
        double per_tile = 1;
        for (size_t k = li; k < itile; ++k) per_tile *= levels[k].count;
        instances = static_cast<double>(p.tiles) * per_tile;
      }
      for (const auto& c : lev.components) {
        ComponentCost& cc = lc.components[lev.name + "." + c.name];
        double e = 0;
        int64_t actions = 0;
        auto priced = [&](int64_t n, double e_action) {
          actions = n;
          e = static_cast<double>(n) * e_action;
        };
        const double busy = c.count * instances * c.power_w * p.t_layer;
        switch (c.role) {
          case Role::Adc: priced(n_adc, adc_at(p.adc_bits).energy_j); break;
          case Role::Dac: priced(n_dac, dac_chip.energy_j); break;
          case Role::SampleHold:
          case Role::OutputRegister:
            if (c.energy_j > 0) priced(n_adc, c.energy_j);
            else e = busy;
            break;
          case Role::ShiftAdd:
            if (c.energy_j > 0) priced(lev.role == LevelRole::Pe ? n_adc : V * m.out_features * T, c.energy_j);
            else e = busy;
            break;
          case Role::InputRegister:
            if (c.energy_j > 0) priced(n_read, c.energy_j);
            else e = busy;
            break;
          case Role::Array:
            actions = n_read;
            if (measured) {
              e = *measured;
              lc.measured_read_energy = true;
            } else if (c.energy_j > 0) {
              e = static_cast<double>(n_read) * c.energy_j;
            } else if (chip_.g_on_s > 0 && !c.price_by_power) {
              // Σ over driven rows of V^2 t Σ_row G: the mean level^2 of a row drive is taken as
              // input_activity (a 1-bit DAC: the fraction of ones), every cell of a driven row at
              // the mean conductance.
              const double cells_per_row = static_cast<double>(G * m.out_features) / static_cast<double>(m.arrays_per_tile);
              e = static_cast<double>(n_dac) * options_.input_activity * chip_.read_voltage_v * chip_.read_voltage_v *
                  t_read * cells_per_row * g_mean;
            } else {
              e = busy;
            }
            break;
          case Role::Buffer: {
            const int64_t w = c.width_bits > 0 ? c.width_bits : 256;
            if (c.energy_j > 0) priced(ceil_div(in_bits, w) + ceil_div(out_bits, w), c.energy_j);
            else e = busy;
            break;
          }
          case Role::Bus:
            if (c.energy_j > 0) priced(ceil_div(in_bits, c.width_bits > 0 ? c.width_bits : 1), c.energy_j);
            else e = busy;
            break;
          case Role::Router:
            if (c.energy_j > 0) priced(ceil_div(out_bits, c.width_bits > 0 ? c.width_bits : 256), c.energy_j);
            else e = busy;
            break;
          case Role::Activation:
            if (c.energy_j > 0) priced(V * m.out_features, c.energy_j);
            else e = busy;
            break;
          case Role::Accumulator:
            if (c.energy_j > 0) priced(V * m.out_features * (T - 1), c.energy_j);
            else e = busy;
            break;
          case Role::Pooling: {
            // Pooling ops are known for the whole network only: shared out by output size.
            const double share_out = static_cast<double>(V * m.out_features);
            double all_out = 0;
            for (const auto& q : net.layers) all_out += static_cast<double>(q.vectors * q.out_features);
            if (c.energy_j > 0) {
              actions = static_cast<int64_t>(std::llround(static_cast<double>(net.pool_ops()) * share_out / all_out));
              e = static_cast<double>(actions) * c.energy_j;
            } else if (net.pool_ops() > 0) {
              e = busy;
            }
            break;
          }
          case Role::OffChip: {
            const int64_t w = c.width_bits > 0 ? c.width_bits : 1;
            int64_t bits = 0;
            if (i == 0) bits += net.input.numel() * p.spec.input_bits;
            if (i + 1 == placed.size()) bits += m.out_features * p.spec.input_bits;
            if (c.energy_j > 0) priced(ceil_div(bits, w), c.energy_j);
            else if (lev.role == LevelRole::Chip) e = c.count * c.power_w * p.t_layer;
            else e = busy;
            break;
          }
          case Role::Other:
            e = c.energy_j > 0 ? 0.0 : busy;
            break;
        }
        cc.energy_j += e;
        cc.actions += actions;
        lc.energy_j += e;
        if (c.role == Role::Array) lc.array_energy_j += e;
        else if (lev.role == LevelRole::Pe) lc.pe_energy_j += e;
        else if (lev.role == LevelRole::Tile) lc.tile_energy_j += e;
      }
    }
    // Area: the layer's whole tiles, or with shared tiles its share of PEs.
    lc.area_m2 = share ? static_cast<double>(p.pes) / h.pes_per_tile * tile_area : static_cast<double>(p.tiles) * tile_area;
    accumulate(r, lc);
  }
  if (share) {
    t.n_tiles = tiles_used();
    t.area_m2 = static_cast<double>(t.n_tiles) * tile_area;  // whole tiles, layers packed
  }
  // Leakage of every instance on the chip for the whole inference; area per component (whole
  // tiles used, and the levels above the tile in full).
  for (size_t li = 0; li < levels.size(); ++li) {
    double per_chip = 1, used = 1;
    for (size_t k = li; k < levels.size(); ++k) per_chip *= levels[k].count;
    if (li <= itile) {
      used = static_cast<double>(t.n_tiles);
      for (size_t k = li; k < itile; ++k) used *= levels[k].count;
    } else {
      used = per_chip;
    }
    for (const auto& c : levels[li].components) {
      ComponentCost& tc = r.components[levels[li].name + "." + c.name];
      tc.area_m2 += c.count * used * unit_area(c);
      if (li > itile) t.area_m2 += c.count * per_chip * unit_area(c);
      t.chip_area_m2 += c.count * per_chip * unit_area(c);
      if (c.leakage_w > 0) {
        const double e = c.leakage_w * c.count * per_chip * t.latency_s;
        tc.energy_j += e;
        t.leakage_energy_j += e;
      }
    }
  }
  t.energy_j += t.leakage_energy_j;
  return r;
}

}  // namespace cimkit::cost
