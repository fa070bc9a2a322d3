// Interconnect parasitics of a crossbar array (IR drop; issue 15).
//
// The network. An array has R rows (word lines, driven) and C columns (bit lines, sensed). Every
// cell (i, j) sits between a row-wire node and a column-wire node and is a linear conductance
// G_ij. Along a row, the driver (source V_i behind r_driver) feeds node (i, 0) through one wire
// segment, and each further node is one segment r_row on; the row's far end is open. Along a
// column, node (0, j) is the open end and node (R-1, j) reaches the sense amplifier (a virtual
// ground behind r_sense) through one segment r_col. So cell (i, j) is j + 1 row segments from its
// driver and R - i column segments from its sense amplifier:
//
//     V_i ─r_drv─ r_row ─●─ r_row ─●─ ... ─●          (row i; ● = row node (i, j))
//                        G_i0      G_i1     G_i,C-1
//                        ○         ○        ○         (column nodes (i, j))
//                        │r_col    │        │
//     ... down to row R-1, then r_col ─ r_sense ─ virtual ground: I_j
//
// Linearity. Cells are linear conductances and the drivers ideal sources, so the column
// currents are linear in the input voltages: I = V · A(G) exactly, with A [R, C] the array's
// effective conductance matrix (A = G without parasitics). The engine therefore solves the
// network once per programmed array and read condition (R right-hand sides, a unit voltage on
// each row) and reads with A as it reads with G; the result equals solving the network for
// every applied input, which `column_currents` does (tests check they agree).
//
//   circuit  the exact steady state: block Gauss-Seidel over lines (all rows solved exactly as
//            tridiagonal systems given the column voltages, then all columns given the rows),
//            then block SOR at the relaxation Young's theory gives for the measured rate (a
//            2x2 block system is consistently ordered), batched over arrays and right-hand
//            sides, stopped when the estimated error (last change x rate / (1 - rate)) is below
//            `tolerance` volts per volt of input. The matrix is SPD, so the iteration converges;
//            its rate grows with r·G·N².
//   fast     first order in the wire resistances: every wire carries the current the ideal
//            array would draw, so a node's drop is the sum of those currents times the segments
//            between it and its driver or sense amplifier. The fractional loss of cell (m, j) is
//              δ_mj = r_drv·S_m0 + r_row·P_mj + r_sense·Σ_i G_ij
//                     + r_col·[(R − m)·Σ_{i≤m} G_ij + Σ_{i>m} (R − i)·G_ij]
//            with S_mk = Σ_{l≥k} G_ml and P_mj = Σ_{k≤j} S_mk, and A_mj = G_mj / (1 + δ_mj):
//            equal to G (1 − δ) to first order, exact for a lone cell (V / (1/G + its wires)),
//            positive however large the drop (closed form, O(R·C) per array). The linear
//            G (1 − δ) goes negative where δ > 1; the rational form's error against `circuit`
//            is 10-100x smaller on the sweep (docs/results/ir_drop.md).
// A zero resistance joins the nodes it separates (r_row = 0: each row one node; r_col = 0: each
// column one node); all four zero leaves A = G exactly.
#pragma once
#include <torch/torch.h>

#include <string>

namespace cimkit::circuit {

struct WireParasitics {
  double r_row_ohm = 0.0;     // one word-line segment (between neighbouring cells of a row)
  double r_col_ohm = 0.0;     // one bit-line segment
  double r_driver_ohm = 0.0;  // the row driver's output resistance
  double r_sense_ohm = 0.0;   // the sense amplifier's input resistance (to its virtual ground)
  bool none() const { return r_row_ohm == 0 && r_col_ohm == 0 && r_driver_ohm == 0 && r_sense_ohm == 0; }
  // Error naming `key` for a negative or non-finite value.
  void check(const std::string& key = "ir_drop") const;
};

// A wire segment's resistance from its material and geometry: ρ · length / (width · thickness).
double segment_resistance_ohm(double resistivity_ohm_m, double length_m, double width_m, double thickness_m);

enum class IrDropMode { None, Circuit, Fast };
IrDropMode parse_ir_drop_mode(const std::string& name, const std::string& key = "ir_drop");
std::string to_string(IrDropMode m);

struct SolverOptions {
  double tolerance = 1e-12;  // estimated error of the node voltages, volts per volt of input
  int max_sweeps = 10000;
  int64_t memory_mb = 256;   // working memory bound: right-hand sides are solved in chunks
};

struct SolveStats {
  int sweeps = 0;            // the most sweeps any chunk needed
  double error_estimate = 0; // the largest final error estimate (volts per volt)
};

// g: [B, R, C] or [R, C] conductances (siemens, float64 or float32; computed in float64).
// Returns the effective conductance matrix, the same shape and dtype: I_j = Σ_i V_i A_ij.
// `circuit` throws an Error naming the array size and the rate when it does not converge.
torch::Tensor effective_conductance(const torch::Tensor& g, const WireParasitics& w, IrDropMode mode,
                                    const SolverOptions& options = {}, SolveStats* stats = nullptr);

// The network solved for given inputs (the iteration above): g [R, C], v [N, R] volts -> column
// currents [N, C] amperes (float64).
torch::Tensor column_currents(const torch::Tensor& g, const torch::Tensor& v, const WireParasitics& w,
                              const SolverOptions& options = {}, SolveStats* stats = nullptr);

// The same by a direct sparse factorisation of the nodal equations (Eigen's simplicial LDLT on
// the 2·R·C nodes): the reference for the iteration. Needs r_row > 0 and r_col > 0.
torch::Tensor column_currents_direct(const torch::Tensor& g, const torch::Tensor& v, const WireParasitics& w);

}  // namespace cimkit::circuit
