// How one weight matrix sits on the chip's arrays, and what reading it costs in actions: the one
// place where a layer's geometry (plan_mapping) and its action counts (count_actions) are
// computed. The engine, the mapping layer and the cost model all call these two functions.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>

#include "circuit/adc.hpp"
#include "crossbar/chip.hpp"
#include "crossbar/counts.hpp"

namespace cimkit {

struct LayerMapping {
  int64_t out_features = 0, in_features = 0;
  int64_t row_tiles = 0;            // T = ceil(in / rows)
  int64_t input_slices = 0;         // S: DAC reads per input vector (both phases of two_phase inputs)
  int64_t weight_slices = 0;        // K
  int64_t polarities = 0;           // P
  int64_t column_groups = 0;        // K * P: cell columns per output
  int64_t adc_groups = 0;           // partial sums converted per (row tile, input slice, output):
                                    // K * P, or K when a differential pair subtracts before the ADC
  int64_t data_cols_per_array = 0;  // cols, minus one with a reference column
  int64_t arrays_per_tile = 0;      // ceil(K * P * out / data_cols_per_array)
  int64_t n_arrays = 0;             // T * arrays_per_tile; array a = t * arrays_per_tile + c
  bool signed_partials = false;     // partial sums reach the ADC signed (analog subtraction or
                                    // bipolar inputs): the ADC's range is [-full_scale, full_scale]
  double full_scale = 0;            // largest possible |partial sum|, integer units
  AdcTransfer adc;                  // in force for this layer
  double utilisation = 0;           // used cells / cells of the arrays
  nlohmann::json to_json() const;
};

// The geometry of a [out, in] weight matrix on `spec`'s arrays with `dac_bits` DACs: every field
// of LayerMapping except full_scale and adc (which need the device model and the ADC).
LayerMapping plan_mapping(const CrossbarSpec& spec, int dac_bits, int64_t out_features, int64_t in_features);

// The actions of reading `n_vectors` input vectors through a layer mapped as `m`: DAC
// conversions (one per driven row per input slice per array), array activations, ADC
// conversions and shift-adds (one per converted partial sum), activations per array. The read
// energy is left undefined: it depends on the inputs and the cells (the engine measures it).
// Without `per_array` the activations per array are left undefined too (no tensor is made:
// the cost model prices whole layers thousands of times per search).
ActionCounts count_actions(const LayerMapping& m, int64_t n_vectors, bool per_array = true);

}  // namespace cimkit
