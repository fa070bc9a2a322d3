// Where cimkit finds its data files (presets, example configs) at run time.
#pragma once
#include <string>

#include "core/config_tree.hpp"

namespace cimkit {

// The configs/ directory: $CIMKIT_CONFIG_DIR if set, else configs/ beside the source tree the
// binary was built from.
std::string config_dir();

// Expands `preset: NAME` in a section: loads configs/presets/<kind>/NAME.yaml (or NAME itself
// when it is a path to a .yaml file) and merges the section's other keys over it. Presets may
// name a preset themselves. `path` is the section's key path for error messages.
ConfigNode expand_preset(const ConfigNode& section, const std::string& kind,
                         const std::string& path);

// Names of the presets shipped for `kind` (file names without .yaml), sorted.
std::vector<std::string> list_presets(const std::string& kind);

}  // namespace cimkit
