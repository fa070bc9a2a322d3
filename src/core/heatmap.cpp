// PNG heat maps (plot.hpp): the map, axes in mm, cell labels and a colour bar with ticks.
#include <fmt/format.h>

#include <array>
#include <cmath>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/plot.hpp"
#include "core/raster.hpp"

namespace cimkit {
namespace {

using namespace raster;

// Ticks at multiples of a nice step inside [lo, hi] (about `n` of them), with the decimals the
// step needs.
struct Ticks {
  std::vector<double> values;
  int decimals = 0;
  std::string label(double v) const {
    if (std::abs(v) < 1e-12) v = 0;  // no "-0.0"
    return fmt::format("{:.{}f}", v, decimals);
  }
};

Ticks ticks_in(double lo, double hi, int n) {
  Ticks t;
  if (!(hi > lo)) {
    t.values = {lo};
    t.decimals = 2;
    return t;
  }
  const double step = nice_step((hi - lo) / n);
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k += 1) t.values.push_back(k * step);
  t.decimals = std::max(0, int(std::ceil(-std::log10(step) - 1e-9)));
  return t;
}

}  // namespace

Rgb heat_color(double t) {
  // Key points of matplotlib's viridis (perceptually uniform, colour-blind safe) at 0, 1/8 .. 1.
  static const std::array<Rgb, 9> kRamp = {Rgb{68, 1, 84},    Rgb{71, 44, 122},  Rgb{59, 81, 139},
                                           Rgb{44, 113, 142}, Rgb{33, 144, 141}, Rgb{39, 173, 129},
                                           Rgb{92, 200, 99},  Rgb{170, 220, 50}, Rgb{253, 231, 37}};
  if (!(t > 0)) return kRamp.front();
  if (t >= 1) return kRamp.back();
  const double x = t * 8.0;
  const int i = std::min(7, static_cast<int>(x));
  const double f = x - i;
  auto mix = [f](uint8_t a, uint8_t b) { return uint8_t(std::lround(a + (b - a) * f)); };
  return {mix(kRamp[i].r, kRamp[i + 1].r), mix(kRamp[i].g, kRamp[i + 1].g), mix(kRamp[i].b, kRamp[i + 1].b)};
}

