#include "circuit/adc.hpp"

#include <cmath>

namespace cimkit {

bool AdcTransfer::lossless_for_integers(double full_scale) const {
  if (!quantises()) return true;
  // Integers survive when the step is 1, codes cover [0, full_scale], and rounding of an exact
  // integer is the integer itself (true for both nearest and floor).
  return step == 1.0 && code_min <= 0.0 && code_max >= full_scale;
}

torch::Tensor adc_convert(const torch::Tensor& y, const AdcTransfer& t) {
  if (!t.quantises()) return y;
  torch::Tensor v = y / t.step;
  v = t.rounding == Rounding::Nearest ? torch::round(v) : torch::floor(v);
  return v.clamp(t.code_min, t.code_max) * t.step;
}

int lossless_adc_bits(int rows, int dac_bits, int cell_bits) {
  const double max_sum = static_cast<double>((int64_t{1} << dac_bits) - 1) *
                         static_cast<double>((int64_t{1} << cell_bits) - 1) * rows;
  return static_cast<int>(std::ceil(std::log2(max_sum + 1.0)));
}

}  // namespace cimkit
