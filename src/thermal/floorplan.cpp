#include "thermal/floorplan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::thermal {
namespace {

std::string mm(double m) { return format_double(std::round(m * 1e9) / 1e6); }  // to the nanometre

}  // namespace

double Floorplan::total_power_w() const {
  double p = 0;
  for (const auto& b : blocks) p += b.power_w;
  return p;
}

double Grid2D::sum() const { return std::accumulate(values.begin(), values.end(), 0.0); }

Schema die_schema() {
  Schema s("die", "The die outline the floorplan's blocks sit on.");
  s.real("width_mm", "Die width (x, west to east)").with_unit("mm").above(0).require();
  s.real("height_mm", "Die height (y, south to north)").with_unit("mm").above(0).require();
  return s;
}

Schema block_schema() {
  Schema s("blocks[i]", "A rectangular block with its power; (x, y) is its south-west corner.");
  s.string("name", "Block name (unique)").require();
  s.real("x_mm", "West edge").with_unit("mm").at_least(0).require();
  s.real("y_mm", "South edge").with_unit("mm").at_least(0).require();
  s.real("width_mm", "Width").with_unit("mm").above(0).require();
  s.real("height_mm", "Height").with_unit("mm").above(0).require();
  s.real("power_w", "Power dissipated in the block").with_unit("W").at_least(0).require();
  return s;
}

void Floorplan::validate(const std::string& path) const {
  if (!(width_m > 0) || !(height_m > 0) || !std::isfinite(width_m) || !std::isfinite(height_m)) {
    throw ConfigError({}, "die", fmt::format("die size {} mm × {} mm; both must be > 0", mm(width_m), mm(height_m)));
  }
  const double tol = 1e-9 * std::max(width_m, height_m);
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const Block& b = blocks[i];
    const std::string bp = fmt::format("{}[{}]", path, i);
    if (b.name.empty()) throw ConfigError(b.loc, bp + ".name", "a block needs a name");
    if (!seen.emplace(b.name, i).second) {
      throw ConfigError(b.loc, bp + ".name", fmt::format("duplicate block name '{}' (also {}[{}])", b.name, path,
                                                          seen[b.name]));
    }
    if (!(b.width_m > 0) || !(b.height_m > 0)) {
      throw ConfigError(b.loc, bp, fmt::format("block '{}' is {} mm × {} mm; width and height must be > 0", b.name,
                                               mm(b.width_m), mm(b.height_m)));
    }
    if (!(b.power_w >= 0) || !std::isfinite(b.power_w)) {
      throw ConfigError(b.loc, bp + ".power_w", fmt::format("block '{}' has power {} W; allowed: >= 0", b.name,
                                                             format_double(b.power_w)));
    }
    if (b.x_m < -tol || b.y_m < -tol || b.x_m + b.width_m > width_m + tol || b.y_m + b.height_m > height_m + tol) {
      throw ConfigError(b.loc, bp,
                        fmt::format("block '{}' spans x {}..{} mm, y {}..{} mm, outside the {} mm × {} mm die", b.name,
                                    mm(b.x_m), mm(b.x_m + b.width_m), mm(b.y_m), mm(b.y_m + b.height_m), mm(width_m),
                                    mm(height_m)));
    }
  }
  // Overlaps: sweep over blocks sorted by west edge; only blocks starting before this one ends
  // in x can overlap it.
  std::vector<size_t> order(blocks.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return blocks[a].x_m < blocks[b].x_m; });
  for (size_t a = 0; a < order.size(); ++a) {
    const Block& p = blocks[order[a]];
    for (size_t b = a + 1; b < order.size() && blocks[order[b]].x_m < p.x_m + p.width_m - tol; ++b) {
      const Block& q = blocks[order[b]];
      const double ox = std::min(p.x_m + p.width_m, q.x_m + q.width_m) - std::max(p.x_m, q.x_m);
      const double oy = std::min(p.y_m + p.height_m, q.y_m + q.height_m) - std::max(p.y_m, q.y_m);
      if (ox > tol && oy > tol) {
        const Block& later = order[a] > order[b] ? p : q;
        const Block& earlier = order[a] > order[b] ? q : p;
        throw ConfigError(later.loc, fmt::format("{}[{}]", path, std::max(order[a], order[b])),
                          fmt::format("block '{}' overlaps block '{}' by {} mm × {} mm; blocks must not overlap",
                                      later.name, earlier.name, mm(ox), mm(oy)));
      }
    }
  }
}