void write_heatmap_png(const std::string& path, const HeatMap& m) {
  if (m.rows < 1 || m.cols < 1 || m.values.size() != size_t(m.rows) * size_t(m.cols)) {
    throw DataError(path, fmt::format("a heat map needs rows x cols values, got {} x {} and {} values", m.rows, m.cols,
                                      m.values.size()));
  }
  double lo = m.values[0], hi = m.values[0];
  for (double v : m.values) {
    if (!std::isfinite(v)) throw DataError(path, "the heat map holds a non-finite value");
    lo = std::min(lo, v), hi = std::max(hi, v);
  }
  const bool axes = m.width_mm > 0 && m.height_mm > 0;
  const int cell = std::max(1, 512 / std::max(m.rows, m.cols));
  const int s = 2, th = text_height(s);  // text scale and height
  const int margin = 16, tick = 6, gap = 6, bar_w = 24;
  const int map_w = m.cols * cell, map_h = m.rows * cell;

  // Axes (mm): ticks along the south and west edges.
  Ticks tx, ty;
  int y_label_w = 0;
  if (axes) {
    tx = ticks_in(m.x0_mm, m.x0_mm + m.width_mm, 5);
    ty = ticks_in(m.y0_mm, m.y0_mm + m.height_mm, 5);
    for (double v : ty.values) y_label_w = std::max(y_label_w, text_width(ty.label(v), s));
  }
  const int left = margin + (axes ? th + gap + y_label_w + gap + tick : 0);
  const int top = margin + th + gap + th + gap;  // the title, then the colour bar's unit
  const int bottom_extra = (axes ? tick + gap + th + gap + th : 0) + (m.note.empty() ? 0 : gap + th);
  // Colour bar: about five ticks in `unit`, labels to its right.
  const Ticks tb = ticks_in(lo, hi, 5);
  int bar_label_w = text_width(m.unit, s);
  for (double v : tb.values) bar_label_w = std::max(bar_label_w, text_width(tb.label(v), s));
  const int bx = left + map_w + 2 * margin;
  const int w = std::max({bx + bar_w + tick + gap + bar_label_w + margin, text_width(m.title, s) + 2 * margin,
                          left + text_width(m.note, s) + margin});
  const int h = top + map_h + bottom_extra + margin;
  Canvas cv(w, h);
  draw_text(cv, margin, margin, m.title, kBlack, s);

  const double span = hi > lo ? hi - lo : 1.0;
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) {
      const Rgb col = heat_color((m.values[size_t(r) * m.cols + c] - lo) / span);
      cv.fill(left + c * cell, top + r * cell, left + (c + 1) * cell - 1, top + (r + 1) * cell - 1, col);
    }
  for (const auto& [r, c] : m.marks) {
    if (r < 0 || c < 0 || r >= m.rows || c >= m.cols) continue;
    const int x0 = left + c * cell, y0 = top + r * cell, x1 = x0 + cell - 1, y1 = y0 + cell - 1;
    for (int x = x0; x <= x1; ++x) cv.set(x, y0, kWhite), cv.set(x, y1, kWhite);
    for (int y = y0; y <= y1; ++y) cv.set(x0, y, kWhite), cv.set(x1, y, kWhite);
  }

  // Frame and axes.
  cv.fill(left - 1, top - 1, left + map_w, top - 1, kBlack);
  cv.fill(left - 1, top + map_h, left + map_w, top + map_h, kBlack);
  cv.fill(left - 1, top - 1, left - 1, top + map_h, kBlack);
  cv.fill(left + map_w, top - 1, left + map_w, top + map_h, kBlack);
  if (axes) {
    for (double v : tx.values) {
      const int x = left + int(std::lround((v - m.x0_mm) / m.width_mm * map_w));
      cv.fill(x, top + map_h + 1, x, top + map_h + tick, kBlack);
      const std::string l = tx.label(v);
      draw_text(cv, x - text_width(l, s) / 2, top + map_h + tick + gap, l, kTickText, s);
    }
    for (double v : ty.values) {
      const int y = top + map_h - int(std::lround((v - m.y0_mm) / m.height_mm * map_h));
      cv.fill(left - 1 - tick, y, left - 2, y, kBlack);
      const std::string l = ty.label(v);
      draw_text(cv, left - 1 - tick - gap - text_width(l, s), y - th / 2, l, kTickText, s);
    }
    const std::string xl = "x [mm]", yl = "y [mm]";
    draw_text(cv, left + map_w / 2 - text_width(xl, s) / 2, top + map_h + tick + gap + th + gap, xl, kBlack, s);
    draw_text_up(cv, margin, top + map_h / 2 + text_width(yl, s) / 2, yl, kBlack, s);
  }
  if (!m.note.empty()) draw_text(cv, left, h - margin - th, m.note, kTickText, s);

  // Labels: a white box with the text beside the cell — above, below, right or left of it, the
  // first place inside the map that covers no box already drawn and no other labelled cell (else
  // moved down past the boxes).
  std::vector<std::array<int, 4>> boxes;  // x0, y0, x1, y1
  auto overlaps = [&](int x0, int y0, int bw, int bh) {
    for (const auto& b : boxes)
      if (x0 <= b[2] && x0 + bw - 1 >= b[0] && y0 <= b[3] && y0 + bh - 1 >= b[1]) return true;
    return false;
  };
  auto covers_a_label_cell = [&](const HeatLabel& self, int x0, int y0, int bw, int bh) {
    for (const HeatLabel& o : m.labels) {
      if (&o == &self) continue;
      const int ox = left + o.col * cell + cell / 2, oy = top + o.row * cell + cell / 2;
      if (ox >= x0 - 2 && ox <= x0 + bw + 1 && oy >= y0 - 2 && oy <= y0 + bh + 1) return true;
    }
    return false;
  };
  for (const HeatLabel& l : m.labels) {
    if (l.row < 0 || l.col < 0 || l.row >= m.rows || l.col >= m.cols || l.text.empty()) continue;
    const int cx = left + l.col * cell + cell / 2, cy = top + l.row * cell + cell / 2;
    const int bw = text_width(l.text, s) + 6, bh = th + 6, off = std::max(4, cell / 2 + 2);
    const std::array<std::array<int, 2>, 4> places = {{{cx - bw / 2, cy - off - bh},
                                                        {cx - bw / 2, cy + off},
                                                        {cx + off, cy - bh / 2},
                                                        {cx - off - bw, cy - bh / 2}}};
    int x0 = places[0][0], y0 = places[0][1];
    bool placed = false;
    for (const auto& [px, py] : places) {
      if (px >= left && py >= top && px + bw <= left + map_w && py + bh <= top + map_h && !overlaps(px, py, bw, bh) &&
          !covers_a_label_cell(l, px, py, bw, bh)) {
        x0 = px, y0 = py, placed = true;
        break;
      }
    }
    if (!placed) {
      x0 = std::clamp(places[2][0], left, std::max(left, left + map_w - bw));
      y0 = places[2][1];
      y0 = std::clamp(y0, top, std::max(top, top + map_h - bh));
      while (overlaps(x0, y0, bw, bh)) y0 += bh + 2;
    }
    boxes.push_back({x0, y0, x0 + bw - 1, y0 + bh - 1});
    // A leader line from the cell centre to the box, then the box.
    const int lx = std::clamp(cx, x0, x0 + bw - 1), ly = std::clamp(cy, y0, y0 + bh - 1);
    const int steps = std::max(std::abs(lx - cx), std::abs(ly - cy));
    for (int k = 0; k <= steps; ++k) {
      const int px = cx + (steps ? (lx - cx) * k / steps : 0), py = cy + (steps ? (ly - cy) * k / steps : 0);
      cv.set(px, py, kWhite);
      cv.set(px, py + 1, kBlack);
    }
    cv.fill(cx - 2, cy - 2, cx + 2, cy + 2, kWhite);
    cv.fill(x0, y0, x0 + bw - 1, y0 + bh - 1, kBlack);
    cv.fill(x0 + 1, y0 + 1, x0 + bw - 2, y0 + bh - 2, kWhite);
    draw_text(cv, x0 + 3, y0 + 3, l.text, kBlack, s);
  }

  // Colour bar with ticks.
  for (int y = 0; y < map_h; ++y) {
    const Rgb col = heat_color(1.0 - double(y) / std::max(1, map_h - 1));
    cv.fill(bx, top + y, bx + bar_w - 1, top + y, col);
  }
  draw_text(cv, bx, margin + th + gap, m.unit, kBlack, s);
  for (double v : tb.values) {
    const int y = hi > lo ? top + map_h - 1 - int(std::lround((v - lo) / span * (map_h - 1))) : top + map_h / 2;
    cv.fill(bx + bar_w, y, bx + bar_w + tick - 1, y, kBlack);
    const std::string l = tb.label(v);
    draw_text(cv, bx + bar_w + tick + gap, std::clamp(y - th / 2, top - th / 2, top + map_h - th / 2), l, kTickText, s);
  }
  const std::vector<uint8_t> png = encode_png(path, cv);
  write_file_atomic(path, std::string(png.begin(), png.end()));
}

}  // namespace cimkit
