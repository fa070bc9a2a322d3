// Paper 003's W-reshape (§3.2, eq. 6-7 and App. A eq. 13): a kurtosis penalty on each layer's
// quantised weights flattens their distribution towards the ends of the code range, raising
// Var[W̄] and with it the variance of the ADC's input.
//   κ_l = E[((W̄_l − μ)/σ)^4]                                  eq. 6
//   L_Q = L_c + λ_κ · Σ_l c_l·κ_l,  c_l = 1, or late_weight for the layers from
//         J = ceil(late_from · L) on (eq. 13: late_weight 4)  eq. 7 / 13
// κ is scale-free, so it is computed on the fake-quantised weight Q_w(W) (= s·W̄), differentiable
// through the quantiser's straight-through estimator in W and in a learned step.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "nn/analog.hpp"

namespace cimkit::train {

// E[((w − μ)/σ)^4] over all elements (population σ); differentiable. ShapeError for fewer than
// 2 elements; a constant tensor (σ = 0) gives NaN.
torch::Tensor kurtosis(const torch::Tensor& w);

struct KurtosisOptions {
  double lambda = 0.0;       // λ_κ (0: off)
  double late_weight = 1.0;  // c_l of the later layers (eq. 13: 4)
  double late_from = 0.5;    // the later layers: index >= ceil(late_from · L) of the L layers
};

struct WeightShape {
  std::string layer;
  double kurtosis = 0.0;   // κ of W̄
  double var_codes = 0.0;  // Var[W̄] in code units
};

// The penalty over a network's layers on the arrays (digital layers are left alone).
class WReshape {
 public:
  WReshape(nn::Network& net, KurtosisOptions options);
  // Σ_l c_l·κ_l (λ_κ is the trainer's weight of the term).
  torch::Tensor loss() const;
  // κ and Var[W̄] per layer, now (no gradient).
  std::vector<WeightShape> stats() const;
  const std::vector<double>& coefficients() const { return coef_; }

 private:
  std::vector<nn::Network::NamedLayer> layers_;
  std::vector<double> coef_;
};

}  // namespace cimkit::train
