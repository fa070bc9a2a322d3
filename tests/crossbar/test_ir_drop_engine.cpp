// IR drop in the crossbar engine (chip.crossbar.ir_drop): the layer reads through each array's
// effective conductance matrix, laid out as the arrays hold the columns; zero wires change
// nothing; every rung carries it; bad settings are refused by name.
#include <gtest/gtest.h>

#include "circuit/ir_drop.hpp"
#include "core/error.hpp"
#include "engine_fixtures.hpp"

using namespace cimkit;
using namespace cimkit::testing;

namespace {

CrossbarLayer::Options codes_opt() {
  CrossbarLayer::Options o;
  o.integer_codes = true;
  o.seed = 3;
  return o;
}

// 1-bit signed weights on differential pairs of 1-bit cells, 1-bit inputs, an ideal ADC: one
// slice each way, so y_int = x · ((A+ − G_off) − (A− − G_off)) / ΔG exactly.
std::string chip_yaml(const std::string& wires, int rows = 16, int cols = 16) {
  return "crossbar: {rows: " + std::to_string(rows) + ", cols: " + std::to_string(cols) +
         ", weight_bits: 2, input_bits: 1, path: conductance" + wires + "}\n"
         "device: {impl: ideal, g_on_us: 100, g_off_us: 1}\nadc: {impl: ideal}\n";
}

TEST(IrDropEngine, ReadsEachArrayThroughItsWires) {
  const int64_t rows = 16, cols = 16, out = 11, in = 30;  // 2 row tiles, 22 columns: 2 arrays per tile
  const torch::Tensor w = random_codes(out, in, -1, 1, 5);
  const torch::Tensor x = random_codes(7, in, 0, 1, 6);
  circuit::WireParasitics wires;
  wires.r_row_ohm = 20;
  wires.r_col_ohm = 15;
  wires.r_driver_ohm = 100;
  wires.r_sense_ohm = 50;
  auto chip = chip_from(chip_yaml(", ir_drop: circuit, r_wire_row_ohm: 20, r_wire_col_ohm: 15, r_driver_ohm: 100, "
                                  "r_sense_ohm: 50"));
  CrossbarLayer layer(chip, w, codes_opt());
  const torch::Tensor y = layer.forward(x).y_int;
  // The expected read, built independently: per row tile, the physical arrays (column g·out + o,
  // g = polarity; 16 columns each, the second array's unused columns HRS), each solved for the
  // applied inputs by the direct factorisation.
  const double g_on = 100e-6, g_off = 1e-6, dg = g_on - g_off;
  const torch::Tensor pos = (w > 0).to(torch::kFloat64), neg = (w < 0).to(torch::kFloat64);
  const torch::Tensor cells = torch::cat({pos, neg}, 0).t();  // [in, 2·out] levels, column g·out + o
  torch::Tensor expected = torch::zeros({x.size(0), out}, torch::kFloat64);
  for (int64_t t = 0; t < 2; ++t) {
    torch::Tensor lv = torch::zeros({rows, 2 * cols}, torch::kFloat64);
    const int64_t r0 = t * rows, nr = std::min<int64_t>(rows, in - r0);
    lv.narrow(0, 0, nr).narrow(1, 0, 2 * out).copy_(cells.narrow(0, r0, nr));
    const torch::Tensor g = lv * dg + g_off;
    torch::Tensor xt = torch::zeros({x.size(0), rows}, torch::kFloat64);
    xt.narrow(1, 0, nr).copy_(x.narrow(1, r0, nr).to(torch::kFloat64));
    torch::Tensor currents = torch::cat({circuit::column_currents_direct(g.narrow(1, 0, cols), xt, wires),
                                         circuit::column_currents_direct(g.narrow(1, cols, cols), xt, wires)},
                                        1);  // [n, 32] amperes per volt
    const torch::Tensor level = (currents - xt.sum(1, true) * g_off) / dg;  // HRS cancelled
    expected += level.narrow(1, 0, out) - level.narrow(1, out, out);
  }
  EXPECT_LT(((y - expected).abs().max() / expected.abs().max()).item<double>(), 1e-6);
  // And it is not the ideal product.
  const torch::Tensor ideal = integer_product(x, w);
  EXPECT_GT(((y - ideal).abs().max() / ideal.abs().max()).item<double>(), 1e-3);
}

TEST(IrDropEngine, ZeroWiresChangeNothing) {
  const torch::Tensor w = random_codes(9, 40, -1, 1, 1);
  const torch::Tensor x = random_codes(5, 40, 0, 1, 2);
  CrossbarLayer plain(chip_from(chip_yaml("")), w, codes_opt());
  CrossbarLayer zero(chip_from(chip_yaml(", ir_drop: circuit")), w, codes_opt());
  EXPECT_TRUE(torch::equal(plain.forward(x).y_int, zero.forward(x).y_int));
}

TEST(IrDropEngine, EveryRungReadsTheSameWires) {
  const torch::Tensor w = random_codes(12, 64, -1, 1, 8);
  const torch::Tensor x = random_codes(32, 64, 0, 1, 9);
  for (const char* mode : {"circuit", "fast"}) {
    auto chip = chip_from(chip_yaml(std::string(", ir_drop: ") + mode + ", r_wire_row_ohm: 5, r_wire_col_ohm: 5", 32, 32));
    CrossbarLayer layer(chip, w, codes_opt());
    const torch::Tensor exact = layer.forward(x).y_int;
    layer.set_fidelity(Fidelity::Weight);
    const torch::Tensor folded = layer.forward(x).y_int;
    EXPECT_LT(((folded - exact).abs().max() / exact.abs().max()).item<double>(), 1e-5) << mode;
    EXPECT_FALSE(torch::allclose(exact, integer_product(x, w), 1e-4, 1e-4)) << mode;
  }
}

TEST(IrDropEngine, SettingsAreChecked) {
  std::string e;
  try {
    chip_from(chip_yaml(", ir_drop: spice"));
  } catch (const Error& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("ir_drop"), std::string::npos) << e;
  EXPECT_NE(e.find("none, circuit, fast"), std::string::npos) << e;
  e.clear();
  try {
    chip_from("crossbar: {path: integer, ir_drop: circuit, r_wire_row_ohm: 1}\ndevice: {impl: ideal}\n");
  } catch (const Error& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("path"), std::string::npos) << e;
  EXPECT_NE(e.find("integer path has no wires"), std::string::npos) << e;
  e.clear();
  try {
    chip_from(chip_yaml(", ir_drop: fast, r_wire_row_ohm: -2"));
  } catch (const Error& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("r_wire_row_ohm"), std::string::npos) << e;
}

}  // namespace
