// What a crossbar call did, counted for the cost and thermal models to price (Timeloop /
// Accelergy style: count here, price elsewhere).
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>

namespace cimkit {

struct ActionCounts {
  int64_t n_inputs = 0;           // input vectors processed
  int64_t dac_conversions = 0;    // one per driven row per input slice per array
  int64_t array_activations = 0;  // one per array per input slice per input vector
  int64_t adc_conversions = 0;    // one per (row tile, input slice, weight slice, polarity) column sum
  int64_t shift_adds = 0;         // one per converted partial sum
  torch::Tensor activations_per_array;   // [n_arrays] int64, CPU
  torch::Tensor read_energy_j_per_array; // [n_arrays] float64, CPU: sum over reads of V^2 G t

  double read_energy_j() const;
  void add(const ActionCounts& other);
  nlohmann::json to_json() const;
};

}  // namespace cimkit
