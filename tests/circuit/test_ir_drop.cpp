// The crossbar's resistive network (circuit/ir_drop.hpp): the iterative solver against a direct
// factorisation and against closed forms, the effective matrix against per-input solves, the
// first-order model's error, and the degenerate cases.
#include <gtest/gtest.h>

#include "circuit/ir_drop.hpp"
#include "core/error.hpp"

namespace {

using cimkit::circuit::IrDropMode;
using cimkit::circuit::WireParasitics;

torch::Tensor random_g(int64_t r, int64_t c, uint64_t seed, double g_off = 1e-6, double g_on = 1e-4) {
  torch::manual_seed(seed);
  return g_off + (g_on - g_off) * torch::rand({r, c}, torch::kFloat64);
}

WireParasitics wires(double r_row, double r_col, double r_drv = 0, double r_sense = 0) {
  WireParasitics w;
  w.r_row_ohm = r_row;
  w.r_col_ohm = r_col;
  w.r_driver_ohm = r_drv;
  w.r_sense_ohm = r_sense;
  return w;
}

double max_rel(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

TEST(IrDrop, IterationAgreesWithDirectFactorisation) {
  for (auto [r, c] : {std::pair<int64_t, int64_t>{8, 8}, {16, 5}, {5, 16}, {24, 24}}) {
    const torch::Tensor g = random_g(r, c, 1 + r * c);
    torch::manual_seed(7);
    const torch::Tensor v = torch::rand({6, r}, torch::kFloat64) * 0.2;
    for (const auto& w : {wires(2.5, 2.5), wires(10, 1, 100, 50), wires(1, 10, 0, 0)}) {
      cimkit::circuit::SolveStats st;
      const torch::Tensor it = cimkit::circuit::column_currents(g, v, w, {}, &st);
      const torch::Tensor direct = cimkit::circuit::column_currents_direct(g, v, w);
      EXPECT_LT(max_rel(it, direct), 1e-9) << r << "x" << c << " sweeps " << st.sweeps;
      EXPECT_GE(st.sweeps, 2);
      // The wires matter at these values: the currents are visibly below the ideal product.
      EXPECT_GT(max_rel(torch::mm(v, g), direct), 1e-3);
    }
  }
}

TEST(IrDrop, ResistiveWiresConvergeWithRelaxation) {
  // r·G·N² ≈ 9: Gauss-Seidel alone contracts slowly here; the relaxed iteration still meets
  // the direct solution within a bounded number of sweeps.
  const int64_t n = 48;
  const torch::Tensor g = random_g(n, n, 12);
  torch::manual_seed(13);
  const torch::Tensor v = torch::rand({4, n}, torch::kFloat64);
  const WireParasitics w = wires(8, 8, 50, 50);
  cimkit::circuit::SolveStats st;
  const torch::Tensor it = cimkit::circuit::column_currents(g, v, w, {}, &st);
  const torch::Tensor direct = cimkit::circuit::column_currents_direct(g, v, w);
  EXPECT_LT(max_rel(it, direct), 1e-9) << "sweeps " << st.sweeps;
  EXPECT_LT(st.sweeps, 400);
  EXPECT_GT(max_rel(torch::mm(v, g), direct), 0.3);  // a heavy drop
}

TEST(IrDrop, EffectiveMatrixEqualsSolvingEachInput) {
  const torch::Tensor g = random_g(32, 20, 3);
  torch::manual_seed(11);
  const torch::Tensor v = torch::rand({5, 32}, torch::kFloat64) * 0.3;
  const WireParasitics w = wires(3, 2, 40, 20);
  const torch::Tensor a = cimkit::circuit::effective_conductance(g, w, IrDropMode::Circuit);
  EXPECT_LT(max_rel(torch::mm(v, a), cimkit::circuit::column_currents_direct(g, v, w)), 1e-9);
  // Batched arrays and small memory chunks give the same matrices.
  const torch::Tensor g2 = torch::stack({g, random_g(32, 20, 4)});
  cimkit::circuit::SolverOptions small;
  small.memory_mb = 1;
  const torch::Tensor a2 = cimkit::circuit::effective_conductance(g2, w, IrDropMode::Circuit, small);
  EXPECT_LT(max_rel(a2[0], a), 1e-10);
  EXPECT_LT(max_rel(a2[1], cimkit::circuit::effective_conductance(g2[1], w, IrDropMode::Circuit)), 1e-10);
  // float32 in, float32 out.
  EXPECT_EQ(cimkit::circuit::effective_conductance(g.to(torch::kFloat32), w, IrDropMode::Fast).scalar_type(),
            torch::kFloat32);
}

TEST(IrDrop, OneCellClosedForm) {
  // A single conducting cell: its current is V / (1/G + the wire between it and its driver and
  // its sense amplifier): r_drv + (j + 1) r_row + (R - i) r_col + r_sense.
  const int64_t R = 12, C = 9;
  const double G = 5e-5, rr = 4, rc = 3, rd = 70, rs = 30;
  for (auto [i, j] : {std::pair<int64_t, int64_t>{0, 0}, {R - 1, C - 1}, {5, 2}}) {
    torch::Tensor g = torch::zeros({R, C}, torch::kFloat64);
    g[i][j] = G;
    const double expected = G / (1 + G * (rd + (j + 1) * rr + (R - i) * rc + rs));
    const torch::Tensor a = cimkit::circuit::effective_conductance(g, wires(rr, rc, rd, rs), IrDropMode::Circuit);
    EXPECT_NEAR(a[i][j].item<double>(), expected, 1e-12 * G) << i << "," << j;
    EXPECT_NEAR(a.abs().sum().item<double>() - std::abs(a[i][j].item<double>()), 0.0, 1e-12 * G);
    // `fast` is exact for a lone cell too: G / (1 + G·(the same series resistance)).
    const torch::Tensor f = cimkit::circuit::effective_conductance(g, wires(rr, rc, rd, rs), IrDropMode::Fast);
    EXPECT_NEAR(f[i][j].item<double>(), expected, 1e-12 * G) << i << "," << j;
  }
}

TEST(IrDrop, SingleColumnAndSingleRowLadders) {
  // One column, ideal rows: each row's source drives its cell straight into the column ladder.
  // The ladder's node voltages follow from KCL node by node; here it is solved as a dense system
  // (an independent method) and compared.
  const int64_t R = 10;
  const torch::Tensor g = random_g(R, 1, 5);
  const double rc = 20, rs = 15;
  torch::Tensor k = torch::zeros({R, R}, torch::kFloat64);
  for (int64_t i = 0; i < R; ++i) {
    k[i][i] += g[i][0];
    if (i + 1 < R) {
      k[i][i] += 1 / rc;
      k[i + 1][i + 1] += 1 / rc;
      k[i][i + 1] -= 1 / rc;
      k[i + 1][i] -= 1 / rc;
    }
  }
  k[R - 1][R - 1] += 1 / (rc + rs);
  // Unit input on row m: rhs G_m at node m; current = V_{R-1} / (rc + rs).
  const torch::Tensor rhs = torch::diag(g.squeeze(1));
  const torch::Tensor nodes = torch::linalg_solve(k, rhs, true);  // [R nodes, R inputs]
  const torch::Tensor expected = (nodes[R - 1] / (rc + rs)).unsqueeze(1);
  const torch::Tensor a = cimkit::circuit::effective_conductance(g, wires(0, rc, 0, rs), IrDropMode::Circuit);
  EXPECT_LT(max_rel(a, expected), 1e-10);
  // One row, ideal columns (each cell to virtual ground): the row ladder from the driver.
  const int64_t C = 11;
  const torch::Tensor h = random_g(1, C, 6);
  const double rr = 25, rd = 50;
  torch::Tensor kr = torch::zeros({C, C}, torch::kFloat64);
  for (int64_t j = 0; j < C; ++j) {
    kr[j][j] += h[0][j];
    if (j + 1 < C) {
      kr[j][j] += 1 / rr;
      kr[j + 1][j + 1] += 1 / rr;
      kr[j][j + 1] -= 1 / rr;
      kr[j + 1][j] -= 1 / rr;
    }
  }
  kr[0][0] += 1 / (rd + rr);
  torch::Tensor b = torch::zeros({C, 1}, torch::kFloat64);
  b[0][0] = 1 / (rd + rr);
  const torch::Tensor vr = torch::linalg_solve(kr, b, true).squeeze(1);
  const torch::Tensor ar = cimkit::circuit::effective_conductance(h, wires(rr, 0, rd, 0), IrDropMode::Circuit);
  EXPECT_LT(max_rel(ar.squeeze(0), h.squeeze(0) * vr), 1e-10);
}

TEST(IrDrop, ZeroWiresLeaveTheArrayUnchangedExactly) {
  const torch::Tensor g = random_g(16, 16, 8);
  for (auto mode : {IrDropMode::None, IrDropMode::Circuit, IrDropMode::Fast}) {
    EXPECT_TRUE(torch::equal(cimkit::circuit::effective_conductance(g, WireParasitics{}, mode), g));
  }
  EXPECT_TRUE(torch::equal(cimkit::circuit::effective_conductance(g, wires(5, 5, 5, 5), IrDropMode::None), g));
  // Only a driver resistance: each row is one node behind it; exact against the closed form
  // V_row = V / (1 + r_drv Σ_j G_ij).
  const double rd = 200;
  const torch::Tensor a = cimkit::circuit::effective_conductance(g, wires(0, 0, rd, 0), IrDropMode::Circuit);
  const torch::Tensor expected = g / (1 + rd * g.sum(1, true));
  EXPECT_LT(max_rel(a, expected), 1e-12);
}

TEST(IrDrop, FirstOrderErrorShrinksQuadratically) {
  const torch::Tensor g = random_g(64, 64, 9);
  double prev = 0;
  for (double r : {0.5, 0.25, 0.125}) {
    const WireParasitics w = wires(r, r, 10 * r, 10 * r);
    const torch::Tensor exact = cimkit::circuit::effective_conductance(g, w, IrDropMode::Circuit);
    const torch::Tensor fast = cimkit::circuit::effective_conductance(g, w, IrDropMode::Fast);
    const double drop = max_rel(exact, g), err = max_rel(fast, exact);
    EXPECT_LT(err, 0.25 * drop) << "r " << r;  // far better than ignoring the wires
    if (prev > 0) {
      EXPECT_NEAR(prev / err, 4.0, 0.6) << "r " << r;  // halving r quarters the error
    }
    prev = err;
  }
}

TEST(IrDrop, BadInputIsRefusedWithItsName) {
  WireParasitics w = wires(-1, 1);
  try {
    w.check("chip.ir_drop");
    FAIL();
  } catch (const cimkit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("chip.ir_drop.r_row_ohm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cimkit::circuit::parse_ir_drop_mode("spice"), cimkit::Error);
  EXPECT_EQ(cimkit::circuit::parse_ir_drop_mode("fast"), IrDropMode::Fast);
  EXPECT_THROW(cimkit::circuit::effective_conductance(torch::full({4, 4}, -1.0, torch::kFloat64), wires(1, 1),
                                                      IrDropMode::Circuit),
               cimkit::ShapeError);
  EXPECT_THROW(cimkit::circuit::column_currents_direct(random_g(4, 4, 1), torch::ones({1, 4}, torch::kFloat64),
                                                       wires(0, 1)),
               cimkit::Error);
  // A network the iteration cannot finish in the allowed sweeps is reported, not returned.
  cimkit::circuit::SolverOptions o;
  o.max_sweeps = 2;
  o.tolerance = 1e-15;
  EXPECT_THROW(cimkit::circuit::effective_conductance(random_g(32, 32, 2), wires(50, 50), IrDropMode::Circuit, o),
               cimkit::Error);
  EXPECT_NEAR(cimkit::circuit::segment_resistance_ohm(2e-8, 1e-7, 5e-8, 1e-7), 0.4, 1e-12);
}

}  // namespace
