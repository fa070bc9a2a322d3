// Engine behaviour beyond exactness: ADC losses, saturation, action counts and read energy,
// chunking, noise statistics, temperature and drift, determinism, the fused kernel, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "circuit/adc.hpp"
#include "core/paths.hpp"
#include "crossbar/kernels.hpp"
#include "engine_fixtures.hpp"

using namespace cimkit;
using namespace cimkit::testing;

namespace {

CrossbarLayer::Options codes_opt(uint64_t seed = 1) {
  CrossbarLayer::Options o;
  o.integer_codes = true;
  o.seed = seed;
  return o;
}

double rel_error(const torch::Tensor& y, const torch::Tensor& ref) {
  return ((y - ref).norm() / ref.norm()).item<double>();
}

}  // namespace

TEST(Adc, ErrorGrowsAsBitsFall) {
  // Full-scale range on 128 rows: 8 bits are lossless; each bit fewer doubles the step. Below
  // ~4 bits the ADC has collapsed (most 1-bit-slice partial sums round to 0 or one step), where
  // the error is large but no longer ordered, so order is checked from 8 down to 4 bits.
  const torch::Tensor w = random_codes(32, 256, -127, 127, 1);
  const torch::Tensor x = random_codes(64, 256, 0, 255, 2);
  const torch::Tensor ref = integer_product(x, w);
  auto error_at = [&](int bits) {
    auto chip = chip_from("crossbar: {rows: 128, cols: 128}\ndevice: {impl: ideal}\nadc: {bits: " + std::to_string(bits) + "}\n");
    CrossbarLayer layer(chip, w, codes_opt());
    return rel_error(layer.forward(x).y_int, ref);
  };
  EXPECT_EQ(error_at(8), 0.0);
  double prev = 0.0;
  for (int bits = 7; bits >= 4; --bits) {
    const double err = error_at(bits);
    EXPECT_GT(err, prev) << bits << " bits";
    prev = err;
  }
  EXPECT_GT(error_at(3), prev);
  EXPECT_GT(error_at(2), 0.5);
}

TEST(Adc, SaturationClipsEveryPartialSumAtTheTopCode) {
  // All-max weights and inputs: every 1-bit slice partial sum is 32 (rows). Clipped range with
  // k = 4 and 4 bits: step = 32 / (16 * 4) = 0.5, top code 15 -> each partial sum reads 7.5.
  auto chip = chip_from("crossbar: {rows: 32, cols: 32, lossless_shortcut: false}\ndevice: {impl: ideal}\n"
                        "adc: {bits: 4, range: clipped, clip_k: 4}\n");
  const torch::Tensor w = torch::full({5, 32}, 127.f), x = torch::full({3, 32}, 255.f);
  CrossbarLayer layer(chip, w, codes_opt());
  const double per_sum = 7.5;
  const double expect = per_sum * 255.0 * 127.0;  // sum over input slices 2^s and weight slices 2^k
  EXPECT_TRUE(torch::allclose(layer.forward(x).y_int, torch::full({3, 5}, expect, torch::kFloat64)));
  // Full-scale range with 4 bits: step 2^(6-4) = 4, 32 / 4 = 8 <= 15: no saturation, exact.
  auto fs = chip_from("crossbar: {rows: 32, cols: 32}\ndevice: {impl: ideal}\nadc: {bits: 4}\n");
  CrossbarLayer l2(fs, w, codes_opt());
  EXPECT_TRUE(torch::equal(l2.forward(x).y_int, integer_product(x, w)));
}

TEST(Adc, CalibratedRangeFollowsObservedSums) {
  auto chip = chip_from("crossbar: {rows: 64, cols: 64}\ndevice: {impl: ideal}\nadc: {bits: 5, range: calibrated}\n");
  const torch::Tensor w = random_codes(8, 64, -127, 127, 3), x = random_codes(16, 64, 0, 63, 4);
  CrossbarLayer layer(chip, w, codes_opt());
  EXPECT_THROW(layer.forward(x), Error);
  layer.calibrate(x);
  // Inputs below 64 use only 6 of the 8 input slices; partial sums of 1-bit digits <= 64.
  const double step = layer.mapping().adc.step;
  EXPECT_GT(step, 0.0);
  EXPECT_LE(step * 31, 64.0);
  EXPECT_LT(rel_error(layer.forward(x).y_int, integer_product(x, w)), 0.1);
}

