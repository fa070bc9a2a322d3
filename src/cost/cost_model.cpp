#include "cost/cost_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "cost/cost_detail.hpp"
#include "mapping/placement.hpp"

namespace cimkit::cost {
using detail::ceil_div;

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
  const int adc_bits = priced_adc_bits(chip_.adc_bits);
  const Converter adc = adc_at(adc_bits), dac = dac_at(chip_.dac_bits);
  r.reference["converters_at_chip_resolution"] = {
      {"adc", {{"bits", chip_.adc_bits}, {"priced_at_bits", adc_bits}, {"energy_j", adc.energy_j},
               {"area_m2", adc.area_m2}, {"conversion_s", adc.conversion_s}}},
      {"dac", {{"bits", chip_.dac_bits}, {"energy_j", dac.energy_j}, {"area_m2", dac.area_m2}}},
      {"adc_scaling", arch_.adc_scaling() == AdcScaling::Table
                          ? "table: Accelergy ISAAC library 32 nm ADC table (Saberi et al. 2011) as ratios"
                          : "walden: x2 energy and area per bit (Walden FOM)"}};
  if (chip_.adc_bits == 0) {
    r.reference["converters_at_chip_resolution"]["adc"]["ideal"] = fmt::format(
        "the chip's ADC is ideal (0 bits, no resolution to price): priced at the architecture's own ADC, {} bits",
        adc_bits);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Native conventions.

namespace {

// The chip's hierarchy as the mapping layer places layers on it (native levels): arrays per PE
// from the PE level's array components, PEs per tile and tiles from the level counts.
mapping::Hierarchy hierarchy_of(const Architecture& arch) {
  const auto& levels = arch.levels();
  const size_t ipe = arch.level_index(LevelRole::Pe), itile = arch.level_index(LevelRole::Tile),
               ichip = arch.level_index(LevelRole::Chip);
  double arrays = 0, pes_per_tile = 1, tiles = 1;
  for (const auto& c : levels[ipe].components) {
    if (c.role == Role::Array) arrays += c.count;
  }
  for (size_t i = ipe; i < itile; ++i) pes_per_tile *= levels[i].count;
  for (size_t i = itile; i <= ichip; ++i) tiles *= levels[i].count;
  mapping::Hierarchy h;
  h.arrays_per_pe = arrays > 0 ? static_cast<int64_t>(std::ceil(arrays - 1e-9)) : 1;
  h.pes_per_tile = std::llround(pes_per_tile);
  h.tiles = std::llround(tiles);
  h.share_tiles = arch.share_tiles();
  return h;
}

}  // namespace

namespace detail {

LayerSetup layer_setup(const CostModel& model, const mapping::WeightLayer& l) {
  LayerSetup s;
  s.layer = l;
  const auto it = model.options().layers.find(l.name);
  if (it != model.options().layers.end()) s.options = &it->second;
  const LayerOptions o = s.options ? *s.options : LayerOptions{};
  const ChipParams& chip = model.chip();
  s.layer.weight_bits = o.weight_bits.value_or(l.weight_bits.value_or(chip.spec.weight_bits));
  s.layer.input_bits = o.input_bits.value_or(l.input_bits.value_or(chip.spec.input_bits));
  s.layer.adc_bits = model.priced_adc_bits(o.adc_bits.value_or(l.adc_bits.value_or(chip.adc_bits)));
  s.duplication = o.duplication.value_or(1);
  return s;
}

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
  if (itile == ichip) {
    throw Error("architecture '" + arch_.name() + "': the native cost model needs a tile level between the pe and chip levels");
  }
  const mapping::Hierarchy h = hierarchy_of(arch_);
  double adcs_per_array = 0;
  {
    double arrays = 0, adcs = 0;
    for (const auto& c : levels[ipe].components) {
      if (c.role == Role::Array) arrays += c.count;
      if (c.role == Role::Adc) adcs += c.count;
    }
    adcs_per_array = adcs > 0 ? adcs / (arrays > 0 ? arrays : 1.0) : 0.0;
  }
  const double clock = arch_.clock_hz();
  const double t_read = arch_.timing().array_read_s > 0 ? arch_.timing().array_read_s : chip_.t_read_s;
  const Converter dac_chip = dac_at(chip_.dac_bits);

  // Every layer at its widths and duplication (mapping::place_layer), and the time of one of its
  // vectors: S slices, each a read and the conversions of its ADCs (a differential pair that
  // subtracts before its ADC is one conversion).
  std::vector<detail::LayerSetup> setup;
  std::vector<mapping::LayerPlacement> placed;
  std::vector<double> t_vector;
  for (const auto& l : net.layers) {
    setup.push_back(detail::layer_setup(*this, l));
    const detail::LayerSetup& s = setup.back();
    placed.push_back(mapping::place_layer(s.layer, chip_.spec, chip_.dac_bits, h, s.duplication));
    const LayerMapping& m = placed.back().mapping;
    const int64_t cols_used = std::min<int64_t>(m.data_cols_per_array, m.column_groups * m.out_features);
    const int64_t converted = ceil_div(cols_used * m.adc_groups, m.column_groups);
    const double conv_per_adc =
        adcs_per_array > 0 ? std::ceil(static_cast<double>(converted) / adcs_per_array - 1e-9) : 0.0;
    const double t_conv = conv_per_adc * adc_at(*s.layer.adc_bits).conversion_s;
    const double t_front = t_read + dac_chip.conversion_s;
    const double t_slice = arch_.timing().overlap_adc ? std::max(t_front, t_conv) : t_front + t_conv;
    t_vector.push_back(static_cast<double>(m.input_slices) * t_slice);
  }
  const double digital = arch_.timing().digital_cycles / clock;
  auto t_layer = [&](size_t i) {
    return static_cast<double>(ceil_div(net.layers[i].vectors, placed[i].duplication)) * t_vector[i] + digital;
  };
  mapping::check_fits(placed, h, net.name, arch_.name());
  if (options_.duplication == "balance") {
    // Smallest pipeline interval tau such that d_l = min(V_l, ceil(T_l(1) / tau)) fits the chip.
    std::vector<double> t1(placed.size());
    std::vector<int64_t> base(placed.size());
    double hi = 0, lo = 1e300;
    for (size_t i = 0; i < placed.size(); ++i) {
      base[i] = placed[i].duplication;
      t1[i] = t_layer(i);
      hi = std::max(hi, t1[i]);
      lo = std::min(lo, t_vector[i]);
    }
    auto apply = [&](double tau) {
      for (size_t i = 0; i < placed.size(); ++i) {
        const int64_t d = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(t1[i] / tau - 1e-9)), base[i],
                                              std::max<int64_t>(base[i], net.layers[i].vectors));
        mapping::set_duplication(placed[i], h, d);
      }
      return mapping::tiles_needed(placed, h) <= h.tiles;
    };
    for (int it = 0; it < 60 && hi / lo > 1 + 1e-9; ++it) {
      const double mid = std::sqrt(hi * lo);
      if (apply(mid)) hi = mid;
      else lo = mid;
    }
    apply(hi);
  }

