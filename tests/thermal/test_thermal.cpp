// The thermal solver against references: the closed form of 1-D conduction through a layered
// slab (both discretisations), energy balance, symmetry, grid convergence, transient → steady,
// HotSpot's package and per-cell resistances and its spreader→sink link effect as
// ../shared/reference/hotspot.md states them, CG against the direct factorisation, and input
// errors. Tolerances are named per case.
#include <gtest/gtest.h>

#include <Eigen/SparseCholesky>
#include <cmath>

#include "core/config_tree.hpp"
#include "core/paths.hpp"
#include "support/scratch.hpp"
#include "thermal/report.hpp"
#include "thermal/solver.hpp"

namespace cimkit::thermal {
namespace {

using cimkit::testing::error_of;

constexpr double kSolverTolK = 1e-6;  // CG stops at relative residual 1e-8: ~1e-9 K here

ModelSpec spec(Discretisation mode, int n, double die_mm = 10) {
  ModelSpec s;
  s.stack = mode == Discretisation::Hotspot ? hotspot_stack() : default_stack();
  s.die_width_m = s.die_height_m = die_mm * 1e-3;
  s.nx = s.ny = n;
  s.mode = mode;
  return s;
}

Grid2D uniform(int n, double total_w) { return Grid2D(n, n, total_w / (n * n)); }

class BothModes : public ::testing::TestWithParam<Discretisation> {};
INSTANTIATE_TEST_SUITE_P(Thermal, BothModes, ::testing::Values(Discretisation::Default, Discretisation::Hotspot),
                         [](const auto& info) { return name_of(info.param); });

// Spreader and sink exactly as wide as the die: no periphery, adiabatic sides, uniform power:
// heat flows straight down, θ = P·R with R the series resistance from the reported node to
// ambient. Default: the node is mid-way through layer 0 (half of it, then every other layer in
// full, then 1/h over the die area). HotSpot: the node sees every layer in full (§3) plus r_convec.
TEST_P(BothModes, LayeredSlabMatchesClosedForm) {
  ModelSpec s = spec(GetParam(), 8);
  s.package.spreader.side_m = s.package.sink.side_m = 10e-3;
  if (GetParam() == Discretisation::Default) s.stack.layers[1].z_cells = 3;  // refining z changes nothing in 1-D
  const double a = 1e-4, p = 20.0;
  double r = 0;
  for (size_t i = 0; i < s.stack.layers.size(); ++i) {
    const auto& l = s.stack.layers[i];
    r += (i == 0 && GetParam() == Discretisation::Default ? 0.5 : 1.0) * l.thickness_m / (l.k_w_mk * a);
  }
  for (const Slab* sl : {&s.package.spreader, &s.package.sink}) r += sl->thickness_m / (sl->k_w_mk * a);
  r += s.package.r_convec_k_w;  // h·A = 1/r_convec when the sink base is the die
  ThermalModel m(s);
  const ThermalField f = m.steady(uniform(8, p));
  for (double t : f.die_k.values) EXPECT_NEAR(t, s.package.ambient_k + p * r, kSolverTolK);
}

TEST_P(BothModes, HeatLeavingEqualsPower) {
  ModelSpec s = spec(GetParam(), 24);
  Floorplan fp{10e-3, 10e-3, {{"a", 1e-3, 1.3e-3, 2.2e-3, 3.1e-3, 7.0}, {"b", 6e-3, 6e-3, 3.3e-3, 2e-3, 3.5}}};
  ThermalModel m(s);
  const ThermalField f = m.steady(rasterise(fp, 24, 24));
  EXPECT_NEAR(f.heat_out_w, 10.5, 10.5 * 1e-7);  // CG tolerance 1e-8 on the residual
}

TEST_P(BothModes, SymmetricPowerMapGivesSymmetricField) {
  const int n = 20;
  Grid2D p(n, n);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      const bool corner = (r < 5 || r >= n - 5) && (c < 5 || c >= n - 5);
      const bool centre = r >= 8 && r < 12 && c >= 8 && c < 12;
      p.at(r, c) = corner ? 0.1 : centre ? 0.3 : 0.01;
    }
  ThermalModel m(spec(GetParam(), n));
  const Grid2D t = m.steady(p).die_k;
  double worst = 0;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      worst = std::max(worst, std::abs(t.at(r, c) - t.at(n - 1 - r, c)));
      worst = std::max(worst, std::abs(t.at(r, c) - t.at(r, n - 1 - c)));
      worst = std::max(worst, std::abs(t.at(r, c) - t.at(c, r)));  // square die, square map: diagonal too
    }
  EXPECT_LT(worst, kSolverTolK);
}

