#include "thermal/stack.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::thermal {

Stack default_stack() {
  Stack s;
  // BEOL: 5 µm is the top of the 2–5 µm range algorithms.md §5.2 suggests for a 2-D ReRAM die;
  // k 2.25 W/(m·K) and c_v 2.175e6 J/(m³·K) are 3D-ICE's BEOL (bin/example_transient.stk).
  s.layers.push_back({"beol", 5e-6, 2.25, 2.175e6, 1});
  // Silicon: 150 µm is HotSpot's default t_chip (temperature.c default_thermal_config); k 130 and
  // c_v 1.6303e6 are HotSpot's example.materials silicon (3D-ICE: 130 and 1.628e6).
  s.layers.push_back({"silicon", 150e-6, 130.0, 1.6303e6, 1});
  // TIM: HotSpot default_thermal_config, 20 µm at k 4.0, c_v 4.0e6.
  s.layers.push_back({"tim", 20e-6, 4.0, 4.0e6, 1});
  return s;
}

Stack hotspot_stack() {
  Stack s;
  // HotSpot example1 .config and example.materials: t_chip 0.15 mm, k_chip 130, c_v 1.6303e6.
  s.layers.push_back({"silicon", 150e-6, 130.0, 1.6303e6, 1});
  // HotSpot default_thermal_config: TIM 20 µm, k 4.0, c_v 4.0e6.
  s.layers.push_back({"tim", 20e-6, 4.0, 4.0e6, 1});
  return s;
}

Package default_package() {
  Package p;
  // HotSpot default_thermal_config: copper (temperature.h K_METAL 400 W/(m·K), SPEC_HEAT_METAL
  // 3.55e6 J/(m³·K)) spreader 30 mm × 1 mm and sink 60 mm × 6.9 mm.
  p.spreader = {30e-3, 1e-3, 400.0, 3.55e6, 1};
  p.sink = {60e-3, 6.9e-3, 400.0, 3.55e6, 1};
  // HotSpot default_thermal_config: r_convec 0.1 K/W, c_convec 140.4 J/K, ambient 318.15 K
  // (45 °C). h = 1/(0.1·0.06²) ≈ 2778 W/(m²·K), forced air with fins (hotspot.md §6).
  p.r_convec_k_w = 0.1;
  p.c_convec_j_k = 140.4;
  p.ambient_k = 318.15;
  return p;
}

Schema layer_schema() {
  Schema s("stack.layers[i]", "One die layer, listed from the heat source down to the spreader.");
  s.string("name", "Layer name (unique)").require();
  s.real("thickness_um", "Thickness").with_unit("um").above(0).require();
  s.real("k_w_mk", "Thermal conductivity").with_unit("W/(m K)").above(0).require();
  s.real("cv_j_m3k", "Volumetric heat capacity (transient only)").with_unit("J/(m^3 K)").above(0).require();
  s.integer("z_cells", "Cells through the thickness (default discretisation; hotspot needs 1)").range(1, 64).def(int64_t{1});
  return s;
}

Schema slab_schema(const std::string& name, const Slab& d) {
  Schema s("package." + name, "A square copper plate centred under the die.");
  s.real("side_mm", "Side of the square").with_unit("mm").above(0).def(d.side_m * 1e3);
  s.real("thickness_mm", "Thickness").with_unit("mm").above(0).def(d.thickness_m * 1e3);
  s.real("k_w_mk", "Thermal conductivity").with_unit("W/(m K)").above(0).def(d.k_w_mk);
  s.real("cv_j_m3k", "Volumetric heat capacity (transient only)").with_unit("J/(m^3 K)").above(0).def(d.cv_j_m3k);
  s.integer("z_cells", "Cells through the thickness (default discretisation; hotspot needs 1)").range(1, 64).def(int64_t{d.z_cells});
  return s;
}

