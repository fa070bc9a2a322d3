// A precision search's space from a network's shape (paper 000 §III.C.1): the bit range of each
// layer by a rule — [2, 8] for early convolutions, [2, 4] for later ones, [6, 8] for fully
// connected layers — with per-layer overrides by name.
#pragma once
#include <map>
#include <string>

#include "core/error.hpp"
#include "mapping/network.hpp"
#include "search/space.hpp"

namespace cimkit::search {

struct LayerRules {
  BitRange early_conv{2, 8}, late_conv{2, 4}, linear{6, 8};
  // How many convolutions (in forward order) count as early; -1: the first half, rounded up.
  int early_conv_layers = -1;
  BitRange act{2, 8};
  bool search_act = true;
  int fixed_act = 8;  // activation bits when they are not searched
  // By layer name: a weight or activation range replacing the rule's.
  std::map<std::string, BitRange> weight_overrides, act_overrides;
  std::map<std::string, SourceLoc> override_locs;  // where each override was given (error messages)
};

// One LayerSpace per weight layer of `shape`, in order. Error naming `key` for an override of a
// layer the network does not have (with the names it has) or a bad range.
SearchSpace space_from_shape(const mapping::NetworkShape& shape, const LayerRules& rules, const std::string& key);

}  // namespace cimkit::search
