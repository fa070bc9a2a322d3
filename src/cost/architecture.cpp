#include "cost/architecture.hpp"

#include <fmt/format.h>

#include <set>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/text.hpp"

namespace cimkit::cost {
namespace {

double number(const ConfigNode& parent, const std::string& key, const std::string& path, double lo, bool lo_open) {
  const ConfigNode* n = parent.find(key);
  double v = 0;
  try {
    size_t used = 0;
    v = std::stod(n->value(), &used);
    if (used != n->value().size() || !n->is_scalar()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw ConfigError(n->loc(), path + "." + key, "'" + n->value() + "' is not a number");
  }
  if (!std::isfinite(v) || v < lo || (lo_open && v == lo)) {
    throw ConfigError(n->loc(), path + "." + key, fmt::format("{} is out of range; allowed: {} {}", n->value(),
                                                              lo_open ? ">" : ">=", lo));
  }
  return v;
}

// A per-unit value from `key` (per unit) or `key_total` (all `count` units); exactly one may be given.
double per_unit(const ConfigNode& c, const std::string& key, const std::string& path, double count, double scale) {
  const bool unit = c.has(key), total = c.has(key + "_total");
  if (unit && total) throw ConfigError(c.loc(), path, "give " + key + " or " + key + "_total, not both");
  if (unit) return number(c, key, path, 0, false) * scale;
  if (total) return number(c, key + "_total", path, 0, false) * scale / count;
  return 0.0;
}

}  // namespace

Architecture Architecture::preset(const std::string& name) {
  ConfigNode section = ConfigNode::map({"<api>", 0});
  section.set("preset", ConfigNode::scalar(name, {"<api>", 0}));
  return from_config(section, "arch");
}

Architecture Architecture::from_config(const ConfigNode& raw, const std::string& path) {
  const ConfigNode node = expand_preset(raw, "arch", path);
  static const std::set<std::string> top = {"sources", "technology_nm", "clock_ghz", "levels"};
  for (const auto& [k, v] : node.items()) {
    if (!top.count(k)) {
      throw ConfigError(v.loc(), path + "." + k, "unknown key" +
                                                     did_you_mean_hint(k, std::vector<std::string>(top.begin(), top.end())) +
                                                     "; allowed: technology_nm, clock_ghz, levels, sources");
    }
  }
  Architecture a;
  if (!node.has("technology_nm") || !node.has("clock_ghz") || !node.has("levels")) {
    throw ConfigError(node.loc(), path, "needs technology_nm, clock_ghz and levels");
  }
  a.technology_nm_ = number(node, "technology_nm", path, 0, true);
  a.clock_hz_ = number(node, "clock_ghz", path, 0, true) * 1e9;
  const ConfigNode& levels = *node.find("levels");
  if (!levels.is_seq() || levels.elements().empty()) throw ConfigError(levels.loc(), path + ".levels", "a non-empty list of levels");
  static const std::set<std::string> comp_keys = {"name", "spec", "count", "power_mw", "power_mw_total", "area_mm2",
                                                  "area_mm2_total", "energy_pj", "action", "source"};
  std::set<std::string> level_names;
  for (size_t i = 0; i < levels.elements().size(); ++i) {
    const ConfigNode& l = levels.elements()[i];
    const std::string lp = fmt::format("{}.levels[{}]", path, i);
    if (!l.is_map() || !l.has("name")) throw ConfigError(l.loc(), lp, "a level is a map with name, count, components");
    Level lv;
    lv.name = l.find("name")->value();
    if (!level_names.insert(lv.name).second) throw ConfigError(l.loc(), lp + ".name", "duplicate level '" + lv.name + "'");
    lv.count = l.has("count") ? number(l, "count", lp, 0, true) : 1.0;
    if (const ConfigNode* comps = l.find("components")) {
      for (size_t j = 0; j < comps->elements().size(); ++j) {
        const ConfigNode& c = comps->elements()[j];
        const std::string cp = fmt::format("{}.components[{}]", lp, j);
        for (const auto& [k, v] : c.items()) {
          if (!comp_keys.count(k)) {
            throw ConfigError(v.loc(), cp + "." + k,
                              "unknown key" + did_you_mean_hint(k, std::vector<std::string>(comp_keys.begin(), comp_keys.end())));
          }
        }
        if (!c.has("name")) throw ConfigError(c.loc(), cp, "a component needs a name");
        Component comp;
        comp.name = c.find("name")->value();
        comp.spec = c.has("spec") ? c.find("spec")->value() : "";
        comp.action = c.has("action") ? c.find("action")->value() : "";
        comp.count = c.has("count") ? number(c, "count", cp, 0, true) : 1.0;
        comp.power_w = per_unit(c, "power_mw", cp, comp.count, 1e-3);
        comp.area_m2 = per_unit(c, "area_mm2", cp, comp.count, 1e-6);
        comp.energy_j = c.has("energy_pj") ? number(c, "energy_pj", cp, 0, false) * 1e-12 : 0.0;
        lv.components.push_back(comp);
      }
    }
    a.levels_.push_back(lv);
  }
  return a;
}

const Level& Architecture::level(const std::string& name) const {
  std::vector<std::string> names;
  for (const auto& l : levels_) {
    if (l.name == name) return l;
    names.push_back(l.name);
  }
  throw Error("no level '" + name + "'" + did_you_mean_hint(name, names) + "; levels: " + join(names, ", "));
}

double Architecture::sum(size_t upto, bool power) const {
  double inner = 0;  // one instance of level `upto`
  for (size_t i = 0; i <= upto; ++i) {
    double own = 0;
    for (const auto& c : levels_[i].components) own += c.count * (power ? c.power_w : c.area_m2);
    inner = own + (i > 0 ? levels_[i - 1].count * inner : 0.0);
  }
  return inner;
}

double Architecture::power_w(const std::string& name) const {
  for (size_t i = 0; i < levels_.size(); ++i)
    if (levels_[i].name == name) return sum(i, true);
  return (void)level(name), 0.0;
}

double Architecture::area_m2(const std::string& name) const {
  for (size_t i = 0; i < levels_.size(); ++i)
    if (levels_[i].name == name) return sum(i, false);
  return (void)level(name), 0.0;
}

double Architecture::total_power_w() const { return levels_.back().count * sum(levels_.size() - 1, true); }
double Architecture::total_area_m2() const { return levels_.back().count * sum(levels_.size() - 1, false); }

nlohmann::json Architecture::table() const {
  nlohmann::json j;
  j["technology_nm"] = technology_nm_;
  j["clock_hz"] = clock_hz_;
  for (const auto& l : levels_) {
    nlohmann::json lj = {{"name", l.name}, {"count", l.count}, {"power_w", power_w(l.name)}, {"area_m2", area_m2(l.name)}};
    for (const auto& c : l.components) {
      lj["components"].push_back({{"name", c.name},
                                  {"spec", c.spec},
                                  {"count", c.count},
                                  {"power_w_per_unit", c.power_w},
                                  {"area_m2_per_unit", c.area_m2},
                                  {"energy_j_per_action", c.energy_j},
                                  {"action", c.action}});
    }
    j["levels"].push_back(lj);
  }
  j["total_power_w"] = total_power_w();
  j["total_area_m2"] = total_area_m2();
  return j;
}

}  // namespace cimkit::cost
