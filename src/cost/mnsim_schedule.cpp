#include "cost/mnsim_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace cimkit::cost::mnsim {
namespace {

// Split_map (Model_latency.py:47-59): an output row of `width` pixels in `copies` column
// segments, the first `width % copies` one pixel longer.
std::vector<int64_t> split_map(int64_t width, int64_t copies) {
  if (copies <= 1) return {width};
  std::vector<int64_t> s(static_cast<size_t>(copies), width / copies);
  for (int64_t m = 0; m < width % copies; ++m) ++s[static_cast<size_t>(m)];
  return s;
}

// Model_latency.Judge (lines 142-163): with duplication, the input pixel a conv waits for when
// its producer's rows were split too. Kept as MNSIM computes it (m x split[m] is MNSIM's sum).
int64_t judge(int64_t pos, int64_t in_w, int64_t kernel, const std::vector<int64_t>& producer_split) {
  const int64_t row = (pos + 1) / in_w;
  int64_t col = (pos + 1) % in_w;
  size_t m = 0;
  while (m + 1 < producer_split.size() && col > producer_split[m]) col -= producer_split[m++];
  if (col - kernel >= 0 || m == 0) return pos;
  return static_cast<int64_t>(m) * producer_split[m] - 1 + row * in_w;
}

}  // namespace

