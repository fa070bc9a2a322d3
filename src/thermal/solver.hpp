// The thermal solver: a layered stack under a die, discretised into a thermal RC network
//   C dθ/dt + G θ = P,   θ = T − T_ambient,
// G symmetric positive definite (every node has a conductive path to ambient), C diagonal.
//
// Two discretisations of the same stack (docs/thermal.md explains both and why they differ):
//   Default  cell-centred finite volumes: one node per cell at the cell centre, the die grid
//            refined laterally beyond the die into graded cells covering the spreader and sink
//            in full, half-cell series conductances between neighbours (across materials too),
//            a Robin boundary (half sink cell + 1/(hA)) at the sink base, adiabatic elsewhere.
//   Hotspot  HotSpot's grid model exactly as ../shared/reference/hotspot.md states it: every
//            layer (die layers, spreader core, sink core) on the die grid, a vertical link
//            through the full thickness of the upper layer, the spreader and sink beyond the die
//            lumped into 12 peripheral nodes, r_convec spread over the sink base by area.
//
// Lifecycle: ThermalModel(spec) assembles G, C and the ambient links once; factor() factors G
// once (steady() does it on first use); steady(P) is then one pair of triangular solves.
// TransientSolver(model, dt) factors C/dt + G once and steps backward Euler.
// Units: W, K, W/K, J/K, m, s. Power maps are Grid2D in watts per die cell (floorplan.hpp).
#pragma once
#include <Eigen/Sparse>
#include <Eigen/SparseCholesky>

#include <memory>
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "core/params.hpp"
#include "thermal/floorplan.hpp"
#include "thermal/stack.hpp"

namespace cimkit::thermal {

enum class Discretisation { Default, Hotspot };
// How G θ = P is solved: `cg`, conjugate gradients with the separable preconditioner of pcg.hpp
// (no factorisation; fastest for one-off solves of big grids), or `direct`, a sparse LDLᵀ
// factorised once (Eigen::SimplicialLDLT; each later solve is two triangular sweeps).
enum class LinearSolver { Cg, Direct };
Discretisation discretisation_from_name(const std::string& name, const SourceLoc& loc = {},
                                        const std::string& path = "mode");
std::string name_of(Discretisation d);

// The die grid: explicit nx × ny, or cells_per_tile × the tile count along each side.
struct GridSpec {
  int nx = 0, ny = 0;          // explicit (both or neither)
  int cells_per_tile = 0;      // or this many cells along each side of a tile ...
  double tile_width_m = 0;     // ... of this pitch (the floorplan's tiles)
  double tile_height_m = 0;
  int outer_cells = 8;         // default discretisation: graded cells across each ring beyond the die

