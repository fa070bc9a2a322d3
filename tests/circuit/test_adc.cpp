// ADC and DAC models: transfer functions for each range mode, rounding and saturation.
#include <gtest/gtest.h>

#include "circuit/adc.hpp"
#include "circuit/dac.hpp"
#include "core/config_tree.hpp"

using namespace cimkit;

namespace {
Built<Adc> make_adc(const std::string& yaml) {
  return Registry<Adc>::instance().create(load_yaml_string(yaml, "adc.yaml"), "chip.adc");
}
}  // namespace

TEST(Adc, BuiltinsRegistered) {
  const auto adcs = Registry<Adc>::instance().names();
  EXPECT_NE(std::find(adcs.begin(), adcs.end(), "linear"), adcs.end());
  EXPECT_NE(std::find(adcs.begin(), adcs.end(), "ideal"), adcs.end());
  const auto dacs = Registry<Dac>::instance().names();
  EXPECT_NE(std::find(dacs.begin(), dacs.end(), "linear"), dacs.end());
}

TEST(Adc, SurveyRuleBits) {
  // paper 001: ceil(log2((2^d-1)(2^c-1) R + 1))
  EXPECT_EQ(lossless_adc_bits(128, 1, 1), 8);   // 128 -> 8 bits (129 values)
  EXPECT_EQ(lossless_adc_bits(127, 1, 1), 7);
  EXPECT_EQ(lossless_adc_bits(128, 1, 2), 9);   // 384
  EXPECT_EQ(lossless_adc_bits(512, 2, 2), 13);  // 4608
}

TEST(Adc, FullScaleIsLosslessAtSurveyBits) {
  const auto adc = make_adc("impl: linear\nbits: 8\n");
  const AdcTransfer t = adc.object->transfer(128.0, false, std::nullopt);
  EXPECT_EQ(t.step, 1.0);
  EXPECT_TRUE(t.lossless_for_integers(128.0));
  const auto y = torch::arange(0, 129, torch::kFloat32);
  EXPECT_TRUE(torch::equal(adc_convert(y, t), y));
}

TEST(Adc, FullScaleDropsLowBitsBelowSurveyBits) {
  const auto adc = make_adc("impl: linear\nbits: 6\n");
  const AdcTransfer t = adc.object->transfer(128.0, false, std::nullopt);  // n = 8 bits -> step 4
  EXPECT_EQ(t.step, 4.0);
  EXPECT_FALSE(t.lossless_for_integers(128.0));
  const auto y = torch::tensor({0.f, 1.f, 2.f, 3.f, 6.f, 10.f, 128.f, 1000.f});
  // nearest (ties to even): 0, 0, 0 (0.5->0), 4 (0.75->1), 8 (1.5->2), 8 (2.5->2), 128 (code 32),
  // and 1000 saturates at the top code 63 * 4 = 252.
  const auto expect = torch::tensor({0.f, 0.f, 0.f, 4.f, 8.f, 8.f, 128.f, 252.f});
  EXPECT_TRUE(torch::equal(adc_convert(y, t), expect)) << adc_convert(y, t);
}

TEST(Adc, FullScaleAboveSurveyBitsUsesFractionalSteps) {
  const auto adc = make_adc("impl: linear\nbits: 10\n");
  const AdcTransfer t = adc.object->transfer(128.0, false, std::nullopt);  // n = 8 -> step 1/4
  EXPECT_EQ(t.step, 0.25);
  EXPECT_TRUE(t.lossless_for_integers(128.0));
  EXPECT_FLOAT_EQ(adc_convert(torch::tensor({3.3f}), t).item<float>(), 3.25f);
}

TEST(Adc, FloorRoundingAndNegativeSaturation) {
  const auto adc = make_adc("impl: linear\nbits: 6\nrounding: floor\n");
  const AdcTransfer t = adc.object->transfer(128.0, false, std::nullopt);
  const auto y = torch::tensor({-3.f, 3.f, 7.9f, 8.f, 1000.f});
  const auto expect = torch::tensor({0.f, 0.f, 4.f, 8.f, 252.f});
  EXPECT_TRUE(torch::equal(adc_convert(y, t), expect)) << adc_convert(y, t);
}

TEST(Adc, ClippedFollowsPaper003Eq3) {
  const auto adc = make_adc("impl: linear\nbits: 4\nrange: clipped\nclip_k: 4\n");
  const AdcTransfer t = adc.object->transfer(512.0, false, std::nullopt);
  EXPECT_DOUBLE_EQ(t.step, 512.0 / (16.0 * 4.0));  // FS / (2^b k)
  EXPECT_EQ(t.code_max, 15.0);
  // Everything above 15 steps = 120 clips.
  EXPECT_FLOAT_EQ(adc_convert(torch::tensor({300.f}), t).item<float>(), 120.f);
}

