// One ReRAM cell model, applied element-wise to tensors of cells.
//
// Contract and lifecycle (the crossbar engine drives it in this order):
//   1. draw_traits(shape, gen)      once per physical cell, for the life of the chip:
//                                   device-to-device (D2D) programming deviation, stuck-at
//                                   faults, per-cell drift exponent, write endurance.
//   2. program(levels, traits, gen, writes)
//                                   at every (re)programming: target conductance of each level
//                                   code, D2D deviation, fresh cycle-to-cycle (C2C) draw,
//                                   stuck cells forced to G_off / G_on, and the wear of cells
//                                   written more often than their endurance. `writes` is each
//                                   cell's write count including this write (the caller keeps
//                                   it: initial_writes() when the chip is made, +1 per write).
//   3. at_conditions(g, traits, c)  conductance when read at time c.time_since_program_s after
//                                   programming and temperature c.temperature_k (per cell,
//                                   broadcastable): drift, then temperature dependence.
//   4. read_noise_std(g)            standard deviation of the fresh Gaussian read noise that
//                                   every read adds to a cell of conductance g (undefined tensor
//                                   when the model has none).
// Units: conductance in siemens, time in seconds, temperature in kelvin. Level codes run from
// 0 (HRS, G_off) to n_levels-1 (LRS, G_on) and map linearly onto conductance in between.
// All randomness comes from the generator passed in (see core/rng.hpp), never a global one.
#pragma once
#include <torch/torch.h>

#include "core/registry.hpp"

namespace cimkit {

// Per-cell properties fixed once a chip exists. Undefined tensors mean "effect absent".
struct CellTraits {
  torch::Tensor d2d;       // standard-normal draw per cell, scaled by the model's D2D sigma
  torch::Tensor stuck;     // int8 per cell: 0 healthy, 1 stuck at G_off, 2 stuck at G_on
  torch::Tensor drift_nu;  // drift exponent per cell
  torch::Tensor endurance; // write cycles the cell survives intact (float64 per cell)
};

// When and how hot a read happens.
struct ReadConditions {
  double time_since_program_s = 0.0;  // 0 disables drift
  torch::Tensor temperature_k;        // per cell, broadcastable to the conductance; undefined
                                      // means the model's reference temperature
};

// Floating-point options on the requested device: the requested dtype when it is floating,
// float32 otherwise (so traits of an integer-typed request are float32).
torch::TensorOptions float_options(const torch::TensorOptions& options);

class DeviceModel {
 public:
  static constexpr const char* kInterface = "device";
  static constexpr const char* kDescription = "ReRAM cell model: levels, variation, noise, drift, temperature, faults";
  static constexpr const char* kDefaultImpl = "ideal";

  virtual ~DeviceModel() = default;

  virtual double g_on_siemens() const = 0;   // LRS (highest) conductance, nominal
  virtual double g_off_siemens() const = 0;  // HRS (lowest) conductance, nominal
  // True when conductances are exactly the nominal levels under every condition: no
  // variation, noise, drift, temperature dependence or faults. Enables the integer path.
  virtual bool is_ideal() const = 0;
  virtual bool has_read_noise() const = 0;
  virtual double reference_temperature_k() const { return 300.0; }

  // Nominal conductance of level codes: G_off + level/(n_levels-1) * (G_on - G_off).
  torch::Tensor nominal(const torch::Tensor& levels, int64_t n_levels) const;

  virtual CellTraits draw_traits(at::IntArrayRef shape, at::Generator& gen,
                                 const torch::TensorOptions& options) const = 0;
  // writes: float or integer per cell, the count including this write; undefined: no wear
  // (each cell's first write).
  virtual torch::Tensor program(const torch::Tensor& levels, int64_t n_levels,
                                const CellTraits& traits, at::Generator& gen,
                                const torch::Tensor& writes = {}) const = 0;
  // Writes every cell has already had when the chip is first programmed (an aged chip).
  virtual int64_t initial_writes() const { return 0; }
  virtual torch::Tensor at_conditions(const torch::Tensor& g_programmed, const CellTraits& traits,
                                      const ReadConditions& conditions) const = 0;
  virtual torch::Tensor read_noise_std(const torch::Tensor& g_read) const = 0;
};

}  // namespace cimkit
