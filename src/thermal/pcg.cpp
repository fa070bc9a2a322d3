#include "thermal/pcg.hpp"

#include <fmt/format.h>

#include <Eigen/Eigenvalues>
#include <cmath>

#include "core/error.hpp"

namespace cimkit::thermal {
namespace {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The 1-D Neumann operator T of cells with sizes d (conductance 1/centre distance between
// neighbours) and D = diag(d): returns V with Vᵀ D V = I, Vᵀ T V = diag(mu).
Eigen::MatrixXd axis_basis(const std::vector<double>& d, Eigen::VectorXd& mu) {
  const int n = int(d.size());
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(n, n);
  for (int i = 0; i + 1 < n; ++i) {
    const double g = 2.0 / (d[i] + d[i + 1]);
    s(i, i) += g;
    s(i + 1, i + 1) += g;
    s(i, i + 1) -= g;
    s(i + 1, i) -= g;
  }
  Eigen::VectorXd inv_sqrt(n);
  for (int i = 0; i < n; ++i) inv_sqrt[i] = 1.0 / std::sqrt(d[i]);
  s = inv_sqrt.asDiagonal() * s * inv_sqrt.asDiagonal();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(s);
  mu = es.eigenvalues().cwiseMax(0.0);  // the constant mode is 0 up to rounding
  return inv_sqrt.asDiagonal() * es.eigenvectors();
}

}  // namespace

SeparablePreconditioner::SeparablePreconditioner(const BoxModel& box, const Eigen::VectorXd& diag, double c_scale)
    : box_(&box), nx_(int(box.dx.size())), ny_(int(box.dy.size())), nl_(int(box.layers.size())) {
  Eigen::VectorXd mux, muy;
  vx_ = axis_basis(box.dx, mux);
  vy_ = axis_basis(box.dy, muy);
  const int nm = nx_ * ny_;
  // Mode (q, p) sits at q·nx + p, matching the row-major [ny, nx] layout of a transformed layer.
  Eigen::ArrayXd lam_x(nm), lam_y(nm);
  for (int q = 0; q < ny_; ++q)
    for (int p = 0; p < nx_; ++p) lam_x[q * nx_ + p] = mux[p], lam_y[q * nx_ + p] = muy[q];
  inv_d_.resize(nl_, nm);
  mult_ = Eigen::ArrayXXd::Zero(nl_, nm);
  Eigen::ArrayXd prev_d;
  for (int l = 0; l < nl_; ++l) {
    const auto& L = box.layers[l];
    const double up = l > 0 ? box.layers[l - 1].g_down : 0.0;
    double z = up + L.g_down + c_scale * L.c;
    if (l + 1 == nl_) z += box.g_ambient;
    Eigen::ArrayXd a = L.ax * lam_x + L.ay * lam_y + z;
    if (l > 0) {
      // LDLᵀ of the tridiagonal with off-diagonal −g_up: m = −g_up / d_prev, d = a − m·(−g_up).
      const Eigen::ArrayXd m = -up / prev_d;
      mult_.row(l) = m.transpose();
      a += m * up;
    }
    prev_d = a;
    inv_d_.row(l) = a.inverse().transpose();
  }
  inv_diag_ = diag.cwiseInverse();
  work_.resize(Eigen::Index(nl_) * nm);
}

void SeparablePreconditioner::apply(const Eigen::VectorXd& r, Eigen::VectorXd& z) const {
  const int nm = nx_ * ny_;
  const auto& index = box_->index;
  work_.setZero();
  for (size_t i = 0; i < index.size(); ++i)
    if (index[i] >= 0) work_[index[i]] = r[i];
  // Forward transform of each layer: F = Vyᵀ R Vx.
  RowMat tmp(ny_, nx_);
  for (int l = 0; l < nl_; ++l) {
    Eigen::Map<RowMat> layer(work_.data() + Eigen::Index(l) * nm, ny_, nx_);
    tmp.noalias() = vy_.transpose() * layer;
    layer.noalias() = tmp * vx_;
  }
  // Tridiagonal solve across layers for every mode at once.
  auto row = [&](int l) { return Eigen::Map<Eigen::ArrayXd>(work_.data() + Eigen::Index(l) * nm, nm); };
  for (int l = 1; l < nl_; ++l) row(l) -= mult_.row(l).transpose() * row(l - 1);
  row(nl_ - 1) *= inv_d_.row(nl_ - 1).transpose();
  for (int l = nl_ - 2; l >= 0; --l) row(l) = row(l) * inv_d_.row(l).transpose() - mult_.row(l + 1).transpose() * row(l + 1);
  // Back: R = Vy F Vxᵀ.
  for (int l = 0; l < nl_; ++l) {
    Eigen::Map<RowMat> layer(work_.data() + Eigen::Index(l) * nm, ny_, nx_);
    tmp.noalias() = vy_ * layer;
    layer.noalias() = tmp * vx_.transpose();
  }
  z.resize(r.size());
  for (size_t i = 0; i < index.size(); ++i) z[i] = index[i] >= 0 ? work_[index[i]] : r[i] * inv_diag_[i];
}

PcgStats pcg_solve(const Eigen::SparseMatrix<double>& a, const Eigen::VectorXd& b, Eigen::VectorXd& x,
                   const SeparablePreconditioner& m, double tol, int max_iter) {
  PcgStats st;
  const double bnorm = b.norm();
  if (x.size() != b.size()) x = Eigen::VectorXd::Zero(b.size());
  if (bnorm == 0) {
    x.setZero();
    return st;
  }
  Eigen::VectorXd r = b - a * x, z, p, q;
  m.apply(r, z);
  p = z;
  double rz = r.dot(z);
  for (st.iterations = 0; st.iterations < max_iter; ++st.iterations) {
    st.relative_residual = r.norm() / bnorm;
    if (st.relative_residual <= tol) return st;
    q.noalias() = a * p;
    const double alpha = rz / p.dot(q);
    x += alpha * p;
    r -= alpha * q;
    m.apply(r, z);
    const double rz_new = r.dot(z);
    p = z + (rz_new / rz) * p;
    rz = rz_new;
  }
  st.relative_residual = r.norm() / bnorm;
  if (st.relative_residual > tol) {
    throw Error(fmt::format("thermal CG: no convergence in {} iterations (relative residual {:.3g}, tolerance {:.3g})",
                            max_iter, st.relative_residual, tol));
  }
  return st;
}

}  // namespace cimkit::thermal
