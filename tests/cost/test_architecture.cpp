// The architecture hierarchy: ISAAC's IMA, tile and chip power and area totals reproduced from
// its component table (Table 6 totals: IMA 24.1 mW / 0.0131 mm², tile 330 mW / 0.372 mm², chip
// 65.8 W / 85.4 mm², each rounded to 3 significant digits in the paper), and config errors.
#include <gtest/gtest.h>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "cost/architecture.hpp"

namespace cimkit::cost {
namespace {

TEST(Architecture, IsaacTotalsMatchTable6) {
  const Architecture a = Architecture::preset("isaac");
  ASSERT_EQ(a.levels().size(), 3u);
  EXPECT_DOUBLE_EQ(a.technology_nm(), 32.0);
  // The table's totals are rounded to 3 significant digits: compare within half a unit of the
  // last printed digit.
  EXPECT_NEAR(a.power_w("ima") * 1e3, 24.1, 0.05);
  EXPECT_NEAR(a.area_m2("ima") * 1e6, 0.0131, 0.00005);
  EXPECT_NEAR(12 * a.power_w("ima") * 1e3, 289, 0.5);
  EXPECT_NEAR(a.power_w("tile") * 1e3, 330, 0.5);
  EXPECT_NEAR(a.area_m2("tile") * 1e6, 0.372, 0.0005);
  EXPECT_NEAR(168 * a.power_w("tile"), 55.4, 0.05);
  EXPECT_NEAR(168 * a.area_m2("tile") * 1e6, 62.5, 0.1);
  EXPECT_NEAR(a.total_power_w(), 65.8, 0.05);
  EXPECT_NEAR(a.total_area_m2() * 1e6, 85.4, 0.05);
  // Per-unit values from totals: 1024 one-bit DACs share 4 mW.
  const Level& ima = a.level("ima");
  EXPECT_DOUBLE_EQ(ima.components[1].power_w, 4e-3 / 1024);
  EXPECT_DOUBLE_EQ(ima.components[0].energy_j, 1.667e-12);
  EXPECT_EQ(a.table()["levels"].size(), 3u);
}

TEST(Architecture, HandComputedToy) {
  const Architecture a = Architecture::from_config(load_yaml_string(
      "technology_nm: 40\nclock_ghz: 1\nlevels:\n"
      "  - {name: pe, count: 4, components: [{name: adc, bits: 8, count: 2, power_mw: 3, area_mm2: 0.5}]}\n"
      "  - {name: tile, count: 2, components: [{name: buf, count: 1, power_mw_total: 10, area_mm2_total: 1}]}\n",
      "toy.yaml"));
  EXPECT_DOUBLE_EQ(a.power_w("pe"), 6e-3);
  EXPECT_DOUBLE_EQ(a.power_w("tile"), 10e-3 + 4 * 6e-3);
  EXPECT_DOUBLE_EQ(a.total_power_w(), 2 * 34e-3);
  EXPECT_DOUBLE_EQ(a.total_area_m2(), 2 * (1e-6 + 4 * 1e-6));
  EXPECT_THROW(a.level("ima"), Error);
}

TEST(Architecture, ErrorsNameTheKey) {
  auto msg = [](const std::string& yaml) {
    try {
      Architecture::from_config(load_yaml_string(yaml, "arch.yaml"));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  EXPECT_NE(msg("technology_nm: 40\nclock_ghz: 1\nlevels:\n  - {name: pe, components: [{name: adc, power_mv: 3}]}\n")
                .find("power_mw"),
            std::string::npos);
  EXPECT_NE(msg("technology_nm: 40\nclock_ghz: 1\nlevels:\n  - {name: pe, components: [{name: adc, power_mw: -3}]}\n")
                .find("arch.yaml:4"),
            std::string::npos);
  EXPECT_NE(msg("technology_nm: 40\nclock_ghz: 1\nlevels:\n"
                "  - {name: pe, components: [{name: adc, power_mw: 1, power_mw_total: 2}]}\n")
                .find("not both"),
            std::string::npos);
  EXPECT_NE(msg("preset: isaacc\n").find("isaac"), std::string::npos);
}

}  // namespace
}  // namespace cimkit::cost
