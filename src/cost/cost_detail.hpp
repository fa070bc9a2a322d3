// Shared by the two pricing conventions of CostModel (cost_model.cpp: native; cost_mnsim.cpp:
// MNSIM 2.0): each layer's widths, the network schedule and the report's running totals.
#pragma once
#include <cstdint>

#include "cost/cost_model.hpp"

namespace cimkit::cost::detail {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A layer as it is priced: its widths from the per-layer options (CostOptions::layers), else
// its own, else the chip's; its ADC at CostModel::priced_adc_bits of that; its duplication.
struct LayerSetup {
  mapping::WeightLayer layer;  // weight_bits, input_bits and adc_bits all given
  int64_t duplication = 1;     // the options', else 1 (before a duplication search)
  const LayerOptions* options = nullptr;  // null: none for this layer
};
LayerSetup layer_setup(const CostModel& model, const mapping::WeightLayer& l);

// Adds a priced layer to the report's totals and per-component sums.
void accumulate(CostReport& r, const LayerCost& lc);

// Places layer `lc` (of shape `l`, lc.latency_s set) in the network schedule after `prev` (see
// cost_model.cpp and docs/cost.md for the pipelined and sequential rules).
void schedule(LayerCost& lc, const mapping::WeightLayer& l, const LayerCost* prev, bool pipeline);

}  // namespace cimkit::cost::detail
