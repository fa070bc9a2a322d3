// What the network-level benchmarks share: a monotonic clock in seconds and the median of a
// sample (these machines are noisy: ratios of medians taken in one run).
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

namespace cimkit::bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace cimkit::bench
