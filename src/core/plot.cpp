#include "core/plot.hpp"

#include "core/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/raster.hpp"

namespace cimkit {
namespace {

using namespace raster;  // Canvas, text, ticks, PNG encoding

// One axis: range, tick step, ticks and their label format.
struct Axis {
  double lo = 0, hi = 1, step = 0.25;
  std::vector<double> ticks;
  int decimals = 0;
  bool general = false;  // %g labels for very large or small magnitudes

  std::string label(double v) const {
    if (std::abs(v) < step * 1e-9) v = 0;  // no "-0.00"
    return general ? fmt::format("{:.3g}", v) : fmt::format("{:.{}f}", v, decimals);
  }
};

Axis make_axis(double dmin, double dmax, bool any, std::optional<double> fix_lo,
               std::optional<double> fix_hi) {
  Axis a;
  if (!any) dmin = 0, dmax = 1;
  double lo = fix_lo.value_or(dmin), hi = fix_hi.value_or(dmax);
  if (!(hi > lo)) {  // one value, or data beyond a fixed bound
    if (fix_lo) {
      hi = lo + (lo != 0 ? 0.1 * std::abs(lo) : 1);
    } else if (fix_hi) {
      lo = hi - (hi != 0 ? 0.1 * std::abs(hi) : 1);
    } else {
      const double d = lo != 0 ? 0.1 * std::abs(lo) : 1;
      lo -= d, hi += d;
    }
  }
  a.step = nice_step((hi - lo) / 4);
  if (!fix_lo) lo = std::floor(lo / a.step + 1e-9) * a.step;
  if (!fix_hi) hi = std::ceil(hi / a.step - 1e-9) * a.step;
  a.lo = lo, a.hi = hi;
  const double k0 = std::ceil(lo / a.step - 1e-9), k1 = std::floor(hi / a.step + 1e-9);
  for (int i = 0; i <= std::min(k1 - k0, 20.0); ++i) a.ticks.push_back((k0 + i) * a.step);
  double mag = 0;
  for (double t : a.ticks) mag = std::max(mag, std::abs(t));
  a.general = mag >= 1e6 || a.step < 1e-4;
  for (a.decimals = 0; a.decimals < 12; ++a.decimals) {
    const double s = a.step * std::pow(10.0, a.decimals);
    if (std::abs(s - std::round(s)) <= 1e-6 * s) break;
  }
  return a;
}

bool finite_point(const Series& s, size_t i) {
  return std::isfinite(s.xs[i]) && std::isfinite(s.ys[i]);
}

void check_chart(const std::string& path, const LineChart& c) {
  const std::string what = c.title.empty() ? "chart" : "chart '" + c.title + "'";
  if (c.width_px < 160 || c.width_px > 8192 || c.height_px < 120 || c.height_px > 8192)
    throw DataError(path, fmt::format("{}: size {}x{} px outside 160..8192 x 120..8192", what,
                                      c.width_px, c.height_px));
  if (c.series.empty()) throw DataError(path, what + " has no series");
  for (const Series& s : c.series) {
    if (s.xs.size() != s.ys.size())
      throw DataError(path, fmt::format("{}: series '{}' has {} x values but {} y values", what,
                                        s.name, s.xs.size(), s.ys.size()));
    if (s.xs.empty())
      throw DataError(path, fmt::format("{}: series '{}' has no points", what, s.name));
  }
  auto check_range = [&](const std::optional<double>& lo, const std::optional<double>& hi,
                         const char* axis) {
    if ((lo && !std::isfinite(*lo)) || (hi && !std::isfinite(*hi)) || (lo && hi && !(*lo < *hi)))
      throw DataError(
          path,
          fmt::format("{}: {} range [{}, {}] is not an interval of finite numbers", what, axis,
                      lo ? fmt::format("{}", *lo) : "auto", hi ? fmt::format("{}", *hi) : "auto"));
  };
  check_range(c.x_min, c.x_max, "x");
  check_range(c.y_min, c.y_max, "y");
}

// Coverage of one series' line inside the plot area, composited once so that the joints of a
// polyline are not blended twice.
class Stroke {
 public:
  Stroke(int x0, int y0, int x1, int y1)
      : x0_(x0), y0_(y0), w_(x1 - x0 + 1), h_(y1 - y0 + 1), cov_(size_t(w_) * h_, 0.f) {}

