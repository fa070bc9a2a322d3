// Signed arithmetic as real chips do it (issue 11): a differential pair subtracting its currents
// before one signed ADC (`subtract: analog`, MNSIM 2.0 polarity 2, paper 003 eq. 2) against
// converting each polarity and subtracting digitally; signed inputs in two passes or on a
// bipolar DAC; the counts and the ADC range that follow. Exactness against the integer product
// for every combination is in test_exact.cpp.
#include <gtest/gtest.h>

#include "circuit/adc.hpp"
#include "crossbar/layer_mapping.hpp"
#include "engine_fixtures.hpp"

using namespace cimkit;
using namespace cimkit::testing;

namespace {

std::shared_ptr<const Chip> chip(const std::string& subtract, const std::string& inputs, const std::string& device,
                                 const std::string& adc, int64_t rows = 64) {
  return chip_from("crossbar: {rows: " + std::to_string(rows) + ", cols: 64, subtract: " + subtract +
                   ", input_encoding: " + inputs + ", path: conductance}\ndevice: " + device + "\nadc: " + adc + "\n");
}

MvmResult read(const std::shared_ptr<const Chip>& c, const torch::Tensor& w, const torch::Tensor& x) {
  CrossbarLayer::Options o;
  o.integer_codes = true;
  o.seed = 5;
  CrossbarLayer layer(c, w, o);
  return layer.forward(x);
}

}  // namespace

// With device variation but an ideal ADC, subtracting before or after the converter is the same
// sum: the two must agree to float rounding; and analog subtraction converts half as often.
TEST(Signed, AnalogAndDigitalSubtractionAgreeWithoutAdcLoss) {
  const torch::Tensor w = random_codes(20, 150, -127, 127, 1), x = random_codes(12, 150, 0, 255, 2);
  const std::string dev = "{impl: reram, d2d_std: 0.1, read_noise_std: 0}";
  const MvmResult d = read(chip("digital", "unsigned", dev, "{impl: ideal}"), w, x);
  const MvmResult a = read(chip("analog", "unsigned", dev, "{impl: ideal}"), w, x);
  const torch::Tensor ref = integer_product(x, w);
  EXPECT_GT((d.y_int - ref).abs().max().item<double>(), 1.0);  // the variation shows
  // float32 partial sums of each polarity (digital) or of their difference (analog) round differently
  const double rel = ((a.y_int - d.y_int).norm() / d.y_int.norm()).item<double>();
  EXPECT_LT(rel, 1e-6);
  EXPECT_EQ(a.counts.adc_conversions * 2, d.counts.adc_conversions);
  EXPECT_EQ(a.counts.dac_conversions, d.counts.dac_conversions);
  EXPECT_EQ(a.counts.array_activations, d.counts.array_activations);
}

// A lossy ADC: the signed converter of a pair sees the difference (small for balanced weights),
// so at the same bits and range mode it keeps the sign bit and loses one magnitude bit.
TEST(Signed, SignedAdcRangeAndLoss) {
  const torch::Tensor w = random_codes(16, 64, -127, 127, 3), x = random_codes(20, 64, 0, 255, 4);
  const torch::Tensor ref = integer_product(x, w);
  auto err = [&](const std::string& subtract, int bits) {
    const MvmResult r = read(chip(subtract, "unsigned", "{impl: ideal}", "{impl: linear, bits: " + std::to_string(bits) + "}"), w, x);
    return ((r.y_int - ref).norm() / ref.norm()).item<double>();
  };
  EXPECT_EQ(err("digital", 7), 0.0);   // 64 rows of 1-bit cells and 1-bit DACs: 7 bits lossless
  EXPECT_GT(err("analog", 7), 0.0);    // signed: 8 bits needed
  EXPECT_EQ(err("analog", 8), 0.0);
  EXPECT_GT(err("analog", 5), err("analog", 6));
  CrossbarLayer::Options o;
  o.integer_codes = true;
  CrossbarLayer layer(chip_from("crossbar: {rows: 64, cols: 64, subtract: analog}\ndevice: {impl: ideal}\n"
                                "adc: {impl: linear, bits: 8}\n"), w, o);
  EXPECT_TRUE(layer.mapping().signed_partials);
  EXPECT_EQ(layer.mapping().adc.code_min, -128.0);
  EXPECT_EQ(layer.mapping().adc.code_max, 127.0);
  EXPECT_TRUE(layer.shortcut_active());  // 8 signed bits are lossless: one exact GEMM
}

