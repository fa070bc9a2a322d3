// HAQ's resource constraint (../shared/reference/algorithms.md §1.4, the "action wall"): when a
// candidate's cost (energy or latency from the cost model) is above the budget, its bits are
// lowered greedily until it fits — walking the layers from the last to the first, each layer's
// activation bits (when searched) then its weight bits one step down, checking the cost after
// each step, sweep after sweep, until the cost is within the budget or every width is at its
// range's minimum. The walled candidate is what gets evaluated.
#pragma once
#include <functional>

#include "search/space.hpp"

namespace cimkit::search {

struct Walled {
  Candidate candidate;
  double cost = 0.0;
  bool within = true;   // false: the minimum widths still cost more than the budget
  int steps = 0;        // one-bit decrements made
};

Walled enforce_budget(const Candidate& c, const SearchSpace& space, const std::function<double(const Candidate&)>& cost,
                      double budget);

}  // namespace cimkit::search
