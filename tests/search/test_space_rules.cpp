// Paper 000 §III.C.1's layer-specific ranges from a network's shape, and overrides by name.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "search/space_rules.hpp"

using namespace cimkit;
using namespace cimkit::search;

namespace {

mapping::NetworkShape lenet_like() {
  mapping::NetworkShape s;
  s.name = "toy";
  auto conv = [](std::string name, int64_t c, int64_t o, int64_t hw) {
    mapping::WeightLayer l;
    l.name = std::move(name);
    l.kind = "conv2d";
    l.in_features = c * 9;
    l.out_features = o;
    l.kernel = 3;
    l.input = {c, hw, hw};
    return l;
  };
  auto linear = [](std::string name, int64_t i, int64_t o) {
    mapping::WeightLayer l;
    l.name = std::move(name);
    l.kind = "linear";
    l.in_features = i;
    l.out_features = o;
    l.input = {i, 1, 1};
    return l;
  };
  s.layers = {conv("conv1", 1, 8, 28), conv("conv2", 8, 16, 14), conv("conv3", 16, 32, 7), linear("fc1", 288, 64),
              linear("fc2", 64, 10)};
  return s;
}

}  // namespace

TEST(SpaceRules, PaperRangesByLayerKindAndDepth) {
  const SearchSpace s = space_from_shape(lenet_like(), LayerRules{}, "search.layers");
  ASSERT_EQ(s.layers.size(), 5u);
  // 3 convolutions: the first 2 (half, rounded up) are early.
  EXPECT_EQ(s.layers[0].weight.min, 2);
  EXPECT_EQ(s.layers[0].weight.max, 8);
  EXPECT_EQ(s.layers[1].weight.max, 8);
  EXPECT_EQ(s.layers[2].weight.max, 4);
  EXPECT_EQ(s.layers[3].weight.min, 6);
  EXPECT_EQ(s.layers[4].weight.min, 6);
  EXPECT_EQ(s.layers[1].in, 8);
  EXPECT_EQ(s.layers[1].feature_size, 14 * 14);
  EXPECT_EQ(s.layers[3].in, 288);
  EXPECT_EQ(s.layers[3].params, 288 * 64);
  EXPECT_EQ(s.layers[3].kind, LayerKind::Linear);
}

TEST(SpaceRules, OverridesAndErrors) {
  LayerRules r;
  r.early_conv_layers = 1;
  r.weight_overrides["fc2"] = {8, 8};
  r.act_overrides["conv1"] = {4, 6};
  const SearchSpace s = space_from_shape(lenet_like(), r, "search.layers");
  EXPECT_EQ(s.layers[1].weight.max, 4);  // only conv1 is early now
  EXPECT_EQ(s.layers[4].weight.min, 8);
  EXPECT_EQ(s.layers[0].act.min, 4);
  r.weight_overrides["fc9"] = {2, 8};
  try {
    space_from_shape(lenet_like(), r, "search.layers");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("search.layers: no layer 'fc9'"), std::string::npos) << m;
    EXPECT_NE(m.find("conv1, conv2, conv3, fc1, fc2"), std::string::npos) << m;
  }
  r.weight_overrides.erase("fc9");
  r.weight_overrides["fc1"] = {7, 3};
  EXPECT_THROW(space_from_shape(lenet_like(), r, "search.layers"), Error);
}
