// The bit representation (BSQ; paper 000 eq. 2) and paper 000's pretraining regularisers
// (eq. 3–4): values and gradients against hand-computed ones and finite differences; BSQ's
// re-quantisation and precision adjustment keep the represented weights.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/bit_weights.hpp"
#include "train/thermal_regularisers.hpp"

using namespace cimkit;

namespace {

// 3 magnitude bits, step 0.5: codes of {1.0, -0.75, 3.6, 0.1} are {2, -2 (round 1.5), 7 (clipped), 0}.
nn::BitWeights small() { return nn::BitWeights(torch::tensor({1.0f, -0.75f, 3.6f, 0.1f}), torch::tensor({0.5f}), 3); }

}  // namespace

TEST(BitWeights, StartAtTheWeightsOwnQuantisation) {
  auto b = small();
  EXPECT_EQ(b->bits(), 3);
  EXPECT_TRUE(torch::allclose(b->codes(), torch::tensor({2.0f, -2.0f, 7.0f, 0.0f})));
  EXPECT_TRUE(torch::allclose(b->forward(), torch::tensor({1.0f, -1.0f, 3.5f, 0.0f})));
  // Planes MSB first: 2 = 010, 7 = 111; the negative weight's bits live in W_n.
  EXPECT_TRUE(torch::equal(b->pweight[0], torch::tensor({0.0f, 1.0f, 0.0f})));
  EXPECT_TRUE(torch::equal(b->nweight[1], torch::tensor({0.0f, 1.0f, 0.0f})));
  EXPECT_TRUE(torch::equal(b->pweight[2], torch::tensor({1.0f, 1.0f, 1.0f})));
  EXPECT_EQ(b->ones(), 1 + 1 + 3 + 0);
  // Per output channel: a [2, 2] weight with steps {1, 0.25}.
  nn::BitWeights pc(torch::tensor({{3.0f, -1.0f}, {0.5f, 0.25f}}), torch::tensor({1.0f, 0.25f}), 2);
  EXPECT_TRUE(torch::allclose(pc->forward(), torch::tensor({{3.0f, -1.0f}, {0.5f, 0.25f}})));
}