TEST(Counts, MatchTheMapping) {
  // in = 80 over 32-row tiles -> 3 tiles; differential 8-bit, 1-bit cells -> 7 slices x 2
  // polarities = 14 groups x 10 outputs = 140 columns -> 5 arrays of 32 columns per tile.
  auto chip = chip_from("crossbar: {rows: 32, cols: 32}\ndevice: {impl: ideal}\ndac: {bits: 2}\n");
  CrossbarLayer layer(chip, random_codes(10, 80, -127, 127, 5), codes_opt());
  const LayerMapping& m = layer.mapping();
  EXPECT_EQ(m.row_tiles, 3);
  EXPECT_EQ(m.input_slices, 4);
  EXPECT_EQ(m.weight_slices, 7);
  EXPECT_EQ(m.polarities, 2);
  EXPECT_EQ(m.arrays_per_tile, 5);
  EXPECT_EQ(m.n_arrays, 15);
  EXPECT_DOUBLE_EQ(m.utilisation, 80.0 * 140.0 / (15.0 * 32 * 32));
  const ActionCounts c = layer.forward(random_codes(6, 80, 0, 255, 6)).counts;
  EXPECT_EQ(c.n_inputs, 6);
  EXPECT_EQ(c.dac_conversions, 6 * 4 * 80 * 5);
  EXPECT_EQ(c.array_activations, 6 * 4 * 15);
  EXPECT_EQ(c.adc_conversions, 6 * 4 * 3 * 140);
  EXPECT_EQ(c.shift_adds, c.adc_conversions);
  EXPECT_EQ(c.activations_per_array.numel(), 15);
  EXPECT_EQ(c.activations_per_array.sum().item<int64_t>(), c.array_activations);
}

TEST(Counts, ReadEnergyMatchesABruteForceSum) {
  // One tile of 8 rows, 2-bit cells, 2-bit DAC: E = sum_reads sum_rows sum_cols (v_i)^2 G_ij t.
  auto chip = chip_from("crossbar: {rows: 8, cols: 8, cell_bits: 2, weight_bits: 4, input_bits: 4}\n"
                        "device: {impl: ideal, g_on_us: 40, g_off_us: 4}\ndac: {bits: 2, read_voltage_v: 0.3, t_read_ns: 50}\n");
  const torch::Tensor w = random_codes(3, 6, -7, 7, 9), x = random_codes(4, 6, 0, 15, 10);
  CrossbarLayer layer(chip, w, codes_opt());
  const ActionCounts c = layer.forward(x).counts;
  // Differential 4-bit in 2-bit cells: 2 slices x 2 polarities x 3 outputs = 12 columns -> 2 arrays.
  ASSERT_EQ(layer.mapping().n_arrays, 2);
  const double dg = 36e-6 / 3, g_off = 4e-6, v_unit = 0.3 / 3, t = 50e-9;
  const auto wc = layer.weight_codes();
  double expect[2] = {0, 0};
  for (int64_t n = 0; n < 4; ++n) {
    for (int s = 0; s < 2; ++s) {
      for (int64_t i = 0; i < 6; ++i) {
        const int64_t digit = (static_cast<int64_t>(x[n][i].item<float>()) >> (2 * s)) & 3;
        const double v2 = std::pow(digit * v_unit, 2);
        for (int64_t j = 0; j < 16; ++j) {  // 2 arrays x 8 columns; columns >= 12 are unused (HRS)
          double level = 0;
          if (j < 12) {
            const int64_t g = j / 3, o = j % 3, k = g / 2, p = g % 2;
            const int64_t wv = wc[o][i].item<int64_t>();
            const int64_t mag = p == 0 ? std::max<int64_t>(wv, 0) : std::max<int64_t>(-wv, 0);
            level = static_cast<double>((mag >> (2 * k)) & 3);
          }
          expect[j / 8] += v2 * (g_off + level * dg) * t;
        }
      }
    }
  }
  EXPECT_NEAR(c.read_energy_j_per_array[0].item<double>(), expect[0], expect[0] * 1e-9);
  EXPECT_NEAR(c.read_energy_j_per_array[1].item<double>(), expect[1], expect[1] * 1e-9);
}

