#include "thermal/solver.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "core/memory.hpp"
#include "core/text.hpp"
#include "thermal/pcg.hpp"

namespace cimkit::thermal {

Discretisation discretisation_from_name(const std::string& name, const SourceLoc& loc, const std::string& path) {
  if (name == "default") return Discretisation::Default;
  if (name == "hotspot") return Discretisation::Hotspot;
  throw ConfigError(loc, path, "unknown discretisation '" + name + "'" + did_you_mean_hint(name, {"default", "hotspot"}) +
                                   "; allowed: default, hotspot");
}

std::string name_of(Discretisation d) { return d == Discretisation::Default ? "default" : "hotspot"; }

std::pair<int, int> GridSpec::resolve(double w, double h) const {
  if (nx > 0 && ny > 0) return {nx, ny};
  if (cells_per_tile > 0 && tile_width_m > 0 && tile_height_m > 0) {
    const double tx = w / tile_width_m, ty = h / tile_height_m;
    if (std::abs(tx - std::round(tx)) > 1e-6 || std::abs(ty - std::round(ty)) > 1e-6 || std::round(tx) < 1 ||
        std::round(ty) < 1) {
      throw Error(fmt::format("grid: tiles of {} × {} mm do not divide the {} × {} mm die; give nx and ny instead",
                              format_double(tile_width_m * 1e3), format_double(tile_height_m * 1e3),
                              format_double(w * 1e3), format_double(h * 1e3)));
    }
    return {int(std::round(tx)) * cells_per_tile, int(std::round(ty)) * cells_per_tile};
  }
  throw Error("grid: give nx and ny, or cells_per_tile with the tile pitch");
}

Schema grid_schema() {
  Schema s("grid", "The die grid (every layer of the hotspot discretisation uses it).");
  // 64 × 64 is HotSpot's default grid_rows/grid_cols (temperature_grid.h).
  s.integer("nx", "Cells along x (columns); with ny").range(1, 4096);
  s.integer("ny", "Cells along y (rows); with nx").range(1, 4096);
  s.integer("cells_per_tile", "Cells along each side of a tile (instead of nx, ny)").range(1, 256);
  s.real("tile_width_um", "Tile pitch along x, for cells_per_tile").with_unit("um").above(0);
  s.real("tile_height_um", "Tile pitch along y, for cells_per_tile").with_unit("um").above(0);
  s.integer("outer_cells", "Default discretisation: graded cells across each ring beyond the die (die to spreader edge, spreader to sink edge)")
      .range(1, 256).def(int64_t{8});
  return s;
}

GridSpec grid_from_config(const ConfigNode& section, const std::string& path) {
  const Params p = parse_params(section, grid_schema(), path);
  GridSpec g;
  g.outer_cells = int(p.get_int("outer_cells"));
  const bool explicit_grid = p.given("nx") || p.given("ny");
  if (explicit_grid && p.given("cells_per_tile")) p.fail("cells_per_tile", "give nx and ny, or cells_per_tile, not both");
  if (explicit_grid) {
    if (!p.given("nx") || !p.given("ny")) p.fail(p.given("nx") ? "nx" : "ny", "give both nx and ny");
    g.nx = int(p.get_int("nx"));
    g.ny = int(p.get_int("ny"));
  } else if (p.given("cells_per_tile")) {
    if (!p.given("tile_width_um") || !p.given("tile_height_um")) {
      p.fail("cells_per_tile", "needs the tile pitch: tile_width_um and tile_height_um");
    }
    g.cells_per_tile = int(p.get_int("cells_per_tile"));
    g.tile_width_m = p.get_real("tile_width_um") * 1e-6;
    g.tile_height_m = p.get_real("tile_height_um") * 1e-6;
  } else {
    g.nx = g.ny = 64;
  }
  return g;
}

double estimate_model_bytes(const ModelSpec& s) {
  // Nodes: the die grid plus the graded rings beyond it (at most 2 · outer_cells on each side),
  // in every z layer of the stack, spreader and sink.
  int z = s.package.spreader.z_cells + s.package.sink.z_cells;
  for (const auto& l : s.stack.layers) z += l.z_cells;
  const int ring = s.mode == Discretisation::Default ? 4 * std::max(1, s.outer_cells) : 0;
  const double nodes = double(s.nx + ring) * double(s.ny + ring) * std::max(1, z);
  // Per node: ~3 link triplets (16 B each), the sparse matrix (~7 non-zeros of 12 B), ~12 vectors
  // of doubles (solver, preconditioner, fields) and the index maps: ~300 B. The preconditioner's
  // dense axis bases and their eigen-solves: ~4 · 8 B · (NX² + NY²).
  double bytes = 300.0 * nodes + 32.0 * (double(s.nx + ring) * (s.nx + ring) + double(s.ny + ring) * (s.ny + ring));
  // The direct solver's factor: fill-in of roughly 4 · log2(n) entries of 12 B per node.
  if (s.solver == LinearSolver::Direct) bytes += nodes * 48.0 * std::log2(std::max(2.0, nodes));
  return bytes;
}

ThermalModel::ThermalModel(ModelSpec spec) : spec_(std::move(spec)) {
  if (spec_.nx < 1 || spec_.ny < 1) throw Error(fmt::format("thermal grid {} × {}: needs at least 1 × 1", spec_.nx, spec_.ny));
  if (!(spec_.die_width_m > 0) || !(spec_.die_height_m > 0)) throw Error("thermal model: the die size must be > 0");
  check_geometry(spec_.stack, spec_.package, spec_.die_width_m, spec_.die_height_m);
  require_memory(estimate_model_bytes(spec_),
                 fmt::format("the thermal model of a {} × {} grid", spec_.nx, spec_.ny),
                 "use a coarser grid (thermal grid: nx / ny, or cells_per_tile)");
  net_ = spec_.mode == Discretisation::Hotspot ? assemble_hotspot(spec_) : assemble_default(spec_);
  // G: each link adds +G on both diagonals and −G off the diagonal; ambient links only on the
  // diagonal. Symmetric, weakly diagonally dominant, irreducible with at least one ambient link:
  // positive definite.
  // Filled column by column into reserved space (setFromTriplets on ~10⁶ triplets costs more
  // than everything else in the constructor).
  Eigen::VectorXi per_col = Eigen::VectorXi::Ones(net_.n_nodes);
  for (const auto& l : net_.links) ++per_col[l.row()], ++per_col[l.col()];
  Eigen::VectorXd diag = net_.g_ambient;
  for (const auto& l : net_.links) diag[l.row()] += l.value(), diag[l.col()] += l.value();
  g_.resize(net_.n_nodes, net_.n_nodes);
  g_.reserve(per_col);
  for (int i = 0; i < net_.n_nodes; ++i) g_.insert(i, i) = diag[i];
  for (const auto& l : net_.links) {
    g_.insert(l.row(), l.col()) = -l.value();
    g_.insert(l.col(), l.row()) = -l.value();
  }
  g_.makeCompressed();
}

ThermalModel::~ThermalModel() = default;
ThermalModel::ThermalModel(ThermalModel&&) noexcept = default;
ThermalModel& ThermalModel::operator=(ThermalModel&&) noexcept = default;

void ThermalModel::factor() {
  if (ldlt_ || precond_) return;
  if (spec_.solver == LinearSolver::Cg) {
    precond_ = std::make_unique<SeparablePreconditioner>(net_.box, Eigen::VectorXd(g_.diagonal()), 0.0);
    return;
  }
  auto f = std::make_unique<Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>>>();
  f->compute(g_);
  if (f->info() != Eigen::Success) throw Error("thermal model: the conductance matrix is not positive definite");
  ldlt_ = std::move(f);
}

Eigen::VectorXd ThermalModel::injection(const Grid2D& power_w) const {
  if (power_w.nx != spec_.nx || power_w.ny != spec_.ny) {
    throw Error(fmt::format("power map is {} × {} cells; the thermal grid is {} × {}", power_w.nx, power_w.ny, spec_.nx,
                            spec_.ny));
  }
  Eigen::VectorXd p = Eigen::VectorXd::Zero(net_.n_nodes);
  for (size_t c = 0; c < net_.source.size(); ++c) {
    for (const auto& [node, share] : net_.source[c]) p[node] += share * power_w.values[c];
  }
  return p;
}

ThermalField ThermalModel::field(Eigen::VectorXd rise_k) const {
  ThermalField f;
  f.heat_out_w = net_.g_ambient.dot(rise_k);
  f.die_k = Grid2D(spec_.nx, spec_.ny);
  for (size_t c = 0; c < net_.die_node.size(); ++c) f.die_k.values[c] = spec_.package.ambient_k + rise_k[net_.die_node[c]];
  f.rise_k = std::move(rise_k);
  return f;
}

ThermalField ThermalModel::steady(const Grid2D& power_w) {
  factor();
  const Eigen::VectorXd p = injection(power_w);
  Eigen::VectorXd rise;
  if (precond_) {
    rise = Eigen::VectorXd::Zero(p.size());
    last_iterations_ = pcg_solve(g_, p, rise, *precond_, spec_.tolerance).iterations;
  } else {
    rise = ldlt_->solve(p);
  }
  return field(std::move(rise));
}

TransientSolver::TransientSolver(const ThermalModel& model, double dt_s) : model_(&model), dt_s_(dt_s) {
  if (!(dt_s > 0) || !std::isfinite(dt_s)) throw Error(fmt::format("transient: dt {} s; allowed: > 0", dt_s));
  c_over_dt_ = model.network().capacitance / dt_s;
  a_ = model.conductance();
  for (int i = 0; i < a_.rows(); ++i) a_.coeffRef(i, i) += c_over_dt_[i];
  if (model.spec().solver == LinearSolver::Cg) {
    precond_ = std::make_unique<SeparablePreconditioner>(model.network().box, Eigen::VectorXd(a_.diagonal()), 1.0 / dt_s);
  } else {
    ldlt_ = std::make_unique<Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>>>(a_);
    if (ldlt_->info() != Eigen::Success) throw Error("transient: C/dt + G is not positive definite");
  }
  reset(model.spec().package.ambient_k);
}

TransientSolver::~TransientSolver() = default;

void TransientSolver::reset(double temperature_k) {
  time_s_ = 0;
  state_ = model_->field(Eigen::VectorXd::Constant(model_->n_nodes(), temperature_k - model_->spec().package.ambient_k));
}

void TransientSolver::reset(const ThermalField& f) {
  if (f.rise_k.size() != model_->n_nodes()) throw Error("transient: the field comes from a different thermal model");
  time_s_ = 0;
  state_ = f;
}

const ThermalField& TransientSolver::step(const Grid2D& power_w) {
  const Eigen::VectorXd rhs = c_over_dt_.cwiseProduct(state_.rise_k) + model_->injection(power_w);
  if (precond_) {
    Eigen::VectorXd x = state_.rise_k;  // warm start from the last step
    pcg_solve(a_, rhs, x, *precond_, model_->spec().tolerance);
    state_ = model_->field(std::move(x));
  } else {
    state_ = model_->field(ldlt_->solve(rhs));
  }
  time_s_ += dt_s_;
  return state_;
}

}  // namespace cimkit::thermal
