// Cell-centred finite volumes on a tensor grid (algorithms.md §5.1 "generic FVM form").
// Columns (west → east) and rows (north → south) are the die grid's nx × ny cells plus, on each
// side, `outer_cells` graded cells from the die edge to the spreader edge and as many again to
// the sink edge. Die layers cover the die cells, the spreader its square, the sink everything.
// Every layer (or each of its z_cells sub-layers) has one node per cell it covers, at the cell's
// centre. Between two nodes the conductance is the series sum of the two half cells, each with
// its own k:  G = 1 / (Δ_i/(2 k_i A) + Δ_j/(2 k_j A)).  Sink base → ambient:
//   G = 1 / (Δz/(2 k A) + 1/(h A)),   h = 1/(r_convec · s_sink²)  (r_convec shared by area).
// Top of the die, the spreader's and sink's top faces beyond what lies on them and all sides
// are adiabatic. Node order: sub-layer by sub-layer, row-major within each layer's extent.
#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "thermal/solver.hpp"

namespace cimkit::thermal {
namespace {

// `n` cells over `length`, the first `first` wide, growing geometrically (uniform when
// `first` is already too wide for geometric growth).
std::vector<double> graded(double length, double first, int n) {
  if (length <= 1e-12 * first) return {};
  std::vector<double> d(n, length / n);
  if (n * first >= length) return d;
  double lo = 1.0, hi = 2.0;
  auto total = [&](double r) { return first * (std::pow(r, n) - 1) / (r - 1); };
  while (total(hi) < length) hi *= 2;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (total(mid) < length ? lo : hi) = mid;
  }
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += d[i] = first * std::pow(lo, i);
  for (auto& v : d) v *= length / sum;  // exact total
  return d;
}

// One axis: cell widths from one outer edge of the sink to the other, and the index ranges
// [begin, end) of the die and the spreader.
struct Axis {
  std::vector<double> d;
  int die0, die1, sp0, sp1;
};

Axis make_axis(double die, int n, double s_sp, double s_hs, int outer) {
  const double cell = die / n;
  const std::vector<double> ring_sp = graded((s_sp - die) / 2, cell, outer);
  const double last = ring_sp.empty() ? cell : ring_sp.back();
  const std::vector<double> ring_hs = graded((s_hs - std::max(s_sp, die)) / 2, last, outer);
  Axis a;
  a.d.insert(a.d.end(), ring_hs.rbegin(), ring_hs.rend());
  a.sp0 = int(a.d.size());
  a.d.insert(a.d.end(), ring_sp.rbegin(), ring_sp.rend());
  a.die0 = int(a.d.size());
  a.d.insert(a.d.end(), size_t(n), cell);
  a.die1 = int(a.d.size());
  a.d.insert(a.d.end(), ring_sp.begin(), ring_sp.end());
  a.sp1 = int(a.d.size());
  a.d.insert(a.d.end(), ring_hs.begin(), ring_hs.end());
  return a;
}

struct Sub {
  std::string name;
  double dz, k, cv;
  int x0, x1, y0, y1;  // extent in global columns / rows
  int offset = 0;
  int node(int gy, int gx) const { return offset + (gy - y0) * (x1 - x0) + (gx - x0); }
  bool covers(int gy, int gx) const { return gx >= x0 && gx < x1 && gy >= y0 && gy < y1; }
};

}  // namespace