TEST_P(BothModes, TransientSettlesOnSteadyState) {
  ModelSpec s = spec(GetParam(), 12);
  const Floorplan fp{10e-3, 10e-3, {{"hot", 2e-3, 2e-3, 3e-3, 3e-3, 15.0}}};
  const Grid2D p = rasterise(fp, 12, 12);
  ThermalModel m(s);
  const ThermalField steady = m.steady(p);
  TransientSolver tr(m, 20.0);  // the sink's time constant is about a minute
  double last_peak = s.package.ambient_k;
  for (int i = 0; i < 150; ++i) {
    const double peak = field_stats(tr.step(p).die_k).peak_k;
    EXPECT_GE(peak, last_peak - 1e-9) << "step " << i;  // heating from ambient rises monotonically
    last_peak = peak;
  }
  EXPECT_NEAR(tr.time_s(), 3000.0, 1e-9);
  EXPECT_LT((tr.state().rise_k - steady.rise_k).cwiseAbs().maxCoeff(), 1e-5);
}

TEST_P(BothModes, HotArrayIsHottestAndTemperatureFallsWithDistance) {
  // A row of 8 arrays, the third one hot.
  Floorplan fp{16e-3, 4e-3, {}};
  for (int i = 0; i < 8; ++i) fp.blocks.push_back({"a" + std::to_string(i), i * 2e-3, 1e-3, 1.5e-3, 2e-3, i == 2 ? 6.0 : 0.5});
  ModelSpec s = spec(GetParam(), 64);
  s.die_width_m = 16e-3, s.die_height_m = 4e-3, s.ny = 16;
  ThermalModel m(s);
  const Grid2D t = m.steady(rasterise(fp, 64, 16)).die_k;
  const auto blocks = block_temperatures(fp, t);
  for (int i = 0; i < 8; ++i)
    if (i != 2) EXPECT_GT(blocks[2].max_k, blocks[i].max_k + 1.0) << blocks[i].name;
  const FieldStats st = field_stats(t);
  const int hot_col0 = 16, hot_col1 = 22;  // 0.25 mm cells: the hot array spans x 4..5.5 mm
  EXPECT_GE(st.peak_col, hot_col0);
  EXPECT_LT(st.peak_col, hot_col1);
  // Along the die's middle row, eastward from the hot array the array means fall one by one.
  for (int i = 3; i + 1 < 8; ++i) EXPECT_GT(blocks[i].mean_k, blocks[i + 1].mean_k) << i;
  EXPECT_GT(blocks[1].mean_k, blocks[0].mean_k);
}

TEST(Thermal, GridRefinementConverges) {
  const Floorplan fp{8e-3, 8e-3, {{"hot", 2e-3, 3e-3, 2e-3, 2e-3, 10.0}, {"warm", 5e-3, 1e-3, 2.5e-3, 5e-3, 5.0}}};
  std::vector<double> peak;
  for (int n : {8, 16, 32, 64}) {
    ModelSpec s = spec(Discretisation::Default, n, 8);
    ThermalModel m(s);
    peak.push_back(block_temperatures(fp, m.steady(rasterise(fp, n, n)).die_k)[0].mean_k);
  }
  const double d1 = std::abs(peak[1] - peak[0]), d2 = std::abs(peak[2] - peak[1]), d3 = std::abs(peak[3] - peak[2]);
  EXPECT_LT(d2, 0.6 * d1);
  EXPECT_LT(d3, 0.6 * d2);
  EXPECT_LT(d3, 0.3);  // K (measured: 1.6, 0.72, 0.23; 128 × 128 moves it 0.06 more)
}

TEST(Thermal, CgMatchesDirectFactorisation) {
  for (auto mode : {Discretisation::Default, Discretisation::Hotspot}) {
    ModelSpec s = spec(mode, 16);
    const Floorplan fp{10e-3, 10e-3, {{"a", 0.5e-3, 7e-3, 3e-3, 2e-3, 9.0}, {"b", 6e-3, 1e-3, 3e-3, 4e-3, 4.0}}};
    ThermalModel cg(s);
    s.solver = LinearSolver::Direct;
    ThermalModel direct(s);
    const Grid2D p = rasterise(fp, 16, 16);
    EXPECT_LT((cg.steady(p).rise_k - direct.steady(p).rise_k).cwiseAbs().maxCoeff(), kSolverTolK) << name_of(mode);
    EXPECT_LT(cg.last_iterations(), 60);
  }
}