TEST(Engine, ChunkingDoesNotChangeResults) {
  const torch::Tensor w = random_codes(40, 300, -127, 127, 11), x = random_codes(500, 300, 0, 255, 12);
  auto big = chip_from("crossbar: {rows: 64, cols: 64, chunk_mb: 512}\ndevice: {impl: ideal}\nadc: {bits: 5}\n");
  auto small = chip_from("crossbar: {rows: 64, cols: 64, chunk_mb: 1}\ndevice: {impl: ideal}\nadc: {bits: 5}\n");
  CrossbarLayer a(big, w, codes_opt()), b(small, w, codes_opt());
  EXPECT_TRUE(torch::equal(a.forward(x).y_int, b.forward(x).y_int));
}

TEST(Kernel, FusedCpuMatchesTensorOps) {
  auto g = at::detail::createCPUGenerator(13);
  const int64_t S = 3, n = 37, G = 5, out = 29;
  const torch::Tensor partial = (at::rand({S * n, G * out}, g) * 80 - 5).contiguous();
  const torch::Tensor coef = at::randn({S, G}, g, torch::TensorOptions().dtype(torch::kFloat64));
  for (const Rounding r : {Rounding::Nearest, Rounding::Floor}) {
    for (const double step : {0.0, 1.0, 2.5}) {
      AdcTransfer t;
      t.step = step;
      t.code_min = 0;
      t.code_max = 25;
      t.rounding = r;
      torch::Tensor a = torch::zeros({n, out}, torch::kFloat64), b = torch::zeros({n, out}, torch::kFloat64);
      adc_shift_add(partial, n, S, G, coef, t, a);
      adc_shift_add_generic(partial, n, S, G, coef, t, b);
      EXPECT_TRUE(torch::allclose(a, b, 1e-12, 1e-9)) << "step " << step;
    }
  }
}

// --- The conductance path with real cells -------------------------------------------------

namespace {
const char* kNoisyChip =
    "crossbar: {rows: 64, cols: 64, baseline: reference_column}\n"
    "device: {impl: reram, g_on_us: 40, g_off_us: 4, d2d_std: 0.05, c2c_std: 0.03, read_noise_std: 0.02,"
    " stuck_off_rate: 0.002, stuck_on_rate: 0.002}\n"
    "adc: {impl: ideal}\n";
}

TEST(Conductance, SameSeedSameResultBitwise) {
  const torch::Tensor w = random_codes(12, 100, -127, 127, 14), x = random_codes(20, 100, 0, 255, 15);
  auto chip = chip_from(kNoisyChip);
  CrossbarLayer a(chip, w, codes_opt(5)), b(chip, w, codes_opt(5)), c(chip, w, codes_opt(6));
  const torch::Tensor ya = a.forward(x).y_int, yb = b.forward(x).y_int, yc = c.forward(x).y_int;
  EXPECT_TRUE(torch::equal(ya, yb));
  EXPECT_FALSE(torch::equal(ya, yc));
  // A second read of the same programmed layer draws fresh read noise.
  EXPECT_FALSE(torch::equal(a.forward(x).y_int, ya));
  // Error is small but not zero for these effects.
  const double err = rel_error(ya, integer_product(x, w));
  EXPECT_GT(err, 1e-3);
  EXPECT_LT(err, 0.2);
}

TEST(Conductance, ReprogrammingKeepsD2DAndRedrawsC2C) {
  auto chip = chip_from("crossbar: {rows: 32, cols: 32}\ndevice: {impl: reram, d2d_std: 0.05, c2c_std: 0.0}\n");
  CrossbarLayer layer(chip, random_codes(4, 32, -127, 127, 16), codes_opt());
  const torch::Tensor g1 = layer.programmed_conductance().clone();
  layer.program();
  EXPECT_TRUE(torch::equal(g1, layer.programmed_conductance()));  // D2D only: fixed per cell
  auto chip2 = chip_from("crossbar: {rows: 32, cols: 32}\ndevice: {impl: reram, d2d_std: 0.0, c2c_std: 0.05}\n");
  CrossbarLayer l2(chip2, random_codes(4, 32, -127, 127, 16), codes_opt());
  const torch::Tensor g2 = l2.programmed_conductance().clone();
  l2.program();
  EXPECT_FALSE(torch::equal(g2, l2.programmed_conductance()));  // C2C: redrawn
}

