// The ADC + shift-and-add stage, the one step that touches every column partial sum.
//
// partial: [S * n, G * out] float32, row s*n + i, column g*out + o: the partial sum of input
//          vector i, input slice s, column group g, output o (one row tile).
// acc:     [n, out] float64, += sum_{s,g} coef[s*G + g] * ADC(partial) (ADC per adc.hpp:
//          code * step, with step folded into coef by the caller when quantising).
// The CPU kernel is one fused pass (quantise, saturate, weight, accumulate) over the partial
// sums; the generic kernel is tensor ops and runs on any device. Both quantise identically
// (same float32 arithmetic); their float64 sums may differ in the last bits (summation order).
#pragma once
#include <torch/torch.h>

#include "circuit/adc.hpp"

namespace cimkit {

void adc_shift_add(const torch::Tensor& partial, int64_t n, int64_t n_slices, int64_t n_groups,
                   const torch::Tensor& coef, const AdcTransfer& adc, torch::Tensor& acc);

// The tensor-op version (any device); exposed for tests.
void adc_shift_add_generic(const torch::Tensor& partial, int64_t n, int64_t n_slices,
                           int64_t n_groups, const torch::Tensor& coef, const AdcTransfer& adc,
                           torch::Tensor& acc);

}  // namespace cimkit