  // Per-unit area of every component with the ADCs at `adc_bits` (DACs at the chip's resolution,
  // arrays at its geometry), and the area of one instance of every level (its components plus its
  // inner levels'), per ADC resolution: a layer's tiles carry its own ADCs.
  auto unit_area = [&](const Component& c, int adc_bits) {
    if (c.role == Role::Adc) return adc_at(adc_bits).area_m2;
    if (c.role == Role::Dac) return dac_chip.area_m2;
    if (c.role == Role::Array && c.rows > 0 && c.cols > 0) {
      return c.area_m2 * static_cast<double>(chip_.spec.rows * chip_.spec.cols) / static_cast<double>(c.rows * c.cols);
    }
    return c.area_m2;
  };
  std::map<int, std::vector<double>> level_areas;
  auto level_area = [&](int adc_bits) -> const std::vector<double>& {
    auto [it, fresh] = level_areas.try_emplace(adc_bits, levels.size(), 0.0);
    for (size_t i = 0; fresh && i < levels.size(); ++i) {
      double own = 0;
      for (const auto& c : levels[i].components) own += c.count * unit_area(c, adc_bits);
      it->second[i] = own + (i > 0 ? levels[i - 1].count * it->second[i - 1] : 0.0);
    }
    return it->second;
  };
  // Instances of level `li` in one tile (levels inside the tile), e.g. PEs per tile.
  auto per_tile = [&](size_t li) {
    double n = 1;
    for (size_t k = li; k < itile; ++k) n *= levels[k].count;
    return n;
  };
  const int chip_adc_bits = priced_adc_bits(chip_.adc_bits);
  const double tile_area = level_area(chip_adc_bits)[itile];

  CostReport r;
  CostTotals& t = r.totals;
  r.geometry = {h.tiles, h.pes_per_tile, h.arrays_per_pe, tile_area, level_area(chip_adc_bits)[ipe]};
  // Schedule.
  for (size_t i = 0; i < placed.size(); ++i) {
    const mapping::LayerPlacement& p = placed[i];
    const auto& l = net.layers[i];
    LayerCost lc;
    lc.name = l.name;
    lc.kind = l.kind;
    lc.weight_bits = p.weight_bits;
    lc.input_bits = p.input_bits;
    lc.adc_bits = *setup[i].layer.adc_bits;
    lc.macs = l.macs();
    lc.vectors = l.vectors;
    lc.duplication = p.duplication;
    lc.arrays = p.arrays;
    lc.pes = p.pes;
    lc.tiles = p.tiles;
    lc.cell_utilisation = p.mapping.utilisation;
    lc.pe_utilisation = p.pe_utilisation;
    lc.latency_s = t_layer(i);
    schedule(lc, l, r.layers.empty() ? nullptr : &r.layers.back(), arch_.timing().pipeline);
    r.layers.push_back(std::move(lc));
  }
  for (const auto& lc : r.layers) t.latency_s = std::max(t.latency_s, lc.finish_s);
  if (!arch_.timing().pipeline) t.interval_s = t.latency_s;

