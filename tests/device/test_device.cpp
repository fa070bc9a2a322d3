// Device models against closed forms and sampling statistics. Arrays are 200 x 200 = 40k cells:
// a sample sigma is then within 5 % of the true one with overwhelming probability (its standard
// error is sigma / sqrt(2N) = 0.35 %), and fixed seeds make every run identical anyway.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config_tree.hpp"
#include "core/paths.hpp"
#include "core/rng.hpp"
#include "device/device_model.hpp"

using namespace cimkit;

namespace {

constexpr int64_t kN = 200;
constexpr int64_t kLevels = 4;
constexpr double kStdRelTol = 0.05;  // sample sigma vs parameter

std::shared_ptr<DeviceModel> make(const std::string& yaml) {
  const ConfigNode section = expand_preset(load_yaml_string(yaml, "test"), "device", "device");
  return Registry<DeviceModel>::instance().create(section, "device").object;
}
torch::Tensor levels_at(int64_t level) { return torch::full({kN, kN}, level, torch::kInt64); }
torch::Tensor ramp_levels() { return torch::arange(kLevels).repeat({kN / kLevels}); }

struct Programmed {
  CellTraits traits;
  torch::Tensor g;
};
Programmed program(const DeviceModel& d, const torch::Tensor& levels, uint64_t seed) {
  at::Generator gen = make_generator(seed);
  Programmed p;
  p.traits = d.draw_traits(levels.sizes(), gen, torch::kFloat32);
  p.g = d.program(levels, kLevels, p.traits, gen);
  return p;
}
double rel(double a, double b) { return std::abs(a - b) / std::abs(b); }
std::string error_of(const std::string& yaml) {
  try {
    make(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Ideal, ProgramReturnsExactNominalLevels) {
  auto d = make("impl: ideal");
  EXPECT_TRUE(d->is_ideal());
  EXPECT_FALSE(d->has_read_noise());
  const torch::Tensor levels = ramp_levels();
  const Programmed p = program(*d, levels, 1);
  EXPECT_TRUE(torch::equal(p.g, d->nominal(levels, kLevels)));
  const ReadConditions hot{1e6, torch::full_like(p.g, 400.0)};
  EXPECT_TRUE(torch::equal(d->at_conditions(p.g, p.traits, hot), p.g));
  EXPECT_FALSE(d->read_noise_std(p.g).defined());
}

TEST(Ideal, NominalEndpointsAreGoffAndGon) {
  auto d = make("impl: ideal");
  EXPECT_DOUBLE_EQ(d->g_on_siemens(), 100e-6);  // MNSIM 2.0 1e4 ohm
  EXPECT_DOUBLE_EQ(d->g_off_siemens(), 1e-6);   // MNSIM 2.0 1e6 ohm
  const torch::Tensor g = d->nominal(torch::tensor({int64_t{0}, kLevels - 1}), kLevels);
  EXPECT_LT(rel(g[0].item<double>(), 1e-6), 1e-6);  // float32 rounding
  EXPECT_LT(rel(g[1].item<double>(), 100e-6), 1e-6);
}

TEST(Reram, DefaultsBehaveIdeally) {
  auto d = make("impl: reram");
  EXPECT_TRUE(d->is_ideal());
  const torch::Tensor levels = ramp_levels();
  const Programmed p = program(*d, levels, 1);
  EXPECT_TRUE(torch::equal(p.g, d->nominal(levels, kLevels)));
  const ReadConditions hot{1e6, torch::full_like(p.g, 400.0)};
  EXPECT_TRUE(torch::equal(d->at_conditions(p.g, p.traits, hot), p.g));
  EXPECT_FALSE(d->read_noise_std(p.g).defined());
}

TEST(Reram, D2dAndC2cSigmaMatchParametersRelativeToTarget) {
  for (const char* key : {"d2d_std", "c2c_std"}) {
    auto d = make(std::string("{impl: reram, ") + key + ": 0.05}");
    EXPECT_FALSE(d->is_ideal());
    const Programmed p = program(*d, levels_at(kLevels - 1), 3);
    const double sigma = (p.g / d->g_on_siemens() - 1.0).std().item<double>();
    EXPECT_LT(rel(sigma, 0.05), kStdRelTol) << key << " sigma " << sigma;
  }
}

TEST(Reram, RangeReferenceScalesSigmaByConductanceWindow) {
  auto d = make("{impl: reram, d2d_std: 0.05, variation_reference: range}");
  const torch::Tensor levels = levels_at(2);
  const Programmed p = program(*d, levels, 3);
  const torch::Tensor dev = (p.g - d->nominal(levels, kLevels)) / (d->g_on_siemens() - d->g_off_siemens());
  EXPECT_LT(rel(dev.std().item<double>(), 0.05), kStdRelTol);
}

TEST(Reram, D2dFixedAcrossProgrammingsC2cRedrawn) {
  at::Generator gen = make_generator(5);
  const torch::Tensor levels = levels_at(kLevels - 1);
  auto d2d = make("{impl: reram, d2d_std: 0.05}");
  const CellTraits t = d2d->draw_traits(levels.sizes(), gen, torch::kFloat32);
  const torch::Tensor d2d_first = d2d->program(levels, kLevels, t, gen);
  EXPECT_TRUE(torch::equal(d2d_first, d2d->program(levels, kLevels, t, gen)));
  auto c2c = make("{impl: reram, c2c_std: 0.05}");
  const CellTraits u = c2c->draw_traits(levels.sizes(), gen, torch::kFloat32);
  const torch::Tensor c2c_first = c2c->program(levels, kLevels, u, gen);
  EXPECT_FALSE(torch::equal(c2c_first, c2c->program(levels, kLevels, u, gen)));
}

TEST(Reram, SameSeedBitIdenticalDifferentSeedDiffers) {
  auto d = make("{preset: realistic_reram}");
  auto run = [&](uint64_t seed) {
    const Programmed p = program(*d, ramp_levels(), seed);
    return d->at_conditions(p.g, p.traits, {1e5, torch::full_like(p.g, 340.0)});
  };
  EXPECT_TRUE(torch::equal(run(11), run(11)));
  EXPECT_FALSE(torch::equal(run(11), run(12)));
}

TEST(Reram, ReadNoiseSigmaIsRelativeToReadConductance) {
  auto d = make("{impl: reram, read_noise_std: 0.01}");
  EXPECT_TRUE(d->has_read_noise());
  EXPECT_FALSE(d->is_ideal());
  const torch::Tensor g = d->nominal(ramp_levels(), kLevels);
  EXPECT_TRUE(torch::allclose(d->read_noise_std(g), g * 0.01, 1e-6, 0.0));
}

TEST(Reram, StuckFractionsMatchRatesAndIgnoreProgramming) {
  auto d = make("{impl: reram, stuck_off_rate: 0.01, stuck_on_rate: 0.02, d2d_std: 0.05, "
                "c2c_std: 0.05}");
  const Programmed p = program(*d, levels_at(1), 9);
  const double n = kN * kN;
  const torch::Tensor off = p.traits.stuck == 1, on = p.traits.stuck == 2;
  for (auto [mask, rate] : {std::pair{off, 0.01}, std::pair{on, 0.02}}) {
    const double tol = 4.0 * std::sqrt(n * rate * (1.0 - rate));  // 4 sigma binomial
    EXPECT_NEAR(mask.sum().item<double>(), n * rate, tol);
  }
  EXPECT_TRUE((p.g.masked_select(off) == static_cast<float>(d->g_off_siemens())).all().item<bool>());
  EXPECT_TRUE((p.g.masked_select(on) == static_cast<float>(d->g_on_siemens())).all().item<bool>());
  // Healthy cells carry variation, so none sits exactly on the level-1 nominal value.
  const torch::Tensor healthy = p.traits.stuck == 0;
  const torch::Tensor level1 = d->nominal(levels_at(1), kLevels)[0][0];
  EXPECT_FALSE((p.g.masked_select(healthy) == level1).any().item<bool>());
}

TEST(Reram, DriftFollowsPowerLawAfterT0) {
  auto d = make("{impl: reram, drift_nu: 0.05, drift_t0_s: 20}");
  const Programmed p = program(*d, ramp_levels(), 1);
  for (double t_s : {0.0, 5.0, 20.0}) {
    EXPECT_TRUE(torch::equal(d->at_conditions(p.g, p.traits, {t_s, {}}), p.g)) << t_s;
  }
  const torch::Tensor g10 = d->at_conditions(p.g, p.traits, {200.0, {}});
  EXPECT_TRUE(torch::allclose(g10, p.g * std::pow(10.0, -0.05), 1e-5, 0.0));  // float32
  const torch::Tensor g100 = d->at_conditions(p.g, p.traits, {2000.0, {}});
  EXPECT_TRUE((g100 < g10).all().item<bool>() && (g10 < p.g).all().item<bool>());
}

TEST(Reram, DriftExponentVariesPerCellAndStaysNonNegative) {
  auto d = make("{impl: reram, drift_nu: 0.05, drift_nu_std: 0.01}");
  const Programmed p = program(*d, levels_at(1), 2);
  EXPECT_LT(rel(p.traits.drift_nu.std().item<double>(), 0.01), kStdRelTol);
  EXPECT_LT(rel(p.traits.drift_nu.mean().item<double>(), 0.05), 0.01);  // SE 0.1 %
  auto wide = make("{impl: reram, drift_nu: 0.0, drift_nu_std: 0.05}");
  EXPECT_GE(program(*wide, levels_at(1), 2).traits.drift_nu.min().item<double>(), 0.0);
}

namespace {
const char* kThermal = "{impl: reram, temp_coeff_lrs_per_k: -1.0e-3, temp_coeff_hrs_per_k: 2.5e-4, "
                       "temp_knee_k: 330, temp_coeff_lrs_above_knee_per_k: -3.0e-3}";
// Relative change of each level (0..3) read at `t_k`.
torch::Tensor thermal_change(const DeviceModel& d, double t_k) {
  const torch::Tensor g = d.nominal(torch::arange(kLevels), kLevels);
  return d.at_conditions(g, {}, {0.0, torch::tensor(t_k)}) / g - 1.0;
}
}  // namespace

TEST(Reram, TemperatureLowersLrsMoreThanItRaisesHrs) {
  auto d = make(kThermal);
  EXPECT_FALSE(d->is_ideal());
  const torch::Tensor c = thermal_change(*d, 350.0);
  const double hrs = c[0].item<double>(), lrs = c[kLevels - 1].item<double>();
  EXPECT_NEAR(lrs, -1.0e-3 * 50 - 3.0e-3 * 20, 1e-5);  // closed form, float32
  EXPECT_NEAR(hrs, 2.5e-4 * 50, 1e-5);
  EXPECT_GT(std::abs(lrs), std::abs(hrs));
  for (int64_t l = 1; l < kLevels; ++l) {  // intermediate levels lie in between, monotonically
    EXPECT_LT(c[l].item<double>(), c[l - 1].item<double>()) << l;
  }
}

TEST(Reram, KneeSteepensLrsSlopeAboveKneeTemperature) {
  auto d = make(kThermal);
  auto lrs_at = [&](double t_k) { return thermal_change(*d, t_k)[kLevels - 1].item<double>(); };
  const double below = (lrs_at(320.0) - lrs_at(310.0)) / 10.0;
  const double above = (lrs_at(350.0) - lrs_at(340.0)) / 10.0;
  EXPECT_NEAR(below, -1.0e-3, 1e-6);
  EXPECT_NEAR(above, -4.0e-3, 1e-6);
}

TEST(Reram, UndefinedTemperatureMeansReferenceAndPerCellTemperatureBroadcasts) {
  auto d = make(kThermal);
  const torch::Tensor g = d->nominal(levels_at(kLevels - 1), kLevels);
  EXPECT_TRUE(torch::equal(d->at_conditions(g, {}, {}), g));
  EXPECT_TRUE(torch::equal(d->at_conditions(g, {}, {0.0, torch::full({1}, 300.0)}), g));
  const torch::Tensor per_col = torch::linspace(300.0, 400.0, kN).unsqueeze(0);  // [1, cols]
  const torch::Tensor out = d->at_conditions(g, {}, {0.0, per_col});
  ASSERT_EQ(out.sizes(), g.sizes());
  for (int64_t col : {0L, 57L, kN - 1}) {
    const double t_k = per_col[0][col].item<double>();
    const torch::Tensor ref = d->at_conditions(g.select(1, col), {}, {0.0, torch::tensor(t_k)});
    EXPECT_TRUE(torch::allclose(out.select(1, col), ref, 1e-6, 0.0)) << col;
  }
}

TEST(Reram, ConfigErrorsNameTheKeyAndTheAllowedRange) {
  const std::string order = error_of("{impl: reram, g_on_us: 10, g_off_us: 20}");
  EXPECT_NE(order.find("device.g_off_us"), std::string::npos) << order;
  EXPECT_NE(order.find("g_on_us"), std::string::npos) << order;
  EXPECT_NE(error_of("{impl: ideal, g_off_us: 200}").find("device.g_off_us"), std::string::npos);
  const std::string rate = error_of("{impl: reram, stuck_off_rate: 1.5}");
  EXPECT_NE(rate.find("device.stuck_off_rate"), std::string::npos) << rate;
  EXPECT_NE(rate.find("[0, 1]"), std::string::npos) << rate;
  const std::string sum = error_of("{impl: reram, stuck_off_rate: 0.6, stuck_on_rate: 0.6}");
  EXPECT_NE(sum.find("stuck_off_rate + stuck_on_rate"), std::string::npos) << sum;
  const std::string choice = error_of("{impl: reram, variation_reference: cell}");
  EXPECT_NE(choice.find("target, range"), std::string::npos) << choice;
}

TEST(Registry, BuiltInDeviceModelsAreRegistered) {
  const auto names = Registry<DeviceModel>::instance().names();
  for (const char* n : {"ideal", "reram"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
}

TEST(Presets, EveryShippedDevicePresetBuilds) {
  const auto names = list_presets("device");
  for (const char* n : {"mnsim_default", "realistic_reram", "thermal_quant", "rebit_taox"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  for (const auto& n : names) {
    ConfigNode section = ConfigNode::map();
    section.set("preset", ConfigNode::scalar(n));
    const ConfigNode expanded = expand_preset(section, "device", "device");
    const auto built = Registry<DeviceModel>::instance().create(expanded, "device");
    EXPECT_FALSE(built.object->is_ideal()) << n;
  }
  auto thermal = make("{preset: thermal_quant}");
  EXPECT_NEAR(thermal->g_on_siemens(), 38.5e-9, 1e-15);  // paper 000 §IV.A
  EXPECT_NEAR(thermal->g_off_siemens(), 5e-9, 1e-15);
  const torch::Tensor c = thermal_change(*thermal, 360.0);
  EXPECT_LT(c[kLevels - 1].item<double>(), 0.0);
  EXPECT_GT(c[0].item<double>(), 0.0);
}

TEST(ReramStreams, SwitchingOneEffectLeavesTheOthersDrawsUnchanged) {
  // Ablations compare like with like: the stuck cells are the same with and without D2D.
  auto make = [](const std::string& yaml) {
    return cimkit::Registry<cimkit::DeviceModel>::instance().create(cimkit::load_yaml_string(yaml, "d.yaml"), "chip.device");
  };
  const auto with = make("impl: reram\nd2d_std: 0.05\nstuck_off_rate: 0.05\nstuck_on_rate: 0.05\n");
  const auto without = make("impl: reram\nstuck_off_rate: 0.05\nstuck_on_rate: 0.05\n");
  auto g1 = cimkit::make_generator(9), g2 = cimkit::make_generator(9);
  const auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  const auto t1 = with.object->draw_traits({100, 100}, g1, opt);
  const auto t2 = without.object->draw_traits({100, 100}, g2, opt);
  ASSERT_TRUE(t1.d2d.defined());
  EXPECT_FALSE(t2.d2d.defined());
  EXPECT_TRUE(torch::equal(t1.stuck, t2.stuck));
}