TEST(Signed, InputEncodingsCountTheirPasses) {
  CrossbarSpec s;
  s.rows = 64;
  s.input_bits = 8;
  const LayerMapping unsigned_m = plan_mapping(s, 1, 10, 100);
  s.input_encoding = InputEncoding::Offset;
  const LayerMapping offset_m = plan_mapping(s, 1, 10, 100);
  s.input_encoding = InputEncoding::TwoPhase;
  const LayerMapping two_phase_m = plan_mapping(s, 1, 10, 100);
  s.input_encoding = InputEncoding::Bipolar;
  const LayerMapping bipolar_m = plan_mapping(s, 1, 10, 100);
  EXPECT_EQ(unsigned_m.input_slices, 8);
  EXPECT_EQ(offset_m.input_slices, 8);
  EXPECT_EQ(two_phase_m.input_slices, 14);  // 7 magnitude bits, two passes
  EXPECT_EQ(bipolar_m.input_slices, 7);     // 7 magnitude bits, the sign on the DAC
  EXPECT_FALSE(two_phase_m.signed_partials);
  EXPECT_TRUE(bipolar_m.signed_partials);
  const ActionCounts c = count_actions(two_phase_m, 3);
  EXPECT_EQ(c.dac_conversions, 3 * 14 * 100 * two_phase_m.arrays_per_tile);
  EXPECT_EQ(c.adc_conversions, 3 * 14 * two_phase_m.row_tiles * two_phase_m.adc_groups * 10);
  s.subtract = Subtraction::Analog;
  const LayerMapping pair = plan_mapping(s, 1, 10, 100);
  EXPECT_EQ(pair.adc_groups, pair.weight_slices);
  EXPECT_EQ(pair.column_groups, 2 * pair.weight_slices);
  EXPECT_EQ(pair.n_arrays, bipolar_m.n_arrays);  // the cells are the same
}

// The three signed input encodings give the same product; their counts differ as they should.
TEST(Signed, SignedInputsAgreeAcrossEncodings) {
  const torch::Tensor w = random_codes(16, 80, -127, 127, 5), x = random_codes(10, 80, -127, 127, 6);
  const torch::Tensor ref = integer_product(x, w);
  for (const std::string inputs : {"offset", "two_phase", "bipolar"}) {
    for (const std::string subtract : {"digital", "analog"}) {
      const bool signed_sums = subtract == "analog" || inputs == "bipolar";
      const auto c = chip(subtract, inputs, "{impl: ideal}",
                          "{impl: linear, bits: " + std::to_string(lossless_adc_bits(64, 1, 1, signed_sums)) + "}");
      const MvmResult r = read(c, w, x);
      EXPECT_TRUE(torch::equal(r.y_int, ref)) << inputs << " " << subtract;
    }
  }
}

