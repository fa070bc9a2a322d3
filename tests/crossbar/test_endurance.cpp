// Write endurance of the ReRAM cell (issue 15 §3): cells written past their endurance wear as
// device/reram.cpp documents; the write counts of the engine are exact.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config_tree.hpp"
#include "core/paths.hpp"
#include "core/rng.hpp"
#include "crossbar/engine.hpp"
#include "device/device_model.hpp"

using namespace cimkit;

namespace {

constexpr int64_t kLevels = 4;

std::shared_ptr<DeviceModel> make(const std::string& yaml) {
  const ConfigNode section = expand_preset(load_yaml_string(yaml, "test"), "device", "device");
  return Registry<DeviceModel>::instance().create(section, "device").object;
}

// Level codes as float64 (as the engine passes them: the conductances are then float64);
// `writes` the same for all cells.
torch::Tensor program_at(const DeviceModel& d, const torch::Tensor& levels, double writes) {
  at::Generator gen = make_generator(3);
  const CellTraits t = d.draw_traits(levels.sizes(), gen, torch::kFloat64);
  return d.program(levels, kLevels, t, gen, torch::full(levels.sizes(), writes, torch::kFloat64));
}

}  // namespace

TEST(Endurance, IntactUpToTheEnduranceThenTheWindowNarrowsByDecade) {
  const auto d = make("{impl: reram, g_on_us: 100, g_off_us: 1, endurance_cycles: 1000, endurance_window_loss_per_decade: 0.5}");
  EXPECT_FALSE(d->is_ideal());
  const torch::Tensor levels = torch::arange(kLevels, torch::kFloat64).repeat({8, 1});
  const torch::Tensor nominal = d->nominal(levels, kLevels).to(torch::kFloat64);
  EXPECT_TRUE(torch::equal(program_at(*d, levels, 1), nominal));
  EXPECT_TRUE(torch::equal(program_at(*d, levels, 1000), nominal));  // the 1000th write is intact
  // One decade past: half the window is gone, towards G_off; two decades: all of it.
  const double g_off = 1e-6;
  EXPECT_TRUE(torch::allclose(program_at(*d, levels, 1e4), (nominal - g_off) * 0.5 + g_off, 0, 1e-18));
  EXPECT_TRUE(torch::allclose(program_at(*d, levels, 1e5), torch::full_like(nominal, g_off), 0, 1e-18));
  EXPECT_TRUE(torch::allclose(program_at(*d, levels, 1e7), torch::full_like(nominal, g_off), 0, 1e-18));
}

TEST(Endurance, StuckFailuresHoldTheirStateWhateverIsWritten) {
  const torch::Tensor levels = torch::arange(kLevels, torch::kFloat64).repeat({8, 1});
  const auto lrs = make("{impl: reram, g_on_us: 100, g_off_us: 1, endurance_cycles: 10, endurance_failure: stuck_lrs}");
  const auto hrs = make("{impl: reram, g_on_us: 100, g_off_us: 1, endurance_cycles: 10, endurance_failure: stuck_hrs}");
  EXPECT_TRUE(torch::equal(program_at(*lrs, levels, 10), lrs->nominal(levels, kLevels).to(torch::kFloat64)));
  EXPECT_TRUE(torch::equal(program_at(*lrs, levels, 11), torch::full(levels.sizes(), lrs->g_on_siemens(), torch::kFloat64)));
  EXPECT_TRUE(torch::equal(program_at(*hrs, levels, 11), torch::full(levels.sizes(), 1e-6, torch::kFloat64)));
}

TEST(Endurance, LognormalAcrossCellsWithTheConfiguredMedianAndSpread) {
  const auto d = make("{impl: reram, endurance_cycles: 1e6, endurance_spread: 0.8}");
  at::Generator gen = make_generator(5);
  const CellTraits t = d->draw_traits({200, 200}, gen, torch::kFloat32);
  ASSERT_TRUE(t.endurance.defined());
  EXPECT_EQ(t.endurance.scalar_type(), torch::kFloat64);
  const torch::Tensor ln = torch::log(t.endurance);
  EXPECT_NEAR(ln.median().item<double>(), std::log(1e6), 0.02);
  EXPECT_NEAR(ln.std().item<double>(), 0.8, 0.8 * 0.02);
  // Programmed at the median, about half the cells are past it.
  const torch::Tensor levels = torch::full({200, 200}, kLevels - 1, torch::kFloat64);
  const torch::Tensor g = d->program(levels, kLevels, t, gen, torch::full({200, 200}, 1e6 + 1, torch::kFloat64));
  const double worn = (g < 99.999e-6).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(worn, 0.5, 0.02);
  // Without endurance the trait is absent and writes change nothing.
  const auto unlimited = make("{impl: reram, d2d_std: 0.05}");
  EXPECT_FALSE(unlimited->draw_traits({4, 4}, gen, torch::kFloat32).endurance.defined());
}

