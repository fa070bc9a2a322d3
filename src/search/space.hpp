// What a precision search chooses from (issue 13): the analog layers in forward order, each with
// its shape (the agent's state, HAQ / paper 000 §III.C.1) and its ranges of weight and activation
// bits; and a candidate, one choice of bits per layer.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "search/bits.hpp"

namespace cimkit::search {

enum class LayerKind { Conv, Linear };

struct LayerSpace {
  std::string name;
  LayerKind kind = LayerKind::Conv;
  // Shape: input and output channels (features for a linear layer), kernel, stride, input
  // feature-map size (H·W; 1 for a linear layer), weight count.
  int64_t in = 1, out = 1, kernel = 1, stride = 1, feature_size = 1, params = 1;
  BitRange weight{2, 8};
  BitRange act{2, 8};
  bool search_act = true;  // false: the activation keeps `fixed_act` bits
  int fixed_act = 8;
};

struct SearchSpace {
  std::vector<LayerSpace> layers;
  // cimkit::Error naming `key` (e.g. "search.layers") for an empty list, a bad range, a
  // non-positive shape or duplicate names.
  void check(const std::string& key) const;
  // The decisions of one candidate, in order: per layer its weight bits, then its activation
  // bits when searched (HAQ's linear environment: two steps per layer).
  struct Step {
    size_t layer;
    bool weight;  // false: activation
    const BitRange& range(const SearchSpace& s) const {
      return weight ? s.layers[layer].weight : s.layers[layer].act;
    }
  };
  std::vector<Step> steps() const;
  // [steps, kStaticFeatures]: per step the layer's index, kind, in, out, kernel, stride,
  // feature size and weight count, and whether it decides weight bits, each column min-max
  // normalised to [0, 1] over the steps (a constant column is 0). The agent appends the previous
  // action.
  static constexpr int64_t kStaticFeatures = 9;
  torch::Tensor static_features() const;
};

// One choice of bits per layer, with the actions that chose them (empty for strategies without
// actions).
struct Candidate {
  int64_t id = -1;  // numbered by the strategy, from 0
  std::vector<int> weight_bits, act_bits;
  std::vector<double> actions;  // per step of SearchSpace::steps()
  // "w8a8 w4a6 ..." in layer order: equal strings, equal candidates.
  std::string key() const;
};

}  // namespace cimkit::search