Network assemble_default(const ModelSpec& s) {
  const Package& p = s.package;
  const int outer = std::max(1, s.outer_cells);
  const Axis ax = make_axis(s.die_width_m, s.nx, p.spreader.side_m, p.sink.side_m, outer);
  const Axis ay = make_axis(s.die_height_m, s.ny, p.spreader.side_m, p.sink.side_m, outer);
  const int NX = int(ax.d.size()), NY = int(ay.d.size());

  std::vector<Sub> subs;
  auto add = [&](const std::string& name, double t, double k, double cv, int nz, int x0, int x1, int y0, int y1) {
    for (int z = 0; z < nz; ++z) {
      subs.push_back({nz > 1 ? fmt::format("{}[{}]", name, z) : name, t / nz, k, cv, x0, x1, y0, y1});
    }
  };
  for (const auto& l : s.stack.layers) add(l.name, l.thickness_m, l.k_w_mk, l.cv_j_m3k, l.z_cells, ax.die0, ax.die1, ay.die0, ay.die1);
  const int n_source = s.stack.layers.front().z_cells;
  add("spreader", p.spreader.thickness_m, p.spreader.k_w_mk, p.spreader.cv_j_m3k, p.spreader.z_cells, ax.sp0, ax.sp1,
      ay.sp0, ay.sp1);
  add("sink", p.sink.thickness_m, p.sink.k_w_mk, p.sink.cv_j_m3k, p.sink.z_cells, 0, NX, 0, NY);

  Network n;
  for (auto& b : subs) {
    b.offset = n.n_nodes;
    n.node_group.push_back(b.name);
    n.group_start.push_back(b.offset);
    n.n_nodes += (b.x1 - b.x0) * (b.y1 - b.y0);
  }
  n.g_ambient = Eigen::VectorXd::Zero(n.n_nodes);
  n.capacitance = Eigen::VectorXd::Zero(n.n_nodes);
  n.links.reserve(size_t(n.n_nodes) * 3);
  const double h = p.h_w_m2k();
  for (size_t li = 0; li < subs.size(); ++li) {
    const Sub& b = subs[li];
    const bool bottom = li + 1 == subs.size();
    for (int gy = b.y0; gy < b.y1; ++gy) {
      for (int gx = b.x0; gx < b.x1; ++gx) {
        const int i = b.node(gy, gx);
        const double dx = ax.d[gx], dy = ay.d[gy], a = dx * dy;
        // East and south neighbours in the same layer: two half cells in series.
        if (gx + 1 < b.x1) {
          const double r = (dx + ax.d[gx + 1]) / (2 * b.k * dy * b.dz);
          n.links.emplace_back(i, b.node(gy, gx + 1), 1.0 / r);
        }
        if (gy + 1 < b.y1) {
          const double r = (dy + ay.d[gy + 1]) / (2 * b.k * dx * b.dz);
          n.links.emplace_back(i, b.node(gy + 1, gx), 1.0 / r);
        }
        // Down to the next layer (which covers at least this cell): half of each thickness.
        if (!bottom) {
          const Sub& c = subs[li + 1];
          const double r = b.dz / (2 * b.k * a) + c.dz / (2 * c.k * a);
          n.links.emplace_back(i, c.node(gy, gx), 1.0 / r);
        }
        n.capacitance[i] = b.cv * b.dz * a;
        if (bottom) {
          // Robin boundary: half the sink cell, then the convective film.
          n.g_ambient[i] = 1.0 / (b.dz / (2 * b.k * a) + 1.0 / (h * a));
          n.capacitance[i] += p.c_convec_j_k * a / (p.sink.side_m * p.sink.side_m);
        }
      }
    }
  }
  // The separable stand-in: every sub-layer over the whole grid with its own k and thickness.
  n.box.dx = ax.d;
  n.box.dy = ay.d;
  for (size_t li = 0; li < subs.size(); ++li) {
    const Sub& b = subs[li];
    BoxModel::Layer bl;
    bl.ax = bl.ay = b.k * b.dz;
    if (li + 1 < subs.size()) bl.g_down = 1.0 / (b.dz / (2 * b.k) + subs[li + 1].dz / (2 * subs[li + 1].k));
    bl.c = b.cv * b.dz;
    n.box.layers.push_back(bl);
  }
  const Sub& last = subs.back();
  n.box.g_ambient = 1.0 / (last.dz / (2 * last.k) + 1.0 / h);
  n.box.layers.back().c += p.c_convec_j_k / (p.sink.side_m * p.sink.side_m);
  n.box.index.resize(n.n_nodes);
  for (size_t li = 0; li < subs.size(); ++li) {
    const Sub& b = subs[li];
    for (int gy = b.y0; gy < b.y1; ++gy)
      for (int gx = b.x0; gx < b.x1; ++gx) n.box.index[b.node(gy, gx)] = int(li) * NX * NY + gy * NX + gx;
  }
  const int nc = s.nx * s.ny;
  n.die_node.resize(nc);
  n.source.resize(nc);
  for (int r = 0; r < s.ny; ++r) {
    for (int c = 0; c < s.nx; ++c) {
      const int cell = r * s.nx + c, gy = ay.die0 + r, gx = ax.die0 + c;
      n.die_node[cell] = subs[0].node(gy, gx);  // the top sub-layer: the active surface
      for (int z = 0; z < n_source; ++z) n.source[cell].emplace_back(subs[z].node(gy, gx), 1.0 / n_source);
    }
  }
  return n;
}

}  // namespace cimkit::thermal
