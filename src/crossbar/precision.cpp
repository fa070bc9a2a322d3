#include "crossbar/precision.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit {

void Precision::check(const std::string& key) const {
  auto bad = [&](const char* what, int v, const char* allowed) {
    throw Error(fmt::format("{}.{} = {}; allowed: {}", key, what, v, allowed));
  };
  if (weight_bits < 2 || weight_bits > 16) bad("weight_bits", weight_bits, "2..16 (signed, sign included)");
  if (act_bits < 1 || act_bits > 16) bad("act_bits", act_bits, "1..16");
  if (adc_bits < 0 || adc_bits > 16) bad("adc_bits", adc_bits, "1..16, or 0 for a chip with an ideal ADC");
}

std::string Precision::str() const {
  return adc_bits > 0 ? fmt::format("w{}a{}adc{}", weight_bits, act_bits, adc_bits)
                      : fmt::format("w{}a{}adc-", weight_bits, act_bits);
}

}  // namespace cimkit
