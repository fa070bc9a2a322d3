// A layer's precision on the chip: the widths a bit-width search changes thousands of times.
// Applied to a chip in code (Chip::with_precision), never through the config tree.
#pragma once
#include <string>

namespace cimkit {

// weight_bits: signed weight width, sign included (>= 2); act_bits: input code width; adc_bits:
// the column ADC's resolution, 0 for a chip whose ADC has none (adc.ideal). check() raises a
// cimkit::Error naming `key` when a width is out of range.
struct Precision {
  int weight_bits = 8;
  int act_bits = 8;
  int adc_bits = 8;
  void check(const std::string& key = "precision") const;
  bool operator==(const Precision& o) const {
    return weight_bits == o.weight_bits && act_bits == o.act_bits && adc_bits == o.adc_bits;
  }
  bool operator!=(const Precision& o) const { return !(*this == o); }
  std::string str() const;  // "w8a8adc8" ("adc-" for an ideal ADC)
};

}  // namespace cimkit
