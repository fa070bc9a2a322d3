// The `nas:` section (issue 16 §6): defaults are paper 004's, lists are read, and a bad search
// space (empty lists, depth 0, channels out of range, unknown blocks or keys) is refused with
// the file, line and key.
#include <gtest/gtest.h>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "nas/settings.hpp"

using namespace cimkit;
using namespace cimkit::nas;

namespace {

NasSettings parse(const std::string& yaml) { return NasSettings::from_config(load_yaml_string(yaml, "nas.yaml"), "nas"); }

// The ConfigError of `yaml`, as text (empty when it parsed).
std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(NasSettings, DefaultsAreThePapers) {
  const NasSettings s = parse("{}");
  EXPECT_EQ(s.space.max_depth, 8);
  EXPECT_EQ(s.space.types.size(), 3u);
  EXPECT_EQ(s.space.channels, (std::vector<int64_t>{32, 64, 128}));
  EXPECT_EQ(s.arch_evolution.population, 50);  // Algorithm 1
  EXPECT_EQ(s.arch_evolution.mutations, 25);
  EXPECT_DOUBLE_EQ(s.arch_evolution.mutation_prob, 0.1);
  EXPECT_EQ(s.quant_bits, (std::vector<int>{5, 7, 9}));
  EXPECT_EQ(s.xbar_sizes, (std::vector<int64_t>{32, 64, 128, 256}));  // Table 1
  EXPECT_EQ(s.adc_bits, (std::vector<int>{4, 6, 8, 10}));
  EXPECT_EQ(s.dac_bits, (std::vector<int>{1, 2}));
  EXPECT_LT(s.quant_mutation_scale, s.chip_mutation_scale);  // chip genes mutate more often
  EXPECT_TRUE(s.resolved.find("chip_search")->find("xbar_sizes")->is_seq());
}

TEST(NasSettings, ListsAreRead) {
  const NasSettings s = parse("{space: {max_depth: 3, blocks: [RES, VGG], channels: [8, 16]}, quant: {bits: [4, 8]},"
                              " chip_search: {xbar_sizes: [64], adc_bits: [6, 8], dac_bits: [1]}}");
  EXPECT_EQ(s.space.max_depth, 3);
  ASSERT_EQ(s.space.types.size(), 2u);
  EXPECT_EQ(s.space.types[0], BlockType::Res);
  EXPECT_EQ(s.space.channels, (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(s.quant_bits, (std::vector<int>{4, 8}));
  EXPECT_EQ(s.xbar_sizes, (std::vector<int64_t>{64}));
}

TEST(NasSettings, BadSpacesNameFileLineAndKey) {
  struct Case {
    std::string yaml, key, says;
  };
  const std::vector<Case> cases = {
      {"space:\n  blocks: []\n", "nas.space.blocks", "non-empty"},
      {"space:\n  channels: []\n", "nas.space.channels", "empty"},
      {"space:\n  max_depth: 0\n", "nas.space.max_depth", ""},
      {"space:\n  channels: [32, 0]\n", "nas.space.channels", "out of range"},
      {"space:\n  channels: [32, 5000]\n", "nas.space.channels", "out of range"},
      {"space:\n  channels: [32, 32]\n", "nas.space.channels", "twice"},
      {"space:\n  channels: [3x2]\n", "nas.space.channels", "not an integer"},
      {"space:\n  blocks: [VGG, DENSE]\n", "nas.space.blocks", "DENSE"},
      {"space:\n  depth: 3\n", "nas.space.depth", ""},
      {"spaces: {}\n", "nas.spaces", "allowed"},
      {"quant:\n  bits: [1, 5]\n", "nas.quant.bits", "out of range"},
      {"chip_search:\n  dac_bits: 2\n", "nas.chip_search.dac_bits", "list"},
      {"arch_search:\n  population: 10\n  mutations: 8\n  crossovers: 8\n", "mutations", "population"},
      {"arch_search:\n  edp_norm: minmax\n  edp_lo_js: 2.0\n  edp_hi_js: 1.0\n", "edp_hi_js", "above"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.yaml);
    ASSERT_FALSE(e.empty()) << c.yaml << " was accepted";
    EXPECT_NE(e.find("nas.yaml:"), std::string::npos) << e;  // the file and its line
    EXPECT_NE(e.find(c.key), std::string::npos) << e;
    EXPECT_NE(e.find(c.says), std::string::npos) << e;
  }
}
