// Quantizer: a fake-quantisation layer for QAT, in the LibTorch module style
// (QuantizerOptions / QuantizerImpl / TORCH_MODULE(Quantizer)).
//
// Lifecycle: construct (parameters are registered once, with placeholder values step = 1,
// offset = 0) -> the first forward() initialises the learned parameters from that batch
// (lazy_init, algorithms.md §4.4–4.5 rules) -> train. set_bits() changes the code range and the
// LSQ gradient scale in place: no parameter is re-registered or reallocated, so optimizers,
// state dicts and bit-width searches that flip bits thousands of times keep working. The
// learned step is *not* rescaled by set_bits; call request_init() to re-initialise it from the
// next batch when that is wanted.
//
// Modes:
//   none    : identity.
//   minmax  : fake_quant_minmax, scale from each batch; no parameters.
//   lsq     : lsq_quantize with a learned step [1] or [channels].
//   lsqplus : activations: lsqplus_quantize with learned step and offset β (min-max init);
//             weights: symmetric, no offset (LSQ+ paper), step init max(|μ±3σ|)/2^(b−1).
//   ema     : paper 004 eq. 5-6 (after Sun et al., ASP-DAC 2020): x_q = clip(round(θ x/α), range)
//             · α/θ with θ the top code. Weights: α = max|w| (the same as minmax). Activations:
//             α = μ + 3σ of the batch, smoothed across batches in training by eq. 6,
//             α ← m α + (1 − m)(μ + 3σ) with m = ema_momentum (the paper gives no value; 0.9
//             here), initialised from the first batch and fixed in eval mode. The step α/θ is a
//             buffer (not learned); gradients are straight-through inside the range, zero outside.
//             θ follows cimkit's ranges (2^b − 1 for the unsigned inputs that ReLU feeds); the
//             paper counts a sign bit in its activation widths.
#pragma once
#include <torch/torch.h>

#include "nn/quant.hpp"

namespace cimkit::nn {

enum class QuantMode { none, minmax, lsq, lsqplus, ema };
// What is quantised; sets the LSQ gradient-scale count N and which LSQ+ init applies.
enum class QuantRole { weight, activation };

struct QuantizerOptions {
  QuantizerOptions(QuantMode mode = QuantMode::lsq, int bits = 8) : mode_(mode), bits_(bits) {}
  // Quantiser kind.
  TORCH_ARG(QuantMode, mode);
  // Code width in bits: 1..16 unsigned, 2..16 signed. Changeable later with set_bits().
  TORCH_ARG(int, bits);
  // Signed codes [−2^(b−1), 2^(b−1) − 1] (minmax: symmetric ±(2^(b−1) − 1)); else [0, 2^b − 1].
  TORCH_ARG(bool, is_signed) = true;
  // Signed only: drop the code −2^(b−1), so codes are ±(2^(b−1) − 1) (q_n = q_p). Analog weights
  // need this: the chip's differential pairs store magnitudes of at most 2^(b−1) − 1.
  TORCH_ARG(bool, symmetric) = false;
  // Weights [C, ...] with one step per output channel (dim 0) when > 0; 0 = one step per tensor.
  TORCH_ARG(int64_t, channels) = 0;
  // Weight: N = elements per step; activation: N = features per sample (x.numel()/x.size(0)).
  TORCH_ARG(QuantRole, role) = QuantRole::weight;
  // Initialise the learned step (and offset) from the first batch forward() sees.
  TORCH_ARG(bool, lazy_init) = true;
  // ema activations: m of eq. 6.
  TORCH_ARG(double, ema_momentum) = 0.9;
};

class QuantizerImpl : public torch::nn::Cloneable<QuantizerImpl> {
 public:
  explicit QuantizerImpl(QuantizerOptions options = {});

  // Registers step / offset / the `initialized` flag buffer (Cloneable contract).
  void reset() override;

  // x: [C, ...] for per-channel weights, any shape otherwise -> same shape, x's dtype.
  torch::Tensor forward(const torch::Tensor& x);

  // Change the bit width in place (cimkit::Error naming quantizer.bits when out of range).
  void set_bits(int bits);
  int bits() const { return options.bits(); }
  // Current code range [−q_n, q_p] (LSQ convention; minmax uses ±q_p when signed).
  QuantRange range() const { return range_; }
  // g = 1/sqrt(N·q_p) for the last N seen (1 before any forward).
  double grad_scale() const;
  // effective_step() whose gradient is scaled by grad_scale() (LSQ's g, from the last forward):
  // what a computation that uses the step outside forward() (the training surrogate's scales)
  // multiplies with, so every path into the step carries the same g.
  torch::Tensor scaled_step() const;

  // The step in use: |step| (at least 1e-12). An optimiser may push a learned step through zero
  // (Adam moves every parameter by about lr per step, whatever its scale); the magnitude keeps the
  // quantiser valid and the gradient flowing. Undefined for none/minmax.
  torch::Tensor effective_step() const;

  // Initialise step (and offset) from x now, whatever lazy_init says.
  void init_from(const torch::Tensor& x);
  // Make the next forward() re-initialise from its batch.
  void request_init();
  bool initialized() const { return initialized_.item<bool>(); }

  void pretty_print(std::ostream& stream) const override;

  QuantizerOptions options;
  torch::Tensor step;    // [1] or [channels], units of x; undefined for none/minmax (and ema weights); a buffer for ema
  torch::Tensor offset;  // [1], units of x; only lsqplus activations
  torch::Tensor initialized_;  // buffer, bool [] (saved with the state dict)

 private:
  int64_t per_step_elements(const torch::Tensor& x) const;
  QuantRange range_for(int bits) const;
  QuantRange range_;
  int64_t n_elements_ = 0;  // N of the last forward
};

TORCH_MODULE(Quantizer);

}  // namespace cimkit::nn
