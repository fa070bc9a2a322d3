// Whole networks on a chip: each weight layer's arrays (the crossbar engine's own geometry,
// plan_mapping), grouped into processing elements (PEs) and tiles.
//
// Convention: a PE holds `arrays_per_pe` arrays and a tile `pes_per_tile` PEs; a layer's arrays
// fill whole PEs, and layers do not share tiles unless `share_tiles` (then layers are packed
// PE by PE and the tile count is ceil(Σ PEs / pes_per_tile)). A network that needs more tiles
// than the chip has is an error saying by how much.
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
  LayerMapping mapping;   // arrays, row tiles, slices, utilisation of the cells
  int64_t pes = 0;        // ceil(arrays / arrays_per_pe)
  int64_t tiles = 0;      // ceil(pes / pes_per_tile) (0 when tiles are shared)
  double pe_utilisation = 0;  // arrays / (pes · arrays_per_pe)
  nlohmann::json to_json() const;
};

struct NetworkPlacement {
  std::vector<LayerPlacement> layers;
  int64_t arrays = 0, pes = 0, tiles = 0;
  double cell_utilisation = 0;  // used cells / cells of the used arrays
  nlohmann::json to_json() const;
};

// Places `net` on arrays of `spec` with `dac_bits` DACs and `h`'s PEs and tiles. Error when it
// does not fit (naming the tiles needed, available and missing).
NetworkPlacement place_network(const NetworkShape& net, const CrossbarSpec& spec, int dac_bits, const Hierarchy& h);

}  // namespace cimkit::mapping