  // Segment from (ax, ay) to (bx, by) (pixel centres at integer coordinates), half width hw.
  void segment(double ax, double ay, double bx, double by, double hw) {
    // Clip to the area plus the pen first (Cohen-Sutherland), so that far-away points of a fixed
    // axis range neither overflow the pixel loops nor lose the visible part: a point outside is
    // moved along the line computed from the other end, which keeps the precision near the area.
    if (!(std::isfinite(ax) && std::isfinite(ay) && std::isfinite(bx) && std::isfinite(by))) return;
    const double m = hw + 2, x_lo = x0_ - m, x_hi = x0_ + w_ - 1 + m, y_lo = y0_ - m,
                 y_hi = y0_ + h_ - 1 + m;
    auto code = [&](double x, double y) {
      return (x < x_lo ? 1 : 0) | (x > x_hi ? 2 : 0) | (y < y_lo ? 4 : 0) | (y > y_hi ? 8 : 0);
    };
    for (int iter = 0; iter < 8; ++iter) {
      const int ca = code(ax, ay), cb = code(bx, by);
      if (!(ca | cb)) break;
      if (ca & cb) return;  // both on the outer side of one edge
      const bool move_a = ca != 0;
      double &px = move_a ? ax : bx, &py = move_a ? ay : by;
      const double qx = move_a ? bx : ax, qy = move_a ? by : ay;
      const int c = move_a ? ca : cb;
      if (c & 3) {
        const double x = (c & 1) ? x_lo : x_hi;
        py = qy + (x - qx) * ((py - qy) / (px - qx));
        px = x;
      } else {
        const double y = (c & 4) ? y_lo : y_hi;
        px = qx + (y - qy) * ((px - qx) / (py - qy));
        py = y;
      }
    }
    if (code(ax, ay) | code(bx, by)) return;
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    const int xa = int(std::floor(std::min(ax, bx) - hw - 1)),
              xb = int(std::ceil(std::max(ax, bx) + hw + 1));
    const int ya = int(std::floor(std::min(ay, by) - hw - 1)),
              yb = int(std::ceil(std::max(ay, by) + hw + 1));
    for (int y = std::max(ya, y0_); y <= std::min(yb, y0_ + h_ - 1); ++y)
      for (int x = std::max(xa, x0_); x <= std::min(xb, x0_ + w_ - 1); ++x) {
        double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
        t = std::clamp(t, 0.0, 1.0);
        const double ex = x - (ax + t * dx), ey = y - (ay + t * dy);
        cover(x, y, hw + 0.5 - std::sqrt(ex * ex + ey * ey));
      }
  }
  void dot(double cx, double cy, double r) { segment(cx, cy, cx, cy, r); }

  void composite(Canvas& cv, Rgb c) const {
    for (int y = 0; y < h_; ++y)
      for (int x = 0; x < w_; ++x) cv.blend(x0_ + x, y0_ + y, c, cov_[size_t(y) * w_ + x]);
  }

