// The regularisers of paper 000's thermal-aware pretraining (§III.B, eq. 3–5), over the bit
// representations of a network's layers (nn/bit_weights.hpp):
//   eq. 3  L_GL     = Σ_l (#Para(l) · #Bit(l) / #Para(all)) · Σ_b ‖w^(l,b)‖₂   (fewer '1' bits)
//   eq. 4  L_skewed = Σ_l ‖ (|w^l| − δ_l) over the weights with |w^l| > δ_l ‖₂     (low magnitudes)
//   eq. 5  L = L_CE + α · L_GL + β · L_skewed
// Eq. 4 as printed sums over |w| < |δ|, while its text says weights *outside* the reference range
// are penalised ("Weights outside this reference range δ are strongly penalized"); the text is
// implemented. δ_l is the layer's weight standard deviation (paper 000 §IV.A), taken once from
// the weights the pretraining starts from.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "nn/bit_weights.hpp"

namespace cimkit::train {

struct BitLayer {
  std::string name;
  nn::BitWeights bits{nullptr};
  double delta = 0.0;  // eq. 4's reference range of this layer
};

// Eq. 3 over the layers (a scalar tensor, differentiable in their planes).
torch::Tensor group_lasso_loss(const std::vector<BitLayer>& layers);
// Eq. 4 over the layers (a scalar tensor, differentiable in their represented weights).
torch::Tensor skewed_l2_loss(const std::vector<BitLayer>& layers);

// What paper 000 Fig. 4 compares: the fraction of zero bits over all quantised weights' magnitude
// bits, Σ|w|, and the '1' bits.
struct BitStats {
  double bit_sparsity = 0.0;
  double sum_abs = 0.0;
  double ones = 0.0;
  double bits = 0.0;  // all magnitude bits counted
};
BitStats bit_stats(const std::vector<BitLayer>& layers);

}  // namespace cimkit::train
