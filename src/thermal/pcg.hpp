// Conjugate gradients for the thermal network, preconditioned by an exact solve of its separable
// stand-in (BoxModel in solver.hpp): on a tensor grid whose sub-layers all cover the whole grid
// with uniform k and thickness, the lateral operator of every layer is a sum of 1-D operators
// (Tx ⊗ Dy + Dx ⊗ Ty). Their generalized eigenvectors (T v = μ D v, D the cell sizes) turn the
// whole 3-D operator into one small tridiagonal system per lateral mode (p, q) across the layers:
//   [ax_l μx_p + ay_l μy_q] δ_lm + Z_lm,   Z = vertical links, ambient and c/dt per unit area.
// Applying the preconditioner is two dense transforms per layer (GEMMs) and nx·ny tridiagonal
// solves. Nodes the box lacks (HotSpot's 12 peripheral nodes) get Jacobi scaling; nodes the
// network lacks (die layers beyond the die in the default discretisation) are padded with zero
// residual. The real network differs from its stand-in only near the die edge and at the
// periphery, so CG converges in a few dozen iterations, independent of the grid.
#pragma once
#include <Eigen/Dense>
#include <Eigen/Sparse>

#include "thermal/solver.hpp"

namespace cimkit::thermal {

class SeparablePreconditioner {
 public:
  // `diag` is the diagonal of the matrix being solved (for the nodes outside the box);
  // `c_scale` multiplies the box's per-area capacity (1/dt for backward Euler, 0 for steady).
  SeparablePreconditioner(const BoxModel& box, const Eigen::VectorXd& diag, double c_scale);
  void apply(const Eigen::VectorXd& r, Eigen::VectorXd& z) const;

 private:
  const BoxModel* box_;
  int nx_, ny_, nl_;
  // Double precision: in single precision the transforms run twice as fast, but the softest
  // modes (HotSpot's package leaks most heat through the periphery the box lacks) lose enough
  // accuracy to double the iteration count.
  Eigen::MatrixXd vx_, vy_;  // generalized eigenvectors, columns
  Eigen::ArrayXXd inv_d_;    // [nl, nx·ny] 1/pivot of each mode's tridiagonal LDLᵀ
  Eigen::ArrayXXd mult_;     // [nl, nx·ny] sub-diagonal multipliers
  Eigen::VectorXd inv_diag_;
  mutable Eigen::VectorXd work_;
};

struct PcgStats {
  int iterations = 0;
  double relative_residual = 0;
};

// Solves A x = b from the initial x; stops at ||b − A x|| ≤ tol·||b||. Error when it does not
// converge in max_iter iterations.
PcgStats pcg_solve(const Eigen::SparseMatrix<double>& a, const Eigen::VectorXd& b, Eigen::VectorXd& x,
                   const SeparablePreconditioner& m, double tol, int max_iter = 1000);

}  // namespace cimkit::thermal