 private:
  void cover(int x, int y, double a) {
    float& v = cov_[size_t(y - y0_) * w_ + (x - x0_)];
    v = std::max(v, float(std::clamp(a, 0.0, 1.0)));
  }
  int x0_, y0_, w_, h_;
  std::vector<float> cov_;
};

// Draws `c` into the region of `cv` starting at column `ox`.
void render(Canvas& cv, int ox, const LineChart& c) {
  const int W = c.width_px, H = c.height_px;
  const int s = std::max(1, int(std::lround(std::min(W, H) / 250.0)));  // text scale
  const int ts = text_width(c.title, s + 1) <= W - 20 ? s + 1 : s;      // title scale
  const int tick_len = 2 + 2 * s;
  const double hw = std::max(1.0, 0.6 * s);  // half line width, px

  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  bool any = false;
  for (const Series& se : c.series)
    for (size_t i = 0; i < se.xs.size(); ++i)
      if (finite_point(se, i)) {
        any = true;
        xmin = std::min(xmin, se.xs[i]), xmax = std::max(xmax, se.xs[i]);
        ymin = std::min(ymin, se.ys[i]), ymax = std::max(ymax, se.ys[i]);
      }
  const Axis ax = make_axis(xmin, xmax, any, c.x_min, c.x_max);
  const Axis ay = make_axis(ymin, ymax, any, c.y_min, c.y_max);

  int ylab_w = 0;
  for (double t : ay.ticks) ylab_w = std::max(ylab_w, text_width(ay.label(t), s));
  const int gap = 3 * s;
  const int left =
      ox + gap + (c.y_label.empty() ? 0 : text_height(s) + 2 * gap) + ylab_w + gap + tick_len;
  const int right = ox + W - 1 - std::max(4 * gap, text_width(ax.label(ax.hi), s) / 2 + gap);
  const int top = (c.title.empty() ? 2 * gap : text_height(ts) + 4 * gap);
  const int bottom =
      H - 1 -
      (2 * gap + tick_len + text_height(s) + (c.x_label.empty() ? 0 : text_height(s) + 2 * gap));
  if (right - left < 20 || bottom - top < 20) throw Error("plot: chart too small for its labels");

  auto px = [&](double x) { return left + (x - ax.lo) / (ax.hi - ax.lo) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ay.lo) / (ay.hi - ay.lo) * (bottom - top); };

  // Grid and ticks.
  for (double t : ax.ticks) {
    const int x = int(std::lround(px(t)));
    cv.fill(x, top + 1, x, bottom - 1, kGrid);
    cv.fill(x, bottom + 1, x, bottom + tick_len, kBlack);
    const std::string l = ax.label(t);
    draw_text(cv, x - text_width(l, s) / 2, bottom + tick_len + gap, l, kTickText, s);
  }
  for (double t : ay.ticks) {
    const int y = int(std::lround(py(t)));
    cv.fill(left + 1, y, right - 1, y, kGrid);
    cv.fill(left - tick_len, y, left - 1, y, kBlack);
    const std::string l = ay.label(t);
    draw_text(cv, left - tick_len - gap - text_width(l, s), y - text_height(s) / 2, l, kTickText,
              s);
  }

  // Series, clipped to the inside of the frame.
  for (const Series& se : c.series) {
    Stroke st(left + 1, top + 1, right - 1, bottom - 1);
    const size_t n = se.xs.size();
    for (size_t i = 0; i < n; ++i) {
      if (!finite_point(se, i)) continue;
      const bool next = i + 1 < n && finite_point(se, i + 1);
      const bool prev = i > 0 && finite_point(se, i - 1);
      if (next) st.segment(px(se.xs[i]), py(se.ys[i]), px(se.xs[i + 1]), py(se.ys[i + 1]), hw);
      if (!next && !prev) st.dot(px(se.xs[i]), py(se.ys[i]), hw + 1.5);
    }
    st.composite(cv, se.color);
  }

  // Frame, labels, title.
  cv.fill(left, top, right, top, kBlack);
  cv.fill(left, bottom, right, bottom, kBlack);
  cv.fill(left, top, left, bottom, kBlack);
  cv.fill(right, top, right, bottom, kBlack);
  if (!c.x_label.empty())
    draw_text(cv, (left + right) / 2 - text_width(c.x_label, s) / 2, H - 1 - gap - text_height(s),
              c.x_label, kBlack, s);
  if (!c.y_label.empty())
    draw_text_up(cv, ox + gap, (top + bottom) / 2 + text_width(c.y_label, s) / 2, c.y_label, kBlack,
                 s);
  if (!c.title.empty())
    draw_text(cv, ox + W / 2 - text_width(c.title, ts) / 2, 2 * gap, c.title, kBlack, ts);

