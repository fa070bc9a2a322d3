// MNSIM 2.0's pipelined schedule (Latency_Model/Model_latency.py, calculate_model_latency with
// mode = 1 as main.py runs it, lines 852-1396 at ca39ccb; ../shared/reference/mnsim.md §2.8): every
// node (conv, fc, pooling, element_sum) produces its output pixels in row-major order, one after
// another, and a pixel starts once the node's previous pixel is done and the last input pixel
// its window needs has been produced:
//
//   F_l[k] = max(F_l[k-1], max over inputs u of F_u[dep_l(k)]) + d_l(k)
//
// d_l(k) is the pixel's line-buffer write and read (which depend on where the pixel is: the first
// pixel of the layer, of a row, of the first row, or any other) plus a part that every pixel of
// the node shares (ScheduleNode::fixed_s, priced by the caller).
#pragma once
#include <cstdint>
#include <vector>

namespace cimkit::cost::mnsim {

enum class NodeKind { Conv, Fc, Pool, Add };

struct ScheduleNode {
  NodeKind kind = NodeKind::Conv;
  std::vector<int64_t> inputs;  // node indices; -1: the network input (nothing to wait for)
  int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t kernel = 1, stride = 1, padding = 0;
  int64_t copies = 1;  // conv duplication: each output row in `copies` column segments
  // Line-buffer data in values per position: conv the input channels per PE (max_row / K^2), pool
  // its channels, fc the rows it reads (max_row); none for an element_sum.
  double line_values = 0;
  double bits = 8;     // bits per value in the line buffer
  double fixed_s = 0;  // per-pixel time besides the line-buffer write and read
  int64_t outputs = 1;  // fc: output features (MNSIM lists its one finish time that many times)
};

struct NodeTimes {
  double start_s = 0;          // when its first pixel begins
  double finish_s = 0;         // its last pixel's finish (max F)
  double busy_s = 0;           // Σ over its pixels of d
  double copy_busy_s = 0;      // the busiest copy's Σ d (= busy_s without duplication)
  double write_s = 0, read_s = 0;  // Σ line-buffer write / read times (the buffer energy's too)
  double layer_latency_s = 0;  // MNSIM's printed "layer latency": max F - max F of its first input
  int64_t pixels = 0;
};

struct ScheduleResult {
  std::vector<NodeTimes> nodes;
  double latency_s = 0;  // MNSIM's "Entire latency"
};

// Runs the recurrence over `nodes` (in order; a node reads only earlier ones). The line buffer
// moves `bus_bits` per cycle of `cycle_s` (Buffer.py: ceil(8 n / Buffer_Bitwidth) cycles for n
// bytes).
ScheduleResult schedule_pixels(const std::vector<ScheduleNode>& nodes, double bus_bits, double cycle_s);

}  // namespace cimkit::cost::mnsim