// hotspot.md §5–6: the package resistances of a 10 mm die with HotSpot's default package, to the
// digits the reference prints.
TEST(Hotspot, PackageResistancesMatchReference) {
  const HotspotPackageR r = hotspot_package_r(default_package(), 10e-3, 10e-3);
  EXPECT_NEAR(r.r_sp1_x, 0.8333, 0.00005);
  EXPECT_NEAR(r.r_hs1_x, 0.1208, 0.00005);
  EXPECT_NEAR(r.r_hs2_x, 0.07246, 0.000005);
  EXPECT_NEAR(r.r_hs, 0.07246, 0.000005);
  EXPECT_NEAR(r.r_sp_per_x, 0.0125, 1e-9);
  EXPECT_NEAR(r.r_hs_c_per_x, 0.08625, 1e-9);
  EXPECT_NEAR(r.r_hs_per, 0.02556, 0.000005);
  EXPECT_NEAR(r.r_amb_c_per_x, 1.8, 1e-9);
  EXPECT_NEAR(r.r_amb_per, 0.5333, 0.00005);
  EXPECT_DOUBLE_EQ(r.r_sp1_x, r.r_sp1_y);  // square die
  EXPECT_NEAR(default_package().h_w_m2k(), 2778, 0.5);
}

// hotspot.md §6–7: per-cell rx and rz at 64 × 64, read back from the assembled matrix.
TEST(Hotspot, PerCellResistancesMatchReference) {
  for (double k_si : {130.0, 100.0}) {
    ModelSpec s = spec(Discretisation::Hotspot, 64);
    s.stack.layers[0].k_w_mk = k_si;
    ThermalModel m(s);
    const auto& g = m.conductance();
    const int nc = 64 * 64, c = 10 * 64 + 10;
    auto r_between = [&](int i, int j) { return -1.0 / g.coeff(i, j); };
    // Layers: 0 silicon, 1 TIM, 2 spreader core, 3 sink core.
    EXPECT_NEAR(r_between(c, c + 1), k_si == 130 ? 51.282 : 66.667, 0.0005);
    EXPECT_NEAR(r_between(c, nc + c), k_si == 130 ? 47.2615 : 61.44, 0.00005);
    EXPECT_NEAR(r_between(nc + c, nc + c + 64), 12500, 1e-6);
    EXPECT_NEAR(r_between(nc + c, 2 * nc + c), 204.8, 1e-9);
    EXPECT_NEAR(r_between(2 * nc + c, 2 * nc + c + 1), 2.5, 1e-12);
    EXPECT_NEAR(r_between(2 * nc + c, 3 * nc + c), 102.4, 1e-9);
    EXPECT_NEAR(r_between(3 * nc + c, 3 * nc + c + 1), 0.36232, 0.000005);
    EXPECT_NEAR(1.0 / m.network().g_ambient[3 * nc + c], 706.56 + 14745.6, 1e-6);
    // Spreader core edge cell → SP_W: rx/2 + 64·r_sp1 (§5).
    EXPECT_NEAR(r_between(2 * nc + 5 * 64, 4 * nc + 0), 1.25 + 64 * 0.83333333, 1e-4);
  }
}

// hotspot.md §3: "Changing that link [spreader→sink] alone [from t_sp/k to (t_sp + t_sink)/(2k)]
// adds about 2.5 K for a uniform 50 W die."
TEST(Hotspot, SpreaderSinkLinkEffectMatchesReference) {
  const int n = 64, nc = n * n;
  ThermalModel m(spec(Discretisation::Hotspot, n));
  const ThermalField base = m.steady(uniform(n, 50.0));
  Eigen::SparseMatrix<double> g = m.conductance();
  const double a = 1e-4 / nc;
  const double g_old = 400 * a / 1e-3, g_new = 400 * a / ((1e-3 + 6.9e-3) / 2);
  for (int c = 0; c < nc; ++c) {
    const int i = 2 * nc + c, j = 3 * nc + c;
    g.coeffRef(i, j) += g_old - g_new;
    g.coeffRef(j, i) += g_old - g_new;
    g.coeffRef(i, i) -= g_old - g_new;
    g.coeffRef(j, j) -= g_old - g_new;
  }
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt(g);
  const ThermalField changed = m.field(ldlt.solve(m.injection(uniform(n, 50.0))));
  const double d = field_stats(changed.die_k).peak_k - field_stats(base.die_k).peak_k;
  EXPECT_NEAR(d, 2.5, 0.3);  // "about 2.5 K"
}

