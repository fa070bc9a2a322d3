#include "search/resource_wall.hpp"

#include "core/error.hpp"

namespace cimkit::search {

Walled enforce_budget(const Candidate& c, const SearchSpace& space, const std::function<double(const Candidate&)>& cost,
                      double budget) {
  if (c.weight_bits.size() != space.layers.size() || c.act_bits.size() != space.layers.size()) {
    throw Error("resource wall: the candidate's layers do not match the search space's");
  }
  Walled w{c, cost(c), true, 0};
  while (w.cost > budget) {
    bool moved = false;
    for (size_t k = space.layers.size(); k-- > 0 && w.cost > budget;) {
      const LayerSpace& l = space.layers[k];
      if (l.search_act && w.candidate.act_bits[k] > l.act.min) {
        --w.candidate.act_bits[k];
        ++w.steps;
        moved = true;
        w.cost = cost(w.candidate);
        if (w.cost <= budget) break;
      }
      if (w.candidate.weight_bits[k] > l.weight.min) {
        --w.candidate.weight_bits[k];
        ++w.steps;
        moved = true;
        w.cost = cost(w.candidate);
      }
    }
    if (!moved) {
      w.within = false;
      break;
    }
  }
  return w;
}

}  // namespace cimkit::search