class ReadNoise : public ::testing::TestWithParam<std::string> {};

TEST_P(ReadNoise, OutputReferredMatchesPerCellSampling) {
  // The output mode draws each column sum from its exact Gaussian law (and one reference-column
  // draw per array, shared by its columns); compare its spread with sampling every cell on
  // every read. Tolerance: 8 % on the std over 64 x 40 x 10 samples.
  const torch::Tensor w = random_codes(10, 64, -127, 127, 17), x = random_codes(64, 64, 0, 255, 18);
  auto spread = [&](const std::string& mode) {
    auto chip = chip_from("crossbar: {rows: 64, cols: 64, baseline: " + GetParam() + ", read_noise_mode: " + mode +
                          "}\ndevice: {impl: reram, read_noise_std: 0.05}\nadc: {impl: ideal}\n");
    CrossbarLayer layer(chip, w, codes_opt());
    const torch::Tensor ref = integer_product(x, w);
    std::vector<torch::Tensor> errs;
    for (int r = 0; r < 40; ++r) errs.push_back(layer.forward(x).y_int - ref);
    return torch::stack(errs).std().item<double>();
  };
  const double out = spread("output"), cell = spread("per_cell");
  EXPECT_GT(out, 0.0);
  EXPECT_NEAR(out / cell, 1.0, 0.08);
}

INSTANTIATE_TEST_SUITE_P(Conductance, ReadNoise, ::testing::Values("cancelled", "reference_column"));

TEST(Conductance, ReferenceNoiseIsSharedByAnArraysColumns) {
  // Two identical outputs in one array share the reference cell, so their read-noise errors are
  // correlated (the data cells' noise is not); with the cancelled baseline they are independent.
  // Offset weights (all slice coefficients positive; a differential pair would cancel the shared
  // reference) and a low on/off ratio (reference cells sit at G_off) make the effect visible.
  const torch::Tensor w = random_codes(1, 64, 1, 127, 40).repeat({2, 1}), x = random_codes(64, 64, 0, 255, 41);
  auto correlation = [&](const std::string& baseline) {
    auto chip = chip_from("crossbar: {rows: 64, cols: 64, weight_scheme: offset, baseline: " + baseline +
                          "}\ndevice: {impl: reram, g_on_us: 10, g_off_us: 5, read_noise_std: 0.05}\nadc: {impl: ideal}\n");
    CrossbarLayer layer(chip, w, codes_opt());
    const torch::Tensor ref = integer_product(x, w);
    std::vector<torch::Tensor> errs;
    for (int r = 0; r < 30; ++r) errs.push_back(layer.forward(x).y_int - ref);
    const torch::Tensor e = torch::cat(errs);  // [30*64, 2]
    const torch::Tensor c = e - e.mean(0);
    return ((c.select(1, 0) * c.select(1, 1)).mean() / (c.select(1, 0).std() * c.select(1, 1).std())).item<double>();
  };
  EXPECT_GT(correlation("reference_column"), 0.05);
  EXPECT_LT(std::abs(correlation("cancelled")), 0.08);
}

TEST(Conductance, HeatAndDriftLowerTheOutput) {
  // Positive weights and inputs: LRS falls faster with temperature than HRS rises (paper 000
  // Fig. 3a), so the column sums and the output fall; drift lowers every conductance.
  auto chip = chip_from("crossbar: {rows: 32, cols: 32}\ndevice: {impl: reram, temp_coeff_lrs_per_k: -0.002,"
                        " temp_coeff_hrs_per_k: 0.0005, drift_nu: 0.02}\nadc: {impl: ideal}\n");
  const torch::Tensor w = random_codes(6, 32, 1, 127, 19), x = random_codes(8, 32, 1, 255, 20);
  CrossbarLayer layer(chip, w, codes_opt());
  const double cold = layer.forward(x).y_int.sum().item<double>();
  EXPECT_NEAR(cold, integer_product(x, w).sum().item<double>(), 1e-6 * cold);  // 300 K, t = 0
  layer.set_temperature(360.0);
  const double hot = layer.forward(x).y_int.sum().item<double>();
  EXPECT_LT(hot, cold * 0.95);
  // Per-array temperatures: heating only some arrays lowers the output less.
  torch::Tensor t = torch::full({layer.mapping().n_arrays}, 300.0);
  t[0] = 360.0;
  layer.set_temperature(t);
  const double partly = layer.forward(x).y_int.sum().item<double>();
  EXPECT_LT(partly, cold);
  EXPECT_GT(partly, hot);
  layer.set_temperature(300.0);
  layer.set_time_since_program(3600.0 * 24);
  EXPECT_LT(layer.forward(x).y_int.sum().item<double>(), cold);
}

