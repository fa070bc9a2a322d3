// Analog-to-digital converter at the crossbar columns.
//
// Contract: the crossbar engine normalises every column partial sum to integer units (one unit
// = one DAC level times one conductance level step), so an ideal array with a linear DAC gives
// integers in [0, full_scale], or in [-full_scale, full_scale] when the partial sums are signed
// (a differential pair subtracting its currents before the ADC, or bipolar inputs: then one
// signed ADC per column, paper 003 eq. 2). transfer() fixes, once per programmed layer, how the
// ADC maps such a value y to a code and back:
//     code = clamp(R(y / step), code_min, code_max)      R = round-to-nearest-even or floor
//     value = code * step
// (paper 003 eq. 2, with saturation at the code range). step == 0 means no quantisation.
// Range modes (see docs/config.md): full scale, clipped by k (paper 003 eq. 3), calibrated.
#pragma once
#include <torch/torch.h>

#include <memory>
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
  // True when every integer partial sum in [0, full_scale] (signed: [-full_scale, full_scale])
  // converts back to itself exactly.
  bool lossless_for_integers(double full_scale, bool signed_sums = false) const;
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
  // Whether the converter has a resolution a layer's precision can set (false: ideal).
  virtual bool has_resolution() const { return bits() > 0; }
  // The same converter at another resolution (per-layer precision); only when has_resolution().
  virtual std::shared_ptr<const Adc> with_bits(int bits) const = 0;
  // True when transfer() needs `calibrated_max` (observed partial sums of a calibration batch).
  virtual bool needs_calibration() const = 0;
  // Transfer for columns whose largest possible |partial sum| is `full_scale`, unsigned
  // ([0, full_scale]) or signed ([-full_scale, full_scale], codes -2^(b-1) .. 2^(b-1)-1);
  // `calibrated_max` is the calibration statistic when needs_calibration().
  virtual AdcTransfer transfer(double full_scale, bool signed_sums, std::optional<double> calibrated_max) const = 0;
  // Paper 003 eq. 3's clipping factor k when the range is clipped, else 1.
  virtual double clip_factor() const { return 1.0; }
  // Statistic the calibration collects over observed partial sums (|y| quantile in [0, 1]).
  virtual double calibration_quantile() const { return 1.0; }
};

// Paper 001's survey rule: ADC bits that lose nothing for `rows` rows of `dac_bits` inputs and
// `cell_bits` cells: ceil(log2((2^dac_bits - 1)(2^cell_bits - 1) rows + 1)), plus a sign bit
// when the partial sums are signed.
int lossless_adc_bits(int rows, int dac_bits, int cell_bits, bool signed_sums = false);

}  // namespace cimkit
