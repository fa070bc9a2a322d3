// HAQ's action wall (algorithms.md §1.4) on a toy cost: the walled candidate fits the budget,
// lowers the last layers first (activation, then weight), never goes below a range's minimum,
// and says so when even the minimum widths do not fit.
#include <gtest/gtest.h>

#include "search/resource_wall.hpp"

using namespace cimkit::search;

namespace {

SearchSpace toy() {
  SearchSpace s;
  s.layers = {{"a", LayerKind::Conv, 1, 8, 3, 1, 64, 72, {2, 8}, {2, 8}, true, 8},
              {"b", LayerKind::Conv, 8, 8, 3, 1, 64, 576, {2, 8}, {2, 8}, true, 8},
              {"c", LayerKind::Linear, 512, 10, 1, 1, 1, 5120, {2, 8}, {4, 8}, false, 8}};
  return s;
}

// A latency-like cost: weights × weight bits × activation bits, summed.
double cost(const Candidate& c) {
  const double params[] = {72, 576, 5120};
  double t = 0;
  for (size_t l = 0; l < 3; ++l) t += params[l] * c.weight_bits[l] * c.act_bits[l];
  return t;
}

Candidate eights() {
  Candidate c;
  c.weight_bits = {8, 8, 8};
  c.act_bits = {8, 8, 8};
  return c;
}

}  // namespace

TEST(ResourceWall, FitsTheBudgetFromTheLastLayerBackwards) {
  const SearchSpace s = toy();
  const double full = cost(eights());
  // 90 %: layer c's activations are not searched, so its weight bits go first (8 -> 7 saves
  // 5120·8 = 40960 of 368640... one step is enough).
  Walled w = enforce_budget(eights(), s, cost, 0.9 * full);
  EXPECT_TRUE(w.within);
  EXPECT_LE(w.cost, 0.9 * full);
  EXPECT_EQ(w.cost, cost(w.candidate));
  EXPECT_EQ(w.candidate.weight_bits, (std::vector<int>{8, 8, 7}));
  EXPECT_EQ(w.candidate.act_bits, (std::vector<int>{8, 8, 8}));
  EXPECT_EQ(w.steps, 1);
  // A tight budget (the minimum costs 84,512, 23 % of 368,640): every width within its range, the cost within the budget.
  w = enforce_budget(eights(), s, cost, 0.3 * full);
  EXPECT_TRUE(w.within);
  EXPECT_LE(w.cost, 0.3 * full);
  for (size_t l = 0; l < 3; ++l) {
    EXPECT_GE(w.candidate.weight_bits[l], s.layers[l].weight.min);
    EXPECT_GE(w.candidate.act_bits[l], l == 2 ? 8 : s.layers[l].act.min);
  }
  // Already within: unchanged.
  Candidate small = eights();
  small.weight_bits = {2, 2, 2};
  w = enforce_budget(small, s, cost, full);
  EXPECT_EQ(w.steps, 0);
  EXPECT_EQ(w.candidate.weight_bits, small.weight_bits);
  // Out of reach: everything at its minimum, and within = false.
  w = enforce_budget(eights(), s, cost, 1.0);
  EXPECT_FALSE(w.within);
  EXPECT_EQ(w.candidate.weight_bits, (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(w.candidate.act_bits, (std::vector<int>{2, 2, 8}));
}