TEST(Adc, CalibratedNeedsAStatistic) {
  const auto adc = make_adc("impl: linear\nbits: 4\nrange: calibrated\ncalibration_percentile: 99\n");
  EXPECT_TRUE(adc.object->needs_calibration());
  EXPECT_DOUBLE_EQ(adc.object->calibration_quantile(), 0.99);
  EXPECT_THROW(adc.object->transfer(512.0, false, std::nullopt), Error);
  EXPECT_DOUBLE_EQ(adc.object->transfer(512.0, false, 30.0).step, 2.0);  // 30 / (2^4 - 1)
}

TEST(Adc, IdealPassesThrough) {
  const auto adc = make_adc("impl: ideal\n");
  const AdcTransfer t = adc.object->transfer(128.0, false, std::nullopt);
  EXPECT_FALSE(t.quantises());
  const auto y = torch::tensor({0.3f, -1.7f, 1e6f});
  EXPECT_TRUE(torch::equal(adc_convert(y, t), y));
}

TEST(Adc, ErrorsNameKeyAndChoices) {
  try {
    make_adc("impl: sar2\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "adc.yaml:1: chip.adc.impl: unknown adc 'sar2'; known: linear, ideal");
  }
  try {
    make_adc("impl: linear\nrange: clip\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "adc.yaml:2: chip.adc.range: unknown value 'clip' (did you mean 'clipped'?); allowed: one of: full_scale, clipped, calibrated");
  }
}

TEST(Dac, LinearLevelsAndUnits) {
  const auto dac = Registry<Dac>::instance().create(load_yaml_string("bits: 2\nread_voltage_v: 0.3\nt_read_ns: 50\n", "d.yaml"), "chip.dac");
  EXPECT_EQ(dac.object->bits(), 2);
  EXPECT_DOUBLE_EQ(dac.object->volts_per_level(), 0.1);
  EXPECT_DOUBLE_EQ(dac.object->t_read_s(), 50e-9);
  EXPECT_TRUE(torch::equal(dac.object->level(torch::tensor({0, 3})), torch::tensor({0.f, 3.f})));
}

// Paper 003 eq. 2: one signed ADC per column, codes -2^(b-1) .. 2^(b-1)-1 over [-FS, FS].
TEST(Adc, SignedFullScaleSpendsOneBitOnTheSign) {
  const auto adc = make_adc("impl: linear\nbits: 9\n");
  const AdcTransfer t = adc.object->transfer(255.0, true, std::nullopt);  // 8 magnitude bits + sign
  EXPECT_DOUBLE_EQ(t.step, 1.0);
  EXPECT_EQ(t.code_min, -256.0);
  EXPECT_EQ(t.code_max, 255.0);
  EXPECT_TRUE(t.lossless_for_integers(255.0, true));
  EXPECT_FALSE(t.lossless_for_integers(256.0, true));
  // The same 9 bits unsigned would be lossless for [0, 511]; signed at 8 bits they are not.
  const AdcTransfer t8 = adc.object->with_bits(8)->transfer(255.0, true, std::nullopt);
  EXPECT_DOUBLE_EQ(t8.step, 2.0);
  EXPECT_FALSE(t8.lossless_for_integers(255.0, true));
  const auto y = torch::tensor({-255.f, -3.f, 3.f, 255.f});
  EXPECT_TRUE(torch::equal(adc_convert(y, t), y));
  EXPECT_EQ(lossless_adc_bits(255, 1, 1, true), 9);
}

TEST(Adc, SignedClippedIsPaper003Eq3) {
  const auto adc = make_adc("impl: linear\nbits: 4\nrange: clipped\nclip_k: 4\nrounding: floor\n");
  const AdcTransfer t = adc.object->transfer(512.0, true, std::nullopt);
  EXPECT_DOUBLE_EQ(t.step, 2 * 512.0 / (16.0 * 4.0));  // 2 FS / (2^b k)
  EXPECT_EQ(t.code_min, -8.0);
  EXPECT_EQ(t.code_max, 7.0);
  EXPECT_DOUBLE_EQ(adc.object->clip_factor(), 4.0);
  // Floor toward -inf and saturation on both sides.
  const auto y = torch::tensor({-1000.f, -1.f, 15.f, 1000.f});
  const auto expect = torch::tensor({-128.f, -16.f, 0.f, 112.f});
  EXPECT_TRUE(torch::equal(adc_convert(y, t), expect)) << adc_convert(y, t);
}

TEST(Adc, WithBitsChangesOnlyTheResolution) {
  const auto adc = make_adc("impl: linear\nbits: 8\nrange: clipped\nclip_k: 2\n");
  const auto six = adc.object->with_bits(6);
  EXPECT_EQ(six->bits(), 6);
  EXPECT_EQ(adc.object->bits(), 8);  // the original is untouched
  EXPECT_DOUBLE_EQ(six->transfer(100.0, false, std::nullopt).step, 100.0 / (64.0 * 2.0));
  EXPECT_THROW(adc.object->with_bits(0), Error);
  const auto ideal = make_adc("impl: ideal\n");
  EXPECT_FALSE(ideal.object->has_resolution());
  try {
    ideal.object->with_bits(6);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chip.adc.impl: linear"), std::string::npos) << e.what();
  }
}
