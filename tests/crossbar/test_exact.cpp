// The first reference test of the engine: ideal cells + the lossless ADC of paper 001 give the
// integer product x_q . w_q exactly, on the integer path (sliced and shortcut) and on the
// conductance path, for every signed scheme, cell width, DAC width and tiling; at every rung of
// the fidelity ladder, over rows and over a convolution's windows.
#include <gtest/gtest.h>

#include "circuit/adc.hpp"
#include "engine_fixtures.hpp"

using namespace cimkit;
using namespace cimkit::testing;

namespace {

struct ExactCase {
  int64_t rows, cols;
  int cell_bits, dac_bits, weight_bits, input_bits;
  std::string scheme;
  std::string inputs;  // unsigned | offset | two_phase | bipolar
  int64_t tiles;       // row tiles (the last one partly filled)
  std::string path;    // integer_sliced | integer_shortcut | conductance_cancelled | conductance_reference
  std::string subtract = "digital";  // digital | analog (differential pairs before one signed ADC)
  bool signed_sums() const { return subtract == "analog" || inputs == "bipolar"; }
  bool signed_inputs() const { return inputs != "unsigned"; }
  bool symmetric_inputs() const { return inputs == "two_phase" || inputs == "bipolar"; }
};

std::string case_name(const ::testing::TestParamInfo<ExactCase>& info) {
  const ExactCase& c = info.param;
  return "R" + std::to_string(c.rows) + "C" + std::to_string(c.cols) + "_cell" + std::to_string(c.cell_bits) +
         "_dac" + std::to_string(c.dac_bits) + "_w" + std::to_string(c.weight_bits) + "x" +
         std::to_string(c.input_bits) + "_" + c.scheme + "_" + c.inputs + "_tiles" + std::to_string(c.tiles) +
         "_" + c.path + "_" + c.subtract;
}

std::string chip_yaml(const ExactCase& c) {
  const bool conductance = c.path.rfind("conductance", 0) == 0;
  return "crossbar: {rows: " + std::to_string(c.rows) + ", cols: " + std::to_string(c.cols) +
         ", cell_bits: " + std::to_string(c.cell_bits) + ", weight_bits: " + std::to_string(c.weight_bits) +
         ", input_bits: " + std::to_string(c.input_bits) + ", weight_scheme: " + c.scheme +
         ", input_encoding: " + c.inputs + ", path: " + (conductance ? "conductance" : "integer") +
         ", baseline: " + (c.path == "conductance_reference" ? "reference_column" : "cancelled") +
         ", lossless_shortcut: " + (c.path == "integer_shortcut" ? "true" : "false") + ", subtract: " + c.subtract + "}\n"
         "device: {impl: ideal, g_on_us: 38.5, g_off_us: 5}\n"
         "dac: {impl: linear, bits: " + std::to_string(c.dac_bits) + "}\n"
         "adc: {impl: linear, range: full_scale, bits: " +
         std::to_string(lossless_adc_bits(static_cast<int>(c.rows), c.dac_bits, c.cell_bits, c.signed_sums())) + "}\n";
}

class Exact : public ::testing::TestWithParam<ExactCase> {};

TEST_P(Exact, EqualsIntegerProduct) {
  const ExactCase& c = GetParam();
  auto chip = chip_from(chip_yaml(c));
  const int64_t in = c.tiles * c.rows - c.rows / 3, out = 19, n = 23;
  const int64_t wmax = (int64_t{1} << (c.weight_bits - 1)) - 1;
  const int64_t wmin = c.scheme == "differential" ? -wmax : -wmax - 1;
  const int64_t half = int64_t{1} << (c.input_bits - 1);
  const int64_t xmin = !c.signed_inputs() ? 0 : c.symmetric_inputs() ? -(half - 1) : -half;
  const int64_t xmax = c.signed_inputs() ? half - 1 : 2 * half - 1;
  torch::Tensor w = random_codes(out, in, wmin, wmax, 7);
  torch::Tensor x = random_codes(n, in, xmin, xmax, 8);
  // Extremes must survive too.
  w.index_put_({0}, static_cast<float>(wmax));
  w.index_put_({1}, static_cast<float>(wmin));
  x.index_put_({0}, static_cast<float>(xmax));
  x.index_put_({1}, static_cast<float>(xmin));

  CrossbarLayer::Options opt;
  opt.integer_codes = true;
  CrossbarLayer layer(chip, w, opt);
  EXPECT_EQ(layer.mapping().row_tiles, c.tiles);
  EXPECT_EQ(layer.mapping().signed_partials, c.signed_sums());
  EXPECT_EQ(layer.shortcut_active(), c.path == "integer_shortcut");
  EXPECT_EQ(layer.integer_path(), c.path.rfind("integer", 0) == 0);
  const MvmResult r = layer.forward(x);
  const torch::Tensor ref = integer_product(x, w);
  EXPECT_TRUE(torch::equal(r.y_int, ref)) << "max |diff| " << (r.y_int - ref).abs().max().item<double>();
  EXPECT_TRUE(torch::equal(r.y, ref.to(torch::kFloat32)));
  // Every rung of the fidelity ladder reads the same cells: exact here too, with the chip's counts.
  for (const Fidelity f : {Fidelity::Tile, Fidelity::Weight}) {
    layer.set_fidelity(f);
    const MvmResult rf = layer.forward(x);
    EXPECT_TRUE(torch::equal(rf.y_int, ref)) << to_string(f) << ": max |diff| " << (rf.y_int - ref).abs().max().item<double>();
    EXPECT_EQ(rf.counts.adc_conversions, r.counts.adc_conversions) << to_string(f);
    EXPECT_TRUE(torch::allclose(rf.counts.read_energy_j_per_array, r.counts.read_energy_j_per_array)) << to_string(f);
    // The same rows as the 1×1 windows of an image [1, in, 1, n] (a convolution's read).
    const MvmResult rw = layer.forward_windows(x.t().reshape({1, in, 1, n}), {1, 1, 0});
    ASSERT_EQ(rw.y_int.sizes(), (std::vector<int64_t>{1, 1, n, out})) << to_string(f);
    EXPECT_TRUE(torch::equal(rw.y_int.reshape({n, out}), ref)) << to_string(f) << " windows";
    EXPECT_EQ(rw.counts.adc_conversions, r.counts.adc_conversions) << to_string(f);
    EXPECT_TRUE(torch::allclose(rw.counts.read_energy_j_per_array, r.counts.read_energy_j_per_array)) << to_string(f);
  }
}

std::vector<ExactCase> exact_cases() {
  std::vector<ExactCase> cases;
  const std::vector<std::string> paths = {"integer_sliced", "integer_shortcut", "conductance_cancelled", "conductance_reference"};
  for (const auto& path : paths) {
    for (const std::string scheme : {"differential", "offset", "twos_complement"}) {
      cases.push_back({32, 32, 1, 1, 8, 8, scheme, "unsigned", 3, path});
      cases.push_back({32, 16, 2, 2, 8, 8, scheme, "offset", 2, path});
    }
    cases.push_back({64, 64, 3, 1, 6, 5, "differential", "unsigned", 2, path});
    cases.push_back({16, 24, 4, 3, 9, 7, "twos_complement", "offset", 4, path});
    cases.push_back({128, 128, 1, 1, 8, 8, "differential", "unsigned", 2, path});
    // Signed inputs in two passes or on a bipolar DAC.
    for (const std::string inputs : {"two_phase", "bipolar"}) {
      cases.push_back({32, 32, 1, 1, 8, 8, "differential", inputs, 3, path});
      cases.push_back({32, 16, 2, 2, 8, 8, "offset", inputs, 2, path});
      cases.push_back({16, 24, 4, 3, 9, 7, "twos_complement", inputs, 4, path});
    }
    // Differential pairs subtracting before one signed ADC (no baseline to remove).
    if (path == "conductance_reference") continue;
    for (const std::string inputs : {"unsigned", "offset", "two_phase", "bipolar"}) {
      cases.push_back({32, 32, 1, 1, 8, 8, "differential", inputs, 3, path, "analog"});
      cases.push_back({64, 64, 3, 2, 6, 5, "differential", inputs, 2, path, "analog"});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Engine, Exact, ::testing::ValuesIn(exact_cases()), case_name);

TEST(Exact, FloatInputsAllSchemesAgree) {
  // Float weights and inputs are quantised once (symmetric weights, max-scaled unsigned inputs);
  // with the lossless ADC (6 bits for 32 rows) every scheme returns the same integer product.
  auto g = at::detail::createCPUGenerator(3);
  const torch::Tensor w = at::randn({24, 100}, g);
  const torch::Tensor x = at::rand({9, 100}, g);
  const torch::Tensor xq = torch::round(x.to(torch::kFloat64) / (x.max().item<double>() / 255.0));
  torch::Tensor first;
  for (const std::string scheme : {"differential", "offset", "twos_complement"}) {
    auto chip = chip_from("crossbar: {rows: 32, cols: 32, lossless_shortcut: false, weight_scheme: " + scheme +
                          "}\ndevice: {impl: ideal}\nadc: {bits: 6}\n");
    CrossbarLayer layer(chip, w, {});
    const MvmResult r = layer.forward(x);
    EXPECT_TRUE(torch::equal(r.y_int, integer_product(xq, layer.weight_codes()))) << scheme;
    if (!first.defined()) {
      first = r.y;
    } else {
      EXPECT_TRUE(torch::equal(first, r.y)) << scheme;
    }
  }
  // And the dequantised output approximates the float product (8-bit x 8-bit quantisation).
  const torch::Tensor ref = torch::mm(x, w.t());
  EXPECT_LT(((first - ref).norm() / ref.norm()).item<double>(), 0.02);
}

TEST(Exact, DigitalBaselineCostsAdcRange) {
  // With a digital baseline the ADC converts the HRS current too (G_off / dG = 1/9 level per
  // driven cell here) and it is subtracted afterwards. Differential pairs cancel it exactly in
  // the shift-add; the offset scheme does not, and the larger full scale costs resolution.
  const torch::Tensor w = random_codes(16, 64, -127, 127, 31), x = random_codes(20, 64, 0, 255, 32);
  const torch::Tensor ref = integer_product(x, w);
  auto run = [&](const std::string& scheme, const std::string& baseline, int adc_bits) {
    auto chip = chip_from("crossbar: {rows: 64, cols: 64, weight_scheme: " + scheme + ", baseline: " + baseline +
                          "}\ndevice: {impl: ideal, g_on_us: 50, g_off_us: 5}\nadc: {impl: linear, bits: " + std::to_string(adc_bits) + "}\n");
    CrossbarLayer::Options opt;
    opt.integer_codes = true;
    CrossbarLayer layer(chip, w, opt);
    EXPECT_EQ(layer.integer_path(), baseline != "digital");
    return std::make_pair(((layer.forward(x).y_int - ref).norm() / ref.norm()).item<double>(), layer.mapping().full_scale);
  };
  const auto [err_cancelled, fs_cancelled] = run("offset", "cancelled", 5);
  const auto [err_digital, fs_digital] = run("offset", "digital", 5);
  EXPECT_DOUBLE_EQ(fs_cancelled, 64.0);
  EXPECT_NEAR(fs_digital, 64.0 * (1.0 + 5.0 / 45.0), 1e-9);
  EXPECT_GT(err_digital, err_cancelled);
  // A 16-bit ADC (step 2^-9 level) with the digital baseline is close to exact, not exact: the
  // HRS current is not a whole number of levels, and the top slices weigh 2^14 the bottom one.
  EXPECT_LT(run("offset", "digital", 16).first, 1e-3);
  EXPECT_LT(run("differential", "digital", 16).first, 1e-3);
}

}  // namespace
