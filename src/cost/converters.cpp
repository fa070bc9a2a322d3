// Converter cost at any resolution: the ADC table and its scaling rule (adc_scale), and the
// architecture's ADC and DAC per conversion (CostModel::adc_at, dac_at) in both conventions.
#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "cost/cost_model.hpp"

namespace cimkit::cost {
namespace {

// Accelergy's ISAAC library ADC table at 32 nm (energy pJ, area um^2) for 4..10 bits, derived
// from Saberi et al. (IEEE TCAS-I 58(8), 2011); ../shared/reference/algorithms.md §6. Used as
// ratios between resolutions; beyond the table, the end ratios per bit continue.
constexpr int kTableLo = 4, kTableHi = 10;
constexpr double kTableEnergy[] = {0.79, 0.99, 1.20, 1.42, 1.67, 1.97, 2.38};
constexpr double kTableArea[] = {361, 477, 627, 845, 1200, 1828, 3002};

double table_value(const double* t, int bits) {
  if (bits < kTableLo) return t[0] * std::pow(t[0] / t[1], kTableLo - bits);
  if (bits > kTableHi) return t[kTableHi - kTableLo] * std::pow(t[6] / t[5], bits - kTableHi);
  return t[bits - kTableLo];
}

}  // namespace

std::pair<double, double> adc_scale(AdcScaling rule, int from_bits, int to_bits) {
  if (from_bits == to_bits) return {1.0, 1.0};
  if (rule == AdcScaling::Walden) {
    const double f = std::pow(2.0, to_bits - from_bits);
    return {f, f};
  }
  return {table_value(kTableEnergy, to_bits) / table_value(kTableEnergy, from_bits),
          table_value(kTableArea, to_bits) / table_value(kTableArea, from_bits)};
}

int CostModel::reference_adc_bits() const {
  if (arch_.conventions() == "mnsim") return static_cast<int>(arch_.mnsim().get_int("adc_bits"));
  for (const auto& lev : arch_.levels()) {
    for (const auto& comp : lev.components) {
      if (comp.role == Role::Adc) return comp.bits;
    }
  }
  return 0;
}

int CostModel::priced_adc_bits(int bits) const { return bits > 0 ? bits : reference_adc_bits(); }

CostModel::Converter CostModel::adc_at(int bits) const {
  Converter c;
  if (bits < 1 && reference_adc_bits() > 0) {
    throw Error(fmt::format("the ADC cost at {} bits is undefined (an ideal ADC has no resolution to price); price it "
                            "at priced_adc_bits({}) = {} bits, the architecture's own",
                            bits, bits, reference_adc_bits()));
  }
  if (arch_.conventions() == "mnsim") {
    const Params& m = arch_.mnsim();
    const auto [fe, fa] = adc_scale(arch_.adc_scaling(), static_cast<int>(m.get_int("adc_bits")), bits);
    const double rate0 = m.get_real("adc_rate_gsps") * 1e9;
    const double rate = arch_.adc_rate_hz() > 0 ? arch_.adc_rate_hz() : rate0;
    c.power_w = m.get_real("adc_power_mw") * 1e-3 * fe * rate / rate0;  // constant energy per conversion
    c.area_m2 = m.get_real("adc_area_um2") * 1e-12 * fa;
    c.conversion_s = bits == 1 ? 1.0 / rate : (bits + 2) / rate;  // MNSIM ADC.py (SAR-like)
    c.energy_j = c.power_w * c.conversion_s;
    return c;
  }
  for (const auto& lev : arch_.levels()) {
    for (const auto& comp : lev.components) {
      if (comp.role != Role::Adc) continue;
      const auto [fe, fa] = adc_scale(arch_.adc_scaling(), comp.bits, bits);
      const double rate = arch_.adc_rate_hz() > 0 ? arch_.adc_rate_hz() : (comp.rate_hz > 0 ? comp.rate_hz : arch_.clock_hz());
      const double e0 = comp.energy_j > 0 ? comp.energy_j : comp.power_w / (comp.rate_hz > 0 ? comp.rate_hz : rate);
      c.energy_j = e0 * fe;
      c.area_m2 = comp.area_m2 * fa;
      c.conversion_s = 1.0 / rate;
      c.power_w = c.energy_j * rate;
      return c;
    }
  }
  return c;  // no ADC component: free and instantaneous
}

CostModel::Converter CostModel::dac_at(int bits) const {
  Converter c;
  if (arch_.conventions() == "mnsim") {
    const Params& m = arch_.mnsim();
    const double f = std::pow(2.0, bits - 1);  // MNSIM DAC.py table: x2 per bit (from ISAAC)
    const double rate = m.get_real("dac_rate_gsps") * 1e9;
    c.power_w = m.get_real("dac_power_uw_1bit") * 1e-6 * f;
    c.area_m2 = m.get_real("dac_area_um2_1bit") * 1e-12 * f;
    c.conversion_s = (bits + 2) / rate;  // MNSIM DAC.py
    c.energy_j = c.power_w * c.conversion_s;
    return c;
  }
  for (const auto& l : arch_.levels()) {
    for (const auto& comp : l.components) {
      if (comp.role != Role::Dac) continue;
      const double f = std::pow(2.0, bits - comp.bits);  // ISAAC/MNSIM DAC table: x2 per bit
      const double t = comp.latency_s > 0 ? comp.latency_s : 1.0 / arch_.clock_hz();
      c.energy_j = (comp.energy_j > 0 ? comp.energy_j : comp.power_w * t) * f;
      c.area_m2 = comp.area_m2 * f;
      c.power_w = comp.power_w * f;
      c.conversion_s = comp.latency_s;
      return c;
    }
  }
  return c;
}

}  // namespace cimkit::cost
