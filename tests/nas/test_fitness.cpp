// Paper 004 eq. 4 by hand, and one architecture scored end to end: inherited weights with
// recalibrated BatchNorm, the cost model's EDP on the crossnas architecture, the fitness.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "nas/arch_eval.hpp"
#include "nas/toy_space.hpp"

using namespace cimkit;
using namespace cimkit::nas;

TEST(NasFitness, Eq4ByHand) {
  EdpNormalisation ref;
  ref.reference_edp_js = 2e-9;
  // EDP 1e-9 is 50 % of the reference: 0.8 · 90 − 0.2 · 50 = 62.
  EXPECT_DOUBLE_EQ(crossnas_fitness(90.0, 1e-9, 0.8, ref), 62.0);
  EXPECT_DOUBLE_EQ(crossnas_fitness(90.0, 1e-9, 1.0, ref), 90.0);
  EdpNormalisation mm;
  mm.kind = EdpNormalisation::Kind::MinMax;
  mm.lo_js = 1e-9;
  mm.hi_js = 5e-9;
  // (3e-9 − 1e-9) / 4e-9 = 50 %: 0.99 · 80 − 0.01 · 50 = 78.7.
  EXPECT_NEAR(crossnas_fitness(80.0, 3e-9, 0.99, mm), 78.7, 1e-12);
  EXPECT_THROW(crossnas_fitness(80.0, 3e-9, 1.5, mm), Error);
  EdpNormalisation bad;
  EXPECT_THROW(crossnas_fitness(80.0, 3e-9, 0.5, bad), Error);  // no reference EDP
}

TEST(NasFitness, ArchitectureScoredEndToEnd) {
  const ArchSpace s = cimkit::nas::testing::toy_space(3, {8, 16}, 16);
  Supernet net(s, 1);
  auto g = make_generator(2);
  std::vector<torch::Tensor> recal = {at::randn({8, 1, 16, 16}, g), at::randn({8, 1, 16, 16}, g)};
  const torch::Tensor vx = at::randn({20, 1, 16, 16}, g), vy = at::randint(10, {20}, g, torch::kInt64);
  ConfigNode arch = ConfigNode::map({"t", 0});
  arch.set("preset", ConfigNode::scalar("crossnas", {"t", 0}));
  nn::ZooOptions layers;
  layers.first_last_bits = 0;
  ArchEvaluator ev(net, cost::CostModel::from_config(&arch, nullptr, {}), layers, recal, vx, vy, 7);
  const Arch small = s.parse("VGG8", "t"), big = s.parse("MVGG16-RES16-MVGG16", "t");
  EdpNormalisation norm;
  norm.reference_edp_js = ev.cost_of(big).totals.edp_js;
  const ArchScore a = ev.evaluate(small, 0.8, norm), b = ev.evaluate(big, 0.8, norm);
  EXPECT_GE(a.accuracy_pct, 0.0);
  EXPECT_LE(a.accuracy_pct, 100.0);
  EXPECT_EQ(std::fmod(a.accuracy_pct * 20 / 100, 1.0), 0.0);  // whole images of 20
  EXPECT_GT(a.edp_js, 0.0);
  EXPECT_LT(a.edp_js, b.edp_js);  // a smaller network costs less on the same chip
  EXPECT_NEAR(b.fitness, 0.8 * b.accuracy_pct - 0.2 * 100.0, 1e-9);
  EXPECT_DOUBLE_EQ(a.fitness, crossnas_fitness(a.accuracy_pct, a.edp_js, 0.8, norm));
  // Recalibration leaves the supernet in eval mode with the small architecture's statistics set.
  EXPECT_FALSE(net->is_training());
}
