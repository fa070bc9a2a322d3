// BSQ's bit representation of one layer's weight (../shared/reference/algorithms.md §2.1; paper
// 000 eq. 2), the trainable form behind paper 000's thermal-aware pretraining and the BSQ
// baseline. Per weight, n magnitude bit planes of a positive and a negative part, W_p and W_n
// (trainable, [numel, n], most significant plane first, each value kept in [0, 2]), and a
// trainable scale s per tensor or per output channel:
//   w_c = Σ_b (W_p[:, b] − W_n[:, b]) · 2^(n−1−b) / (2^n − 1)
//   w   = sign(w_c) · round(min(|w_c|, 1) · (2^n − 1)) / (2^n − 1) · s       (straight-through)
// so a weight is a sign and n bits of magnitude in steps of s / (2^n − 1): on the chip the sign
// is the differential pair and the n planes are the cells, i.e. cimkit's weight_bits = n + 1.
// A value of a plane above 1 acts as a carry (BSQ); requantize() turns the planes back into {0, 1}
// bits.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace cimkit::nn {

class BitWeightsImpl : public torch::nn::Module {
 public:
  // From a weight tensor and the step of its quantiser ([1] or [out]; s = step · (2^n − 1)): the
  // planes of m = min(round(|w| / step), 2^n − 1), so the representation starts at the weight's
  // own n+1-bit quantisation (paper 000: pretraining starts from an 8-bit model).
  BitWeightsImpl(const torch::Tensor& weight, const torch::Tensor& step, int bits);

  // The represented weight w, in the shape of the weight it was built from.
  torch::Tensor forward();
  int bits() const { return bits_; }
  // Magnitude codes m and signs as one signed integer-valued tensor (flat, float): what the
  // chip would hold, rounded as forward() rounds.
  torch::Tensor codes();
  // Σ_b ‖[W_p[:, b]; W_n[:, b]]‖₂ (each norm as sqrt(1e-8 + Σ x²), BSQ's): the group lasso of
  // paper 000 eq. 3 / BSQ eq. 4 for this layer, differentiable.
  torch::Tensor group_lasso();
  // '1' bits of the magnitude codes (the LRS cells of the layer's weights).
  double ones();
  // W_p and W_n back into [0, 2] (BSQ, after every optimiser step).
  void clamp_planes();
  // BSQ's re-quantisation: the represented integers, one more bit when they overflow 2^n − 1 and
  // n < max_bits (the step kept), decomposed again into {0, 1} planes. Keeps the integers the
  // planes hold: the weights forward() gives, except those its clip at 2^n − 1 held back, which
  // come back with the extra bit (or saturate at max_bits).
  void requantize(int max_bits);
  // BSQ's precision adjustment: drops most significant planes in which at most `threshold` of
  // the weights have a '1' (0: only empty planes) and least significant planes that are all zero,
  // rescaling s, keeping at least one plane; returns the new n. Call after requantize().
  int adjust_precision(double threshold);
  // The scale s ([1] or [out]; its magnitude is used, at least 1e-12, as an optimiser may push it
  // through zero) and the step |s| / (2^n − 1).
  torch::Tensor scale() const { return scale_; }
  torch::Tensor step() const;

  torch::Tensor pweight, nweight, scale_;

 private:
  void set_planes(const torch::Tensor& magnitude, const torch::Tensor& sign);  // from integers
  torch::Tensor per_weight(const torch::Tensor& per_channel) const;            // [numel]
  std::vector<int64_t> shape_;
  int bits_;
};
TORCH_MODULE(BitWeights);

}  // namespace cimkit::nn
