#include "thermal/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/plot.hpp"
#include "core/text.hpp"

namespace cimkit::thermal {

FieldStats field_stats(const Grid2D& t) {
  FieldStats s;
  const auto& v = t.values;
  if (v.empty()) return s;
  const auto peak = std::max_element(v.begin(), v.end());
  s.peak_k = *peak;
  s.peak_row = int((peak - v.begin()) / t.nx);
  s.peak_col = int((peak - v.begin()) % t.nx);
  s.min_k = *std::min_element(v.begin(), v.end());
  double sum = 0, sq = 0;
  for (double x : v) sum += x;
  s.mean_k = sum / v.size();
  for (double x : v) sq += (x - s.mean_k) * (x - s.mean_k);
  s.std_k = std::sqrt(sq / v.size());
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double q) {
    const double pos = q * (sorted.size() - 1);
    const size_t i = size_t(pos);
    return i + 1 < sorted.size() ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted.back();
  };
  s.p50_k = pct(0.5);
  s.p90_k = pct(0.9);
  s.p99_k = pct(0.99);
  return s;
}

std::vector<BlockTemperature> block_temperatures(const Floorplan& fp, const Grid2D& die_k) {
  std::vector<BlockTemperature> out;
  for (const auto& b : fp.blocks) {
    const auto cells = block_cells(b, fp.width_m, fp.height_m, die_k.nx, die_k.ny);
    BlockTemperature t;
    t.name = b.name;
    if (cells.empty()) continue;
    double area = 0, weighted = 0;
    int r0 = cells.front().row, r1 = r0, c0 = cells.front().col, c1 = c0;
    t.max_k = -1e300;
    for (const auto& c : cells) {
      const double v = die_k.at(c.row, c.col);
      area += c.area_m2;
      weighted += v * c.area_m2;
      t.max_k = std::max(t.max_k, v);
      r0 = std::min(r0, c.row), r1 = std::max(r1, c.row), c0 = std::min(c0, c.col), c1 = std::max(c1, c.col);
    }
    t.mean_k = weighted / area;
    double sum = 0;
    for (int r = r0; r <= r1; ++r)
      for (int c = c0; c <= c1; ++c) sum += die_k.at(r, c);
    t.grid_avg_k = sum / ((r1 - r0 + 1) * (c1 - c0 + 1));
    // Central rows/columns: the middle one of an odd count, the middle two of an even count.
    const int nr = r1 - r0 + 1, nc = c1 - c0 + 1;
    const int ra = r0 + (nr - 1) / 2, rb = r0 + nr / 2, ca = c0 + (nc - 1) / 2, cb = c0 + nc / 2;
    t.center_k = (die_k.at(ra, ca) + die_k.at(ra, cb) + die_k.at(rb, ca) + die_k.at(rb, cb)) / 4;
    out.push_back(t);
  }
  return out;
}

namespace {

// Everything but the floorplan: mode, solver, stack, package, grid (nx = 0: from `grid`).
ThermalProblem problem_around(const ConfigNode& root, Floorplan fp, int nx, int ny, const std::string& prefix) {
  ThermalProblem p;
  p.floorplan = std::move(fp);
  auto section = [&](const std::string& k) {
    const ConfigNode* n = root.find(k);
    return n ? *n : ConfigNode();
  };
  if (const ConfigNode* m = root.find("mode")) p.model.mode = discretisation_from_name(m->value(), m->loc(), prefix + "mode");
  // HotSpot mode defaults to HotSpot's die (silicon + TIM), the default mode to ours (BEOL too).
  p.model.stack = stack_from_config(section("stack"), prefix + "stack",
                                    p.model.mode == Discretisation::Hotspot ? hotspot_stack() : default_stack());
  p.model.package = package_from_config(section("package"), prefix + "package");
  if (const ConfigNode* s = root.find("solver")) {
    if (s->value() != "cg" && s->value() != "direct") {
      throw ConfigError(s->loc(), prefix + "solver", "unknown solver '" + s->value() + "'" +
                                                         did_you_mean_hint(s->value(), {"cg", "direct"}) + "; allowed: cg, direct");
    }
    p.model.solver = s->value() == "cg" ? LinearSolver::Cg : LinearSolver::Direct;
  }
  p.model.die_width_m = p.floorplan.width_m;
  p.model.die_height_m = p.floorplan.height_m;
  if (nx > 0 && ny > 0) {
    p.model.nx = nx;
    p.model.ny = ny;
  } else {
    const GridSpec g = grid_from_config(section("grid"), prefix + "grid");
    std::tie(p.model.nx, p.model.ny) = g.resolve(p.floorplan.width_m, p.floorplan.height_m);
    p.model.outer_cells = g.outer_cells;
  }
  const ConfigNode* st = root.find("stack");
  const ConfigNode* pk = root.find("package");
  try {
    check_geometry(p.model.stack, p.model.package, p.model.die_width_m, p.model.die_height_m);
  } catch (const Error& e) {
    throw ConfigError(pk ? pk->loc() : (st ? st->loc() : root.loc()), prefix + "package", e.what());
  }
  return p;
}

}  // namespace

