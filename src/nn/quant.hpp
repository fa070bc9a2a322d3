// Fake quantisers for quantisation-aware training (QAT): straight-through rounding, symmetric
// min-max, LSQ (Esser et al., ICLR 2020) and LSQ+ (Bhalgat et al., CVPRW 2020). Equations and
// initialisation rules follow shared/reference/algorithms.md §4.4–4.5 and paper 003 eq. 2/4.
//
// Conventions shared by every function here:
//   * Values are real numbers in the units of the input (weights, activations, ADC input);
//     codes are the integers round(clip(x/s)) and the output is code·s (+ offset): "fake"
//     quantisation, same dtype/device/shape as the input.
//   * A quantisation range is [−q_n, q_p] in *codes*, q_n and q_p ≥ 0 (so q_n is a magnitude:
//     signed 4-bit LSQ has q_n = 8, q_p = 7; unsigned has q_n = 0).
//   * round() is round-half-to-even (torch::round); gradients of round/floor are straight-
//     through (STE, Bengio et al. 2013). Clipped inputs get zero input gradient.
//   * "inside" means strictly −q_n < x/s < q_p (algorithms.md §4.4); x/s exactly on a bound is
//     treated as clipped.
//   * Per-tensor step/offset: shape [] or [1]. Per-channel: shape [C] with C = x.size(0),
//     broadcast over dim 0 (output channels of a Linear/Conv weight).
//   * Bad tensor arguments throw ShapeError naming the argument and what is allowed. Checking
//     step > 0 reads one value back from the device per call.
#pragma once
#include <torch/torch.h>

#include <utility>

namespace cimkit::nn {

// ---- straight-through rounding ------------------------------------------------------------

// round(x) forward (half to even), identity gradient. Any shape.
torch::Tensor ste_round(const torch::Tensor& x);
// floor(x) forward, identity gradient. Any shape. The ADC-in-the-loop quantiser of paper 003
// eq. 2 is ste_floor(torch::clamp(y / step, n, p)): clamp gives zero gradient when saturated.
torch::Tensor ste_floor(const torch::Tensor& x);

// ---- ranges --------------------------------------------------------------------------------

// Code range [−q_n, q_p] of a `bits`-bit quantiser.
struct QuantRange {
  double q_n = 0.0;  // magnitude of the lowest code
  double q_p = 0.0;  // highest code
};

// LSQ / LSQ+ range (algorithms.md §4.4): signed q_n = 2^(b−1), q_p = 2^(b−1) − 1;
// unsigned q_n = 0, q_p = 2^b − 1. bits ∈ [1, 16] unsigned, [2, 16] signed, else cimkit::Error
// naming `what` (e.g. "quantizer.bits").
QuantRange lsq_range(int bits, bool is_signed, const char* what = "bits");

// LSQ gradient scale g = 1 / sqrt(n_elements · q_p): n_elements is the number of weights per
// step (per layer, or per channel) or, for activations, the features per sample.
double lsq_grad_scale(int64_t n_elements, double q_p);

// ---- symmetric min-max -----------------------------------------------------------------------

// Fake quantisation with the scale taken from the data of this call.
//   signed:   scale = max|x| / (2^(b−1) − 1), codes in [−(2^(b−1) − 1), 2^(b−1) − 1] (symmetric,
//             the most negative code of two's complement is unused); bits ∈ [2, 16].
//   unsigned: scale = max(x) / (2^b − 1), codes in [0, 2^b − 1]; bits ∈ [1, 16].
// per_channel_dim = −1: one scale for the tensor; d ≥ 0: one scale per index of dim d (use 0
// for weights [out, in, ...]). A zero (or, unsigned, non-positive) maximum gives scale 1.
// Gradient: the scale is treated as a constant (detached); ∂x̂/∂x = 1 where the value lies in
// the code range and 0 where it is clipped (only negative inputs of the unsigned case).
// x: any shape, floating point -> same shape.
torch::Tensor fake_quant_minmax(const torch::Tensor& x, int bits, bool is_signed,
                                int64_t per_channel_dim = -1);

// Scale fake_quant_minmax uses: shape [] per tensor, [x.size(d)] per channel.
torch::Tensor minmax_scale(const torch::Tensor& x, int bits, bool is_signed,
                           int64_t per_channel_dim = -1);

// ---- LSQ -------------------------------------------------------------------------------------

// x̂ = round(clip(x/s, −q_n, q_p))·s. x: [C, ...] (any shape per tensor); step: [] / [1] or [C].
// Gradients (algorithms.md §4.4), v = x/s:
//   ∂x̂/∂x = 1 inside, 0 outside (not scaled by grad_scale)
//   ∂x̂/∂s = (round(v) − v) inside, −q_n if v ≤ −q_n, q_p if v ≥ q_p; times grad_scale.
// Returns x̂ with x's shape.
torch::Tensor lsq_quantize(const torch::Tensor& x, const torch::Tensor& step, double q_n,
                           double q_p, double grad_scale = 1.0);

// ---- LSQ+ ------------------------------------------------------------------------------------

// x̂ = round(clip((x − β)/s, −q_n, q_p))·s + β, step s and offset β each [] / [1] or [C].
// With STE on round and v = (x − β)/s (algorithms.md §4.5):
//   inside  : x̂ ≈ s·v + β = x, so ∂x̂/∂x = 1, ∂x̂/∂β = −1 + 1 = 0, ∂x̂/∂s = round(v) − v
//   clipped : x̂ = s·(−q_n or q_p) + β, so ∂x̂/∂x = 0, ∂x̂/∂β = 1, ∂x̂/∂s = −q_n or q_p.
// The step and offset gradients are both multiplied by grad_scale; the x gradient is not.
torch::Tensor lsqplus_quantize(const torch::Tensor& x, const torch::Tensor& step,
                               const torch::Tensor& offset, double q_n, double q_p,
                               double grad_scale = 1.0);

// ---- initialisation (all results detached, in x's dtype) --------------------------------------

// LSQ: s = 2·mean(|x|)/sqrt(q_p). per_channel_dim 0 gives shape [C] (mean over the other
// dims), −1 gives shape [1]. Zero-input channels get s = 1 (any positive step is exact there).
torch::Tensor lsq_init_step(const torch::Tensor& x, double q_p, int64_t per_channel_dim = -1);

// LSQ+ weights (symmetric, offset 0): s = max(|μ − 3σ|, |μ + 3σ|) / 2^(b−1). Shape as above.
torch::Tensor lsqplus_init_weight_step(const torch::Tensor& x, int bits,
                                       int64_t per_channel_dim = -1);

// LSQ+ activations, min-max rule (algorithms.md §4.5 "practical"): with n = −q_n, p = q_p,
// s = (max − min)/(p − n), β = min − n·s. Returns {step, offset}, each shape [1] (or [C]).
std::pair<torch::Tensor, torch::Tensor> lsqplus_init_minmax(const torch::Tensor& x, double q_n,
                                                            double q_p,
                                                            int64_t per_channel_dim = -1);

}  // namespace cimkit::nn
