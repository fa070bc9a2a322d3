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
  j["weight_bits"] = weight_bits;
  j["input_bits"] = input_bits;
  j["duplication"] = duplication;
  j["n_arrays"] = arrays;
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

LayerPlacement place_layer(const WeightLayer& layer, const CrossbarSpec& spec, int dac_bits, const Hierarchy& h,
                           int64_t duplication) {
  CrossbarSpec s = spec;
  s.weight_bits = layer.weight_bits.value_or(spec.weight_bits);
  s.input_bits = layer.input_bits.value_or(spec.input_bits);
  LayerPlacement p;
  p.name = layer.name;
  p.weight_bits = s.weight_bits;
  p.input_bits = s.input_bits;
  p.mapping = plan_mapping(s, dac_bits, layer.out_features, layer.in_features);
  set_duplication(p, h, duplication);
  return p;
}

void set_duplication(LayerPlacement& p, const Hierarchy& h, int64_t duplication) {
  if (duplication < 1) throw Error(fmt::format("layer {}: duplication {}; allowed: >= 1", p.name, duplication));
  p.duplication = duplication;
  p.arrays = p.mapping.n_arrays * duplication;
  p.pes = ceil_div(p.arrays, h.arrays_per_pe);
  p.tiles = ceil_div(p.pes, h.pes_per_tile);
  p.pe_utilisation = static_cast<double>(p.arrays) / static_cast<double>(p.pes * h.arrays_per_pe);
}

int64_t tiles_needed(const std::vector<LayerPlacement>& layers, const Hierarchy& h) {
  int64_t tiles = 0, pes = 0;
  for (const auto& l : layers) tiles += l.tiles, pes += l.pes;
  return h.share_tiles ? ceil_div(pes, h.pes_per_tile) : tiles;
}

void check_fits(const std::vector<LayerPlacement>& layers, const Hierarchy& h, const std::string& network,
                const std::string& chip) {
  const int64_t tiles = tiles_needed(layers, h);
  if (tiles <= h.tiles) return;
  int64_t arrays = 0, pes = 0;
  for (const auto& l : layers) arrays += l.arrays, pes += l.pes;
  throw Error(fmt::format("{} does not fit the chip{}: it needs {} tiles ({} arrays in {} PEs of {} arrays, {} PEs per "
                          "tile{}), the chip has {}: {} tiles short ({:.1f}x the chip)",
                          network, chip.empty() ? "" : " (" + chip + ")", tiles, arrays, pes, h.arrays_per_pe,
                          h.pes_per_tile, h.share_tiles ? ", tiles shared" : ", no tile shared between layers", h.tiles,
                          tiles - h.tiles, static_cast<double>(tiles) / static_cast<double>(h.tiles)));
}

NetworkPlacement place_network(const NetworkShape& net, const CrossbarSpec& spec, int dac_bits, const Hierarchy& h) {
  NetworkPlacement p;
  double used_cells = 0;
  for (const auto& l : net.layers) {
    p.layers.push_back(place_layer(l, spec, dac_bits, h));
    const LayerPlacement& lp = p.layers.back();
    p.arrays += lp.arrays;
    p.pes += lp.pes;
    used_cells += lp.mapping.utilisation * static_cast<double>(lp.arrays);
  }
  p.tiles = tiles_needed(p.layers, h);
  p.cell_utilisation = used_cells / static_cast<double>(p.arrays);
  check_fits(p.layers, h, net.name);
  return p;
}

}  // namespace cimkit::mapping
