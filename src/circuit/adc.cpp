#include "circuit/adc.hpp"

#include <cmath>

namespace cimkit {

bool AdcTransfer::lossless_for_integers(double full_scale, bool signed_sums) const {
  if (!quantises()) return true;
  // Integers survive when the step is 1 or 1/2^k (every integer is a whole number of steps,
  // and rounding a whole number is exact for both nearest and floor) and the codes cover
  // [0, full_scale] (signed: [-full_scale, full_scale]).
  if (step > 1.0) return false;
  const double inv = 1.0 / step;
  const double lowest = signed_sums ? -full_scale : 0.0;
  return inv == std::floor(inv) && std::ldexp(1.0, static_cast<int>(std::log2(inv))) == inv &&
         code_min * step <= lowest && code_max * step >= full_scale;
}

torch::Tensor adc_convert(const torch::Tensor& y, const AdcTransfer& t) {
  if (!t.quantises()) return y;
  // Same arithmetic as the engine's kernels: float32 inputs are scaled by the float32
  // reciprocal of the step, saturated, then rounded.
  torch::Tensor v = y.scalar_type() == torch::kFloat32 ? y * static_cast<float>(1.0 / t.step) : y * (1.0 / t.step);
  v = v.clamp(t.code_min, t.code_max);
  v = t.rounding == Rounding::Nearest ? torch::round(v) : torch::floor(v);
  return v * t.step;
}

int lossless_adc_bits(int rows, int dac_bits, int cell_bits, bool signed_sums) {
  const double max_sum = static_cast<double>((int64_t{1} << dac_bits) - 1) *
                         static_cast<double>((int64_t{1} << cell_bits) - 1) * rows;
  return static_cast<int>(std::ceil(std::log2(max_sum + 1.0))) + (signed_sums ? 1 : 0);
}

}  // namespace cimkit
