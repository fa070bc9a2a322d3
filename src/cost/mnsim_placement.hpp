// MNSIM 2.0's tile placement and hop distances (Mapping_Model/Tile_connection_graph.py at
// ca39ccb; ../shared/reference/mnsim.md §2.8): the tiles of the network's nodes get consecutive
// ids in node order and are laid out on the Tile_Num grid in spiral ("hui", Tile_Connection = 2)
// order; each node then picks the tile that aggregates its partial sums, which fixes `din` (hops
// inside the node) and `dtr` (hops to its consumers).
#pragma once
#include <cstdint>
#include <vector>

namespace cimkit::cost::mnsim {

struct GridPos {
  int64_t row = 0, col = 0;  // MNSIM's mapping matrix index [row][col]; row < Tile_Num[0]
};

// The first `count` positions of the spiral on a rows x cols grid (TCG.generate_hui_matrix,
// Tile_connection_graph.py:91-148): tile 0 at (0, 0), then shell k = 1, 2, ... wraps the k x k
// square already filled: odd k down column k from row 0 and back along row k to column 0; even k
// along row k from column 0 and up column k to row 0. MNSIM's generator only works on square
// grids; on a rectangular one the spiral runs on the enclosing square and skips the positions
// outside the grid.
std::vector<GridPos> spiral_order(int64_t rows, int64_t cols, int64_t count);

// A node as the placement sees it.
struct PlacedNode {
  int64_t tiles = 0;               // conv/fc: ceil(PEs / PEs per tile); pooling 1; element_sum 0
  bool element_sum = false;        // a residual join (no tiles, MNSIM's global accumulator)
  std::vector<int64_t> consumers;  // nodes that read this node's output (MNSIM's Outputindex)
};

struct Hops {
  double in_layer = 0;  // din: the farthest own tile from the aggregating tile
  double transfer = 0;  // dtr: the farthest consumer tile (or the global accumulator) from it
};

// din and dtr of every node (TCG.mapping_net and calculate_transfer_distance,
// Tile_connection_graph.py:499-605), with MNSIM's rules and tie-break:
//  * a node with tiles tries each of its tiles as the aggregator A, in row-major grid order, and
//    keeps the first strict minimum of din + dtr (starting from MNSIM's bound 1000), where
//    din = max Manhattan(A, own tiles) and dtr = max Manhattan(A, consumers' tiles); a
//    single-tile node has din = 0;
//  * a node whose consumers are all element_sums sends to the global accumulator at the grid's
//    left middle: dtr = |row_A - rows/2| + col_A;
//  * an element_sum has din = 0 and dtr = max over its consumers of the same distance from the
//    consumer's first tile (row-major);
//  * the last node has dtr = 0 and din = min over A of max Manhattan(A, own tiles).
std::vector<Hops> tile_hops(const std::vector<PlacedNode>& nodes, int64_t rows, int64_t cols);

}  // namespace cimkit::cost::mnsim
