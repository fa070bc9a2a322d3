// Internal raster helpers of the PNG writers (plot.cpp, heatmap.cpp): an RGB canvas, a 5x7
// bitmap font (ASCII 32-126, other bytes print as '?') scaled by an integer factor, "nice" tick
// steps, and PNG encoding. Not part of the public plot API.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/plot.hpp"

namespace cimkit::raster {

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

int text_width(const std::string& s, int scale);
int text_height(int scale);
// Text with its top-left corner at (x, y).
void draw_text(Canvas& cv, int x, int y, const std::string& s, Rgb c, int scale);
// Text turned 90 degrees counter-clockwise (read bottom to top), its baseline start at the
// bottom-left corner (x, y).
void draw_text_up(Canvas& cv, int x, int y, const std::string& s, Rgb c, int scale);
// 1, 2 or 5 times a power of ten, near `raw` (> 0).
double nice_step(double raw);
// The canvas as PNG bytes; DataError naming `path` when encoding fails.
std::vector<uint8_t> encode_png(const std::string& path, const Canvas& cv);

}  // namespace cimkit::raster
