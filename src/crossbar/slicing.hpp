// Number formats on the chip: quantising weights and inputs to integer codes, splitting signed
// weights into polarities and cell-sized slices, and inputs into DAC-sized slices.
//
// A weight code w (signed, `weight_bits` wide) is stored as column groups g = (slice, polarity),
// each holding one digit per cell in [0, 2^cell_bits - 1]; the digital shift-add recombines
//     w + offset = sum_g coef[g] * digit[g]                                       (exact)
//   differential    : polarities +|w| and -|w| (w>0 / w<0), weight_bits-1 magnitude bits,
//                     coef = +-2^(k*cell_bits); offset 0.
//   offset          : stored u = w + 2^(weight_bits-1) in weight_bits bits, coef = 2^(k*cell_bits);
//                     the digital correction subtracts 2^(weight_bits-1) * sum(x).
//   twos_complement : the low weight_bits-1 bits of the two's complement code in ceil((b-1)/c)
//                     slices, plus one sign slice holding the sign bit (digit 0/1) with
//                     coef = -2^(weight_bits-1) (the "negative MSB slice"); offset 0.
// An input code x (unsigned, or signed stored as x + 2^(input_bits-1)) is fed in
// S = ceil(input_bits / dac_bits) slices, slice s holding bits [s*dac_bits, (s+1)*dac_bits).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "crossbar/chip.hpp"

namespace cimkit {

struct WeightLayout {
  int64_t n_slices = 0;          // K
  int64_t n_polarities = 0;      // P
  int64_t n_groups = 0;          // K * P, ordered g = k * P + p
  std::vector<double> coef;      // [n_groups] signed shift-add coefficient
  int64_t code_min = 0, code_max = 0;  // representable weight codes
  int64_t stored_offset = 0;     // u = w + stored_offset is what the slices hold
  // What reaches the ADCs: with analog subtraction (differential weights, `subtract: analog`)
  // the two polarity columns of a slice subtract their currents before one signed ADC, so
  // K groups are converted (adc_coef = 2^(k*cell_bits)); otherwise every group (adc_coef = coef).
  bool analog_subtraction = false;
  int64_t n_adc_groups = 0;
  std::vector<double> adc_coef;  // [n_adc_groups]
};
WeightLayout weight_layout(const CrossbarSpec& spec);

// Input encodings (chip.crossbar.input_encoding; docs/config.md):
//   unsigned   codes [0, 2^b - 1], S = ceil(b / dac_bits) slices.
//   offset     signed codes [-2^(b-1), 2^(b-1) - 1] stored as x + 2^(b-1), corrected digitally.
//   two_phase  signed codes [-(2^(b-1)-1), 2^(b-1)-1]: the positive part x+ and the negative part
//              x- (b-1 bits each) are applied in two passes, the second subtracted after the ADC
//              (slice coefficient -2^(s*dac_bits)); 2 ceil((b-1)/dac_bits) slices.
//   bipolar    signed codes as two_phase, one pass: a DAC with +-V levels drives sign(x) times
//              the slice digits of |x|, so partial sums are signed; ceil((b-1)/dac_bits) slices.
//   shifted    paper 003 A-shift: unsigned codes [0, 2^b - 1] driven as x - 2^(b-1) (stored
//              offset -2^(b-1), added back digitally), in the slices of its b-bit two's
//              complement: the lower slices unsigned digits, the top one signed (arithmetic
//              shift), on a DAC with +-V levels; partial sums are signed; ceil(b/dac_bits) slices.
struct InputLayout {
  int64_t n_slices = 0;          // S: reads per input vector (both phases of two_phase)
  int64_t slices_per_phase = 0;
  int dac_bits = 1;
  int64_t code_min = 0, code_max = 0;  // representable input codes
  int64_t stored_offset = 0;     // x_u = x + stored_offset is what the DACs see
  bool two_phase = false;
  bool signed_levels = false;    // bipolar, shifted: the DAC drives signed levels
  bool twos_complement = false;  // shifted: the top slice holds a signed digit
  // The largest |DAC digit| a slice drives, as the ADC's full scale counts it: 2^dac_bits - 1,
  // or for one two's-complement slice 2^(dac_bits-1) (its lowest level -2^(dac_bits-1)).
  int64_t max_digit = 0;
  std::vector<double> slice_coef;  // [n_slices] shift-add coefficient of each slice
};
InputLayout input_layout(const CrossbarSpec& spec, int dac_bits);

// Symmetric weight quantisation: codes in [-(2^(b-1)-1), 2^(b-1)-1], one scale per tensor or
// per output row. Zero rows get scale 1. [out, in] -> codes (int64) and scales [out] (float64).
struct QuantisedWeights {
  torch::Tensor codes;   // [out, in] int64
  torch::Tensor scales;  // [out] float64
};
QuantisedWeights quantise_weights(const torch::Tensor& w, const CrossbarSpec& spec);

// Checks that `t` holds integer codes in [lo, hi]; ShapeError naming `what` otherwise.
void check_codes(const torch::Tensor& t, int64_t lo, int64_t hi, const std::string& what);

// Digit tensor of weight codes: [out, in] int64 -> [n_groups, out, in] float32 levels.
torch::Tensor weight_digits(const torch::Tensor& codes, const CrossbarSpec& spec,
                            const WeightLayout& layout);

// Digit tensor of stored input codes: [n, in] int64 (already offset) -> [S, n, in] float32:
// the DAC codes of every slice (two_phase: the slices of x+ then those of x-; bipolar: the
// slice digits of |x| carrying the sign of x; shifted: the two's-complement digits, the top one
// signed).
torch::Tensor input_digits(const torch::Tensor& stored, const InputLayout& layout);

}  // namespace cimkit