TEST(Signed, ConfigErrorsNameTheKey) {
  try {
    chip_from("crossbar: {subtract: analog, weight_scheme: offset}\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("chip.crossbar.subtract"), std::string::npos) << e.what();
  }
  try {
    chip_from("crossbar: {subtract: analog, baseline: reference_column}\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("chip.crossbar.baseline"), std::string::npos) << e.what();
  }
  // Codes outside the symmetric range of a sign-magnitude encoding are refused, not clipped.
  const torch::Tensor w = random_codes(4, 8, -3, 3, 7);
  CrossbarLayer::Options o;
  o.integer_codes = true;
  CrossbarLayer layer(chip_from("crossbar: {input_encoding: two_phase}\ndevice: {impl: ideal}\n"), w, o);
  EXPECT_THROW(layer.forward(torch::full({1, 8}, -128.0)), ShapeError);
  EXPECT_NO_THROW(layer.forward(torch::full({1, 8}, -127.0)));
}

// The folded rungs read the same cells with the same read-noise distribution: their noise
// variance matches the bit-exact path's (lossless ADC, read noise only), and a lossy ADC moves
// the tile rung away from the exact product.
TEST(Fidelity, FoldedRungsCarryTheReadNoiseAndTheAdc) {
  const torch::Tensor w = random_codes(24, 200, -127, 127, 9), x = random_codes(64, 200, 0, 255, 10);
  const torch::Tensor ref = integer_product(x, w);
  CrossbarLayer::Options o;
  o.integer_codes = true;
  o.seed = 3;
  CrossbarLayer layer(chip_from("crossbar: {rows: 64, cols: 64}\ndevice: {impl: reram, read_noise_std: 0.05}\n"
                                "adc: {impl: ideal}\n"), w, o);
  auto noise_var = [&](Fidelity f) {
    layer.set_fidelity(f);
    return (layer.forward(x).y_int - ref).var().item<double>();
  };
  const double exact = noise_var(Fidelity::BitExact), tile = noise_var(Fidelity::Tile), weight = noise_var(Fidelity::Weight);
  EXPECT_GT(exact, 1.0);
  EXPECT_NEAR(tile / exact, 1.0, 0.15);
  EXPECT_NEAR(weight / exact, 1.0, 0.15);
  // A 4-bit ADC on every slice partial sum: the weight rung has no ADC (the exact product); the
  // tile rung's model, fitted once against the bit-exact read, follows the chip's loss.
  CrossbarLayer lossy(chip_from("crossbar: {rows: 64, cols: 64}\ndevice: {impl: ideal}\nadc: {impl: linear, bits: 4}\n"), w, o);
  const torch::Tensor chip_y = lossy.forward(x).y_int;
  lossy.set_fidelity(Fidelity::Weight);
  EXPECT_TRUE(torch::equal(lossy.forward(x).y_int, ref));
  lossy.set_fidelity(Fidelity::Tile);
  EXPECT_EQ(lossy.tile_model_fits(), 0);
  const torch::Tensor tile_y = lossy.forward(x).y_int;
  EXPECT_EQ(lossy.tile_model_fits(), 1);
  lossy.forward(x);
  EXPECT_EQ(lossy.tile_model_fits(), 1);  // fitted once per programming and read conditions
  // The model reproduces the loss's size and bias, not its realisation (a statistical model).
  const double chip_loss = (chip_y - ref).norm().item<double>();
  EXPECT_GT(chip_loss / ref.norm().item<double>(), 0.05);  // the ADC loses a lot here
  EXPECT_NEAR((tile_y - ref).norm().item<double>() / chip_loss, 1.0, 0.3);
  const double bias_chip = (chip_y - ref).mean().item<double>(), bias_tile = (tile_y - ref).mean().item<double>();
  EXPECT_NEAR(bias_tile, bias_chip, 0.2 * std::abs(bias_chip) + 0.05 * chip_loss / std::sqrt(static_cast<double>(ref.numel())));
  auto corr_with_ref = [&](const torch::Tensor& y) {
    return torch::corrcoef(torch::stack({y.flatten(), ref.flatten()}))[0][1].item<double>();
  };
  EXPECT_NEAR(corr_with_ref(tile_y), corr_with_ref(chip_y), 0.05);
  lossy.set_temperature(310.0);
  lossy.forward(x);
  EXPECT_EQ(lossy.tile_model_fits(), 2);  // new read conditions: fitted again
  // Too few rows to fit (a tiny batch into a fully connected layer): no model, read as weight.
  CrossbarLayer few(chip_from("crossbar: {rows: 64, cols: 64}\ndevice: {impl: ideal}\nadc: {impl: linear, bits: 4}\n"), w, o);
  few.set_fidelity(Fidelity::Tile);
  const torch::Tensor x_few = x.narrow(0, 0, CrossbarLayer::kTileModelMinRows - 1);
  EXPECT_TRUE(torch::equal(few.forward(x_few).y_int, integer_product(x_few, w)));
  EXPECT_EQ(to_string(parse_fidelity("tile")), "tile");
  try {
    parse_fidelity("tiles", "eval.fidelity");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'tile'"), std::string::npos) << e.what();
  }
}
