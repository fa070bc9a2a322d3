#include "train/thermal_regularisers.hpp"

namespace cimkit::train {

torch::Tensor group_lasso_loss(const std::vector<BitLayer>& layers) {
  double all = 0.0;
  for (const auto& l : layers) all += static_cast<double>(l.bits->pweight.size(0));
  torch::Tensor total = torch::zeros({});
  for (const auto& l : layers) {
    nn::BitWeights b = l.bits;  // a handle (ModuleHolder's const access is read-only)
    const double weight = static_cast<double>(b->pweight.size(0)) * b->bits() / all;
    total = total + weight * b->group_lasso();
  }
  return total;
}

torch::Tensor skewed_l2_loss(const std::vector<BitLayer>& layers) {
  torch::Tensor total = torch::zeros({});
  for (const auto& l : layers) {
    nn::BitWeights b = l.bits;
    const torch::Tensor excess = torch::relu(b->forward().abs() - l.delta);
    total = total + torch::sqrt(excess.pow(2).sum() + 1e-12);
  }
  return total;
}

BitStats bit_stats(const std::vector<BitLayer>& layers) {
  torch::NoGradGuard no_grad;
  BitStats s;
  for (const auto& l : layers) {
    nn::BitWeights b = l.bits;
    s.ones += b->ones();
    s.bits += static_cast<double>(b->pweight.size(0)) * b->bits();
    s.sum_abs += b->forward().abs().sum().item<double>();
  }
  s.bit_sparsity = s.bits > 0 ? 1.0 - s.ones / s.bits : 0.0;
  return s;
}

}  // namespace cimkit::train
