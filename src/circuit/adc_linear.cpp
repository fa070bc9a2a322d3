// Uniform ADC with a fixed number of bits, saturation and three ways to set its range.
//
// Unsigned partial sums (each ADC converts one polarity of one weight slice, inputs unsigned or
// offset): codes 0 .. 2^bits - 1 over [0, FS]. Signed partial sums (a differential pair
// subtracting before the ADC, or bipolar inputs): codes -2^(bits-1) .. 2^(bits-1) - 1 over
// [-FS, FS], paper 003 eq. 2's signed ADC.
//   full_scale : the partial sum has n = ceil(log2(FS+1)) magnitude bits (plus a sign bit when
//                signed); the ADC keeps the top `bits` of them: step = 2^(n + sign - bits). Fewer
//                bits drop low-order bits (ISAAC-style); with bits >= n + sign (paper 001's
//                survey rule) the step is 1 or a power-of-two fraction and integer partial sums
//                convert exactly.
//   clipped    : paper 003 eq. 3, step = 2 FS / (2^bits k) for signed sums; an unsigned ADC
//                spends its codes on [0, FS] only: step = FS / (2^bits k). k > 1 clips the top
//                of the range to resolve small partial sums more finely.
//   calibrated : the range is set from |partial sums| observed on a calibration batch (their
//                `calibration_percentile` percentile): step = observed / code_max.
// Rounding is to nearest (ties to even) or floor (paper 003 eq. 2 uses floor).
#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"

#include "circuit/adc.hpp"

namespace cimkit {
namespace {

class LinearAdc final : public Adc {
 public:
  explicit LinearAdc(const Params& p)
      : bits_(static_cast<int>(p.get_int("bits"))),
        range_(p.get_string("range")),
        clip_k_(p.get_real("clip_k")),
        rounding_(p.get_string("rounding") == "floor" ? Rounding::Floor : Rounding::Nearest),
        quantile_(p.get_real("calibration_percentile") / 100.0) {}

  static Schema schema() {
    Schema s("adc.linear", "Uniform ADC: `bits` bits with saturation, codes 0..2^bits-1 (or -2^(bits-1)..2^(bits-1)-1 for signed partial sums: subtract analog, bipolar inputs), range from full scale, clipping factor k (paper 003 eq. 3) or calibration.");
    s.integer("bits", "ADC resolution").range(1, 24).def(int64_t{8});
    s.choice("range", {"full_scale", "clipped", "calibrated"}, "How the conversion range is set (see docs/config.md)").def(std::string("full_scale"));
    // Paper 003 §4: "ADCs having k = 4".
    s.real("clip_k", "Clipping factor k of paper 003 eq. 3 (range = full scale / k); used when range = clipped").above(0).at_most(1e6).def(4.0);
    s.choice("rounding", {"nearest", "floor"}, "Rounding of partial sum / step (paper 003 eq. 2 uses floor)").def(std::string("nearest"));
    s.real("calibration_percentile", "Percentile of observed partial sums mapped to the top code; used when range = calibrated").above(0).at_most(100).def(100.0);
    return s;
  }

  int bits() const override { return bits_; }
  std::shared_ptr<const Adc> with_bits(int bits) const override {
    if (bits < 1 || bits > 24) throw Error("adc.linear: bits = " + std::to_string(bits) + "; allowed: 1..24");
    auto copy = std::make_shared<LinearAdc>(*this);
    copy->bits_ = bits;
    return copy;
  }
  double clip_factor() const override { return range_ == "clipped" ? clip_k_ : 1.0; }
  bool needs_calibration() const override { return range_ == "calibrated"; }
  double calibration_quantile() const override { return quantile_; }

  AdcTransfer transfer(double full_scale, bool signed_sums, std::optional<double> calibrated_max) const override {
    AdcTransfer t;
    t.rounding = rounding_;
    t.code_min = signed_sums ? -std::ldexp(1.0, bits_ - 1) : 0.0;
    t.code_max = signed_sums ? std::ldexp(1.0, bits_ - 1) - 1.0 : std::ldexp(1.0, bits_) - 1.0;
    if (range_ == "full_scale") {
      const int n = static_cast<int>(std::ceil(std::log2(full_scale + 1.0))) + (signed_sums ? 1 : 0);
      t.step = std::ldexp(1.0, n - bits_);
    } else if (range_ == "clipped") {
      t.step = (signed_sums ? 2.0 : 1.0) * full_scale / (std::ldexp(1.0, bits_) * clip_k_);
    } else {
      if (!calibrated_max) {
        throw Error("adc.linear: range 'calibrated' needs a calibration batch before conversion "
                    "(call calibrate() on the layer first)");
      }
      const double top = *calibrated_max > 0.0 ? *calibrated_max : 1.0;
      t.step = top / std::max(1.0, t.code_max);
    }
    return t;
  }

 private:
  int bits_;
  std::string range_;
  double clip_k_;
  Rounding rounding_;
  double quantile_;
};

// Infinite-resolution converter: passes the partial sum through (a reference, and the
// "no ADC" baseline of paper 003's tables).
class IdealAdc final : public Adc {
 public:
  explicit IdealAdc(const Params&) {}
  static Schema schema() { return Schema("adc.ideal", "No quantisation: the partial sum passes through unchanged."); }
  int bits() const override { return 0; }
  std::shared_ptr<const Adc> with_bits(int bits) const override {
    throw Error("adc.ideal has no resolution to set to " + std::to_string(bits) +
                " bits (use chip.adc.impl: linear for a finite-resolution ADC)");
  }
  bool needs_calibration() const override { return false; }
  AdcTransfer transfer(double, bool, std::optional<double>) const override { return AdcTransfer{}; }
};

}  // namespace
}  // namespace cimkit

CIMKIT_REGISTER(cimkit::Adc, cimkit::LinearAdc, "linear",
                "Uniform ADC with saturation; full-scale, clipped (paper 003 eq. 3) or calibrated range")
CIMKIT_REGISTER(cimkit::Adc, cimkit::IdealAdc, "ideal", "Infinite-resolution ADC (no quantisation)")
