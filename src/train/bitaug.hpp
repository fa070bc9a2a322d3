// Paper 003's BitAug (§3.3, eq. 8-10, App. D): after every batch's backward at the target ADC
// resolution, a second forward and backward at a resolution drawn uniformly from the candidate
// set 𝔹 = {b_a + o : o in offsets} (default {−1, +1, +2}, App. D's best), weighted by λ_b, so one
// optimiser step takes the sum of both gradients (eq. 9-10). λ_b falls from 1 on a cosine over the
// stage's steps (App. J). The BatchNorm running statistics (every buffer of the network) are
// restored after the second pass: they follow the target resolution only.
//
// The draw is a function of (seed, global step) alone, so a resumed run draws what an
// uninterrupted one would: bitwise resume holds.
#pragma once
#include <memory>
#include <vector>

#include "nn/analog.hpp"
#include "train/trainer.hpp"

namespace cimkit::train {

struct BitAugOptions {
  std::vector<int> offsets{-1, 1, 2};  // 𝔹 relative to each layer's ADC bits
  int64_t epochs = 1;                  // of the stage: λ_b's cosine spans epochs · batches
  uint64_t seed = 0;
  double label_smoothing = 0.0;
};

// λ_b at `step` of `total`: (1 + cos(π·step/total)) / 2, from 1 down to 0.
double bitaug_weight(int64_t step, int64_t total);
// The offset drawn at `step` (uniform over `offsets`).
int bitaug_offset(uint64_t seed, int64_t step, const std::vector<int>& offsets);

// The trainer's extra pass (Trainer::add_extra_pass) over the network's layers on the arrays;
// returns the augmented pass's cross-entropy. Error when an offset is 0 or repeated, when a
// layer's ADC has no resolution, or when a candidate falls outside 1..24 bits.
Trainer::ExtraPass bitaug_pass(std::shared_ptr<nn::Network> net, BitAugOptions options);

}  // namespace cimkit::train
