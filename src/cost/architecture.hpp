// A chip's hardware hierarchy for the cost model: levels from the innermost (a PE, ISAAC's IMA)
// outwards (tile, chip), each with its periphery components and how many instances sit in one
// instance of the next level. Every number carries its source in the preset file
// (configs/presets/arch/*.yaml). Values are SI here: watts, square metres, joules.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "core/params.hpp"

namespace cimkit::cost {

// What a component does, which decides the action count that prices it (cost_model.hpp).
// `other` components are priced by power x the busy time of their level.
enum class Role {
  Adc, Dac, Array, SampleHold, ShiftAdd, InputRegister, OutputRegister, Buffer, Bus, Router,
  Activation, Pooling, Accumulator, OffChip, Other
};
const std::vector<std::string>& role_names();  // "adc", "dac", ... in enum order
std::string to_string(Role r);

struct Component {
  std::string name, spec, action, source;
  Role role = Role::Other;
  double count = 1;        // units per instance of its level (fractional: shared, e.g. 1/4 router)
  double power_w = 0;      // per unit (dynamic, while busy)
  double leakage_w = 0;    // per unit, for the whole inference, used or not
  double area_m2 = 0;      // per unit
  double energy_j = 0;     // per action; 0 when no per-action figure is given
  double latency_s = 0;    // per action; 0 when not given
  // Converters (adc, dac): the resolution and sampling rate the values above are quoted at.
  int bits = 0;
  double rate_hz = 0;
  // Arrays: the geometry the values are quoted for (0: take them as they are).
  int64_t rows = 0, cols = 0;
  // Buffers, buses and routers: bits moved per action (0: one bit per action for buses).
  int64_t width_bits = 0;
  double tech_nm = 0;      // the node the values are quoted at (0: the architecture's)
  // Arrays: price shape-only reads from the device's conductances ("device") or by the
  // component's power x busy time ("power", for tables that give a crossbar power).
  bool price_by_power = false;
};

enum class LevelRole { Pe, Tile, Chip };

struct Level {
  std::string name;
  LevelRole role = LevelRole::Pe;
  double count = 1;  // instances per instance of the next level (the outermost: 1)
  std::vector<Component> components;
};

// How ADC energy and area follow resolution when the chip's ADC differs from the preset's.
enum class AdcScaling {
  Table,   // the 32 nm table of Accelergy's ISAAC library (Saberi et al. 2011), as ratios
  Walden,  // energy per conversion doubles per bit (Walden FOM), area doubles per bit
};

// Timing conventions of the native model.
struct Timing {
  double array_read_s = 0;  // one crossbar read (an input slice); 0: the chip's DAC read pulse
  bool overlap_adc = true;  // conversions of read k overlap read k+1 (ISAAC); else serial
  bool pipeline = true;     // layers pipelined (ISAAC-style, line buffers); else layer by layer
  double digital_cycles = 1;  // clock cycles per vector for shift-add / accumulate / activation
  static Schema schema();
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
  const std::string& name() const { return name_; }
  const std::string& conventions() const { return conventions_; }   // "native" or "mnsim"
  const std::string& default_chip() const { return default_chip_; }  // chip preset it carries
  const Timing& timing() const { return timing_; }
  AdcScaling adc_scaling() const { return adc_scaling_; }
  bool share_tiles() const { return share_tiles_; }       // layers may share a tile
  double adc_rate_hz() const { return adc_rate_hz_; }     // override of the ADCs' rate (0: none)
  const std::vector<std::string>& sources() const { return sources_; }
  // The MNSIM 2.0 parameters (conventions: mnsim), validated against mnsim_schema().
  const Params& mnsim() const { return mnsim_; }
  static Schema mnsim_schema();
  static Schema schema();  // the top-level keys that hold one value, for the config reference
  // The top-level keys that hold a list or a section (kind "list" or "section").
  struct SectionKey {
    std::string name, kind, description;
  };
  static std::vector<SectionKey> structure();
  // The preset used when a config has no `arch:` section.
  static constexpr const char* kDefaultPreset = "thermal_quant";
  // The levels by role; pe and chip always exist (tile may be the chip itself).
  size_t level_index(LevelRole role) const;

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
  std::string name_, conventions_ = "native", default_chip_;
  Timing timing_;
  AdcScaling adc_scaling_ = AdcScaling::Table;
  bool share_tiles_ = false;
  double adc_rate_hz_ = 0;
  std::vector<std::string> sources_;
  Params mnsim_;
};

}  // namespace cimkit::cost
