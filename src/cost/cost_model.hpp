// Energy, latency and area of a whole network on a chip: the placement (arrays -> PEs -> tiles,
// mapping::place_layer) and action counts per layer (count_actions, the crossbar engine's own),
// priced by the architecture's components (configs/presets/arch/*.yaml), and the derived figures
// (EDP, TOPS, TOPS/W, TOPS/mm^2, energy per inference). Two conventions:
//
//  native  Energy = Σ actions x energy per action, per layer and component (converters scaled
//          to the chip's resolution; components with only a power figure: power x busy time of
//          their level); array read energy from the device's conductances (shape-only activity,
//          or the engine's measured read energy when a trained model was run); latency from
//          input slices, array reads and conversions per ADC; layers pipelined ISAAC-style or
//          run one after another; area of the tiles used. docs/cost.md has every formula.
//  mnsim   MNSIM 2.0's conventions (../shared/reference/mnsim.md): whole input channels per
//          crossbar, sign-magnitude weights on positive/negative crossbars, PE = group of
//          crossbar pairs, `multiple_time` latency, energy = layer power x summed component
//          latency, MNSIM's component constants and area roll-up, so that published MNSIM
//          numbers can be compared with ours. Deliberate differences are listed in docs/cost.md.
//
// Evaluation is pure arithmetic over the layer list (no tensors): a ResNet-18 costs in well under
// a millisecond, so searches can call it thousands of times (bench/bench_cost.cpp).
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cost/architecture.hpp"
#include "crossbar/chip.hpp"
#include "crossbar/layer_mapping.hpp"
#include "mapping/network.hpp"

namespace cimkit::cost {

// What the cost model needs to know about the chip (crossbar geometry, converters, device).
struct ChipParams {
  CrossbarSpec spec;
  int dac_bits = 1, adc_bits = 8;  // adc_bits 0: an ideal ADC (priced as CostModel::priced_adc_bits says)
  double read_voltage_v = 0.2, t_read_s = 10e-9;
  double g_on_s = 0, g_off_s = 0;  // nominal LRS / HRS conductance
  static ChipParams from_chip(const Chip& chip);
};

// Per-layer overrides (mixed precision, duplication) and measured activity.
struct LayerOptions {
  std::optional<int> weight_bits, input_bits, adc_bits;  // not given: the layer's, else the chip's
  std::optional<int64_t> duplication;                    // not given: 1, then the model's policy
  // Array read energy per inference measured by the crossbar engine (J); unset: shape estimate.
  std::optional<double> read_energy_j;
};

struct CostOptions {
  // Weight duplication: "none", or "balance" (replicate the slowest layers while the chip has
  // tiles left, ISAAC-style pipeline balancing).
  std::string duplication = "none";
  // Shape-only activity of the native model's array energy estimate: the fraction of input
  // slice levels that are non-zero-volt (mean level / top level), and of cells in the LRS.
  double input_activity = 0.5, cell_on_fraction = 0.5;
  std::map<std::string, LayerOptions> layers;  // by layer name
  static Schema schema();                      // the `cost:` section of a run config
  static CostOptions from_params(const Params& p);
};

struct ComponentCost {
  double energy_j = 0, area_m2 = 0;
  int64_t actions = 0;
  double busy_s = 0;  // mnsim: Σ over output pixels of the component's latency
};

struct LayerCost {
  std::string name, kind;
  int weight_bits = 0, input_bits = 0;
  int adc_bits = 0;  // the resolution its ADCs are priced at (energy and area)
  int64_t macs = 0, vectors = 0, duplication = 1;
  int64_t arrays = 0, pes = 0, tiles = 0;
  double cell_utilisation = 0, pe_utilisation = 0;
  int64_t dac_conversions = 0, array_reads = 0, adc_conversions = 0;
  double energy_j = 0, latency_s = 0, area_m2 = 0;
  double start_s = 0, finish_s = 0;  // in the network schedule
  bool measured_read_energy = false;
  // Where the energy is spent, for the power map (thermal): in the layer's arrays, in the rest
  // of its PEs, in its tiles' periphery (energy_j also holds chip-level components).
  double array_energy_j = 0, pe_energy_j = 0, tile_energy_j = 0;
  std::map<std::string, ComponentCost> components;  // by component name
  nlohmann::json to_json() const;
};

struct CostTotals {
  int64_t n_arrays = 0, n_pes = 0, n_tiles = 0, macs = 0;
  double energy_j = 0, latency_s = 0, area_m2 = 0, chip_area_m2 = 0;
  double leakage_energy_j = 0;
  double edp_js = 0, tops = 0, tops_per_w = 0, tops_per_mm2 = 0;
  double interval_s = 0;         // pipeline interval: one inference per interval when streaming
  double throughput_tops = 0;    // ops per interval
  double energy_per_inference_j = 0;
  nlohmann::json to_json() const;
};

// The chip's geometry for floorplans: tiles on the chip, PEs per tile, arrays per PE, and the
// area of one tile and one PE (its arrays and periphery).
struct ChipGeometry {
  int64_t tiles_on_chip = 0, pes_per_tile = 0, arrays_per_pe = 0;
  double tile_area_m2 = 0, pe_area_m2 = 0;
};

struct CostReport {
  std::string network, architecture, conventions;
  ChipGeometry geometry;
  CostTotals totals;
  std::vector<LayerCost> layers;
  std::map<std::string, ComponentCost> components;  // whole network, by component name
  nlohmann::json reference;                          // the architecture table used, with sources
  nlohmann::json to_json() const;                    // {network, arch, totals, layers, components}
  std::string summary_table() const;                 // the terminal summary
  std::string component_table() const;               // per-component breakdown
  std::string layers_csv() const;
};

class CostModel {
 public:
  CostModel(Architecture arch, ChipParams chip, CostOptions options = {});
  // From config sections: `arch` (preset or inline) and `chip` (may be null: the arch's own chip
  // preset, else the default chip).
  static CostModel from_config(const ConfigNode* arch, const ConfigNode* chip, CostOptions options = {});

  const Architecture& architecture() const { return arch_; }
  const ChipParams& chip() const { return chip_; }
  const CostOptions& options() const { return options_; }
  CostOptions& options() { return options_; }

  // Prices `net`; an error when it does not fit the chip (tiles needed vs available).
  CostReport evaluate(const mapping::NetworkShape& net) const;

  // Converter cost at another resolution (the architecture's scaling rule), per unit
  // (converters.cpp). adc_at needs bits >= 1 (an Error otherwise, unless the architecture has
  // no ADC: then every ADC is free).
  struct Converter {
    double energy_j = 0, area_m2 = 0, power_w = 0, conversion_s = 0;
  };
  Converter adc_at(int bits) const;
  Converter dac_at(int bits) const;
  // The resolution the architecture quotes its ADC at (0: it has no ADC).
  int reference_adc_bits() const;
  // The resolution an ADC of `bits` is priced at: `bits`, or for an ideal ADC (0 bits, nothing
  // to scale from) the architecture's own ADC resolution.
  int priced_adc_bits(int bits) const;

 private:
  CostReport evaluate_native(const mapping::NetworkShape& net) const;
  CostReport evaluate_mnsim(const mapping::NetworkShape& net) const;
  Architecture arch_;
  ChipParams chip_;
  CostOptions options_;
};

// "1.234 mJ": four significant digits with an SI prefix (f .. T).
std::string format_si(double v, const std::string& unit);

// Scaling of ADC energy (index 0) and area (index 1) from `from_bits` to `to_bits`.
std::pair<double, double> adc_scale(AdcScaling rule, int from_bits, int to_bits);

}  // namespace cimkit::cost