  // Energy per layer and component.
  const double g_mean = chip_.g_off_s + options_.cell_on_fraction * (chip_.g_on_s - chip_.g_off_s);
  for (size_t i = 0; i < placed.size(); ++i) {
    const mapping::LayerPlacement& p = placed[i];
    const auto& l = net.layers[i];
    LayerCost& lc = r.layers[i];
    const LayerMapping& m = p.mapping;
    const double t_l = lc.latency_s;
    // DAC conversions, array reads and ADC conversions as the engine counts them.
    const ActionCounts counts = count_actions(m, l.vectors, /*per_array=*/false);
    const int64_t V = l.vectors, T = m.row_tiles, G = m.column_groups;
    const int64_t n_dac = counts.dac_conversions, n_read = counts.array_activations, n_adc = counts.adc_conversions;
    lc.dac_conversions = n_dac;
    lc.array_reads = n_read;
    lc.adc_conversions = n_adc;
    const int64_t in_bits = V * m.in_features * p.input_bits;
    const int64_t out_bits = V * m.out_features * p.input_bits;
    std::optional<double> measured;
    if (setup[i].options) measured = setup[i].options->read_energy_j;
    for (size_t li = 0; li < levels.size(); ++li) {
      const Level& lev = levels[li];
      // Instances of this level the layer keeps busy, and for how long.
      double instances = 1;
      if (lev.role == LevelRole::Pe) instances = static_cast<double>(p.pes);
      else if (lev.role == LevelRole::Tile) instances = static_cast<double>(p.tiles) * per_tile(li);
      for (const auto& c : lev.components) {
        ComponentCost& cc = lc.components[lev.name + "." + c.name];
        double e = 0;
        int64_t actions = 0;
        auto priced = [&](int64_t n, double e_action) {
          actions = n;
          e = static_cast<double>(n) * e_action;
        };
        const double busy = c.count * instances * c.power_w * t_l;
        switch (c.role) {
          case Role::Adc: priced(n_adc, adc_at(lc.adc_bits).energy_j); break;
          case Role::Dac: priced(n_dac, dac_chip.energy_j); break;
          case Role::SampleHold:
          case Role::OutputRegister:
            if (c.energy_j > 0) priced(n_adc, c.energy_j);
            else e = busy;
            break;
          case Role::ShiftAdd:
            if (c.energy_j > 0) priced(lev.role == LevelRole::Pe ? counts.shift_adds : V * m.out_features * T, c.energy_j);
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
            if (i == 0) bits += net.input.numel() * p.input_bits;
            if (i + 1 == placed.size()) bits += m.out_features * p.input_bits;
            if (c.energy_j > 0) priced(ceil_div(bits, w), c.energy_j);
            else if (lev.role == LevelRole::Chip) e = c.count * c.power_w * t_l;
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
    // Area: the layer's whole tiles, or with shared tiles its share of PEs, with its own ADCs.
    const double tiles_held = h.share_tiles ? static_cast<double>(p.pes) / static_cast<double>(h.pes_per_tile)
                                            : static_cast<double>(p.tiles);
    lc.area_m2 = tiles_held * level_area(lc.adc_bits)[itile];
    for (size_t li = 0; li <= itile; ++li) {
      for (const auto& c : levels[li].components) {
        lc.components[levels[li].name + "." + c.name].area_m2 += c.count * tiles_held * per_tile(li) * unit_area(c, lc.adc_bits);
      }
    }
    accumulate(r, lc);
  }
  // With shared tiles, the packed tiles' PEs that no layer holds (at the chip's ADC resolution).
  double spare_tiles = 0;
  if (h.share_tiles) {
    t.n_tiles = mapping::tiles_needed(placed, h);
    spare_tiles = static_cast<double>(t.n_tiles) - static_cast<double>(t.n_pes) / static_cast<double>(h.pes_per_tile);
    t.area_m2 += spare_tiles * tile_area;
  }
  // Leakage of every instance on the chip for the whole inference; area per component of the
  // spare PEs and of the levels above the tile (in full); the chip's area: the area used and
  // its unused tiles at the chip's ADC resolution.
  for (size_t li = 0; li < levels.size(); ++li) {
    double per_chip = 1;
    for (size_t k = li; k < levels.size(); ++k) per_chip *= levels[k].count;
    const double uncounted = li <= itile ? spare_tiles * per_tile(li) : per_chip;  // by the layers
    for (const auto& c : levels[li].components) {
      ComponentCost& tc = r.components[levels[li].name + "." + c.name];
      tc.area_m2 += c.count * uncounted * unit_area(c, chip_adc_bits);
      if (li > itile) t.area_m2 += c.count * per_chip * unit_area(c, chip_adc_bits);
      if (c.leakage_w > 0) {
        const double e = c.leakage_w * c.count * per_chip * t.latency_s;
        tc.energy_j += e;
        t.leakage_energy_j += e;
      }
    }
  }
  t.chip_area_m2 = t.area_m2 + static_cast<double>(h.tiles - t.n_tiles) * tile_area;
  t.energy_j += t.leakage_energy_j;
  return r;
}

}  // namespace cimkit::cost
