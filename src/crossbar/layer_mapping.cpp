#include "crossbar/layer_mapping.hpp"

#include <string>

#include "core/error.hpp"
#include "crossbar/slicing.hpp"

namespace cimkit {

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

nlohmann::json LayerMapping::to_json() const {
  return {{"out_features", out_features}, {"in_features", in_features},
          {"row_tiles", row_tiles},       {"input_slices", input_slices},
          {"weight_slices", weight_slices}, {"polarities", polarities},
          {"adc_groups", adc_groups},     {"signed_partials", signed_partials},
          {"data_cols_per_array", data_cols_per_array}, {"arrays_per_tile", arrays_per_tile},
          {"n_arrays", n_arrays},         {"full_scale", full_scale},
          {"adc_step", adc.step},         {"adc_code_min", adc.code_min},
          {"adc_code_max", adc.code_max}, {"utilisation", utilisation}};
}

LayerMapping plan_mapping(const CrossbarSpec& spec, int dac_bits, int64_t out_features, int64_t in_features) {
  if (out_features < 1 || in_features < 1) {
    throw ShapeError("a layer maps a weight matrix [out, in] with both sizes >= 1, got [" +
                     std::to_string(out_features) + ", " + std::to_string(in_features) + "]");
  }
  const WeightLayout wl = weight_layout(spec);
  const InputLayout il = input_layout(spec, dac_bits);
  LayerMapping m;
  m.out_features = out_features;
  m.in_features = in_features;
  m.row_tiles = ceil_div(in_features, spec.rows);
  m.input_slices = il.n_slices;
  m.weight_slices = wl.n_slices;
  m.polarities = wl.n_polarities;
  m.column_groups = wl.n_groups;
  m.adc_groups = wl.n_adc_groups;
  m.signed_partials = wl.analog_subtraction || il.signed_levels;
  m.data_cols_per_array = spec.baseline == Baseline::ReferenceColumn ? spec.cols - 1 : spec.cols;
  const int64_t gcols = wl.n_groups * out_features;
  m.arrays_per_tile = ceil_div(gcols, m.data_cols_per_array);
  m.n_arrays = m.row_tiles * m.arrays_per_tile;
  m.utilisation = static_cast<double>(in_features * gcols) / static_cast<double>(m.n_arrays * spec.rows * spec.cols);
  return m;
}

ActionCounts count_actions(const LayerMapping& m, int64_t n, bool per_array) {
  ActionCounts c;
  const int64_t S = m.input_slices;
  c.n_inputs = n;
  c.dac_conversions = n * S * m.in_features * m.arrays_per_tile;
  c.array_activations = n * S * m.n_arrays;
  c.adc_conversions = n * S * m.row_tiles * m.adc_groups * m.out_features;
  c.shift_adds = c.adc_conversions;
  if (per_array) c.activations_per_array = torch::full({m.n_arrays}, n * S, torch::kInt64);
  return c;
}

}  // namespace cimkit