ScheduleResult schedule_pixels(const std::vector<ScheduleNode>& nodes, double bus_bits, double cycle_s) {
  ScheduleResult res;
  const size_t n = nodes.size();
  res.nodes.resize(n);
  std::vector<std::vector<double>> finish(n);  // F_l, row-major (fc: `outputs` copies)
  std::vector<std::vector<int64_t>> splits(n);  // self.layer_split, for Judge
  // Buffer.calculate_buf_{read,write}_latency (Buffer.py:424-430).
  auto access = [&](double bytes) { return std::ceil(bytes * 8.0 / bus_bits) * cycle_s; };
  // Finish time of input `u` at position `pos` of an in_h x in_w map (the network input is ready
  // at 0). In MNSIM's graphs the map is u's output; where it is not (a chain of traced weight
  // layers, whose pools are not listed), the position is scaled to the last pixel of u's map
  // that it covers, as a pool between them would wait for.
  auto ready = [&](int64_t u, int64_t pos, int64_t in_h, int64_t in_w) {
    if (u < 0) return 0.0;
    const auto& f = finish[static_cast<size_t>(u)];
    if (f.empty()) return 0.0;
    const ScheduleNode& src = nodes[static_cast<size_t>(u)];
    if (src.kind != NodeKind::Fc && (src.out_h != in_h || src.out_w != in_w) && in_h > 0 && in_w > 0) {
      auto scale = [](int64_t x, int64_t from, int64_t to) { return std::min(to, ((x + 1) * to + from - 1) / from) - 1; };
      pos = scale(pos / in_w, in_h, src.out_h) * src.out_w + scale(pos % in_w, in_w, src.out_w);
    }
    return f[static_cast<size_t>(std::clamp<int64_t>(pos, 0, static_cast<int64_t>(f.size()) - 1))];
  };
  for (size_t l = 0; l < n; ++l) {
    const ScheduleNode& nd = nodes[l];
    NodeTimes& out = res.nodes[l];
    std::vector<double>& F = finish[l];
    const double b8 = nd.bits / 8.0, C = nd.line_values;
    const int64_t K = nd.kernel, s = nd.stride, kp = std::max<int64_t>(nd.kernel - nd.padding, 0);
    const int64_t first = std::max<int64_t>(nd.kernel - nd.padding, 1);
    bool started = false;
    // One pixel: the line-buffer write of `indata` and read of `rdata` bytes (PE_latency.py:
    // 132-138, Pooling_latency.py:36-43) plus the shared part, after `begin`.
    auto pixel = [&](double begin, double indata, double rdata, double& chain_busy) {
      const double w = access(indata), r = access(rdata), d = w + r + nd.fixed_s;
      if (!started) out.start_s = begin, started = true;
      out.write_s += w;
      out.read_s += r;
      out.busy_s += d;
      chain_busy += d;
      ++out.pixels;
      return begin + d;
    };
    // The last input pixel of the window of output (i, j) (Model_latency.py:1027-1032 conv,
    // 1230-1231 pooling): row min(max(K-p,1) + s i, H_in), column min(max(K-p,1) + s j, W_in);
    // a 1x1 conv reads (s i, s j).
    auto window_end = [&](int64_t i, int64_t j, bool one_by_one) {
      if (one_by_one) return i * s * nd.in_w + j * s;
      return (std::min(first + s * i, nd.in_h) - 1) * nd.in_w + std::min(first + s * j, nd.in_w) - 1;
    };
    switch (nd.kind) {
      case NodeKind::Conv: {
        // Lines 985-1160 (and 874-977 for the first node, which waits for no input). With
        // `copies`, each row is split into column segments, each with its own chain; MNSIM
        // indexes a segment's pixels (and their windows) by the column inside the segment.
        const std::vector<int64_t> split = split_map(nd.out_w, nd.copies);
        splits[l] = split;
        std::vector<double> chain(split.size(), 0.0), chain_busy(split.size(), 0.0);
        F.reserve(static_cast<size_t>(nd.out_h * nd.out_w));
        for (int64_t i = 0; i < nd.out_h; ++i) {
          for (size_t m = 0; m < split.size(); ++m) {
            const bool lead = split.size() == 1 || m == 0;  // the segment at the left edge
            for (int64_t j = 0; j < split[m]; ++j) {
              // Line-buffer traffic in mode 1 (lines 1057-1066, 1103-1110, 1134-1139), in
              // positions of C_PE values: the first pixel fills (K-p)^2 ((K-p) K in a later
              // segment), a row's first pixel s (K-p) (s K), the rest of the first row s K, every
              // other pixel s^2; the read is the whole window (max_row values) at a row's first
              // pixel and s K positions after it.
              double in_pos = 0;
              if (i == 0 && j == 0) in_pos = lead ? static_cast<double>(kp * kp) : static_cast<double>(kp * K);
              else if (j == 0) in_pos = lead ? static_cast<double>(s * kp) : static_cast<double>(s * K);
              else in_pos = i == 0 ? static_cast<double>(s * K) : static_cast<double>(s * s);
              const double r_pos = j == 0 ? static_cast<double>(K * K) : static_cast<double>(s * K);
              double begin = chain[m];
              const int64_t pos = window_end(i, j, K == 1);
              for (int64_t u : nd.inputs) {
                int64_t p = pos;
                if (nd.copies > 1 && u >= 0 && !splits[static_cast<size_t>(u)].empty()) {
                  p = judge(pos, nd.in_w, K, splits[static_cast<size_t>(u)]);
                }
                begin = std::max(begin, ready(u, p, nd.in_h, nd.in_w));
              }
              chain[m] = pixel(begin, C * in_pos * b8, C * r_pos * b8, chain_busy[m]);
              F.push_back(chain[m]);
            }
          }
        }
        out.copy_busy_s = *std::max_element(chain_busy.begin(), chain_busy.end());
        break;
      }
      case NodeKind::Fc: {
        // Lines 1173-1202: one step once every input is complete (its list's last entry); the
        // line buffer writes and reads the max_row inputs once.
        double begin = 0;
        for (int64_t u : nd.inputs) begin = std::max(begin, u < 0 || finish[static_cast<size_t>(u)].empty() ? 0.0 : finish[static_cast<size_t>(u)].back());
        double busy = 0;
        const double f = pixel(begin, C * b8, C * b8, busy);
        F.assign(static_cast<size_t>(std::max<int64_t>(nd.outputs, 1)), f);
        splits[l] = {nd.in_w * nd.in_h};
        out.copy_busy_s = busy;
        break;
      }
      case NodeKind::Pool: {
        // Lines 1203-1286 (traffic 1233-1274): one chain; the first pixel writes (K-p)^2
        // positions, a row's first s (K-p), every other s^2 (no first-row case); reads K^2 at a
        // row's first pixel, s K after it.
        double chain = 0, busy = 0;
        for (int64_t i = 0; i < nd.out_h; ++i) {
          for (int64_t j = 0; j < nd.out_w; ++j) {
            double in_pos = 0;
            if (i == 0 && j == 0) in_pos = static_cast<double>(kp * kp);
            else if (j == 0) in_pos = static_cast<double>(s * kp);
            else in_pos = static_cast<double>(s * s);
            const double r_pos = j == 0 ? static_cast<double>(K * K) : static_cast<double>(s * K);
            double begin = chain;
            const int64_t pos = window_end(i, j, false);
            for (int64_t u : nd.inputs) begin = std::max(begin, ready(u, pos, nd.in_h, nd.in_w));
            chain = pixel(begin, C * in_pos * b8, C * r_pos * b8, busy);
            F.push_back(chain);
          }
        }
        splits[l] = {nd.in_w};  // MNSIM records the input width for a pooling layer
        out.copy_busy_s = busy;
        break;
      }
      case NodeKind::Add: {
        // Lines 1287-1327: pixel (i, j) of every input, then a fixed time.
        double chain = 0, busy = 0;
        for (int64_t i = 0; i < nd.out_h; ++i) {
          for (int64_t j = 0; j < nd.out_w; ++j) {
            double begin = chain;
            for (int64_t u : nd.inputs) begin = std::max(begin, ready(u, i * nd.out_w + j, nd.out_h, nd.out_w));
            chain = pixel(begin, 0.0, 0.0, busy);
            F.push_back(chain);
          }
        }
        splits[l] = {nd.out_w};
        out.copy_busy_s = busy;
        break;
      }
    }
    out.finish_s = F.empty() ? 0.0 : *std::max_element(F.begin(), F.end());
    // model_latency_output (lines 775-779): the first input's last finish is subtracted.
    const int64_t u0 = nd.inputs.empty() ? -1 : nd.inputs.front();
    out.layer_latency_s = out.finish_s - (l > 0 && u0 >= 0 ? res.nodes[static_cast<size_t>(u0)].finish_s : 0.0);
  }
  // "Entire latency" is max(max(finish_time)) (line 823): Python's max over the per-node lists is
  // the lexicographically largest list (the node with the latest first finish), then its largest
  // entry. For MNSIM's networks that is the output node.
  const std::vector<double>* top = nullptr;
  for (const auto& f : finish) {
    if (!top || std::lexicographical_compare(top->begin(), top->end(), f.begin(), f.end())) top = &f;
  }
  if (top && !top->empty()) res.latency_s = *std::max_element(top->begin(), top->end());
  return res;
}

}  // namespace cimkit::cost::mnsim