TEST(Endurance, StuckAtFaultsDoNotWear) {
  // Half the cells stuck at G_on; every cell written past its endurance, which sticks a healthy
  // cell at G_off: the faulty cells stay at G_on, the healthy ones go to G_off.
  const auto d = make("{impl: reram, g_on_us: 100, g_off_us: 1, stuck_on_rate: 0.5, endurance_cycles: 10, endurance_failure: stuck_hrs}");
  const torch::Tensor levels = torch::full({50, 50}, 2, torch::kFloat64);
  at::Generator gen = make_generator(9);
  const CellTraits t = d->draw_traits(levels.sizes(), gen, torch::kFloat64);
  const torch::Tensor g = d->program(levels, kLevels, t, gen, torch::full({50, 50}, 100.0, torch::kFloat64));
  const int64_t stuck = (t.stuck == 2).sum().item<int64_t>();
  ASSERT_GT(stuck, 1000);
  ASSERT_LT(stuck, 1500);
  EXPECT_TRUE(torch::equal(g.masked_select(t.stuck == 2), torch::full({stuck}, d->g_on_siemens(), torch::kFloat64)));
  EXPECT_TRUE(torch::equal(g.masked_select(t.stuck == 0), torch::full({2500 - stuck}, d->g_off_siemens(), torch::kFloat64)));
}

TEST(Endurance, ConfigErrorsNameTheKey) {
  try {
    make("{impl: reram, endurance_failure: melts}");
    FAIL();
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("endurance_failure"), std::string::npos) << m;
    EXPECT_NE(m.find("stuck_lrs"), std::string::npos) << m;
  }
  EXPECT_THROW(make("{impl: reram, endurance_cycles: -1}"), ConfigError);
}

TEST(Endurance, EngineCountsEveryWriteExactlyAndAgedCellsWear) {
  // A 16 x 24 layer on 8 x 8 arrays; the chip's cells have had 9 writes and survive 10.
  const std::string yaml =
      "crossbar: {rows: 8, cols: 8, cell_bits: 2, weight_bits: 4, input_bits: 4, path: conductance}\n"
      "device: {impl: reram, g_on_us: 100, g_off_us: 1, endurance_cycles: 10, endurance_prior_writes: 9,"
      " endurance_failure: stuck_hrs}\n";
  const auto chip = Chip::from_config(load_yaml_string(yaml, "<test>"), "chip");
  auto gen = make_generator(2);
  const torch::Tensor w = at::randn({16, 24}, gen);
  CrossbarLayer::Options opt;
  opt.seed = 4;
  CrossbarLayer layer(chip, w, opt);
  ASSERT_TRUE(layer.write_counts().defined());
  EXPECT_EQ(layer.write_counts().sizes(), layer.programmed_conductance().sizes());
  EXPECT_TRUE(torch::all(layer.write_counts() == 10).item<bool>());
  EXPECT_TRUE(torch::all(layer.reference_write_counts() == 10).item<bool>());
  EXPECT_GT(layer.programmed_conductance().max().item<double>(), 2e-6);  // the 10th write: intact
  for (int k = 0; k < 3; ++k) layer.program();
  EXPECT_TRUE(torch::all(layer.write_counts() == 13).item<bool>());
  EXPECT_TRUE(torch::all(layer.reference_write_counts() == 13).item<bool>());
  // Past its endurance every cell is stuck at G_off: the layer reads nothing but the offset
  // the reference column removes.
  EXPECT_TRUE(torch::all(layer.programmed_conductance() == 1e-6).item<bool>());
  const torch::Tensor x = at::rand({5, 24}, gen);
  EXPECT_LT(layer.forward(x).y.abs().max().item<double>(), 1e-6);
}
