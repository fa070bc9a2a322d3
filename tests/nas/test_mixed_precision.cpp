// Paper 004 §3.3's mixed-precision supernet: a training forward draws every layer's bits from the
// set, reproducibly from the step (resumable), eval forwards keep a candidate's bits; the ema
// quantiser keeps its clipping range α when the bits change; the joint genome decodes to bits
// and chip with the chip genes mutating more often.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "nas/mixed_precision.hpp"
#include "nas/subnet.hpp"
#include "nas/toy_space.hpp"
#include "nn/quantizer.hpp"

using namespace cimkit;
using namespace cimkit::nas;

namespace {

std::shared_ptr<Subnet> subnet() {
  nn::ZooOptions z;
  z.quant = nn::QuantMode::ema;
  z.first_last_bits = 0;
  z.precision = {8, 8, 0};
  const ArchSpace s = cimkit::nas::testing::toy_space(2, {4, 8}, 8);
  return std::make_shared<Subnet>(s, s.parse("VGG4-RES8", "arch"), z);
}

std::vector<std::string> bits_of(nn::Network& n) {
  std::vector<std::string> v;
  for (const auto& p : n.precisions()) v.push_back(p.str());
  return v;
}

}  // namespace

TEST(MixedPrecision, TrainingForwardsDrawBitsFromTheSetByStep) {
  auto a = subnet();
  MixedPrecisionNet mp(a, {5, 7, 9}, 0, 3);
  mp.set_mode(nn::LayerMode::Quantised);
  mp.train();
  const torch::Tensor x = torch::randn({4, 1, 8, 8});
  std::set<int> seen;
  std::vector<std::vector<std::string>> drawn;
  for (int i = 0; i < 12; ++i) {
    mp.forward(x);
    for (const auto& p : a->precisions()) {
      seen.insert(p.weight_bits);
      seen.insert(p.act_bits);
      EXPECT_EQ(p.adc_bits, 0);
    }
    drawn.push_back(bits_of(*a));
  }
  EXPECT_EQ(seen, (std::set<int>{5, 7, 9}));
  EXPECT_NE(drawn[0], drawn[1]);
  EXPECT_EQ(mp.steps(), 12);

  // Another wrapper restored at step 5 (its buffer, as a checkpoint restores it) draws what the
  // first drew at step 5.
  auto b = subnet();
  MixedPrecisionNet again(b, {5, 7, 9}, 0, 3);
  again.set_mode(nn::LayerMode::Quantised);
  again.named_buffers()["mp_step"].fill_(5);
  again.train();
  again.forward(x);
  EXPECT_EQ(bits_of(*b), drawn[5]);

  // Eval: the candidate's bits stay.
  std::vector<nn::Precision> p(a->precisions().size(), nn::Precision{5, 9, 0});
  a->set_precisions(p);
  mp.eval();
  mp.forward(x);
  EXPECT_EQ(a->precisions(), p);
}

TEST(MixedPrecision, EmaKeepsItsClippingRangeWhenTheBitsChange) {
  nn::Quantizer q(nn::QuantizerOptions(nn::QuantMode::ema, 7).is_signed(false).role(nn::QuantRole::activation));
  q->train();
  q->forward(torch::rand({64, 16}) * 3);
  const double alpha = q->step.item<double>() * q->range().q_p;
  q->set_bits(5);
  EXPECT_NEAR(q->step.item<double>() * q->range().q_p, alpha, 1e-6 * alpha);
  q->set_bits(9);
  EXPECT_NEAR(q->step.item<double>() * q->range().q_p, alpha, 1e-6 * alpha);
}

TEST(MixedPrecision, JointGenomeDecodesToBitsAndChip) {
  QuantChipSpace s;
  s.layers = {"conv1", "fc1"};
  s.bits = {5, 7, 9};
  s.xbar = {32, 64, 128, 256};
  s.adc = {4, 6, 8, 10};
  s.dac = {1, 2};
  const auto g = s.genes();
  ASSERT_EQ(g.size(), 7u);
  EXPECT_EQ(g[0].name, "conv1.weight_bits");
  EXPECT_EQ(g[4].name, "xbar");
  EXPECT_LT(g[0].mutation_scale, g[4].mutation_scale);
  const QuantChipChoice c = s.decode({0, 2, 1, 1, 3, 1, 0});
  EXPECT_EQ(c.precisions[0].weight_bits, 5);
  EXPECT_EQ(c.precisions[0].act_bits, 9);
  EXPECT_EQ(c.precisions[1].weight_bits, 7);
  EXPECT_EQ(c.xbar, 256);
  EXPECT_EQ(c.adc_bits, 6);
  EXPECT_EQ(c.precisions[1].adc_bits, 6);
  EXPECT_EQ(c.dac_bits, 1);
  EXPECT_EQ(c.key(), "w5a9-w7a7 x256 adc6 dac1");
  EXPECT_THROW(s.decode({0, 0, 0}), Error);
  EXPECT_THROW(s.decode({0, 3, 1, 1, 3, 1, 0}), Error);
}
