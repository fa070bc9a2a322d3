#include "core/plot.hpp"

#include "core/files.hpp"

#include <fcntl.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit {
namespace {

// 5x7 glyphs for ASCII 32..126, drawn for cimkit: one byte per row, top row first, bit 4 is the
// leftmost column.
constexpr int kGlyphW = 5, kGlyphH = 7, kAdvance = 6;
constexpr uint8_t kFont[95][kGlyphH] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // ' '
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04},  // '!'
    {0x0a, 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00},  // '"'
    {0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a},  // '#'
    {0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04},  // '$'
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03},  // '%'
    {0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d},  // '&'
    {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00},  // '''
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02},  // '('
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08},  // ')'
    {0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00},  // '*'
    {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00},  // '+'
    {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08},  // ','
    {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00},  // '-'
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c},  // '.'
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00},  // '/'
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e},  // '0'
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},  // '1'
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f},  // '2'
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},  // '3'
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02},  // '4'
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},  // '5'
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e},  // '6'
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},  // '7'
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e},  // '8'
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},  // '9'
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00},  // ':'
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08},  // ';'
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02},  // '<'
    {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00},  // '='
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08},  // '>'
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04},  // '?'
    {0x0e, 0x11, 0x01, 0x0d, 0x15, 0x15, 0x0e},  // '@'
    {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11},  // 'A'
    {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e},  // 'B'
    {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e},  // 'C'
    {0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c},  // 'D'
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f},  // 'E'
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10},  // 'F'
    {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f},  // 'G'
    {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11},  // 'H'
    {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e},  // 'I'
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c},  // 'J'
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11},  // 'K'
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f},  // 'L'
    {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11},  // 'M'
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},  // 'N'
    {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e},  // 'O'
    {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10},  // 'P'
    {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d},  // 'Q'
    {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11},  // 'R'
    {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e},  // 'S'
    {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},  // 'T'
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e},  // 'U'
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04},  // 'V'
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a},  // 'W'
    {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11},  // 'X'
    {0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04},  // 'Y'
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f},  // 'Z'
    {0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e},  // '['
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00},  // backslash
    {0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e},  // ']'
    {0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00},  // '^'
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f},  // '_'
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00},  // '`'
    {0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f},  // 'a'
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e},  // 'b'
    {0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e},  // 'c'
    {0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f},  // 'd'
    {0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e},  // 'e'
    {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08},  // 'f'
    {0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x0e},  // 'g'
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11},  // 'h'
    {0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e},  // 'i'
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0c},  // 'j'
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12},  // 'k'
    {0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e},  // 'l'
    {0x00, 0x00, 0x1a, 0x15, 0x15, 0x11, 0x11},  // 'm'
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11},  // 'n'
    {0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e},  // 'o'
    {0x00, 0x00, 0x1e, 0x11, 0x1e, 0x10, 0x10},  // 'p'
    {0x00, 0x00, 0x0d, 0x13, 0x0f, 0x01, 0x01},  // 'q'
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10},  // 'r'
    {0x00, 0x00, 0x0e, 0x10, 0x0e, 0x01, 0x1e},  // 's'
    {0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06},  // 't'
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d},  // 'u'
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04},  // 'v'
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a},  // 'w'
    {0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11},  // 'x'
    {0x00, 0x00, 0x11, 0x11, 0x0f, 0x01, 0x0e},  // 'y'
    {0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f},  // 'z'
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02},  // '{'
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},  // '|'
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08},  // '}'
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00},  // '~'
};

const Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGrid{225, 225, 225}, kTickText{40, 40, 40},
    kLegendFrame{160, 160, 160};

struct Canvas {
  int w = 0, h = 0;
  std::vector<uint8_t> rgb;  // [h, w, 3], row-major

  Canvas(int width, int height) : w(width), h(height), rgb(size_t(width) * height * 3, 255) {}

  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    uint8_t* p = &rgb[(size_t(y) * w + x) * 3];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  // Alpha-blends c over the pixel; a = 1 gives exactly c.
  void blend(int x, int y, Rgb c, double a) {
    if (x < 0 || y < 0 || x >= w || y >= h || a <= 0) return;
    if (a >= 1) return set(x, y, c);
    uint8_t* p = &rgb[(size_t(y) * w + x) * 3];
    const uint8_t src[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; ++k) p[k] = uint8_t(std::lround(p[k] * (1 - a) + src[k] * a));
  }
  void fill(int x0, int y0, int x1, int y1, Rgb c) {  // inclusive corners
    for (int y = std::max(0, y0); y <= std::min(h - 1, y1); ++y)
      for (int x = std::max(0, x0); x <= std::min(w - 1, x1); ++x) set(x, y, c);
  }
};

const uint8_t* glyph(char ch) {
  const auto u = static_cast<unsigned char>(ch);
  return kFont[(u >= 32 && u <= 126 ? u : '?') - 32];
}