// --- Errors ------------------------------------------------------------------------------

TEST(Errors, ShapeAndCodeMessages) {
  auto chip = chip_from("crossbar: {rows: 32, cols: 32}\ndevice: {impl: ideal}\n");
  CrossbarLayer layer(chip, random_codes(4, 40, -127, 127, 21), codes_opt());
  try {
    layer.forward(torch::zeros({3, 41}));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "inputs must be [n, 40] to match the weight matrix [4, 40], got shape [3, 41]");
  }
  try {
    layer.forward(torch::full({2, 40}, 256.f));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "inputs (unsigned 8-bit codes): 80 value(s) are not integer codes in [0, 255] (first: 256.000000)");
  }
  try {
    CrossbarLayer bad(chip, torch::full({2, 3}, -128.f), codes_opt());
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "weights (signed 8-bit codes, differential): 6 value(s) are not integer codes in [-127, 127] (first: -128.000000)");
  }
}

TEST(Errors, ChipConfigMessages) {
  auto message = [](const std::string& yaml) -> std::string {
    try {
      chip_from(yaml);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "<no error>";
  };
  EXPECT_EQ(message("crossbar: {rows: 128, col: 64}\n"),
            "test_chip.yaml:1: chip.crossbar.col: unknown key 'col' (did you mean 'cols'?); allowed keys: rows, cols, "
            "cell_bits, weight_bits, input_bits, weight_scheme, weight_quant, input_encoding, a_shift, subtract, baseline, path, "
            "read_noise_mode, lossless_shortcut, ir_drop, r_wire_row_ohm, r_wire_col_ohm, r_driver_ohm, r_sense_ohm, chunk_mb");
  EXPECT_EQ(message("crossbar: {rows: 128}\nadcc: {bits: 4}\n"),
            "test_chip.yaml:2: chip.adcc: unknown key 'adcc' (did you mean 'adc'?); allowed keys: crossbar, device, dac, adc, sources");
  EXPECT_EQ(message("adc: {impl: flash}\n"),
            "test_chip.yaml:1: chip.adc.impl: unknown adc 'flash'; known: linear, ideal");
  EXPECT_EQ(message("crossbar: {weight_scheme: diff}\n"),
            "test_chip.yaml:1: chip.crossbar.weight_scheme: unknown value 'diff' (did you mean 'differential'?); allowed: one of: differential, offset, twos_complement");
  EXPECT_EQ(message("crossbar: {rows: 4096, cell_bits: 5}\ndac: {bits: 8}\n"),
            "test_chip.yaml:1: chip.crossbar.rows: rows x (2^dac_bits-1) x (2^cell_bits-1) = 32378880 exceeds 2^24, the exact "
            "range of the engine's float32 partial sums");
  EXPECT_EQ(message("crossbar: {path: integer}\ndevice: {impl: reram, read_noise_std: 0.01}\n"),
            "test_chip.yaml:1: chip.crossbar.path: the integer path needs ideal cells and a linear DAC; use 'conductance' or "
            "'auto' with chip.device.impl 'reram'");
  EXPECT_EQ(message("crossbar: {path: integer, baseline: digital}\n"),
            "test_chip.yaml:1: chip.crossbar.path: the integer path cannot model a digital baseline (the ADC converts the HRS "
            "current too); use 'conductance' or 'auto'");
  EXPECT_EQ(message("preset: isac\n"), "test_chip.yaml:1: chip.preset: unknown chip preset 'isac' (did you mean 'isaac'?); known: "
            "crossnas, default, ideal, isaac, mnsim, raoq, rebit, thermal_quant");
}

TEST(Presets, EveryShippedChipBuilds) {
  const std::vector<std::string> shipped = list_presets("chip");
  EXPECT_GE(shipped.size(), 7u);
  for (const std::string& name : shipped) {
    EXPECT_NO_THROW(chip_from("preset: " + name + "\n")) << name;
  }
}
