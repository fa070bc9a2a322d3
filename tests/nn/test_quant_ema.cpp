// The `ema` quantiser (paper 004 eq. 5-6): weights scaled by max|w|, activations by μ + 3σ of
// the batch, smoothed across training batches by eq. 6 and fixed in eval mode; straight-through
// gradients inside the range.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "nn/quant.hpp"
#include "nn/quantizer.hpp"

using namespace cimkit;
using namespace cimkit::nn;

namespace {
double mu3s(const torch::Tensor& x) {
  const torch::Tensor f = x.to(torch::kFloat64);
  return (f.mean() + 3 * f.std()).item<double>();
}
}  // namespace

TEST(EmaQuantizer, WeightsAreScaledByTheirLargestMagnitude) {
  auto g = make_generator(1);
  const torch::Tensor w = at::randn({6, 9}, g);
  Quantizer q(QuantizerOptions(QuantMode::ema, 5).symmetric(true));
  EXPECT_FALSE(q->step.defined());
  EXPECT_TRUE(torch::equal(q(w), fake_quant_minmax(w, 5, true)));  // eq. 5 with α = max|w|
}

TEST(EmaQuantizer, ActivationsFollowEq6InTrainingAndStayFixedInEval) {
  auto g = make_generator(2);
  Quantizer q(QuantizerOptions(QuantMode::ema, 4).is_signed(false).role(QuantRole::activation).ema_momentum(0.9));
  ASSERT_TRUE(q->step.defined());
  EXPECT_TRUE(q->parameters().empty());  // nothing learned: the step is a buffer
  const double qp = 15.0;
  const torch::Tensor x1 = at::rand({8, 20}, g) * 2, x2 = at::rand({8, 20}, g) * 4;
  q->train();
  q(x1);
  double alpha = mu3s(x1);  // initialised from the first batch
  EXPECT_NEAR(q->step.item<double>() * qp, alpha, 1e-5 * alpha);
  q(x2);
  alpha = 0.9 * alpha + 0.1 * mu3s(x2);  // eq. 6
  EXPECT_NEAR(q->step.item<double>() * qp, alpha, 1e-5 * alpha);
  q->eval();
  const torch::Tensor y = q(x2 * 10);
  EXPECT_NEAR(q->step.item<double>() * qp, alpha, 1e-5 * alpha);  // fixed in eval
  EXPECT_NEAR(y.max().item<double>(), alpha, 1e-5 * alpha);      // clipped at α = θ·step
  // Straight-through inside the range, zero where clipped.
  torch::Tensor x = torch::tensor({0.01, 0.5 * alpha, 3.0 * alpha}, torch::kFloat32).requires_grad_(true);
  q->eval();
  q(x).sum().backward();
  EXPECT_FLOAT_EQ(x.grad()[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(x.grad()[1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(x.grad()[2].item<float>(), 0.0f);
  EXPECT_THROW(Quantizer(QuantizerOptions(QuantMode::ema, 4).role(QuantRole::activation).ema_momentum(1.0)), Error);
}
