#include "mapping/placement.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit::mapping {
namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

Schema Hierarchy::schema() {
  Schema s("hierarchy", "How arrays group into processing elements and tiles on the chip.");
  // Paper 000 §IV.A: "256 tiles, each with 8x8 PEs"; one crossbar per PE as MNSIM's PE counts.
  s.integer("tiles", "Tiles on the chip (paper 000 §IV.A: 256)").range(1, int64_t{1} << 30).def(int64_t{256});
  s.integer("pes_per_tile", "Processing elements per tile (paper 000: 8x8 = 64)").range(1, 1 << 20).def(int64_t{64});
  s.integer("arrays_per_pe", "Crossbar arrays per processing element").range(1, 1 << 20).def(int64_t{1});
  s.boolean("share_tiles", "Layers may share a tile (packed PE by PE); else each layer takes whole tiles").def(false);
  return s;
}

Hierarchy Hierarchy::from_params(const Params& p) {
  Hierarchy h;
  h.tiles = p.get_int("tiles");
  h.pes_per_tile = p.get_int("pes_per_tile");
  h.arrays_per_pe = p.get_int("arrays_per_pe");
  h.share_tiles = p.get_bool("share_tiles");
  return h;
}

nlohmann::json LayerPlacement::to_json() const {
  nlohmann::json j = mapping.to_json();
  j.erase("full_scale");
  j.erase("adc_step");
  j.erase("adc_code_max");
  j["name"] = name;
  j["n_pes"] = pes;
  j["n_tiles"] = tiles;
  j["pe_utilisation"] = pe_utilisation;
  return j;
}

nlohmann::json NetworkPlacement::to_json() const {
  nlohmann::json j;
  j["n_arrays"] = arrays;
  j["n_pes"] = pes;
  j["n_tiles"] = tiles;
  j["cell_utilisation"] = cell_utilisation;
  for (const auto& l : layers) j["layers"].push_back(l.to_json());
  return j;
}

NetworkPlacement place_network(const NetworkShape& net, const CrossbarSpec& spec, int dac_bits, const Hierarchy& h) {
  NetworkPlacement p;
  double used_cells = 0;
  for (const auto& l : net.layers) {
    LayerPlacement lp;
    lp.name = l.name;
    lp.mapping = plan_mapping(spec, dac_bits, l.out_features, l.in_features);
    lp.pes = ceil_div(lp.mapping.n_arrays, h.arrays_per_pe);
    lp.tiles = h.share_tiles ? 0 : ceil_div(lp.pes, h.pes_per_tile);
    lp.pe_utilisation = static_cast<double>(lp.mapping.n_arrays) / static_cast<double>(lp.pes * h.arrays_per_pe);
    p.arrays += lp.mapping.n_arrays;
    p.pes += lp.pes;
    p.tiles += lp.tiles;
    used_cells += lp.mapping.utilisation * static_cast<double>(lp.mapping.n_arrays);
    p.layers.push_back(std::move(lp));
  }
  if (h.share_tiles) p.tiles = ceil_div(p.pes, h.pes_per_tile);
  p.cell_utilisation = used_cells / static_cast<double>(p.arrays);
  if (p.tiles > h.tiles) {
    throw Error(fmt::format("{} does not fit the chip: it needs {} tiles ({} arrays in {} PEs of {} arrays, {} PEs per "
                            "tile{}), the chip has {}: {} tiles short ({:.1f}x the chip)",
                            net.name, p.tiles, p.arrays, p.pes, h.arrays_per_pe, h.pes_per_tile,
                            h.share_tiles ? ", tiles shared" : ", no tile shared between layers", h.tiles,
                            p.tiles - h.tiles, static_cast<double>(p.tiles) / static_cast<double>(h.tiles)));
  }
  return p;
}

}  // namespace cimkit::mapping
