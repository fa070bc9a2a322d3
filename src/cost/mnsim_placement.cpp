#include "cost/mnsim_placement.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace cimkit::cost::mnsim {

std::vector<GridPos> spiral_order(int64_t rows, int64_t cols, int64_t count) {
  std::vector<GridPos> out;
  if (count <= 0 || rows <= 0 || cols <= 0) return out;
  out.reserve(static_cast<size_t>(count));
  auto take = [&](int64_t r, int64_t c) {
    if (r < rows && c < cols && static_cast<int64_t>(out.size()) < count) out.push_back({r, c});
  };
  take(0, 0);
  const int64_t side = std::max(rows, cols);
  for (int64_t k = 1; k < side && static_cast<int64_t>(out.size()) < count; ++k) {
    if (k % 2 == 1) {  // Tile_connection_graph.py:104-126 (states 0-1): right, down, then left
      for (int64_t r = 0; r <= k; ++r) take(r, k);
      for (int64_t c = k - 1; c >= 0; --c) take(k, c);
    } else {  // Tile_connection_graph.py:127-146 (states 2-3): down, right, then up
      for (int64_t c = 0; c <= k; ++c) take(k, c);
      for (int64_t r = k - 1; r >= 0; --r) take(r, k);
    }
  }
  return out;
}

namespace {

// The farthest Manhattan distance from a point to a set of grid positions, in O(1) from the
// extremes of row + col and row - col.
struct Extent {
  int64_t max_p = std::numeric_limits<int64_t>::min(), min_p = std::numeric_limits<int64_t>::max();
  int64_t max_m = std::numeric_limits<int64_t>::min(), min_m = std::numeric_limits<int64_t>::max();
  bool empty = true;
  void add(const GridPos& g) {
    max_p = std::max(max_p, g.row + g.col);
    min_p = std::min(min_p, g.row + g.col);
    max_m = std::max(max_m, g.row - g.col);
    min_m = std::min(min_m, g.row - g.col);
    empty = false;
  }
  int64_t farthest(const GridPos& a) const {  // 0 for an empty set (MNSIM's maxdis starts at 0)
    if (empty) return 0;
    const int64_t p = a.row + a.col, m = a.row - a.col;
    return std::max(std::max(max_p - p, p - min_p), std::max(max_m - m, m - min_m));
  }
};

bool row_major(const GridPos& a, const GridPos& b) { return a.row != b.row ? a.row < b.row : a.col < b.col; }

}  // namespace

std::vector<Hops> tile_hops(const std::vector<PlacedNode>& nodes, int64_t rows, int64_t cols) {
  const size_t n = nodes.size();
  std::vector<Hops> hops(n);
  if (n == 0) return hops;
  // Tile ids in node order on the spiral (TCG.mapping_net, Tile_connection_graph.py:499-512);
  // each node's tiles in row-major grid order, as np.argwhere lists them.
  int64_t used = 0;
  for (const auto& node : nodes) used += node.tiles;
  const std::vector<GridPos> order = spiral_order(rows, cols, used);
  std::vector<std::vector<GridPos>> own(n);
  std::vector<Extent> extent(n);
  int64_t next = 0;
  for (size_t i = 0; i < n; ++i) {
    for (int64_t t = 0; t < nodes[i].tiles && next < static_cast<int64_t>(order.size()); ++t, ++next) {
      own[i].push_back(order[static_cast<size_t>(next)]);
      extent[i].add(own[i].back());
    }
    std::sort(own[i].begin(), own[i].end(), row_major);
  }
  // Distance to the global accumulator at the grid's left middle (Tile_connection_graph.py:519,
  // 528, 586): |row - Tile_Num[0]/2| + col.
  const double mid = 0.5 * static_cast<double>(rows);
  auto to_accumulator = [&](const GridPos& g) { return std::abs(static_cast<double>(g.row) - mid) + static_cast<double>(g.col); };
  const double kBound = 1000;  // MNSIM's starting minimum (mindis_total = 1000)

  for (size_t i = 0; i + 1 < n; ++i) {  // calculate_transfer_distance, lines 514-590
    const PlacedNode& node = nodes[i];
    Hops& h = hops[i];
    if (node.element_sum) {  // lines 581-590: from each consumer's first tile
      double far = 0;
      for (int64_t c : node.consumers) {
        if (!own[static_cast<size_t>(c)].empty()) far = std::max(far, to_accumulator(own[static_cast<size_t>(c)].front()));
      }
      h = {0.0, far};
      continue;
    }
    const auto& src = own[i];
    if (src.empty()) continue;
    bool branch_out = true;  // every consumer an element_sum (lines 269-272, vacuous for none)
    Extent dst;
    for (int64_t c : node.consumers) {
      if (!nodes[static_cast<size_t>(c)].element_sum) branch_out = false;
      for (const GridPos& g : own[static_cast<size_t>(c)]) dst.add(g);
    }
    auto transfer = [&](const GridPos& a) {
      return branch_out ? to_accumulator(a) : static_cast<double>(dst.farthest(a));
    };
    if (src.size() == 1) {  // lines 518-520, 547-556
      h = {0.0, transfer(src[0])};
      continue;
    }
    double best = kBound;  // lines 522-535, 558-579: the first strict minimum of din + dtr
    for (const GridPos& a : src) {
      const double din = static_cast<double>(extent[i].farthest(a)), dtr = transfer(a);
      if (din + dtr < best) {
        best = din + dtr;
        h = {din, dtr};
      }
    }
  }
  // The output node (lines 591-603): the smallest in-node distance, nothing to transfer.
  double best = kBound;
  for (const GridPos& a : own[n - 1]) {
    const double din = static_cast<double>(extent[n - 1].farthest(a));
    if (din < best) {
      best = din;
      hops[n - 1] = {din, 0.0};
    }
  }
  return hops;
}

}  // namespace cimkit::cost::mnsim