  // Legend: in the corner of the plot area that hides the fewest points of the lines (sampled
  // every few pixels); top-right on a tie.
  std::vector<const Series*> entries;
  int name_w = 0;
  for (const Series& se : c.series)
    if (!se.name.empty()) entries.push_back(&se), name_w = std::max(name_w, text_width(se.name, s));
  if (entries.empty()) return;
  const int swatch = 8 * s, row_h = text_height(s) + gap, pad = 2 * s + 2;
  const int lw = pad + swatch + gap + name_w + pad,
            lh = pad + int(entries.size()) * row_h - gap + pad;
  std::vector<std::pair<double, double>> samples;
  for (const Series& se : c.series)
    for (size_t i = 0; i < se.xs.size(); ++i) {
      if (!finite_point(se, i)) continue;
      const double ax0 = px(se.xs[i]), ay0 = py(se.ys[i]);
      samples.emplace_back(ax0, ay0);
      if (i + 1 >= se.xs.size() || !finite_point(se, i + 1)) continue;
      const double ax1 = px(se.xs[i + 1]), ay1 = py(se.ys[i + 1]);
      const int k = std::min(4096, int(std::hypot(ax1 - ax0, ay1 - ay0) / 4));
      for (int j = 1; j < k; ++j)
        samples.emplace_back(ax0 + (ax1 - ax0) * j / k, ay0 + (ay1 - ay0) * j / k);
    }
  int lx0 = 0, ly0 = 0;
  size_t best = SIZE_MAX;
  for (int corner = 0; corner < 4; ++corner) {  // top-right, bottom-right, top-left, bottom-left
    const int x0 = corner < 2 ? right - gap - 1 - lw : left + gap + 1;
    const int y0 = corner % 2 == 0 ? top + gap + 1 : bottom - gap - 1 - lh;
    size_t hidden = 0;
    for (const auto& [sx, sy] : samples)
      hidden += sx >= x0 - gap && sx <= x0 + lw + gap && sy >= y0 - gap && sy <= y0 + lh + gap;
    if (hidden < best) best = hidden, lx0 = x0, ly0 = y0;
  }
  const int lx1 = lx0 + lw, ly1 = ly0 + lh;
  cv.fill(lx0, ly0, lx1, ly1, kLegendFrame);
  cv.fill(lx0 + 1, ly0 + 1, lx1 - 1, ly1 - 1, kWhite);
  for (size_t k = 0; k < entries.size(); ++k) {
    const int y = ly0 + pad + int(k) * row_h;
    const int yc = y + text_height(s) / 2;
    cv.fill(lx0 + pad, yc - s / 2 - 1, lx0 + pad + swatch - 1, yc + s / 2 + 1, entries[k]->color);
    draw_text(cv, lx0 + pad + swatch + gap, y, entries[k]->name, kBlack, s);
  }
}

}  // namespace

Rgb palette_color(size_t i) {
  static const std::array<Rgb, 6> kPalette = {Rgb{0, 114, 178}, Rgb{213, 94, 0},
                                              Rgb{0, 158, 115}, Rgb{204, 121, 167},
                                              Rgb{230, 159, 0}, Rgb{86, 180, 233}};
  return kPalette[i % kPalette.size()];
}

void write_line_charts_png(const std::string& path, const std::vector<LineChart>& panels) {
  if (panels.empty()) throw DataError(path, "no chart to draw");
  int w = 0, h = 0;
  for (const LineChart& c : panels) {
    check_chart(path, c);
    w += c.width_px, h = std::max(h, c.height_px);
  }
  if (w > 16384) throw DataError(path, fmt::format("{} px wide in all; at most 16384", w));
  Canvas cv(w, h);
  int ox = 0;
  for (const LineChart& c : panels) {
    try {
      render(cv, ox, c);
    } catch (const DataError&) {
      throw;
    } catch (const Error& e) {
      throw DataError(path, e.what());
    }
    ox += c.width_px;
  }
  {
    const std::vector<uint8_t> png = encode_png(path, cv);
    write_file_atomic(path, std::string(png.begin(), png.end()));
  }
}

void write_line_chart_png(const std::string& path, const LineChart& chart) {
  write_line_charts_png(path, {chart});
}

}  // namespace cimkit
