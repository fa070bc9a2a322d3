// A convolution's read at the folded rungs (CrossbarLayer::forward_windows): the windows of an
// image read as the rows im2col makes of them read through forward(), on a realistic chip with
// every device effect, read noise and a lossy ADC (the same noise stream, so the same draws).
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "engine_fixtures.hpp"

using namespace cimkit;
using namespace cimkit::testing;

namespace {

struct WindowsCase {
  std::string name;
  std::string chip;
  int64_t x_lo, x_hi;  // input codes
};

std::vector<WindowsCase> windows_cases() {
  const std::string device =
      "device: {impl: reram, g_on_us: 40, g_off_us: 4, d2d_std: 0.05, c2c_std: 0.03, read_noise_std: 0.02,"
      " stuck_off_rate: 0.01, stuck_on_rate: 0.01}\n";
  return {
      {"unsigned_reference_column",
       "crossbar: {rows: 32, cols: 32, baseline: reference_column}\n" + device +
           "adc: {impl: linear, bits: 5, range: clipped, clip_k: 4}\n",
       0, 255},
      // Offset-encoded signed inputs (a stored offset: padding reads it too) on offset-scheme
      // weights with a digital baseline (the row sums of the corrections).
      {"offset_inputs_digital_baseline",
       "crossbar: {rows: 32, cols: 32, weight_scheme: offset, input_encoding: offset, baseline: digital}\n" +
           device + "adc: {impl: linear, bits: 6, range: full_scale}\n",
       -128, 127},
  };
}

class Windows : public ::testing::TestWithParam<WindowsCase> {};

TEST_P(Windows, ReadAsTheirRows) {
  const WindowsCase& c = GetParam();
  auto chip = chip_from(c.chip);
  const int64_t C = 5, k = 3, stride = 2, pad = 1, out = 7;
  const torch::Tensor w = random_codes(out, C * k * k, -127, 127, 21);  // 45 rows: 2 row tiles
  const torch::Tensor image = random_codes(2 * C * 9, 7, c.x_lo, c.x_hi, 22).reshape({2, C, 9, 7});
  const torch::Tensor cols = torch::im2col(image, {k, k}, {1, 1}, {pad, pad}, {stride, stride});
  const torch::Tensor rows = cols.transpose(1, 2).reshape({-1, C * k * k});  // [2·5·4, 45]
  CrossbarLayer::Options opt;
  opt.integer_codes = true;
  opt.seed = 9;
  for (const Fidelity f : {Fidelity::Tile, Fidelity::Weight}) {
    CrossbarLayer by_rows(chip, w, opt), by_windows(chip, w, opt);
    by_rows.set_fidelity(f);
    by_windows.set_fidelity(f);
    for (int read = 0; read < 2; ++read) {  // the second read: a new noise draw, the same model
      const MvmResult r = by_rows.forward(rows);
      const MvmResult v = by_windows.forward_windows(image, {k, stride, pad});
      ASSERT_EQ(v.y_int.sizes(), (std::vector<int64_t>{2, 5, 4, out})) << to_string(f);
      const torch::Tensor vy = v.y_int.reshape({-1, out});
      // float32 sums in another order: a few units in the last place of the largest sum.
      const double top = static_cast<double>(C * k * k) * 255.0 * 255.0;
      const double ulp = std::ldexp(1.0, std::ilogb(top) - 23);
      EXPECT_TRUE(torch::allclose(vy, r.y_int, 1e-5, 4 * ulp))
          << c.name << " " << to_string(f) << ": max |diff| " << (vy - r.y_int).abs().max().item<double>();
      EXPECT_EQ(v.counts.adc_conversions, r.counts.adc_conversions);
      EXPECT_EQ(v.counts.n_inputs, r.counts.n_inputs);
      EXPECT_TRUE(torch::allclose(v.counts.read_energy_j_per_array, r.counts.read_energy_j_per_array, 1e-9, 0.0));
    }
    EXPECT_EQ(by_windows.tile_model_fits(), by_rows.tile_model_fits());
    EXPECT_EQ(by_windows.tile_model_fits(), f == Fidelity::Tile ? 1 : 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Folded, Windows, ::testing::ValuesIn(windows_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Windows, WrongUseIsAClearError) {
  auto chip = chip_from("crossbar: {rows: 32, cols: 32}\ndevice: {impl: ideal}\n");
  CrossbarLayer::Options opt;
  opt.integer_codes = true;
  CrossbarLayer layer(chip, random_codes(4, 18, -7, 7, 1), opt);
  const torch::Tensor image = random_codes(2 * 6, 5, 0, 255, 2).reshape({1, 2, 6, 5});
  EXPECT_THROW(layer.forward_windows(image, {3, 1, 1}), Error);  // bit_exact reads rows
  layer.set_fidelity(Fidelity::Weight);
  EXPECT_NO_THROW(layer.forward_windows(image, {3, 1, 1}));
  try {
    layer.forward_windows(image, {2, 1, 0});  // 2·2·2 = 8 inputs, the layer has 18
    FAIL() << "no error";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("C·k·k = 18"), std::string::npos) << e.what();
  }
  EXPECT_THROW(layer.forward_windows(image.reshape({2, 6, 5}), {3, 1, 1}), ShapeError);
  EXPECT_THROW(layer.forward_windows(image + 0.5, {3, 1, 1}), Error);  // not integer codes
  EXPECT_THROW(layer.forward_windows(image + 300, {3, 1, 1}), Error);  // out of the 8-bit range
  CrossbarLayer floats(chip, torch::randn({4, 18}), {});
  floats.set_fidelity(Fidelity::Weight);
  EXPECT_THROW(floats.forward_windows(image, {3, 1, 1}), Error);  // needs integer codes
}

}  // namespace