int text_width(const std::string& s, int scale) {
  return s.empty() ? 0 : (int(s.size()) * kAdvance - 1) * scale;
}
int text_height(int scale) {
  return kGlyphH * scale;
}

// Text with its top-left corner at (x, y).
void draw_text(Canvas& cv, int x, int y, const std::string& s, Rgb c, int scale) {
  for (size_t i = 0; i < s.size(); ++i) {
    const uint8_t* g = glyph(s[i]);
    const int gx = x + int(i) * kAdvance * scale;
    for (int r = 0; r < kGlyphH; ++r)
      for (int col = 0; col < kGlyphW; ++col)
        if (g[r] & (0x10 >> col))
          cv.fill(gx + col * scale, y + r * scale, gx + (col + 1) * scale - 1,
                  y + (r + 1) * scale - 1, c);
  }
}

// Text turned 90° counter-clockwise (read bottom to top), its baseline start at the bottom-left
// corner (x, y): the glyph column runs up, the glyph row runs right.
void draw_text_up(Canvas& cv, int x, int y, const std::string& s, Rgb c, int scale) {
  for (size_t i = 0; i < s.size(); ++i) {
    const uint8_t* g = glyph(s[i]);
    const int gy = y - int(i) * kAdvance * scale;
    for (int r = 0; r < kGlyphH; ++r)
      for (int col = 0; col < kGlyphW; ++col)
        if (g[r] & (0x10 >> col)) {
          const int px = x + r * scale, py = gy - (col + 1) * scale + 1;
          cv.fill(px, py, px + scale - 1, py + scale - 1, c);
        }
  }
}

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

// 1, 2 or 5 times a power of ten, near `raw`.
double nice_step(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

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

std::vector<uint8_t> encode_png(const std::string& path, const Canvas& cv) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = png_uint_32(cv.w);
  img.height = png_uint_32(cv.h);
  img.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&img, nullptr, &size, 0, cv.rgb.data(), 0, nullptr)) {
    const std::string msg = img.message;
    png_image_free(&img);
    throw DataError(path, "PNG encoding failed: " + msg);
  }
  std::vector<uint8_t> out(size);
  if (!png_image_write_to_memory(&img, out.data(), &size, 0, cv.rgb.data(), 0, nullptr)) {
    const std::string msg = img.message;
    png_image_free(&img);
    throw DataError(path, "PNG encoding failed: " + msg);
  }
  out.resize(size);
  return out;
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
  const int cell = std::max(1, 512 / std::max(m.rows, m.cols));
  const int s = 2;  // text scale
  const int margin = 16, title_h = text_height(s) + 2 * margin, bar_w = 24;
  const std::string lo_text = fmt::format("{:.2f}", lo), hi_text = fmt::format("{:.2f} {}", hi, m.unit);
  const int label_w = std::max(text_width(lo_text, s), text_width(hi_text, s));
  const int map_w = m.cols * cell, map_h = m.rows * cell;
  const int w = std::max(margin + map_w + margin + bar_w + 8 + label_w + margin, text_width(m.title, s) + 2 * margin);
  const int h = title_h + map_h + margin;
  Canvas cv(w, h);
  draw_text(cv, margin, margin, m.title, kBlack, s);
  const double span = hi > lo ? hi - lo : 1.0;
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) {
      const Rgb col = heat_color((m.values[size_t(r) * m.cols + c] - lo) / span);
      cv.fill(margin + c * cell, title_h + r * cell, margin + (c + 1) * cell - 1, title_h + (r + 1) * cell - 1, col);
    }
  for (const auto& [r, c] : m.marks) {
    if (r < 0 || c < 0 || r >= m.rows || c >= m.cols) continue;
    const int x0 = margin + c * cell, y0 = title_h + r * cell, x1 = x0 + cell - 1, y1 = y0 + cell - 1;
    for (int x = x0; x <= x1; ++x) cv.set(x, y0, kWhite), cv.set(x, y1, kWhite);
    for (int y = y0; y <= y1; ++y) cv.set(x0, y, kWhite), cv.set(x1, y, kWhite);
  }
  const int bx = margin + map_w + margin;
  for (int y = 0; y < map_h; ++y) {
    const Rgb col = heat_color(1.0 - double(y) / std::max(1, map_h - 1));
    cv.fill(bx, title_h + y, bx + bar_w - 1, title_h + y, col);
  }
  draw_text(cv, bx + bar_w + 8, title_h, hi_text, kTickText, s);
  draw_text(cv, bx + bar_w + 8, title_h + map_h - text_height(s), lo_text, kTickText, s);
  const std::vector<uint8_t> png = encode_png(path, cv);
  write_file_atomic(path, std::string(png.begin(), png.end()));
}

}  // namespace cimkit