TEST(BitWeights, GroupLassoAndItsGradientByHand) {
  auto b = small();
  // Plane norms over [W_p; W_n]: MSB plane {0,0,1,0} -> 1; middle {1,1,1,0} -> sqrt 3; LSB {0,0,1,0} -> 1.
  const torch::Tensor gl = b->group_lasso();
  EXPECT_NEAR(gl.item<double>(), 2.0 + std::sqrt(3.0), 1e-6);
  gl.backward();
  // d/dW_p[i, b] = W_p[i, b] / norm_b.
  EXPECT_NEAR(b->pweight.grad()[2][1].item<double>(), 1.0 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(b->nweight.grad()[1][1].item<double>(), 1.0 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(b->pweight.grad()[2][0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(b->pweight.grad()[0][0].item<double>(), 0.0, 1e-6);
}

TEST(BitWeights, EquationThreeWeightsLayersByParametersAndBits) {
  train::BitLayer a{"a", small(), 0.0};
  train::BitLayer c{"c", nn::BitWeights(torch::tensor({0.5f, 0.5f}), torch::tensor({0.5f}), 2), 0.0};
  // c: codes {1, 1} = 01, 01: MSB plane norm 1e-4 (the epsilon), LSB plane sqrt 2.
  const double want = (4.0 * 3 / 6) * (2.0 + std::sqrt(3.0)) + (2.0 * 2 / 6) * (std::sqrt(1e-8) + std::sqrt(2.0 + 1e-8));
  EXPECT_NEAR(train::group_lasso_loss({a, c}).item<double>(), want, 1e-5);
}

TEST(SkewedL2, PenalisesOnlyWhatLiesOutsideTheRangeAndMatchesFiniteDifferences) {
  auto b = small();  // represented {1, -1, 3.5, 0}
  train::BitLayer l{"a", b, 0.8};
  // Outside |w| > 0.8: 0.2, 0.2, 2.7 -> sqrt(0.04 + 0.04 + 7.29).
  const torch::Tensor loss = train::skewed_l2_loss({l});
  EXPECT_NEAR(loss.item<double>(), std::sqrt(7.37), 1e-5);
  // The gradient with respect to the represented weights, through the straight-through rounding,
  // against central differences of the same smooth function of w.
  const torch::Tensor w = b->forward().detach().clone().requires_grad_(true);
  auto f = [&](const torch::Tensor& x) { return torch::sqrt(torch::relu(x.abs() - 0.8).pow(2).sum() + 1e-12); };
  f(w).backward();
  for (int i = 0; i < 4; ++i) {
    torch::Tensor up = w.detach().clone(), down = w.detach().clone();
    up[i] += 1e-3;
    down[i] -= 1e-3;
    const double fd = (f(up).item<double>() - f(down).item<double>()) / 2e-3;
    EXPECT_NEAR(w.grad()[i].item<double>(), fd, 1e-3) << i;
  }
  loss.backward();  // reaches the planes through the straight-through rounding
  EXPECT_TRUE(b->pweight.grad().defined());
  EXPECT_GT(b->pweight.grad()[0][0].item<double>(), 0.0);  // weight 1.0 > δ: pushing its MSB up costs
}

TEST(BitWeights, RequantisationKeepsTheRepresentedWeights) {
  auto b = small();
  {
    torch::NoGradGuard no_grad;
    // Carries: weight 0 as planes {0, 2, 1} = 2·2 + 1 = 5; weight 3 as {0, 0, 2} = 2.
    b->pweight[0].copy_(torch::tensor({0.0f, 2.0f, 1.0f}));
    b->pweight[3].copy_(torch::tensor({0.0f, 0.0f, 2.0f}));
  }
  const torch::Tensor before = b->forward().detach();
  b->requantize(8);
  EXPECT_EQ(b->bits(), 3);
  EXPECT_TRUE(torch::allclose(b->forward(), before));
  for (const auto& p : {b->pweight, b->nweight}) EXPECT_TRUE(((p == 0) | (p == 1)).all().item<bool>());
  // An overflow (planes worth 9 > 7) adds a bit and keeps the step.
  {
    torch::NoGradGuard no_grad;
    b->pweight[2].copy_(torch::tensor({1.0f, 0.0f, 2.0f}));  // 4 + 0 + 2 = 6
    b->pweight[1].copy_(torch::tensor({2.0f, 0.0f, 1.0f}));  // 8 + 1 = 9
    b->nweight[1].zero_();
  }
  const torch::Tensor step = b->step().detach().clone();
  b->requantize(8);
  EXPECT_EQ(b->bits(), 4);
  EXPECT_TRUE(torch::allclose(b->step(), step));
  EXPECT_NEAR(b->codes()[1].item<double>(), 9.0, 1e-6);
}

TEST(BitWeights, PrecisionAdjustmentDropsEmptyPlanes) {
  // Codes {4, 2, 6} in 4 bits: the MSB plane (8) is empty, the LSB plane (1) is empty.
  nn::BitWeights b(torch::tensor({4.0f, -2.0f, 6.0f}), torch::tensor({1.0f}), 4);
  const torch::Tensor before = b->forward().detach();
  EXPECT_EQ(b->adjust_precision(0.0), 2);
  EXPECT_TRUE(torch::allclose(b->forward(), before));
  EXPECT_NEAR(b->step().item<double>(), 2.0, 1e-6);
  EXPECT_TRUE(torch::allclose(b->codes(), torch::tensor({2.0f, -1.0f, 3.0f})));
  // All zero: one plane is kept.
  nn::BitWeights z(torch::zeros({3}), torch::tensor({1.0f}), 4);
  EXPECT_EQ(z->adjust_precision(0.0), 1);
}