  // nx, ny for a die; Error when tiles do not divide the die or nothing is given.
  std::pair<int, int> resolve(double die_width_m, double die_height_m) const;
};
Schema grid_schema();
// `grid: {nx, ny}` or `{cells_per_tile, tile_width_um, tile_height_um}`, plus `outer_cells`.
// A null section is HotSpot's default 64 × 64.
GridSpec grid_from_config(const ConfigNode& section, const std::string& path = "grid");

struct ModelSpec {
  Stack stack = default_stack();
  Package package = default_package();
  double die_width_m = 0, die_height_m = 0;
  int nx = 64, ny = 64;  // die grid (HotSpot's default grid_rows/grid_cols)
  Discretisation mode = Discretisation::Default;
  int outer_cells = 8;   // see GridSpec
  LinearSolver solver = LinearSolver::Cg;
  // CG: relative residual ||P − Gθ|| / ||P||; 1e-8 leaves ~1e-9 K and 1e-9 of the power.
  double tolerance = 1e-8;
};

// Bytes a ThermalModel of `spec` needs (assembly, matrix, preconditioner or factor, fields), an
// upper estimate; the constructor refuses a model above available_memory_bytes() before it
// allocates anything.
double estimate_model_bytes(const ModelSpec& spec);

// A solved temperature field.
struct ThermalField {
  Eigen::VectorXd rise_k;  // every node, above ambient
  Grid2D die_k;            // the top die layer (where power enters), absolute, [ny, nx]
  double heat_out_w = 0;   // heat leaving through the ambient links: Σ G_amb,i θ_i
};

// A separable stand-in for the network, used to precondition CG (pcg.hpp): every sub-layer
// spread over the whole NX × NY tensor grid (cell sizes dx, dy), with conductances
//   x neighbours  ax · dy_j / ((dx_i + dx_i+1)/2),   y neighbours  ay · dx_i / ((dy_j + dy_j+1)/2),
//   to the layer below  g_down · dx_i·dy_j,   bottom layer to ambient  g_ambient · dx_i·dy_j,
// and capacity c · dx_i·dy_j. Nodes the box lacks (HotSpot's periphery) map to -1.
struct BoxModel {
  struct Layer {
    double ax = 0, ay = 0;  // W/K
    double g_down = 0;      // W/(m² K), to the next layer
    double c = 0;           // J/(m² K)
  };
  std::vector<double> dx, dy;  // m; dy from north to south
  std::vector<Layer> layers;
  double g_ambient = 0;        // W/(m² K), bottom layer
  std::vector<int> index;      // node -> l·NX·NY + gy·NX + gx, or -1
};

// The assembled network (see docs/thermal.md for the node layout of each discretisation).
struct Network {
  std::vector<Eigen::Triplet<double>> links;  // (i, j, G) for i < j, W/K
  Eigen::VectorXd g_ambient;                  // W/K from each node to ambient
  Eigen::VectorXd capacitance;                // J/K
  std::vector<int> die_node;                  // die cell (row·nx + col) -> node reported
  std::vector<std::vector<std::pair<int, double>>> source;  // die cell -> (node, share of its power)
  std::vector<std::string> node_group;        // one name per group of nodes, for describe()
  std::vector<int> group_start;               // first node of each group
  int n_nodes = 0;
  BoxModel box;
};
Network assemble_default(const ModelSpec& spec);
Network assemble_hotspot(const ModelSpec& spec);

// HotSpot's package resistances beyond the die (hotspot.md §5–6); *_x for the west/east
// trapezoids (heat flowing along x), *_y for north/south. K/W.
struct HotspotPackageR {
  double r_sp1_x, r_sp1_y, r_hs1_x, r_hs1_y, r_hs2_x, r_hs2_y, r_hs;
  double r_sp_per_x, r_sp_per_y, r_hs_c_per_x, r_hs_c_per_y, r_hs_per;
  double r_amb_c_per_x, r_amb_c_per_y, r_amb_per;
};
HotspotPackageR hotspot_package_r(const Package& p, double die_width_m, double die_height_m);

class SeparablePreconditioner;

class ThermalModel {
 public:
  explicit ThermalModel(ModelSpec spec);
  ~ThermalModel();
  ThermalModel(ThermalModel&&) noexcept;
  ThermalModel& operator=(ThermalModel&&) noexcept;

  const ModelSpec& spec() const { return spec_; }
  const Network& network() const { return net_; }
  int n_nodes() const { return net_.n_nodes; }
  // G with the ambient links on its diagonal (SPD), W/K.
  const Eigen::SparseMatrix<double>& conductance() const { return g_; }

  // Prepares the steady solve (the LDLᵀ factorisation, or CG's preconditioner); steady() calls
  // it when needed.
  void factor();
  // Steady state for a die power map (watts per cell, nx × ny).
  ThermalField steady(const Grid2D& power_w);
  // Node power vector for a die power map.
  Eigen::VectorXd injection(const Grid2D& power_w) const;
  // Temperatures from node rises.
  ThermalField field(Eigen::VectorXd rise_k) const;
  int last_iterations() const { return last_iterations_; }  // CG iterations of the last solve

 private:
  ModelSpec spec_;
  Network net_;
  Eigen::SparseMatrix<double> g_;
  std::unique_ptr<Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>>> ldlt_;
  std::unique_ptr<SeparablePreconditioner> precond_;
  int last_iterations_ = 0;
};

// Backward Euler: (C/dt + G) θ[n+1] = (C/dt) θ[n] + P[n+1]. Unconditionally stable; first order
// in dt. Starts at ambient unless reset.
class TransientSolver {
 public:
  TransientSolver(const ThermalModel& model, double dt_s);
  ~TransientSolver();
  void reset(double temperature_k);     // uniform start
  void reset(const ThermalField& f);    // start from a field of the same model
  const ThermalField& step(const Grid2D& power_w);  // advance by dt
  const ThermalField& state() const { return state_; }
  double time_s() const { return time_s_; }
  double dt_s() const { return dt_s_; }

 private:
  const ThermalModel* model_;
  double dt_s_, time_s_ = 0;
  Eigen::VectorXd c_over_dt_;
  Eigen::SparseMatrix<double> a_;  // C/dt + G
  std::unique_ptr<Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>>> ldlt_;
  std::unique_ptr<SeparablePreconditioner> precond_;
  ThermalField state_;
};

}  // namespace cimkit::thermal