const Block& Floorplan::block(const std::string& name) const {
  std::vector<std::string> names;
  for (const auto& b : blocks) {
    if (b.name == name) return b;
    names.push_back(b.name);
  }
  throw Error("no block '" + name + "'" + did_you_mean_hint(name, names));
}

Floorplan Floorplan::from_config(const ConfigNode& root) {
  const ConfigNode* die = root.find("die");
  if (!die) throw ConfigError(root.loc(), "die", "missing section die: {width_mm, height_mm}");
  const Params d = parse_params(*die, die_schema(), "die");
  Floorplan fp;
  fp.width_m = d.get_real("width_mm") * 1e-3;
  fp.height_m = d.get_real("height_mm") * 1e-3;
  const ConfigNode* blocks = root.find("blocks");
  if (!blocks || !blocks->is_seq() || blocks->elements().empty()) {
    throw ConfigError(blocks ? blocks->loc() : root.loc(), "blocks",
                      "missing or empty list of blocks [{name, x_mm, y_mm, width_mm, height_mm, power_w}, ...]");
  }
  const Schema schema = block_schema();
  for (size_t i = 0; i < blocks->elements().size(); ++i) {
    const ConfigNode& n = blocks->elements()[i];
    const Params p = parse_params(n, schema, fmt::format("blocks[{}]", i));
    fp.blocks.push_back({p.get_string("name"), p.get_real("x_mm") * 1e-3, p.get_real("y_mm") * 1e-3,
                         p.get_real("width_mm") * 1e-3, p.get_real("height_mm") * 1e-3, p.get_real("power_w"),
                         n.loc()});
  }
  fp.validate();
  return fp;
}

std::vector<CellOverlap> block_cells(const Block& b, double die_width_m, double die_height_m, int nx, int ny) {
  const double cw = die_width_m / nx, ch = die_height_m / ny;
  const double x0 = b.x_m, x1 = b.x_m + b.width_m;
  // Row 0 is the north edge: distance from the north edge is H - y.
  const double n0 = die_height_m - (b.y_m + b.height_m), n1 = die_height_m - b.y_m;
  const int c0 = std::max(0, int(std::floor(x0 / cw))), c1 = std::min(nx - 1, int(std::ceil(x1 / cw)) - 1);
  const int r0 = std::max(0, int(std::floor(n0 / ch))), r1 = std::min(ny - 1, int(std::ceil(n1 / ch)) - 1);
  // Overlaps thinner than this are rounding, not coverage (a block edge on a cell line).
  const double eps = 1e-9 * std::min(cw, ch);
  std::vector<CellOverlap> out;
  for (int r = r0; r <= r1; ++r) {
    const double oy = std::min(n1, (r + 1) * ch) - std::max(n0, r * ch);
    if (oy <= eps) continue;
    for (int c = c0; c <= c1; ++c) {
      const double ox = std::min(x1, (c + 1) * cw) - std::max(x0, c * cw);
      if (ox > eps) out.push_back({r, c, ox * oy});
    }
  }
  return out;
}

Grid2D rasterise(const Floorplan& fp, int nx, int ny) {
  Grid2D g(nx, ny);
  for (const auto& b : fp.blocks) {
    const auto cells = block_cells(b, fp.width_m, fp.height_m, nx, ny);
    double covered = 0;
    for (const auto& c : cells) covered += c.area_m2;
    if (covered <= 0) continue;
    // Normalise by the covered area (equal to the block area up to rounding) so power is conserved.
    for (const auto& c : cells) g.at(c.row, c.col) += b.power_w * c.area_m2 / covered;
  }
  return g;
}

}  // namespace cimkit::thermal
