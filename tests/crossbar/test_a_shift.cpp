// Paper 003's A-shift on the chip (crossbar.a_shift): unsigned codes driven as x − 2^(b−1) in
// two's-complement slices on a ±V DAC, the offset 2^(b−1)·Σw added back digitally.
#include <gtest/gtest.h>

#include "crossbar/layer_mapping.hpp"
#include "crossbar/slicing.hpp"
#include "engine_fixtures.hpp"

using namespace cimkit;
using namespace cimkit::testing;

namespace {

std::shared_ptr<const Chip> shift_chip(bool a_shift, int dac_bits, const std::string& subtract, const std::string& adc,
                                       int input_bits = 6) {
  return chip_from("crossbar: {rows: 32, cols: 64, cell_bits: 2, weight_bits: 6, input_bits: " +
                   std::to_string(input_bits) + ", subtract: " + subtract + ", a_shift: " + (a_shift ? "true" : "false") +
                   "}\ndevice: {impl: ideal}\ndac: {impl: linear, bits: " + std::to_string(dac_bits) + "}\nadc: " + adc + "\n");
}

MvmResult read(const std::shared_ptr<const Chip>& c, const torch::Tensor& w, const torch::Tensor& x) {
  CrossbarLayer::Options o;
  o.integer_codes = true;
  o.seed = 3;
  CrossbarLayer layer(c, w, o);
  return layer.forward(x);
}

}  // namespace

// The slices of every 6-bit code, shift-added, give back x − 32; the top slice is signed.
TEST(AShift, DigitsOfTheShiftedCodeRecombine) {
  for (int d : {1, 2, 3, 4, 6}) {
    CrossbarSpec spec;
    spec.input_bits = 6;
    spec.input_encoding = InputEncoding::Shifted;
    const InputLayout l = input_layout(spec, d);
    EXPECT_EQ(l.n_slices, (6 + d - 1) / d);
    EXPECT_EQ(l.stored_offset, -32);
    EXPECT_TRUE(l.signed_levels);
    const torch::Tensor codes = torch::arange(0, 64, torch::kInt64);
    const torch::Tensor digits = input_digits((codes + l.stored_offset).unsqueeze(0), l).squeeze(1);  // [S, 64]
    torch::Tensor sum = torch::zeros({64}, torch::kFloat64);
    for (int64_t s = 0; s < l.n_slices; ++s) sum += l.slice_coef[s] * digits[s].to(torch::kFloat64);
    EXPECT_TRUE(torch::equal(sum, (codes - 32).to(torch::kFloat64))) << "dac bits " << d;
    const double top_max = digits[l.n_slices - 1].abs().max().item<double>();
    EXPECT_LE(top_max, static_cast<double>(l.max_digit));
    EXPECT_LT(digits.min().item<double>(), 0.0);  // a ±V DAC
  }
}

// With a lossless ADC the shifted product plus the digital offset is the unshifted product,
// exactly, for one slice and for bit-sliced inputs, with either subtraction; the ADC converts
// signed partial sums.
TEST(AShift, ShiftedProductEqualsTheUnshiftedOneWithALosslessAdc) {
  const torch::Tensor w = random_codes(9, 70, -31, 31, 1), x = random_codes(11, 70, 0, 63, 2);
  const torch::Tensor ref = integer_product(x, w);
  for (int d : {1, 2, 6}) {
    for (const std::string sub : {"digital", "analog"}) {
      const MvmResult plain = read(shift_chip(false, d, sub, "{impl: ideal}"), w, x);
      const MvmResult shifted = read(shift_chip(true, d, sub, "{impl: ideal}"), w, x);
      EXPECT_TRUE(torch::equal(plain.y_int, ref)) << d << " " << sub;
      EXPECT_TRUE(torch::equal(shifted.y_int, ref)) << d << " " << sub;
      EXPECT_EQ(shifted.counts.dac_conversions, plain.counts.dac_conversions);  // ceil(b/d) slices either way
    }
    // A linear ADC with enough bits for the signed partial sums is lossless too (full-scale range).
    const MvmResult lin = read(shift_chip(true, d, "analog", "{impl: linear, bits: 14}"), w, x);
    EXPECT_TRUE(torch::equal(lin.y_int, ref)) << d;
  }
  const auto m = plan_mapping(shift_chip(true, 6, "digital", "{impl: ideal}")->spec(), 6, 9, 70);
  EXPECT_TRUE(m.signed_partials);
}

// The ADC's full scale counts A-shift's largest drive: 2^(b−1) for one slice, 2^d − 1 otherwise.
TEST(AShift, FullScaleOfOneTwosComplementSlice) {
  const torch::Tensor w = random_codes(4, 32, -31, 31, 3);
  CrossbarLayer::Options o;
  o.integer_codes = true;
  const CrossbarLayer one(shift_chip(true, 6, "analog", "{impl: ideal}"), w, o);
  EXPECT_DOUBLE_EQ(one.mapping().full_scale, 32.0 * 32 * 3);  // rows · 2^(6−1) · (2^2 − 1)
  const CrossbarLayer sliced(shift_chip(true, 2, "analog", "{impl: ideal}"), w, o);
  EXPECT_DOUBLE_EQ(sliced.mapping().full_scale, 32.0 * 3 * 3);
  const CrossbarLayer plain(shift_chip(false, 6, "analog", "{impl: ideal}"), w, o);
  EXPECT_DOUBLE_EQ(plain.mapping().full_scale, 32.0 * 63 * 3);
}

// A layer's precision on an A-shift chip: unsigned inputs are shifted, signed ones go bipolar.
TEST(AShift, WithPrecisionPicksTheEncodings) {
  const auto c = shift_chip(true, 1, "analog", "{impl: ideal}");
  EXPECT_EQ(c->spec().input_encoding, InputEncoding::Shifted);
  EXPECT_EQ(c->with_precision({4, 4, 0}, false)->spec().input_encoding, InputEncoding::Shifted);
  EXPECT_EQ(c->with_precision({4, 4, 0}, true)->spec().input_encoding, InputEncoding::Bipolar);
  const auto p = shift_chip(false, 1, "analog", "{impl: ideal}");
  EXPECT_EQ(p->with_precision({4, 4, 0}, false)->spec().input_encoding, InputEncoding::Unsigned);
  EXPECT_EQ(p->with_precision({4, 4, 0}, true)->spec().input_encoding, InputEncoding::Offset);
}