ThermalProblem ThermalProblem::from_config(const ConfigNode& root) {
  if (!root.is_map()) throw ConfigError(root.loc(), "", "a thermal problem is a map with die, blocks, stack, package, grid, mode");
  const std::vector<std::string> allowed = {"die", "blocks", "stack", "package", "grid", "mode", "solver", "sources"};
  for (const auto& [key, value] : root.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) fail_unknown_key(key, value, "", allowed);
  }
  return problem_around(root, Floorplan::from_config(root), 0, 0, "");
}

ThermalProblem ThermalProblem::from_config(const ConfigNode& root, Floorplan floorplan, int nx, int ny,
                                           const std::string& path) {
  floorplan.validate(path + ".blocks");
  return problem_around(root, std::move(floorplan), nx, ny, path.empty() ? "" : path + ".");
}

ThermalProblem ThermalProblem::load(const std::string& path) { return from_config(load_yaml_file(path)); }

SteadyReport solve_steady(const ThermalProblem& problem) {
  ThermalModel model(problem.model);
  SteadyReport r;
  r.total_power_w = problem.floorplan.total_power_w();
  r.field = model.steady(rasterise(problem.floorplan, problem.model.nx, problem.model.ny));
  r.iterations = model.last_iterations();
  r.stats = field_stats(r.field.die_k);
  r.blocks = block_temperatures(problem.floorplan, r.field.die_k);
  return r;
}

nlohmann::json to_json(const SteadyReport& r, const ThermalProblem& p) {
  nlohmann::json j;
  j["mode"] = name_of(p.model.mode);
  j["grid"] = {{"nx", p.model.nx}, {"ny", p.model.ny}};
  j["ambient_k"] = p.model.package.ambient_k;
  j["total_power_w"] = r.total_power_w;
  j["heat_out_w"] = r.field.heat_out_w;
  j["peak_k"] = r.stats.peak_k;
  j["peak_cell"] = {{"row", r.stats.peak_row}, {"col", r.stats.peak_col}};
  j["mean_k"] = r.stats.mean_k;
  j["min_k"] = r.stats.min_k;
  j["std_k"] = r.stats.std_k;
  j["p50_k"] = r.stats.p50_k;
  j["p90_k"] = r.stats.p90_k;
  j["p99_k"] = r.stats.p99_k;
  j["blocks"] = nlohmann::json::array();
  for (const auto& b : r.blocks) {
    j["blocks"].push_back({{"name", b.name}, {"mean_k", b.mean_k}, {"max_k", b.max_k}, {"grid_avg_k", b.grid_avg_k},
                           {"center_k", b.center_k}});
  }
  return j;
}

