#include "search/plateau.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cimkit::search {

Plateau find_plateau(const std::vector<double>& rewards, int64_t window, double tolerance) {
  Plateau p;
  p.window = std::max<int64_t>(1, window);
  p.tolerance = tolerance;
  const int64_t n = static_cast<int64_t>(rewards.size());
  p.moving.assign(rewards.size(), std::numeric_limits<double>::quiet_NaN());
  if (n < p.window) return p;
  double sum = 0.0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t k = 0; k < n; ++k) {
    sum += rewards[k];
    if (k >= p.window) sum -= rewards[k - p.window];
    if (k >= p.window - 1) {
      p.moving[k] = sum / static_cast<double>(p.window);
      lo = std::min(lo, p.moving[k]);
      hi = std::max(hi, p.moving[k]);
    }
  }
  p.final_average = p.moving[n - 1];
  const double band = tolerance * (hi - lo);
  p.episode = n - 1;
  for (int64_t k = n - 1; k >= p.window - 1 && std::abs(p.moving[k] - p.final_average) <= band; --k) p.episode = k;
  return p;
}

}  // namespace cimkit::search
