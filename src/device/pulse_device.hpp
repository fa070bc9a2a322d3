// A cell updated by identical write pulses, for in-situ training: each potentiating (LTP) pulse
// raises the conductance and each depressing (LTD) pulse lowers it by a step that depends on
// where the cell sits on its nonlinear pulse-response curve.
//
// Contract and lifecycle:
//   1. draw_traits(shape, gen)          once per physical cell: the curvature A of its LTP and
//                                       LTD curves after device-to-device (D2D) variation.
//   2. apply_pulses(g, n, traits, gen)  at every update: n > 0 LTP pulses, n < 0 LTD pulses,
//                                       plus fresh cycle-to-cycle (C2C) noise.
//   3. pulses_needed(g_from, g_to)      pulse count of a write, for the write-cost model.
// Units: conductance in siemens, pulse counts dimensionless (integer-valued), A in pulses.
// All tensors are element-wise per cell and stay on the device and dtype of their inputs; all
// randomness comes from the generator passed in (core/rng.hpp).
//
// Curve (NeuroSim, ../shared/reference/neurosim_crosssim.md §1.1; MLP+NeuroSim V3.0 manual
// eq. 1-3), P = pulse-number state in [0, Pmax]:
//     G(P) = B (1 - exp(-P/A)) + G_min,   B = (G_max - G_min) / (1 - exp(-Pmax/A)).
// A > 0 is concave (large steps near G_min, saturating at G_max), A < 0 convex. Both directions
// walk the same form of curve with their own A: LTP with A_LTP, LTD with A_LTD; NeuroSim's
// G_LTD(P) of eq. 2 is eq. 1 with the sign of A flipped. Typical devices have NL_LTP > 0 and
// NL_LTD < 0, so LTD takes large steps near G_max and saturates at G_min.
#pragma once
#include <torch/torch.h>

#include "core/registry.hpp"

namespace cimkit {

// Per-device curvature after D2D variation, in pulses; same shape as the array of cells.
struct PulseTraits {
  torch::Tensor a_ltp;  // A of the potentiation curve per device
  torch::Tensor a_ltd;  // A of the depression curve per device
};

class PulseDevice {
 public:
  static constexpr const char* kInterface = "pulse_device";
  static constexpr const char* kDescription =
      "Pulse-programmed cell for in-situ training: nonlinear LTP/LTD response, D2D and C2C variation";
  static constexpr const char* kDefaultImpl = "neurosim";

  virtual ~PulseDevice() = default;

  virtual double g_min_siemens() const = 0;      // lowest conductance (HRS)
  virtual double g_max_siemens() const = 0;      // highest conductance (LRS)
  virtual int64_t max_pulses() const = 0;  // Pmax: pulses from G_min to G_max
  virtual double write_voltage_ltp_v() const = 0;
  virtual double write_pulse_ltp_s() const = 0;
  virtual double write_voltage_ltd_v() const = 0;
  virtual double write_pulse_ltd_s() const = 0;

  // Per-device traits for an array of `shape` cells (floating tensors on options' device).
  virtual PulseTraits draw_traits(at::IntArrayRef shape, at::Generator& gen,
                                  const torch::TensorOptions& options) const = 0;
  // Applies signed pulse counts `n_pulses` (broadcastable to g; + LTP, - LTD) to cells at `g`:
  // the pulse-number state moves along the curve and saturates at 0 and Pmax, then C2C noise
  // N(0, c2c sigma (G_max - G_min)) sqrt(|n|) is added and the result clamped to
  // [G_min, G_max]; cells with n = 0 keep g exactly. Returns the new conductance, shape and
  // dtype of g.
  virtual torch::Tensor apply_pulses(const torch::Tensor& g, const torch::Tensor& n_pulses,
                                     const PulseTraits& traits, at::Generator& gen) const = 0;
  // Pulses a write from g_from to g_to takes (int64, broadcast shape of the two).
  virtual torch::Tensor pulses_needed(const torch::Tensor& g_from,
                                      const torch::Tensor& g_to) const = 0;
};

// NeuroSim's nonlinearity label NL <-> normalised curvature A/Pmax (A for Pmax = 1). NL
// measures the largest deviation of the normalised curve from the straight line (definition in
// pulse_device.cpp); the sign of NL is the sign of A, NL = 0 counts as positive. |NL| is
// clamped to kMaxNonlinearity (the end of NeuroSim's table); |NL| too small to resolve
// (below about 1.3e-4, the NL of kLinearNormA) gives +-kLinearNormA, a straight line to 1e-5.
inline constexpr double kMaxNonlinearity = 9.0;
inline constexpr double kLinearNormA = 1e4;
double norm_a_from_nonlinearity(double nl);
torch::Tensor norm_a_from_nonlinearity(const torch::Tensor& nl);  // element-wise, float64 inside
double nonlinearity_from_norm_a(double norm_a);

}  // namespace cimkit