TEST(Floorplan, RasterisationIsExactAreaOverlap) {
  const Floorplan fp{4e-3, 4e-3, {{"b", 0.5e-3, 0.25e-3, 1.5e-3, 1e-3, 3.0}}};
  const Grid2D p = rasterise(fp, 4, 4);  // 1 mm cells; row 0 is the north edge (y 3..4 mm)
  EXPECT_NEAR(p.sum(), 3.0, 1e-12);
  // Block spans x 0.5..2 mm, y 0.25..1.25 mm: rows 3 (y 0..1) and 2 (y 1..2), columns 0 and 1.
  const double per_m2 = 3.0 / 1.5e-6;
  EXPECT_NEAR(p.at(3, 0), per_m2 * 0.5e-3 * 0.75e-3, 1e-12);
  EXPECT_NEAR(p.at(3, 1), per_m2 * 1e-3 * 0.75e-3, 1e-12);
  EXPECT_NEAR(p.at(2, 0), per_m2 * 0.5e-3 * 0.25e-3, 1e-12);
  EXPECT_NEAR(p.at(2, 1), per_m2 * 1e-3 * 0.25e-3, 1e-12);
  EXPECT_EQ(p.at(1, 1), 0.0);
}

TEST(Floorplan, BlockTemperatureModes) {
  Grid2D t(4, 4);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) t.at(r, c) = 10 * r + c;
  // Covers columns 0..2 fully/partly and rows 1..2 (y 1..3 mm): cells x 0.5..3 mm.
  const Floorplan fp{4e-3, 4e-3, {{"b", 0.5e-3, 1e-3, 2.5e-3, 2e-3, 1.0}}};
  const BlockTemperature b = block_temperatures(fp, t)[0];
  EXPECT_DOUBLE_EQ(b.max_k, 22);
  EXPECT_DOUBLE_EQ(b.grid_avg_k, (10 + 11 + 12 + 20 + 21 + 22) / 6.0);  // partial column 0 counts fully
  EXPECT_DOUBLE_EQ(b.mean_k, (0.5 * (10 + 20) + 11 + 21 + 12 + 22) / 5.0);
  EXPECT_DOUBLE_EQ(b.center_k, (11 + 21) / 2.0);  // 3 columns → the middle one; 2 rows → both
}

std::string problem_error(const std::string& yaml) {
  return error_of([&] { ThermalProblem::from_config(load_yaml_string(yaml, "fp.yaml")); });
}

const std::string kDie = "die: {width_mm: 10, height_mm: 10}\n";

