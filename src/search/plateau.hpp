// When a search's reward stops improving (issue 13 §7; paper 000 reports ~100 episodes for its
// agent, HAQ > 200): the moving average of the rewards over `window` episodes, and the first
// episode from which it stays within `tolerance` × (its range over the run) of its final value.
#pragma once
#include <cstdint>
#include <vector>

namespace cimkit::search {

struct Plateau {
  int64_t episode = -1;         // -1: fewer episodes than the window
  int64_t window = 20;
  double tolerance = 0.1;
  std::vector<double> moving;   // moving[k]: mean reward of episodes k-window+1..k (k >= window-1), NaN before
  double final_average = 0.0;
};

Plateau find_plateau(const std::vector<double>& rewards, int64_t window = 20, double tolerance = 0.1);

}  // namespace cimkit::search
