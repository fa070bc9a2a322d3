#include "circuit/ir_drop.hpp"

#include <Eigen/Sparse>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.hpp"

namespace cimkit::circuit {

void WireParasitics::check(const std::string& key) const {
  const std::pair<const char*, double> parts[] = {
      {"r_row_ohm", r_row_ohm}, {"r_col_ohm", r_col_ohm}, {"r_driver_ohm", r_driver_ohm}, {"r_sense_ohm", r_sense_ohm}};
  for (const auto& [name, v] : parts) {
    if (!std::isfinite(v) || v < 0) {
      throw Error(fmt::format("{}.{}: {} is not a resistance; allowed: a finite value >= 0 (ohms)", key, name, v));
    }
  }
}

double segment_resistance_ohm(double resistivity_ohm_m, double length_m, double width_m, double thickness_m) {
  if (!(resistivity_ohm_m >= 0) || !(length_m >= 0) || !(width_m > 0) || !(thickness_m > 0)) {
    throw Error(fmt::format("wire segment: resistivity {} Ω·m, length {} m, width {} m, thickness {} m; allowed: "
                            "resistivity and length >= 0, width and thickness > 0",
                            resistivity_ohm_m, length_m, width_m, thickness_m));
  }
  return resistivity_ohm_m * length_m / (width_m * thickness_m);
}

IrDropMode parse_ir_drop_mode(const std::string& name, const std::string& key) {
  if (name == "none") return IrDropMode::None;
  if (name == "circuit") return IrDropMode::Circuit;
  if (name == "fast") return IrDropMode::Fast;
  throw Error(fmt::format("{}: '{}' is not an IR-drop model; allowed: none, circuit, fast", key, name));
}

std::string to_string(IrDropMode m) {
  switch (m) {
    case IrDropMode::None: return "none";
    case IrDropMode::Circuit: return "circuit";
    case IrDropMode::Fast: return "fast";
  }
  return "?";
}

namespace {

using torch::indexing::Slice;

// One direction of lines (all rows, or all columns) of B arrays as tridiagonal systems that
// share their matrix across right-hand sides. Tensors are laid out [L, B, N, M]: L positions
// along the line, M lines per array, N right-hand sides. `g` is the cells' conductance as
// [L, B, 1, M]; the line's first node couples to a source (g_start; 0 for an open end), its last
// to ground (g_end; 0 for an open end), neighbours through g_seg. g_seg == 0 means the segments
// are ideal (the line is one node).
struct LineSystem {
  torch::Tensor g;         // [L, B, 1, M]
  double g_seg = 0, g_start = 0, g_end = 0;
  bool short_start = false;  // the first node is tied to the source (zero resistance)
  bool short_end = false;    // the last node is tied to ground (zero resistance)
  torch::Tensor inv_den;   // [L, B, 1, M]: Thomas factors (g_seg > 0)
  torch::Tensor lumped_den;  // [B, 1, M]: the one node's total conductance (g_seg == 0)

  void factor() {
    const int64_t L = g.size(0);
    if (g_seg == 0) {
      lumped_den = g.sum(0) + g_start + g_end;
      return;
    }
    inv_den = torch::empty_like(g);
    torch::Tensor den;
    for (int64_t p = 0; p < L; ++p) {
      const double left = p == 0 ? g_start : g_seg, right = p == L - 1 ? g_end : g_seg;
      torch::Tensor d = g.select(0, p) + (left + right);
      if (p > 0) d = d - g_seg * g_seg * inv_den.select(0, p - 1);
      inv_den.select(0, p).copy_(d.reciprocal());
    }
  }

