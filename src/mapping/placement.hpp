// Whole networks on a chip: each weight layer's arrays (the crossbar engine's own geometry,
// plan_mapping), grouped into processing elements (PEs) and tiles.
//
// Convention: a PE holds `arrays_per_pe` arrays and a tile `pes_per_tile` PEs; a layer's arrays
// (times its duplication) fill whole PEs, and layers do not share tiles unless `share_tiles`
// (then layers are packed PE by PE and the tile count is ceil(Σ PEs / pes_per_tile)). A network
// that needs more tiles than the chip has is an error saying by how much. The cost model places
// its layers with the same functions (place_layer, tiles_needed, check_fits).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "crossbar/layer_mapping.hpp"
#include "mapping/network.hpp"

namespace cimkit::mapping {

// The chip's hierarchy (`chip.hierarchy` of the cost presets to come; defaults: paper 000
// §IV.A, 256 tiles of 8x8 PEs, one 128x128 array per PE as MNSIM counts its crossbars).
struct Hierarchy {
  int64_t tiles = 256;
  int64_t pes_per_tile = 64;
  int64_t arrays_per_pe = 1;
  bool share_tiles = false;
  static Schema schema();
  static Hierarchy from_params(const Params& p);
};

struct LayerPlacement {
  std::string name;
  int weight_bits = 0, input_bits = 0;  // the widths it is mapped at (its own, else the chip's)
  LayerMapping mapping;     // one copy: arrays, row tiles, slices, utilisation of the cells
  int64_t duplication = 1;  // copies of the weights
  int64_t arrays = 0;       // mapping.n_arrays · duplication
  int64_t pes = 0;          // ceil(arrays / arrays_per_pe)
  int64_t tiles = 0;        // ceil(pes / pes_per_tile): whole tiles of its own (with shared
                            // tiles the network packs PEs instead, NetworkPlacement::tiles)
  double pe_utilisation = 0;  // arrays / (pes · arrays_per_pe)
  nlohmann::json to_json() const;
};

struct NetworkPlacement {
  std::vector<LayerPlacement> layers;
  int64_t arrays = 0, pes = 0, tiles = 0;
  double cell_utilisation = 0;  // used cells / cells of the used arrays
  nlohmann::json to_json() const;
};

// Places one layer: its matrix on arrays of `spec` at the layer's own weight and input widths
// (spec's where not given) with `dac_bits` DACs, `duplication` copies in `h`'s PEs and tiles.
LayerPlacement place_layer(const WeightLayer& layer, const CrossbarSpec& spec, int dac_bits, const Hierarchy& h,
                           int64_t duplication = 1);

// The same layer with `duplication` copies: arrays, PEs, tiles and PE utilisation again (the
// mapping of one copy is kept), for duplication searches.
void set_duplication(LayerPlacement& p, const Hierarchy& h, int64_t duplication);

// Tiles the placed layers need: Σ their tiles, or with shared tiles ceil(Σ PEs / PEs per tile).
int64_t tiles_needed(const std::vector<LayerPlacement>& layers, const Hierarchy& h);

// An error unless `layers` fit `h`'s tiles, naming the tiles needed, available and missing;
// `network` (and `chip`, when not empty) name what was placed where.
void check_fits(const std::vector<LayerPlacement>& layers, const Hierarchy& h, const std::string& network,
                const std::string& chip = "");

// Places `net` on arrays of `spec` with `dac_bits` DACs and `h`'s PEs and tiles, each layer at
// its own widths, one copy each. Error when it does not fit (check_fits).
NetworkPlacement place_network(const NetworkShape& net, const CrossbarSpec& spec, int dac_bits, const Hierarchy& h);

}  // namespace cimkit::mapping