TEST(ThermalConfig, BadInputsNameFileLineKeyAndWhatIsAllowed) {
  EXPECT_HAS(problem_error(kDie + "blocks:\n  - {name: a, x_mm: 0, y_mm: 0, width_mm: 5, height_mm: 5, power_w: 1}\n"
                                  "  - {name: b, x_mm: 4, y_mm: 4, width_mm: 2, height_mm: 2, power_w: 1}\n"),
             "fp.yaml:4: blocks[1]: block 'b' overlaps block 'a' by 1 mm × 1 mm");
  EXPECT_HAS(problem_error(kDie + "blocks:\n  - {name: a, x_mm: 9, y_mm: 0, width_mm: 2, height_mm: 1, power_w: 1}\n"),
             "fp.yaml:3: blocks[0]: block 'a' spans x 9..11 mm, y 0..1 mm, outside the 10 mm × 10 mm die");
  EXPECT_HAS(problem_error(kDie + "blocks:\n  - {name: a, x_mm: 0, y_mm: 0, width_mm: 1, height_mm: 1, power_w: -1}\n"),
             "blocks[0].power_w: value -1 is out of range; allowed: a real number >= 0");
  EXPECT_HAS(problem_error(kDie + "blocks:\n  - {name: a, x_mm: 0, y_mm: 0, width_mm: -1, height_mm: 1, power_w: 1}\n"),
             "blocks[0].width_mm: value -1 is out of range");
  EXPECT_HAS(problem_error(kDie + "blocks:\n  - {name: a, x_mm: 0, y_mm: 0, width_mm: 1, height_mm: 1, power_w: 1}\n"
                                  "  - {name: a, x_mm: 2, y_mm: 0, width_mm: 1, height_mm: 1, power_w: 1}\n"),
             "fp.yaml:4: blocks[1].name: duplicate block name 'a' (also blocks[0])");
  const std::string ok_block = "blocks: [{name: a, x_mm: 0, y_mm: 0, width_mm: 1, height_mm: 1, power_w: 1}]\n";
  EXPECT_HAS(problem_error(kDie + "blocks: [{name: a, x_mm: 0, y_mm: 0, widht_mm: 1, height_mm: 1, power_w: 1}]\n"),
             "blocks[0].widht_mm: unknown key 'widht_mm' (did you mean 'width_mm'?)");
  EXPECT_HAS(problem_error(kDie + ok_block + "mode: hotspott\n"), "fp.yaml:3: mode: unknown discretisation 'hotspott' "
                                                                  "(did you mean 'hotspot'?); allowed: default, hotspot");
  EXPECT_HAS(problem_error(kDie + ok_block + "package: {r_convec_k_w: 0.1, h_w_m2k: 1000}\n"), "not both");
  EXPECT_HAS(problem_error(kDie + ok_block + "package: {spreader: {side_mm: 8}}\n"),
             "package.spreader.side_mm: 8 mm is smaller than the die");
  EXPECT_HAS(problem_error(kDie + ok_block + "package: {sink: {k_w_mk: 0}}\n"),
             "fp.yaml:3: package.sink.k_w_mk: value 0 is out of range; allowed: a real number > 0");
  EXPECT_HAS(problem_error(kDie + ok_block + "grid: {nx: 32}\n"), "grid.nx: give both nx and ny");
  EXPECT_HAS(problem_error(kDie + ok_block + "stack: {layers: [{name: si, thickness_um: 100, k_w_mk: 130}]}\n"),
             "stack.layers[0].cv_j_m3k: missing required value");
  EXPECT_HAS(problem_error(kDie + ok_block + "stak: {}\n"), "fp.yaml:3: stak: unknown key 'stak' (did you mean 'stack'?)");
  EXPECT_HAS(problem_error(kDie + ok_block + "mode: hotspot\nstack: {layers: [{name: si, thickness_um: 100, k_w_mk: 130, "
                                             "cv_j_m3k: 1e6, z_cells: 2}]}\n"),
             "(no error)");  // z_cells is checked when the model is built:
  EXPECT_HAS(error_of([&] {
               ModelSpec s = spec(Discretisation::Hotspot, 8);
               s.stack.layers[0].z_cells = 2;
               ThermalModel m(s);
             }),
             "one node per layer cell");
}

TEST(ThermalConfig, ShippedExamplesSolve) {
  const ThermalProblem hs = ThermalProblem::load(config_dir() + "/examples/thermal_hotspot_package.yaml");
  EXPECT_EQ(hs.model.mode, Discretisation::Hotspot);
  EXPECT_EQ(hs.model.nx, 64);
  const SteadyReport r1 = solve_steady(hs);
  EXPECT_NEAR(r1.field.heat_out_w, 44.0, 1e-6);
  EXPECT_GT(r1.stats.peak_k, hs.model.package.ambient_k);
  const ThermalProblem ex = ThermalProblem::load(config_dir() + "/examples/thermal_floorplan_example.yaml");
  EXPECT_EQ(ex.model.nx, 64);
  EXPECT_EQ(ex.model.ny, 48);
  const SteadyReport r2 = solve_steady(ex);
  EXPECT_NEAR(r2.field.heat_out_w, 10.5, 1e-6);
  const auto& b = r2.blocks;
  const auto hottest = std::max_element(b.begin(), b.end(), [](auto& x, auto& y) { return x.max_k < y.max_k; });
  EXPECT_EQ(hottest->name, "array_hot");
  const nlohmann::json j = to_json(r2, ex);
  EXPECT_EQ(j["blocks"].size(), 5u);
  EXPECT_DOUBLE_EQ(j["peak_k"].get<double>(), r2.stats.peak_k);
  const std::string csv = grid_csv(r2.field.die_k);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 48);
}

}  // namespace
}  // namespace cimkit::thermal