  // x [L, B, N, M]: the node voltages for coupling voltages `other` [L, B, N, M] (the far side
  // of each cell) and source voltages `source` [B, N, M] (undefined for a grounded line).
  torch::Tensor solve(const torch::Tensor& other, const torch::Tensor& source) const {
    const torch::Tensor rhs = g * other;
    if (g_seg == 0) {
      if (short_start) return source.unsqueeze(0).expand_as(other).contiguous();
      if (short_end) return torch::zeros_like(other);
      torch::Tensor num = rhs.sum(0);
      if (source.defined()) num = num + g_start * source;
      return (num / lumped_den).unsqueeze(0).expand_as(other).contiguous();
    }
    const int64_t L = g.size(0);
    torch::Tensor y = torch::empty_like(rhs);
    torch::Tensor r0 = rhs.select(0, 0);
    if (source.defined()) r0 = r0 + g_start * source;
    y.select(0, 0).copy_(r0 * inv_den.select(0, 0));
    for (int64_t p = 1; p < L; ++p) {
      y.select(0, p).copy_((rhs.select(0, p) + g_seg * y.select(0, p - 1)) * inv_den.select(0, p));
    }
    for (int64_t p = L - 2; p >= 0; --p) {
      y.select(0, p).add_(g_seg * inv_den.select(0, p) * y.select(0, p + 1));
    }
    return y;
  }
};

// [B, R, C] conductances, [B, N, R] inputs -> [B, N, C] column currents.
torch::Tensor solve_network(const torch::Tensor& g, const torch::Tensor& v, const WireParasitics& w,
                            const SolverOptions& o, SolveStats* stats) {
  const int64_t B = g.size(0), R = g.size(1), C = g.size(2), N = v.size(1);
  // Rows: positions j along C, lines i; the source is the driver.
  LineSystem rows;
  rows.g = g.permute({2, 0, 1}).unsqueeze(2).contiguous();  // [C, B, 1, R]
  rows.g_seg = w.r_row_ohm > 0 ? 1.0 / w.r_row_ohm : 0.0;
  const double r_start = w.r_driver_ohm + w.r_row_ohm;
  rows.short_start = r_start == 0;
  rows.g_start = r_start > 0 ? 1.0 / r_start : 0.0;
  rows.factor();
  // Columns: positions i along R, lines j; the end is the sense amplifier's virtual ground.
  LineSystem cols;
  cols.g = g.permute({1, 0, 2}).unsqueeze(2).contiguous();  // [R, B, 1, C]
  cols.g_seg = w.r_col_ohm > 0 ? 1.0 / w.r_col_ohm : 0.0;
  const double r_end = w.r_col_ohm + w.r_sense_ohm;
  cols.short_end = r_end == 0;
  cols.g_end = r_end > 0 ? 1.0 / r_end : 0.0;
  cols.factor();

  const torch::Tensor source = v.contiguous();  // [B, N, R]: the rows' drivers
  const double vmax = std::max(v.abs().max().item<double>(), 1e-300);
  torch::Tensor vc = torch::zeros({R, B, N, C}, g.options());  // the ideal array's column nodes
  torch::Tensor vr;
  // Block Gauss-Seidel over the two blocks (row nodes, column nodes), then block SOR. A 2x2 block
  // system is consistently ordered, so Young's theory holds: with the Gauss-Seidel rate ρ
  // (measured over the first sweeps) the optimal relaxation is ω = 2 / (1 + √(1 − ρ)), and the
  // rate becomes ω − 1 (much faster when the wires are resistive and ρ is near 1).
  constexpr int kMeasureSweeps = 5;
  double prev = 0, err = 0, omega = 1.0;
  int sweep = 0, since_switch = 0;
  for (;;) {
    ++sweep;
    ++since_switch;
    const torch::Tensor vr_gs = rows.solve(vc.permute({3, 1, 2, 0}).contiguous(), source);  // [C, B, N, R]
    vr = (omega == 1.0 || !vr.defined()) ? vr_gs : vr + omega * (vr_gs - vr);
    const torch::Tensor vc_gs = cols.solve(vr.permute({3, 1, 2, 0}).contiguous(), torch::Tensor());  // [R, B, N, C]
    const torch::Tensor vc_new = omega == 1.0 ? vc_gs : vc + omega * (vc_gs - vc);
    const double delta = (vc_new - vc).abs().max().item<double>() / vmax;
    vc = vc_new;
    if (delta <= 1e-15) {  // at round-off: nothing more to gain
      err = delta;
      break;
    }
    if (since_switch >= 2 && prev > 0) {
      const double measured = delta / prev;
      if (omega == 1.0 && sweep >= kMeasureSweeps && measured > 0.3 && measured < 1) {
        omega = 2.0 / (1.0 + std::sqrt(1.0 - measured));
        since_switch = 0;
      } else {
        const double rate = std::max(measured, omega - 1.0);
        if (rate < 1) {
          err = delta * rate / (1 - rate);
          if (err <= o.tolerance) break;
        }
      }
    }
    prev = delta;
    if (sweep >= o.max_sweeps) {
      throw Error(fmt::format("IR drop: the {}x{} array's network did not converge in {} sweeps (last change {:.3g} V "
                              "per V of input, relaxation {:.3f}); its wires are too resistive for the iteration: use "
                              "smaller arrays or lower wire resistance",
                              R, C, sweep, delta, omega));
    }
  }
  if (stats) {
    stats->sweeps = std::max(stats->sweeps, sweep);
    stats->error_estimate = std::max(stats->error_estimate, err);
  }
  // The rows once more on the final column voltages (the last row solve saw the previous ones,
  // off by the last change), then every cell's current reaches its column's sense amplifier.
  vr = rows.solve(vc.permute({3, 1, 2, 0}).contiguous(), source);
  const torch::Tensor vr_c = vr.permute({3, 1, 2, 0});  // [R, B, N, C]
  return (cols.g * (vr_c - vc)).sum(0);                 // [B, N, C]
}

torch::Tensor fast_effective(const torch::Tensor& g, const WireParasitics& w) {
  const int64_t R = g.size(1);
  // Row drops: S_mk = Σ_{l≥k} G_ml (current through the row segment before node k, per volt),
  // P_mj = Σ_{k≤j} S_mk (segments from the driver to node j).
  const torch::Tensor s = g.flip(2).cumsum(2).flip(2);
  const torch::Tensor p = s.cumsum(2);
  const torch::Tensor row_total = s.select(2, 0).unsqueeze(2);  // [B, R, 1]
  // Column drops seen by cell (i, j) for an input on row m: R − max(i, m) segments carry it.
  const torch::Tensor col_sum = g.sum(1, true);                 // [B, 1, C]
  const torch::Tensor cum = g.cumsum(1);                        // Σ_{i≤m} G_ij
  const torch::Tensor dist = (R - torch::arange(R, g.options())).view({1, R, 1});  // R − i
  const torch::Tensor wsum = (g * dist).cumsum(1);
  const torch::Tensor beyond = wsum.select(1, R - 1).unsqueeze(1) - wsum;          // Σ_{i>m} (R − i) G_ij
  const torch::Tensor q = w.r_sense_ohm * col_sum + w.r_col_ohm * (dist * cum + beyond);
  const torch::Tensor d = w.r_driver_ohm * row_total + w.r_row_ohm * p + q;
  // G / (1 + δ) rather than G (1 − δ): the same to first order, exact for a lone cell (its current
  // is V / (1/G + the wires in its path)), and it keeps A positive where the drop is large.
  return g / (1.0 + d);
}

void check_g(const torch::Tensor& g, const char* what) {
  if (!g.defined() || (g.dim() != 2 && g.dim() != 3) || g.size(-1) < 1 || g.size(-2) < 1) {
    throw ShapeError(std::string(what) + ": conductances must be [R, C] or [B, R, C] with R, C >= 1");
  }
  if (!torch::isfinite(g).all().item<bool>() || (g < 0).any().item<bool>()) {
    throw ShapeError(std::string(what) + ": conductances must be finite and >= 0 (siemens)");
  }
}

}  // namespace

torch::Tensor effective_conductance(const torch::Tensor& g_in, const WireParasitics& w, IrDropMode mode,
                                    const SolverOptions& o, SolveStats* stats) {
  w.check();
  if (mode == IrDropMode::None || w.none()) return g_in;
  check_g(g_in, "IR drop");
  const bool batched = g_in.dim() == 3;
  const torch::Tensor g = (batched ? g_in : g_in.unsqueeze(0)).to(torch::kFloat64).contiguous();
  torch::Tensor a;
  if (mode == IrDropMode::Fast) {
    a = fast_effective(g, w);
  } else {
    const int64_t B = g.size(0), R = g.size(1), C = g.size(2);
    // ~6 [R, C] float64 buffers per right-hand side and array.
    const int64_t per_rhs = std::max<int64_t>(1, R * C * 8 * 6);
    const int64_t budget = std::max<int64_t>(1, o.memory_mb) << 20;
    const int64_t rhs_chunk = std::clamp<int64_t>(budget / per_rhs, 1, R);
    const int64_t arrays_chunk = std::clamp<int64_t>(budget / (per_rhs * rhs_chunk), 1, B);
    a = torch::empty_like(g);
    const torch::Tensor eye = torch::eye(R, g.options());
    for (int64_t b0 = 0; b0 < B; b0 += arrays_chunk) {
      const int64_t nb = std::min(arrays_chunk, B - b0);
      const torch::Tensor gb = g.narrow(0, b0, nb);
      for (int64_t m0 = 0; m0 < R; m0 += rhs_chunk) {
        const int64_t nm = std::min(rhs_chunk, R - m0);
        const torch::Tensor v = eye.narrow(0, m0, nm).unsqueeze(0).expand({nb, nm, R});
        a.narrow(0, b0, nb).narrow(1, m0, nm).copy_(solve_network(gb, v, w, o, stats));
      }
    }
  }
  a = a.to(g_in.scalar_type());
  return batched ? a : a.squeeze(0);
}

torch::Tensor column_currents(const torch::Tensor& g_in, const torch::Tensor& v, const WireParasitics& w,
                              const SolverOptions& o, SolveStats* stats) {
  w.check();
  check_g(g_in, "IR drop");
  if (g_in.dim() != 2 || v.dim() != 2 || v.size(1) != g_in.size(0)) {
    throw ShapeError("IR drop: column_currents needs g [R, C] and v [N, R]");
  }
  const torch::Tensor g = g_in.to(torch::kFloat64).unsqueeze(0).contiguous();
  return solve_network(g, v.to(torch::kFloat64).unsqueeze(0), w, o, stats).squeeze(0);
}

torch::Tensor column_currents_direct(const torch::Tensor& g_in, const torch::Tensor& v_in, const WireParasitics& w) {
  w.check();
  check_g(g_in, "IR drop");
  if (g_in.dim() != 2 || v_in.dim() != 2 || v_in.size(1) != g_in.size(0)) {
    throw ShapeError("IR drop: column_currents_direct needs g [R, C] and v [N, R]");
  }
  if (!(w.r_row_ohm > 0) || !(w.r_col_ohm > 0)) {
    throw Error("IR drop: the direct reference needs r_row_ohm > 0 and r_col_ohm > 0");
  }
  const torch::Tensor g = g_in.to(torch::kFloat64).contiguous().cpu();
  const torch::Tensor v = v_in.to(torch::kFloat64).contiguous().cpu();
  const int64_t R = g.size(0), C = g.size(1), N = v.size(0), n = 2 * R * C;
  auto row = [C](int64_t i, int64_t j) { return i * C + j; };
  auto col = [R, C](int64_t i, int64_t j) { return R * C + i * C + j; };
  std::vector<Eigen::Triplet<double>> t;
  t.reserve(static_cast<size_t>(12 * R * C));
  auto link = [&t](int64_t a, int64_t b, double c) {
    t.emplace_back(a, a, c);
    t.emplace_back(b, b, c);
    t.emplace_back(a, b, -c);
    t.emplace_back(b, a, -c);
  };
  const auto G = g.accessor<double, 2>();
  const double g_row = 1.0 / w.r_row_ohm, g_col = 1.0 / w.r_col_ohm;
  const double g_drv = 1.0 / (w.r_driver_ohm + w.r_row_ohm), g_sense = 1.0 / (w.r_col_ohm + w.r_sense_ohm);
  for (int64_t i = 0; i < R; ++i) {
    for (int64_t j = 0; j < C; ++j) {
      if (G[i][j] > 0) link(row(i, j), col(i, j), G[i][j]);
      if (j + 1 < C) link(row(i, j), row(i, j + 1), g_row);
      if (i + 1 < R) link(col(i, j), col(i + 1, j), g_col);
    }
    t.emplace_back(row(i, 0), row(i, 0), g_drv);  // to the driver (its voltage goes to the right-hand side)
  }
  for (int64_t j = 0; j < C; ++j) t.emplace_back(col(R - 1, j), col(R - 1, j), g_sense);  // to virtual ground
  Eigen::SparseMatrix<double> k(n, n);
  k.setFromTriplets(t.begin(), t.end());
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt(k);
  if (ldlt.info() != Eigen::Success) throw Error("IR drop: the nodal matrix could not be factorised");
  Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(n, N);
  const auto V = v.accessor<double, 2>();
  for (int64_t s = 0; s < N; ++s) {
    for (int64_t i = 0; i < R; ++i) rhs(row(i, 0), s) = g_drv * V[s][i];
  }
  const Eigen::MatrixXd x = ldlt.solve(rhs);
  torch::Tensor out = torch::empty({N, C}, torch::kFloat64);
  auto O = out.accessor<double, 2>();
  for (int64_t s = 0; s < N; ++s) {
    for (int64_t j = 0; j < C; ++j) O[s][j] = x(col(R - 1, j), s) * g_sense;
  }
  return out.to(g_in.device());
}

}  // namespace cimkit::circuit
