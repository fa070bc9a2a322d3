// Per-layer bit widths for the precision searches (issue 13; paper 000 §III.C): the map from an
// agent's continuous action to a bit width, and the post-search refinement that drops redundant
// most significant weight bit planes.
#pragma once
#include <torch/torch.h>

#include <string>

namespace cimkit::search {

// An inclusive range of bit widths, min <= max, both in [1, 16].
struct BitRange {
  int min = 2;
  int max = 8;
  // cimkit::Error naming `key` unless 1 <= min <= max <= 16.
  void check(const std::string& key) const;
  int count() const { return max - min + 1; }
};

// Paper 000 eq. 6 as HAQ's action wall computes it (algorithms.md §1.3): the action a in [0, 1]
// split into count() equal strides, one per bit width, a = 1 included in the last
// (b = min + floor(a · count), capped at max). The paper prints round(b_min + 0.5 + a·(count)),
// which for a = 1 gives b_max + 1 (or more): HAQ's code, lbound = b_min − 0.5, is what is meant.
// Actions outside [0, 1] (exploration noise) are clipped; NaN is an Error.
int action_to_bits(double action, const BitRange& range);
// The centre of the stride of `bits`: action_to_bits(bits_to_action(b, r), r) == b.
double bits_to_action(int bits, const BitRange& range);

// Post-search refinement (paper 000 §III.C.3): signed weight codes of `bits` bits (sign and
// bits − 1 magnitude bits, |code| <= 2^(bits−1) − 1) examined from the most significant
// magnitude plane down; a plane is dropped when no weight has a 1 there or fewer than
// `max_fraction` of them do (paper: 5 %; 0 drops only all-zero planes), and the first plane that
// cannot be dropped stops it. Never below `min_bits`. Returns the refined width; weights whose magnitude used a
// dropped plane are clipped to the new range by the caller's quantiser.
int refine_weight_bits(const torch::Tensor& codes, int bits, double max_fraction, int min_bits = 2);

// Σ_b w^(l,b) of paper 000 eq. 8: the '1' bits of the magnitudes of integer weight codes (the
// bits the cells store as their ON state).
double count_one_bits(const torch::Tensor& codes);

}  // namespace cimkit::search
