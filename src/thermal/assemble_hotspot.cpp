// HotSpot's grid model (../shared/reference/hotspot.md), rebuilt from its stated conventions.
// Node layout: layer l cell (row, col) is node l·nx·ny + row·nx + col, layers = die layers, then
// spreader core, then sink core, all on the die grid; then 12 peripheral nodes
// SP_{W,E,N,S}, SINK_C_{W,E,N,S}, SINK_{W,E,N,S}.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "thermal/solver.hpp"

namespace cimkit::thermal {
namespace {

// HotSpot's transient "fitting factor to match floworks (lumping)" (algorithms.md §5.1).
constexpr double kCFactor = 0.333;

double getr(double k, double length, double area) { return length / (k * area); }  // RCutil.c form

}  // namespace

HotspotPackageR hotspot_package_r(const Package& p, double w, double h) {
  // Each ring around the die is cut into 4 trapezoids; a lateral resistance runs a quarter of
  // the ring's depth through the trapezoid's width at that depth (hotspot.md §5).
  const double s_sp = p.spreader.side_m, t_sp = p.spreader.thickness_m, k_sp = p.spreader.k_w_mk;
  const double s_hs = p.sink.side_m, t_hs = p.sink.thickness_m, k_hs = p.sink.k_w_mk;
  HotspotPackageR r{};
  r.r_sp1_x = getr(k_sp, (s_sp - w) / 4, (s_sp + 3 * h) / 4 * t_sp);
  r.r_sp1_y = getr(k_sp, (s_sp - h) / 4, (s_sp + 3 * w) / 4 * t_sp);
  r.r_hs1_x = getr(k_hs, (s_sp - w) / 4, (s_sp + 3 * h) / 4 * t_hs);
  r.r_hs1_y = getr(k_hs, (s_sp - h) / 4, (s_sp + 3 * w) / 4 * t_hs);
  r.r_hs2_x = getr(k_hs, (s_sp - w) / 4, (3 * s_sp + h) / 4 * t_hs);
  r.r_hs2_y = getr(k_hs, (s_sp - h) / 4, (3 * s_sp + w) / 4 * t_hs);
  r.r_hs = getr(k_hs, (s_hs - s_sp) / 4, (s_hs + 3 * s_sp) / 4 * t_hs);
  // Vertical, through the trapezoids' areas: (s_sp + H)(s_sp − W)/4 for west/east.
  const double a_x = (s_sp + h) * (s_sp - w) / 4, a_y = (s_sp + w) * (s_sp - h) / 4;
  const double a_per = (s_hs * s_hs - s_sp * s_sp) / 4;
  r.r_sp_per_x = getr(k_sp, t_sp, a_x);
  r.r_sp_per_y = getr(k_sp, t_sp, a_y);
  r.r_hs_c_per_x = getr(k_hs, t_hs, a_x);
  r.r_hs_c_per_y = getr(k_hs, t_hs, a_y);
  r.r_hs_per = getr(k_hs, t_hs, a_per);
  // r_convec shared by area over the s_sink² base (hotspot.md §6).
  const double conv = p.r_convec_k_w * s_hs * s_hs;
  r.r_amb_c_per_x = conv / a_x;
  r.r_amb_c_per_y = conv / a_y;
  r.r_amb_per = conv / a_per;
  return r;
}

Network assemble_hotspot(const ModelSpec& s) {
  const int nx = s.nx, ny = s.ny, nc = nx * ny;
  const double cw = s.die_width_m / nx, ch = s.die_height_m / ny, a = cw * ch;
  struct L {
    std::string name;
    double t, k, cv;
  };
  std::vector<L> layers;
  for (const auto& l : s.stack.layers) {
    if (l.z_cells != 1) {
      throw Error(fmt::format("stack layer '{}': z_cells {} ; the hotspot discretisation has one node per layer cell "
                              "(z_cells 1)", l.name, l.z_cells));
    }
    layers.push_back({l.name, l.thickness_m, l.k_w_mk, l.cv_j_m3k});
  }
  for (const Slab* sl : {&s.package.spreader, &s.package.sink}) {
    if (sl->z_cells != 1) throw Error("package spreader/sink: the hotspot discretisation needs z_cells 1");
  }
  const auto& sp = s.package.spreader;
  const auto& hs = s.package.sink;
  layers.push_back({"spreader core", sp.thickness_m, sp.k_w_mk, sp.cv_j_m3k});
  layers.push_back({"sink core", hs.thickness_m, hs.k_w_mk, hs.cv_j_m3k});
  const int nl = int(layers.size()), sp_l = nl - 2, hs_l = nl - 1, per = nl * nc;
  enum { SP_W, SP_E, SP_N, SP_S, SINK_C_W, SINK_C_E, SINK_C_N, SINK_C_S, SINK_W, SINK_E, SINK_N, SINK_S };

  Network n;
  n.n_nodes = per + 12;
  n.g_ambient = Eigen::VectorXd::Zero(n.n_nodes);
  n.capacitance = Eigen::VectorXd::Zero(n.n_nodes);
  // A ring that vanishes (spreader as wide as the die, sink as wide as the spreader) gives
  // infinite resistances (no area: no link) and zero ones (no length); a zero-length link joins
  // two nodes of a ring that does not exist, so it is left out too.
  std::vector<char> linked(per + 12, 0);
  auto link = [&](int i, int j, double r) {
    if (!(r > 0) || !std::isfinite(r)) return;
    n.links.emplace_back(std::min(i, j), std::max(i, j), 1.0 / r);
    linked[i] = linked[j] = 1;
  };
  auto node = [&](int l, int row, int col) { return l * nc + row * nx + col; };

  for (int l = 0; l < nl; ++l) {
    const L& y = layers[l];
    const double rx = getr(y.k, cw, ch * y.t), ry = getr(y.k, ch, cw * y.t), rz = getr(y.k, y.t, a);
    n.node_group.push_back(y.name);
    n.group_start.push_back(l * nc);
    for (int r = 0; r < ny; ++r) {
      for (int c = 0; c < nx; ++c) {
        const int i = node(l, r, c);
        // Lateral: HotSpot links row (north–south) neighbours through rx and column neighbours
        // through ry, swapped against the geometry (hotspot.md §4); kept so that non-square
        // cells give HotSpot's numbers.
        if (r + 1 < ny) link(i, node(l, r + 1, c), rx);
        if (c + 1 < nx) link(i, node(l, r, c + 1), ry);
        // Vertical: through the full thickness of the upper layer (find_res, hotspot.md §3).
        if (l + 1 < nl) link(i, node(l + 1, r, c), rz);
        n.capacitance[i] = kCFactor * y.cv * y.t * a;
      }
    }
  }
  // Sink core → ambient: the cell's own rz plus its area share of r_convec (hotspot.md §6).
  {
    const L& y = layers[hs_l];
    const double r_amb = getr(y.k, y.t, a) + s.package.r_convec_k_w * hs.side_m * hs.side_m / a;
    for (int i = hs_l * nc; i < (hs_l + 1) * nc; ++i) {
      n.g_ambient[i] = 1.0 / r_amb;
      n.capacitance[i] += kCFactor * s.package.c_convec_j_k * a / (hs.side_m * hs.side_m);
    }
  }
  // Core edges → the side nodes: half a cell plus the side's trapezoid resistance shared among
  // the edge's cells (hotspot.md §5, "rx/2 + n·r_sp1"); a corner cell gets two links.
  const HotspotPackageR R = hotspot_package_r(s.package, s.die_width_m, s.die_height_m);
  for (int pass = 0; pass < 2; ++pass) {
    const int l = pass == 0 ? sp_l : hs_l, base = per + (pass == 0 ? SP_W : SINK_C_W);
    const L& y = layers[l];
    const double rx = getr(y.k, cw, ch * y.t), ry = getr(y.k, ch, cw * y.t);
    const double rx_side = rx / 2 + ny * (pass == 0 ? R.r_sp1_x : R.r_hs1_x);
    const double ry_side = ry / 2 + nx * (pass == 0 ? R.r_sp1_y : R.r_hs1_y);
    for (int r = 0; r < ny; ++r) {
      link(node(l, r, 0), base + 0, rx_side);       // west
      link(node(l, r, nx - 1), base + 1, rx_side);  // east
    }
    for (int c = 0; c < nx; ++c) {
      link(node(l, 0, c), base + 2, ry_side);       // north (row 0)
      link(node(l, ny - 1, c), base + 3, ry_side);  // south
    }
  }
  // The peripheral nodes among themselves and to ambient.
  const double a_x = (sp.side_m + s.die_height_m) * (sp.side_m - s.die_width_m) / 4;
  const double a_y = (sp.side_m + s.die_width_m) * (sp.side_m - s.die_height_m) / 4;
  const double a_per = (hs.side_m * hs.side_m - sp.side_m * sp.side_m) / 4;
  const double conv_share = s.package.c_convec_j_k / (hs.side_m * hs.side_m);
  for (int side = 0; side < 4; ++side) {
    const bool x = side < 2;  // west/east
    const double ax = x ? a_x : a_y;
    link(per + SP_W + side, per + SINK_C_W + side, x ? R.r_sp_per_x : R.r_sp_per_y);
    link(per + SINK_C_W + side, per + SINK_W + side, (x ? R.r_hs2_x : R.r_hs2_y) + R.r_hs);
    const double r_c = (x ? R.r_hs_c_per_x : R.r_hs_c_per_y) + (x ? R.r_amb_c_per_x : R.r_amb_c_per_y);
    n.g_ambient[per + SINK_C_W + side] = std::isfinite(r_c) ? 1.0 / r_c : 0.0;
    const double r_s = R.r_hs_per + R.r_amb_per;
    n.g_ambient[per + SINK_W + side] = std::isfinite(r_s) ? 1.0 / r_s : 0.0;
    // Capacitances: our reading of HotSpot's lumped periphery (volume × c_v, plus the area share
    // of c_convec at the sink), with its C_FACTOR; transient only.
    n.capacitance[per + SP_W + side] = kCFactor * sp.cv_j_m3k * sp.thickness_m * ax;
    n.capacitance[per + SINK_C_W + side] = kCFactor * (hs.cv_j_m3k * hs.thickness_m + conv_share) * ax;
    n.capacitance[per + SINK_W + side] = kCFactor * (hs.cv_j_m3k * hs.thickness_m + conv_share) * a_per;
  }
  // Nodes of a vanished ring have no capacity and may have no link: pin a node left with no link
  // to ambient (it carries no heat) and give each a token capacity, so G and C stay definite.
  for (int i = per; i < n.n_nodes; ++i) {
    if (!linked[i] && n.g_ambient[i] == 0) n.g_ambient[i] = 1.0;
    if (!std::isfinite(n.capacitance[i])) n.capacitance[i] = 0;
    n.capacitance[i] = std::max(n.capacitance[i], 1e-12);
  }
  for (const char* g : {"SP_W", "SP_E", "SP_N", "SP_S", "SINK_C_W", "SINK_C_E", "SINK_C_N", "SINK_C_S", "SINK_W",
                        "SINK_E", "SINK_N", "SINK_S"}) {
    n.node_group.push_back(g);
    n.group_start.push_back(per + int(n.node_group.size()) - nl - 1);
  }
  // The separable stand-in: the layers as they are, without the periphery.
  n.box.dx.assign(nx, cw);
  n.box.dy.assign(ny, ch);
  for (int l = 0; l < nl; ++l) {
    const L& y = layers[l];
    BoxModel::Layer bl;
    bl.ax = y.k * y.t * (cw / ch) * (cw / ch);  // 1/ry between x neighbours (the swap, §4)
    bl.ay = y.k * y.t * (ch / cw) * (ch / cw);  // 1/rx between y neighbours
    bl.g_down = l + 1 < nl ? y.k / y.t : 0.0;
    bl.c = kCFactor * y.cv * y.t;
    n.box.layers.push_back(bl);
  }
  n.box.g_ambient = 1.0 / (hs.thickness_m / hs.k_w_mk + s.package.r_convec_k_w * hs.side_m * hs.side_m);
  n.box.layers.back().c += kCFactor * s.package.c_convec_j_k / (hs.side_m * hs.side_m);
  n.box.index.assign(n.n_nodes, -1);
  for (int i = 0; i < per; ++i) n.box.index[i] = i;
  n.die_node.resize(nc);
  n.source.resize(nc);
  for (int i = 0; i < nc; ++i) {
    n.die_node[i] = i;  // layer 0
    n.source[i] = {{i, 1.0}};
  }
  return n;
}

}  // namespace cimkit::thermal