Schema package_schema(const Package& d) {
  Schema s("package", "Spreader, sink and convection to ambient.");
  s.real("r_convec_k_w", "Convection resistance of the whole sink base to ambient (HotSpot r_convec)")
      .with_unit("K/W").above(0).def(d.r_convec_k_w);
  s.real("h_w_m2k", "Heat-transfer coefficient at the sink base, instead of r_convec_k_w (r = 1/(h side^2))")
      .with_unit("W/(m^2 K)").above(0);
  s.real("c_convec_j_k", "Heat capacity of the convective path, spread over the sink base (transient only)")
      .with_unit("J/K").at_least(0).def(d.c_convec_j_k);
  s.real("ambient_k", "Ambient temperature").with_unit("K").above(0).def(d.ambient_k);
  return s;
}

Stack stack_from_config(const ConfigNode& section, const std::string& path, const Stack& base) {
  if (section.is_null()) return base;
  if (!section.is_map()) {
    throw ConfigError(section.loc(), path, std::string("expected a map {layers: [...]}, found a ") + section.kind_name());
  }
  for (const auto& [key, value] : section.items()) {
    if (key != "layers" && key != "sources") fail_unknown_key(key, value, path, {"layers", "sources"});
  }
  const ConfigNode* layers = section.find("layers");
  if (!layers) return base;
  if (!layers->is_seq() || layers->elements().empty()) {
    throw ConfigError(layers->loc(), path + ".layers", "a non-empty list of layers from the heat source down");
  }
  Stack s;
  std::set<std::string> names;
  const Schema schema = layer_schema();
  for (size_t i = 0; i < layers->elements().size(); ++i) {
    const std::string lp = fmt::format("{}.layers[{}]", path, i);
    const Params p = parse_params(layers->elements()[i], schema, lp);
    Layer l{p.get_string("name"), p.get_real("thickness_um") * 1e-6, p.get_real("k_w_mk"), p.get_real("cv_j_m3k"),
            static_cast<int>(p.get_int("z_cells"))};
    if (!names.insert(l.name).second) p.fail("name", "duplicate layer name '" + l.name + "'");
    s.layers.push_back(l);
  }
  return s;
}

Package package_from_config(const ConfigNode& section, const std::string& path, const Package& base) {
  if (section.is_null()) return base;
  const Params p = parse_params(section, package_schema(base), path, {"spreader", "sink", "sources"});
  auto slab = [&](const std::string& key, const Slab& d) {
    const ConfigNode* n = section.find(key);
    const Params q = parse_params(n ? *n : ConfigNode(), slab_schema(key, d), path + "." + key);
    return Slab{q.get_real("side_mm") * 1e-3, q.get_real("thickness_mm") * 1e-3, q.get_real("k_w_mk"),
                q.get_real("cv_j_m3k"), static_cast<int>(q.get_int("z_cells"))};
  };
  Package out;
  out.spreader = slab("spreader", base.spreader);
  out.sink = slab("sink", base.sink);
  out.c_convec_j_k = p.get_real("c_convec_j_k");
  out.ambient_k = p.get_real("ambient_k");
  if (p.given("h_w_m2k")) {
    if (p.given("r_convec_k_w")) p.fail("h_w_m2k", "give r_convec_k_w or h_w_m2k, not both");
    out.r_convec_k_w = 1.0 / (p.get_real("h_w_m2k") * out.sink.side_m * out.sink.side_m);
  } else {
    out.r_convec_k_w = p.get_real("r_convec_k_w");
  }
  return out;
}

void check_geometry(const Stack& s, const Package& p, double die_width_m, double die_height_m) {
  if (s.layers.empty()) throw Error("thermal stack: no die layer; list at least the silicon");
  const double die_side = std::max(die_width_m, die_height_m);
  if (p.spreader.side_m < die_side * (1 - 1e-12)) {
    throw Error(fmt::format("package.spreader.side_mm: {} mm is smaller than the die ({} mm × {} mm); the spreader "
                            "must cover the die",
                            format_double(p.spreader.side_m * 1e3), format_double(die_width_m * 1e3),
                            format_double(die_height_m * 1e3)));
  }
  if (p.sink.side_m < p.spreader.side_m * (1 - 1e-12)) {
    throw Error(fmt::format("package.sink.side_mm: {} mm is smaller than the spreader ({} mm); the sink must cover "
                            "the spreader",
                            format_double(p.sink.side_m * 1e3), format_double(p.spreader.side_m * 1e3)));
  }
}

}  // namespace cimkit::thermal
