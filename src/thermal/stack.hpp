// The vertical build-up the thermal solver discretises, from the heat source down:
//   die layers   on the die footprint, top to bottom (array/BEOL, silicon, TIM); power enters
//                the first one, whose top face is adiabatic (no secondary path through C4/PCB);
//   package      a square copper spreader and a wider square copper sink centred under the die,
//                and convection from the sink base to ambient.
// Values are SI inside (m, W/(m·K), J/(m³·K), K/W, K); config keys carry the unit a user types
// (`thickness_um`, `side_mm`) and are converted once at parse time. Every default cites its
// source (../shared/reference/algorithms.md §5.2 and hotspot.md quote the originals).
#pragma once
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "core/params.hpp"

namespace cimkit::thermal {

// One layer on the die footprint.
struct Layer {
  std::string name;
  double thickness_m = 0;
  double k_w_mk = 0;    // thermal conductivity, W/(m·K)
  double cv_j_m3k = 0;  // volumetric heat capacity, J/(m³·K)
  int z_cells = 1;      // cells through the thickness (default discretisation; hotspot needs 1)
};

// A square plate centred under the die (spreader or sink).
struct Slab {
  double side_m = 0;
  double thickness_m = 0;
  double k_w_mk = 0;
  double cv_j_m3k = 0;
  int z_cells = 1;  // as Layer::z_cells
};

struct Package {
  Slab spreader, sink;
  // Sink base to ambient, for the whole base of side sink.side_m: HotSpot's r_convec. The
  // equivalent uniform heat-transfer coefficient is h = 1 / (r_convec · side²) (hotspot.md §6).
  double r_convec_k_w = 0;
  // Lumped heat capacity of the convective path (fins), spread over the sink base by area
  // (transient only). HotSpot's c_convec.
  double c_convec_j_k = 0;
  double ambient_k = 0;

  double h_w_m2k() const { return 1.0 / (r_convec_k_w * sink.side_m * sink.side_m); }
};

// The die layers, from the heat source down to the spreader.
struct Stack {
  std::vector<Layer> layers;
};

// The default for a 2-D ReRAM CIM die (algorithms.md §5.2 "suggested default stack"): 5 µm BEOL
// holding the crossbars, 150 µm silicon, 20 µm TIM.
Stack default_stack();
// HotSpot's die with its example silicon: silicon 150 µm at k 130, TIM 20 µm at k 4.
Stack hotspot_stack();
// HotSpot's default package (also our default): copper spreader 30 mm × 1 mm, copper sink
// 60 mm × 6.9 mm, r_convec 0.1 K/W, c_convec 140.4 J/K, ambient 318.15 K.
Package default_package();

// Declared keys of one `stack.layers[i]` entry, of `package.spreader` / `package.sink` and of
// the `package` scalars (for `cimkit describe` and docs).
Schema layer_schema();
Schema slab_schema(const std::string& name, const Slab& defaults);
Schema package_schema(const Package& defaults);

// Reads a `stack` section: {layers: [{name, thickness_um, k_w_mk, cv_j_m3k, z_cells}, ...],
// sources}. A null section gives `base`. Errors name the file, line and key.
Stack stack_from_config(const ConfigNode& section, const std::string& path = "stack",
                        const Stack& base = default_stack());
// Reads a `package` section: {spreader: {side_mm, thickness_mm, k_w_mk, cv_j_m3k, z_cells},
// sink: {...}, r_convec_k_w | h_w_m2k, c_convec_j_k, ambient_k, sources}; keys not given keep
// the values of `base`.
Package package_from_config(const ConfigNode& section, const std::string& path = "package",
                            const Package& base = default_package());

// Throws Error when the geometry cannot be discretised: no die layer, a spreader narrower than
// the die or a sink narrower than the spreader.
void check_geometry(const Stack& s, const Package& p, double die_width_m, double die_height_m);

}  // namespace cimkit::thermal