std::vector<std::pair<int, int>> hotspot_cells(const Grid2D& t, int n) {
  std::vector<std::pair<double, std::pair<int, int>>> peaks;
  for (int r = 0; r < t.ny; ++r)
    for (int c = 0; c < t.nx; ++c) {
      bool top = true;
      for (int dr = -1; dr <= 1 && top; ++dr)
        for (int dc = -1; dc <= 1; ++dc) {
          const int rr = r + dr, cc = c + dc;
          if ((dr || dc) && rr >= 0 && cc >= 0 && rr < t.ny && cc < t.nx && t.at(rr, cc) > t.at(r, c)) {
            top = false;
            break;
          }
        }
      if (top) peaks.push_back({t.at(r, c), {r, c}});
    }
  std::sort(peaks.begin(), peaks.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::pair<int, int>> out;
  for (size_t i = 0; i < peaks.size() && static_cast<int>(i) < n; ++i) out.push_back(peaks[i].second);
  return out;
}

void write_temperature_png(const std::string& path, const std::string& title, const Grid2D& t,
                           const std::vector<std::pair<int, int>>& marks, const MapView& view) {
  const int r0 = view.rows > 0 && view.cols > 0 ? std::clamp(view.row0, 0, t.ny - 1) : 0;
  const int c0 = view.rows > 0 && view.cols > 0 ? std::clamp(view.col0, 0, t.nx - 1) : 0;
  const int nr = view.rows > 0 && view.cols > 0 ? std::min(view.rows, t.ny - r0) : t.ny;
  const int nc = view.rows > 0 && view.cols > 0 ? std::min(view.cols, t.nx - c0) : t.nx;
  HeatMap hm;
  hm.title = title;
  hm.unit = "K";
  hm.rows = nr;
  hm.cols = nc;
  hm.values.reserve(size_t(nr) * nc);
  for (int r = 0; r < nr; ++r)
    for (int c = 0; c < nc; ++c) hm.values.push_back(t.at(r0 + r, c0 + c));
  for (const auto& [r, c] : marks)
    if (r >= r0 && r < r0 + nr && c >= c0 && c < c0 + nc) hm.marks.push_back({r - r0, c - c0});
  for (const auto& l : view.labels)
    if (l.row >= r0 && l.row < r0 + nr && l.col >= c0 && l.col < c0 + nc) hm.labels.push_back({l.row - r0, l.col - c0, l.text});
  if (view.die_width_m > 0 && view.die_height_m > 0) {
    const double cw_mm = view.die_width_m * 1e3 / t.nx, ch_mm = view.die_height_m * 1e3 / t.ny;
    hm.width_mm = nc * cw_mm;
    hm.height_mm = nr * ch_mm;
    hm.x0_mm = c0 * cw_mm;
    hm.y0_mm = (t.ny - r0 - nr) * ch_mm;  // the window's south edge
  }
  hm.note = view.note;
  write_heatmap_png(path, hm);
}

MapView crop_to_blocks(const Grid2D& t, double die_width_m, double die_height_m, const std::vector<Block>& blocks,
                       double pad_m) {
  MapView v;
  v.die_width_m = die_width_m;
  v.die_height_m = die_height_m;
  if (blocks.empty() || t.nx < 1 || t.ny < 1) return v;
  double x0 = die_width_m, y0 = die_height_m, x1 = 0, y1 = 0;
  for (const auto& b : blocks) {
    x0 = std::min(x0, b.x_m), y0 = std::min(y0, b.y_m);
    x1 = std::max(x1, b.x_m + b.width_m), y1 = std::max(y1, b.y_m + b.height_m);
  }
  x0 = std::max(0.0, x0 - pad_m), y0 = std::max(0.0, y0 - pad_m);
  x1 = std::min(die_width_m, x1 + pad_m), y1 = std::min(die_height_m, y1 + pad_m);
  const double cw = die_width_m / t.nx, ch = die_height_m / t.ny;
  const int c0 = std::clamp(int(std::floor(x0 / cw + 1e-9)), 0, t.nx - 1);
  const int c1 = std::clamp(int(std::ceil(x1 / cw - 1e-9)), c0 + 1, t.nx);
  // Rows count from the north edge.
  const int r0 = std::clamp(int(std::floor((die_height_m - y1) / ch + 1e-9)), 0, t.ny - 1);
  const int r1 = std::clamp(int(std::ceil((die_height_m - y0) / ch - 1e-9)), r0 + 1, t.ny);
  if ((c1 - c0) * 10 >= t.nx * 7 && (r1 - r0) * 10 >= t.ny * 7) return v;  // most of the die: draw it all
  v.row0 = r0, v.col0 = c0, v.rows = r1 - r0, v.cols = c1 - c0;
  v.note = fmt::format("shown: {:.2f} x {:.2f} mm around the used blocks, of the {:.2f} x {:.2f} mm die",
                       (c1 - c0) * cw * 1e3, (r1 - r0) * ch * 1e3, die_width_m * 1e3, die_height_m * 1e3);
  return v;
}

std::string grid_csv(const Grid2D& g) {
  std::string out;
  out.reserve(size_t(g.nx) * g.ny * 12);
  for (int r = 0; r < g.ny; ++r) {
    for (int c = 0; c < g.nx; ++c) {
      if (c) out += ',';
      out += fmt::format("{:.6f}", g.at(r, c));
    }
    out += '\n';
  }
  return out;
}

}  // namespace cimkit::thermal
