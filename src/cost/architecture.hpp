// A chip's hardware hierarchy for the cost model: levels from the innermost (a PE, ISAAC's IMA)
// outwards (tile, chip), each with its periphery components and how many instances sit in one
// instance of the next level. Every number carries its source in the preset file
// (configs/presets/arch/*.yaml). Values are SI here: watts, square metres, joules.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config_tree.hpp"

namespace cimkit::cost {

struct Component {
  std::string name, spec, action;
  double count = 1;        // units per instance of its level (fractional: shared, e.g. 1/4 router)
  double power_w = 0;      // per unit
  double area_m2 = 0;      // per unit
  double energy_j = 0;     // per action; 0 when no per-action figure is given
};

struct Level {
  std::string name;
  double count = 1;  // instances per instance of the next level (the outermost: 1)
  std::vector<Component> components;
};

class Architecture {
 public:
  // From an `arch:` section (may say `preset: NAME`, configs/presets/arch/NAME.yaml). Errors name
  // the file, line and key.
  static Architecture from_config(const ConfigNode& section, const std::string& path = "arch");
  static Architecture preset(const std::string& name);

  const std::vector<Level>& levels() const { return levels_; }
  const Level& level(const std::string& name) const;  // Error listing the levels otherwise
  double technology_nm() const { return technology_nm_; }
  double clock_hz() const { return clock_hz_; }

  // One instance of `level`, its components plus all instances of the levels inside it.
  double power_w(const std::string& level) const;
  double area_m2(const std::string& level) const;
  // The whole chip: the outermost level times its count.
  double total_power_w() const;
  double total_area_m2() const;
  // Every component with its level, values and totals (the reference table a run folder keeps).
  nlohmann::json table() const;

 private:
  double sum(size_t upto, bool power) const;
  std::vector<Level> levels_;
  double technology_nm_ = 0, clock_hz_ = 0;
};

}  // namespace cimkit::cost
