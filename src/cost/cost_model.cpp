#include "cost/cost_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "cost/mnsim_tables.hpp"
#include "crossbar/slicing.hpp"

namespace cimkit::cost {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

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

}  // namespace

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

// ---------------------------------------------------------------------------------------------
// MNSIM 2.0 conventions (../shared/reference/mnsim.md §2-§3).

namespace {

// MNSIM PE.py: transistors of an n:1 (de)multiplexer.
double mux_transistors(int64_t ratio) {
  if (ratio <= 1) return 0;
  if (ratio <= 2) return 8;
  if (ratio <= 4) return 24;
  if (ratio <= 8) return 72;
  if (ratio <= 16) return 216;
  if (ratio <= 32) return 648;
  return 1944;
}

// MNSIM PE.py: decoder/mux levels, 1 + the number of //8 steps until 0.
int64_t mux_levels(int64_t ratio) {
  int64_t m = 1;
  for (int64_t x = ratio / 8; x > 0; x /= 8) ++m;
  return m;
}

}  // namespace

CostReport CostModel::evaluate_mnsim(const mapping::NetworkShape& net) const {
  const Params& P = arch_.mnsim();
  const int64_t R = chip_.spec.rows, C = chip_.spec.cols;
  const int64_t sub_rows = P.get_int("subarray_rows") > 0 ? P.get_int("subarray_rows") : R;
  if (R % sub_rows != 0) {
    throw Error(fmt::format("arch.mnsim.subarray_rows {} must divide the crossbar's {} rows", sub_rows, R));
  }
  const int64_t subarrays = R / sub_rows;
  const int64_t dac_num = P.get_int("dac_num"), adc_num = P.get_int("adc_num");
  const int64_t polarity = P.get_int("polarity"), groups = P.get_int("group_num");
  const int64_t pes_per_tile = P.get_int("pe_num_x") * P.get_int("pe_num_y");
  const int64_t tiles_avail = P.get_int("tile_num_x") * P.get_int("tile_num_y");
  const double Td = 1e3 / P.get_real("digital_mhz") * 1e-9;  // digital period, s
  const int64_t dac_per_group = dac_num * subarrays, adc_per_group = adc_num * subarrays;
  const int64_t input_demux = ceil_div(sub_rows, dac_num);
  const int64_t output_mux = ceil_div(C, adc_num);
  const double T_tr = P.get_real("transistor_tech_nm");

  // Component constants (MNSIM Hardware_Model, mnsim.md §2).
  const double s_kb = static_cast<double>(R * C) / 8192.0;
  const double t_xbar = (P.get_real("read_latency_ns") + 0.001 * (2e-4 * s_kb * s_kb + 5e-6 * s_kb + 4e-14)) * 1e-9;
  const double v1 = chip_.read_voltage_v, f1 = P.get_real("input_fraction_ones");
  const double v2 = f1 * v1 * v1;  // V^2 = 0.9 V0^2 + 0.1 V1^2 with V0 = 0
  const double inv_r = P.get_real("cell_fraction_hrs") * chip_.g_off_s + (1 - P.get_real("cell_fraction_hrs")) * chip_.g_on_s;
  const double p_cell = v2 * inv_r;
  const double a_xbar = (static_cast<double>(R * C) * P.get_real("device_area_um2") +
                         P.get_real("row_driver_area_um2") * static_cast<double>(R)) * 1e-12;
  const double sr_scale = std::pow(P.get_real("shiftreg_tech_nm") / 65.0, 2), reg_scale = std::pow(P.get_real("reg_tech_nm") / 65.0, 2);
  const double joint_scale = std::pow(P.get_real("joint_tech_nm") / 65.0, 2);
  const double p_sr = 8.1e-7 * sr_scale, a_sr = 1.42e-12 * sr_scale;
  const double p_reg = 18.8e-9 * reg_scale, a_reg = 1.4256e-12 * reg_scale;
  const double p_joint = 2.64e-4 * joint_scale, a_joint = 353.76e-12 * joint_scale;  // 8-bit node
  const double a_tr = 10.0 * T_tr * T_tr * 1e-6 * 1e-12;                            // one transistor
  const double a_demux = mux_transistors(input_demux) * a_tr, p_demux = mux_transistors(input_demux) * 1.2e-8;
  const double a_mux = mux_transistors(output_mux) * a_tr, p_mux = mux_transistors(output_mux) * 1.2e-8;
  const double t_decoder = 0.27933e-9 * static_cast<double>(mux_levels(input_demux));
  const double t_mux = 32.744e-12 * static_cast<double>(mux_levels(output_mux));
  const double pool_scale = std::pow(P.get_real("pooling_tech_nm") / 65.0, 2);
  const double a_pool = 91917.1562e-12 * static_cast<double>(P.get_int("pooling_units")) / 64.0 * pool_scale;
  const double p_pool = 3.082e-3 * pool_scale;
  const Converter adc = adc_at(chip_.adc_bits), dac = dac_at(chip_.dac_bits);

  // TCG mapping of every layer (Mapping_Model/Tile_connection_graph.py, mnsim.md §3.1): whole
  // input channels per crossbar, magnitude bits on positive and negative crossbars.
  struct Tcg {
    int wbits = 0, ibits = 0, abits = 0;
    int64_t dup = 1, slices = 0, r_used = 0, c_used = 0, pe_num = 0, tiles = 0;
  };
  std::vector<Tcg> tcg(net.layers.size());
  double inbuf_kb = 0, outbuf_kb = 0;  // sized by the mapper unless given (mnsim.md §2.6)
  auto pow2_kb = [](double bytes) { return std::pow(2.0, std::ceil(std::log2(std::max(bytes, 1.0)))) / 1024.0; };
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const auto& l = net.layers[i];
    Tcg& m = tcg[i];
    const auto lo = options_.layers.find(l.name);
    const LayerOptions* o = lo == options_.layers.end() ? nullptr : &lo->second;
    m.wbits = o && o->weight_bits ? o->weight_bits : (l.weight_bits ? l.weight_bits : chip_.spec.weight_bits);
    m.ibits = o && o->input_bits ? o->input_bits : (l.input_bits ? l.input_bits : chip_.spec.input_bits);
    m.abits = o && o->adc_bits ? o->adc_bits : (l.adc_bits ? l.adc_bits : chip_.adc_bits);
    m.dup = o && o->duplication > 0 ? o->duplication : 1;
    const int64_t b_mag = polarity == 2 ? m.wbits - 1 : m.wbits;
    m.slices = ceil_div(b_mag, chip_.spec.cell_bits);  // MNSIM: 1 bit per cell
    const bool conv = l.kind == "conv2d";
    const int64_t k2 = conv ? l.kernel * l.kernel : 1;
    const int64_t c_in = l.in_features / k2;
    int64_t my = 0;
    if (conv) {
      const int64_t ch_per_xbar = R / k2;
      if (ch_per_xbar < 1) {
        throw Error(fmt::format("layer {}: a {}x{} kernel needs {} rows, more than the crossbar's {} (MNSIM maps whole "
                                "input channels per crossbar)",
                                l.name, l.kernel, l.kernel, k2, R));
      }
      my = ceil_div(c_in, ch_per_xbar);
      m.r_used = std::min(ch_per_xbar, c_in) * k2;
    } else {
      my = ceil_div(l.in_features, R);
      m.r_used = std::min(l.in_features, R);
    }
    const int64_t mx = ceil_div(m.slices, groups) * ceil_div(l.out_features, C);
    m.c_used = std::min(l.out_features, C);
    m.pe_num = mx * my * m.dup;
    m.tiles = ceil_div(m.pe_num, pes_per_tile);
    // Line buffer: K input rows of the layer (fc: its input vector), shared by its PEs; output
    // buffer: two (ping-pong) output vectors per tile.
    const double data_in = conv ? static_cast<double>(l.input.width * l.kernel * c_in * m.ibits) / 8.0
                                : static_cast<double>(l.in_features * m.ibits) / 8.0;
    inbuf_kb = std::max(inbuf_kb, pow2_kb(data_in / static_cast<double>(m.pe_num)));
    outbuf_kb = std::max(outbuf_kb, pow2_kb(2.0 * static_cast<double>(l.out_features * m.ibits) / 8.0 /
                                            static_cast<double>(m.tiles)));
  }
  if (P.get_real("pe_inbuf_kb") > 0) inbuf_kb = P.get_real("pe_inbuf_kb");
  if (P.get_real("tile_outbuf_kb") > 0) outbuf_kb = P.get_real("tile_outbuf_kb");
  // SRAM figures (Buffer.py): table entry by technology, size and bus width; 20 ns cycles; an
  // access of n bytes takes ceil(8n / width) cycles at power E_dyn / 20 ns + leakage.
  struct Sram {
    double area_m2, read_w, write_w;
  };
  const double buf_tech = P.get_real("buffer_tech_nm");
  const int64_t bus = P.get_int("buffer_bitwidth");
  auto sram = [&](double kb, const std::string& what) {
    const int tech_bin = buf_tech >= 90 ? 0 : (buf_tech >= 65 ? 36 : 72);
    const double sizes[] = {2, 4, 8, 16, 32, 64, 128, 256};
    int size_bin = 8;
    for (int b = 0; b < 8; ++b)
      if (kb <= sizes[b]) {
        size_bin = b;
        break;
      }
    const int bus_bin = bus <= 64 ? 0 : (bus <= 128 ? 1 : (bus <= 256 ? 2 : 3));
    const int idx = tech_bin + 4 * size_bin + bus_bin;
    if (mnsim::kSramAreaMm2[idx] < 0) {
      throw Error(fmt::format("MNSIM's SRAM tables have no entry for the {} ({} KB, {} nm, {}-bit bus: index {})", what, kb,
                              buf_tech, bus, idx));
    }
    const double leak_w = mnsim::kSramLeakageMw[idx] * 1e-3, cycle = 20e-9;
    return Sram{mnsim::kSramAreaMm2[idx] * 1e-6, mnsim::kSramReadNj[idx] * 1e-9 / cycle + leak_w,
                mnsim::kSramWriteNj[idx] * 1e-9 / cycle + leak_w};
  };
  const Sram inbuf = sram(inbuf_kb, "PE input buffer"), outbuf = sram(outbuf_kb, "tile output buffer");
  auto access_s = [&](double bytes) { return std::ceil(8.0 * bytes / static_cast<double>(bus)) * 20e-9; };

  // Area of one PE and one tile (MNSIM PE.py / Tile.py).
  const int64_t pe_xbars = groups * polarity, pe_adcs = groups * adc_per_group, pe_dacs = groups * dac_per_group;
  const double pe_adder_bits = 8;
  const double a_adder_bit = 10.0 * 14.0 * std::pow(P.get_real("adder_tech_nm"), 2) / 1e6 * 1e-12;
  const int64_t pe_adders = groups > 1 ? groups - 1 : 0;
  std::map<std::string, double> pe_area = {
      {"crossbar", static_cast<double>(pe_xbars) * a_xbar},
      {"adc", static_cast<double>(pe_adcs) * adc.area_m2},
      {"dac", static_cast<double>(pe_dacs) * dac.area_m2},
      {"shift_reg", static_cast<double>(pe_adcs) * a_sr},
      {"input_reg", static_cast<double>(pe_dacs) * a_reg},
      {"output_reg", static_cast<double>(pe_adcs) * a_reg},
      {"input_demux", static_cast<double>(pe_dacs) * a_demux},
      {"output_mux", static_cast<double>(pe_adcs) * a_mux},
      {"adder", static_cast<double>(adc_per_group * pe_adders) * pe_adder_bits * a_adder_bit},
      {"pe_input_buffer", inbuf.area_m2},
  };
  double pe_total = 0;
  for (const auto& [k, v] : pe_area) pe_total += v;
  const double joint_count = static_cast<double>((pes_per_tile - 1) * pe_adcs);
  const double tile_area = static_cast<double>(pes_per_tile) * pe_total + joint_count * a_joint + a_pool + outbuf.area_m2;

  CostReport r;
  CostTotals& t = r.totals;
  r.geometry = {tiles_avail, pes_per_tile, pe_xbars, tile_area, pe_total};
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const auto& l = net.layers[i];
    const Tcg& m = tcg[i];
    const int wbits = m.wbits, ibits = m.ibits, abits = m.abits;
    const int64_t dup = m.dup, slices = m.slices, r_used = m.r_used, c_used = m.c_used, pe_num = m.pe_num;
    const int64_t tiles = m.tiles, c_out = l.out_features;
    const bool conv = l.kind == "conv2d";
    const int64_t k2 = conv ? l.kernel * l.kernel : 1;
    const int64_t g = std::min(slices, groups), p = std::min(pe_num, pes_per_tile);

    // Per output pixel (MNSIM Latency_Model, mnsim.md §2.8).
    const double cycles = static_cast<double>(ceil_div(ibits, chip_.dac_bits));
    const double mt = cycles * static_cast<double>(ceil_div(r_used, dac_per_group)) * static_cast<double>(ceil_div(c_used, adc_num));
    const Converter adc_l = adc_at(abits);
    const double t_dac = mt * dac.conversion_s, t_x = mt * t_xbar, t_adc = mt * adc_l.conversion_s;
    const double col_reads = static_cast<double>(ceil_div(c_used, adc_num));
    const double t_ireg = static_cast<double>(ceil_div(r_used, dac_per_group)) * col_reads * Td + mt * Td;
    const double t_sr = mt * Td, t_dm = mt * t_decoder, t_mx = mt * t_mux;
    const double t_add = col_reads * std::ceil(std::log2(static_cast<double>(groups))) * Td;
    const double t_oreg = col_reads * Td;
    const double merge = p > 1 ? std::ceil(std::log2(static_cast<double>(p))) : 0.0;
    const double lv = pes_per_tile > 1 ? std::ceil(std::log2(static_cast<double>(pes_per_tile))) : 0.0;
    const double t_joint = merge * Td;
    const double intra_bits = (lv * (abits + merge) - merge * (merge + 1) / 2) * static_cast<double>(c_used);
    const double t_intra = intra_bits / (P.get_real("intra_tile_gbps") * 1e9);
    // Tile hop distances: a square block of the layer's tiles, the aggregation tile in a corner
    // (MNSIM uses its spiral placement); the consumer one hop away.
    const double side = std::ceil(std::sqrt(static_cast<double>(tiles)));
    const double in_layer_dist = tiles > 1 ? 2 * (side - 1) : 0.0;
    const double inter_bw = P.get_real("inter_tile_gbps") * 1e9;
    const double t_merge = in_layer_dist * (Td + static_cast<double>(c_used * p * ibits) / inter_bw);
    const double t_transfer = static_cast<double>(c_out * ibits) / inter_bw;
    // Buffers per pixel: the line buffer takes the new input columns (C_PE x stride values) and
    // feeds the r inputs of a read; the tile writes its merged partial sums and the merge reads
    // the layer's output back (mnsim.md §2.8).
    const double c_pe = static_cast<double>(r_used) / static_cast<double>(k2);
    const double t_in_w = access_s(conv ? c_pe * static_cast<double>(l.stride * ibits) / 8.0 : static_cast<double>(r_used * ibits) / 8.0);
    const double t_in_r = access_s(static_cast<double>(r_used * ibits) / 8.0);
    const double t_out_w = access_s((abits + merge) * static_cast<double>(c_used * p) / 8.0);
    const double t_out_r = access_s(static_cast<double>(c_used * ibits * p) / 8.0);
    const double pixel = t_in_w + t_in_r + t_out_w + t_out_r + t_dac + t_x + t_adc + t_ireg + t_sr + t_dm + t_mx + t_add + t_oreg + t_joint + t_intra + t_merge +
                         t_transfer;
    const double V = static_cast<double>(l.vectors);
    const double per_dup_pixels = std::ceil(V / static_cast<double>(dup));
    const double t_layer = per_dup_pixels * pixel;

    // Layer power by component (MNSIM Tile.calculate_tile_read_power_fast) x summed latency.
    const double n_pe = static_cast<double>(tiles * p);  // MNSIM: tiles x PEs of the fullest tile
    const double rows_active = std::ceil(static_cast<double>(r_used) / static_cast<double>(input_demux));
    const double cols_active = std::ceil(static_cast<double>(c_used) / static_cast<double>(output_mux));
    const double p_xbar = static_cast<double>(polarity * g) * static_cast<double>(r_used * c_used) * p_cell /
                          static_cast<double>(input_demux) / static_cast<double>(output_mux);
    const double pixels = V;  // every pixel of every PE copy
    LayerCost lc;
    auto add = [&](const std::string& name, double power_pe, double t_pixel) {
      ComponentCost& cc = lc.components[name];
      cc.busy_s += pixels * t_pixel;
      cc.energy_j += n_pe * power_pe * pixels * t_pixel;
      lc.energy_j += n_pe * power_pe * pixels * t_pixel;
    };
    add("crossbar", p_xbar, t_x);
    add("dac", static_cast<double>(g) * rows_active * dac.power_w, t_dac);
    add("adc", static_cast<double>(g) * cols_active * adc_l.power_w, t_adc);
    add("shift_reg", static_cast<double>(g) * cols_active * p_sr, t_sr);
    add("input_reg", static_cast<double>(g) * rows_active * p_reg, t_ireg);
    add("output_reg", static_cast<double>(g) * cols_active * p_reg, t_oreg);
    add("input_demux", static_cast<double>(g) * rows_active * p_demux, t_dm);
    add("output_mux", static_cast<double>(g) * cols_active * p_mux, t_mx);
    {  // buffers: read and write power x their time, per PE (input) and per tile (output)
      const double e_in = n_pe * pixels * (inbuf.read_w * t_in_r + inbuf.write_w * t_in_w);
      const double e_out = static_cast<double>(tiles) * pixels * (outbuf.read_w * t_out_r + outbuf.write_w * t_out_w);
      lc.components["pe_input_buffer"].energy_j += e_in;
      lc.components["pe_input_buffer"].busy_s += pixels * (t_in_r + t_in_w);
      lc.components["tile_output_buffer"].energy_j += e_out;
      lc.components["tile_output_buffer"].busy_s += pixels * (t_out_r + t_out_w);
      lc.energy_j += e_in + e_out;
    }
    lc.array_energy_j = lc.components["crossbar"].energy_j;
    lc.pe_energy_j = lc.energy_j - lc.array_energy_j;
    {  // joint modules: (p - 1) x columns per tile, for the tile's merge time
      const double e = static_cast<double>(tiles) * static_cast<double>(p - 1) * cols_active * p_joint * pixels * t_joint;
      lc.components["joint_module"].energy_j += e;
      lc.energy_j += e;
      lc.tile_energy_j += e;
    }
    lc.components["crossbar"].actions += static_cast<int64_t>(n_pe * static_cast<double>(polarity * g) * pixels * mt);
    lc.components["adc"].actions += static_cast<int64_t>(n_pe * static_cast<double>(g) * cols_active * pixels * mt);
    lc.components["dac"].actions += static_cast<int64_t>(n_pe * static_cast<double>(g) * rows_active * pixels * mt);
    lc.name = l.name;
    lc.kind = l.kind;
    lc.weight_bits = wbits;
    lc.input_bits = ibits;
    lc.adc_bits = abits;
    lc.macs = l.macs();
    lc.vectors = l.vectors;
    lc.duplication = dup;
    lc.arrays = pe_num * groups * polarity;  // physical crossbars (MNSIM prints PEnum)
    lc.pes = pe_num;
    lc.tiles = tiles;
    lc.cell_utilisation = static_cast<double>(l.in_features * l.out_features * slices * polarity) /
                          static_cast<double>(lc.arrays * R * C);
    lc.pe_utilisation = 1.0;
    lc.dac_conversions = lc.components["dac"].actions;
    lc.array_reads = lc.components["crossbar"].actions;
    lc.adc_conversions = lc.components["adc"].actions;
    lc.latency_s = t_layer;
    lc.area_m2 = static_cast<double>(tiles) * tile_area;
    for (const auto& [k, v] : pe_area) lc.components[k].area_m2 += static_cast<double>(tiles * pes_per_tile) * v;
    lc.components["joint_module"].area_m2 += static_cast<double>(tiles) * joint_count * a_joint;
    lc.components["pooling"].area_m2 += static_cast<double>(tiles) * a_pool;
    lc.components["tile_output_buffer"].area_m2 += static_cast<double>(tiles) * outbuf.area_m2;
    // Schedule: MNSIM's pixel-level pipeline, approximated at layer level (docs/cost.md).
    schedule(lc, l, r.layers.empty() ? nullptr : &r.layers.back(), arch_.timing().pipeline);
    accumulate(r, lc);
    r.layers.push_back(std::move(lc));
  }
  // Pooling layers (MNSIM Pooling.py): 100 ns x ceil(C / units) x ceil(k^2 / 9) per output pixel
  // at the unit's power; each pooling layer holds one tile of its own.
  for (const auto& pl : net.pools) {
    const double t_pix = 100e-9 * std::ceil(static_cast<double>(pl.channels) / static_cast<double>(P.get_int("pooling_units"))) *
                         std::ceil(static_cast<double>(pl.kernel * pl.kernel) / 9.0);
    const double e = p_pool * t_pix * static_cast<double>(pl.out_pixels);
    r.components["pooling"].energy_j += e;
    r.components["pooling"].area_m2 += tile_area;
    t.energy_j += e;
    t.area_m2 += tile_area;
    t.n_tiles += 1;
  }
  for (const auto& lc : r.layers) t.latency_s = std::max(t.latency_s, lc.finish_s);
  if (!arch_.timing().pipeline) t.interval_s = t.latency_s;
  if (t.n_tiles > tiles_avail) {
    throw Error(fmt::format("{} does not fit the chip ({}): MNSIM's mapping needs {} tiles ({} PEs, {} per tile, no tile "
                            "shared between layers), the chip has {}: {} tiles short ({:.1f}x the chip)",
                            net.name, arch_.name(), t.n_tiles, t.n_pes, pes_per_tile, tiles_avail, t.n_tiles - tiles_avail,
                            static_cast<double>(t.n_tiles) / static_cast<double>(tiles_avail)));
  }
  t.chip_area_m2 = static_cast<double>(tiles_avail) * tile_area;
  r.reference["mnsim_derived"] = {{"pe_area_m2", pe_total},     {"tile_area_m2", tile_area}, {"crossbar_area_m2", a_xbar},
                                  {"pe_input_buffer_kb", inbuf_kb}, {"tile_output_buffer_kb", outbuf_kb},
                                  {"cell_read_power_w", p_cell}, {"t_xbar_s", t_xbar},        {"input_demux", input_demux},
                                  {"output_mux", output_mux}};
  return r;
}

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
