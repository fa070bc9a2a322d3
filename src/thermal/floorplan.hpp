// A die floorplan for the thermal solver: the die's width and height and rectangular blocks with
// their power, and the rasterisation of that power onto the solver's cell grid.
//
// Coordinates: x grows east, y grows north, a block's (x, y) is its south-west corner (as in
// HotSpot's .flp files). Grids are row-major with row 0 at the NORTH edge (y = H) and column 0
// at x = 0, HotSpot's orientation (hotspot.md §9), so a grid printed row by row reads like a map.
#pragma once
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "core/params.hpp"

namespace cimkit::thermal {

struct Block {
  std::string name;
  double x_m = 0, y_m = 0;  // south-west corner
  double width_m = 0, height_m = 0;
  double power_w = 0;
  SourceLoc loc;  // where the block was declared (empty when built in code)
};

struct Floorplan {
  double width_m = 0, height_m = 0;
  std::vector<Block> blocks;

  double total_power_w() const;
  // ConfigError (at the block's file and line when it came from a file) for a non-positive die
  // or block size, negative power, a duplicate name, a block outside the die, or two blocks that
  // overlap (their power would be counted twice).
  void validate(const std::string& path = "blocks") const;
  const Block& block(const std::string& name) const;  // Error with a did-you-mean otherwise

  // Reads `die: {width_mm, height_mm}` and `blocks: [{name, x_mm, y_mm, width_mm, height_mm,
  // power_w}, ...]` from a map (other keys of `root` are the caller's), and validates.
  static Floorplan from_config(const ConfigNode& root);
};

Schema die_schema();
Schema block_schema();

// A scalar field on the die grid: [ny rows (north first), nx columns].
struct Grid2D {
  int nx = 0, ny = 0;
  std::vector<double> values;  // row-major, size nx·ny

  Grid2D() = default;
  Grid2D(int nx_, int ny_, double fill = 0.0) : nx(nx_), ny(ny_), values(size_t(nx_) * ny_, fill) {}
  double& at(int row, int col) { return values[size_t(row) * nx + col]; }
  double at(int row, int col) const { return values[size_t(row) * nx + col]; }
  double sum() const;
};

// The cells a block covers and by how much (exact rectangle intersection), for a die of
// width × height split into nx × ny cells.
struct CellOverlap {
  int row = 0, col = 0;
  double area_m2 = 0;
};
std::vector<CellOverlap> block_cells(const Block& b, double die_width_m, double die_height_m, int nx, int ny);

// Watts per cell: Σ over blocks of overlap area / block area × block power (hotspot.md §2), so
// the grid's sum equals the floorplan's total power.
Grid2D rasterise(const Floorplan& fp, int nx, int ny);

}  // namespace cimkit::thermal
