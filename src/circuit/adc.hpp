// Analog-to-digital converter at the crossbar columns.
//
// Contract: the crossbar engine normalises every column partial sum to integer units (one unit
// = one DAC level times one conductance level step), so an ideal array with a linear DAC gives
// integers in [0, full_scale]. transfer() fixes, once per programmed layer, how the ADC maps such
// a value y to a code and back:
//     code = clamp(R(y / step), code_min, code_max)      R = round-to-nearest-even or floor
//     value = code * step
// (paper 003 eq. 2, with saturation at the code range). step == 0 means no quantisation.
// Range modes (see docs/config.md): full scale, clipped by k (paper 003 eq. 3), calibrated.
#pragma once
#include <torch/torch.h>

#include <optional>

#include "core/registry.hpp"

namespace cimkit {

enum class Rounding { Nearest, Floor };

struct AdcTransfer {
  double step = 0.0;       // partial-sum units per code; 0: no quantisation (ideal ADC)
  double code_min = 0.0;   // lowest code (saturation below)
  double code_max = 0.0;   // highest code (saturation above)
  Rounding rounding = Rounding::Nearest;

  bool quantises() const { return step > 0.0; }
  // True when every integer partial sum in [0, full_scale] converts back to itself exactly.
  bool lossless_for_integers(double full_scale) const;
};

// Reference conversion (tensor ops, any device): quantise and reconstruct. [any] -> same shape.
torch::Tensor adc_convert(const torch::Tensor& y, const AdcTransfer& t);

class Adc {
 public:
  static constexpr const char* kInterface = "adc";
  static constexpr const char* kDescription = "Column ADC: resolution, range, rounding, saturation";
  static constexpr const char* kDefaultImpl = "linear";

  virtual ~Adc() = default;
  virtual int bits() const = 0;  // 0 for an ideal (infinite-resolution) converter
  // True when transfer() needs `calibrated_max` (observed partial sums of a calibration batch).
  virtual bool needs_calibration() const = 0;
  // Transfer for columns whose largest possible partial sum is `full_scale`; `calibrated_max`
  // is the calibration statistic when needs_calibration().
  virtual AdcTransfer transfer(double full_scale, std::optional<double> calibrated_max) const = 0;
  // Statistic the calibration collects over observed partial sums (|y| quantile in [0, 1]).
  virtual double calibration_quantile() const { return 1.0; }
};

// Paper 001's survey rule: ADC bits that lose nothing for `rows` rows of `dac_bits` inputs and
// `cell_bits` cells: ceil(log2((2^dac_bits - 1)(2^cell_bits - 1) rows + 1)).
int lossless_adc_bits(int rows, int dac_bits, int cell_bits);

}  // namespace cimkit
