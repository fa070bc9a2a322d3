// Digital-to-analog converter at the crossbar rows (bit-serial input slicing).
//
// Contract: an unsigned input code of `input_bits` bits is fed in ceil(input_bits / bits())
// slices of bits() bits, least significant slice first. Each slice code c in [0, 2^bits-1]
// drives its row with level(c) read-voltage units, where one unit is read_voltage_v() /
// (2^bits-1) volts for t_read_s() seconds. A linear DAC has level(c) == c exactly; the crossbar
// engine then may use integer arithmetic.
#pragma once
#include <torch/torch.h>

#include "core/registry.hpp"

namespace cimkit {

class Dac {
 public:
  static constexpr const char* kInterface = "dac";
  static constexpr const char* kDescription = "Row driver DAC: bits per input slice, read voltage and pulse width";
  static constexpr const char* kDefaultImpl = "linear";

  virtual ~Dac() = default;
  virtual int bits() const = 0;
  virtual double read_voltage_v() const = 0;  // full-scale row voltage
  virtual double t_read_s() const = 0;        // read pulse width per input slice
  virtual bool is_linear() const = 0;
  // Analog level (in voltage units, see above) of slice codes. [any shape] -> same shape, float.
  virtual torch::Tensor level(const torch::Tensor& codes) const = 0;

  // Volts per unit level.
  double volts_per_level() const {
    return read_voltage_v() / static_cast<double>((int64_t{1} << bits()) - 1);
  }
};

}  // namespace cimkit
