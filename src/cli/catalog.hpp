// Everything a user can name on the command line or in a config: the config sections `describe`
// explains, and the kinds `cimkit list` lists (architecture presets, zoo models, datasets, chip
// presets and the registry interfaces).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/params.hpp"

namespace cimkit::cli {

// A key of a section that holds a list or a sub-section rather than one value.
struct StructuredKey {
  std::string name, kind, description;  // kind: "list" or "section"
};

struct Section {
  std::string name;  // "run", "crossbar", "arch.timing", ...
  Schema schema;
  std::vector<StructuredKey> structure;
};

// The non-registry sections of a run config, in the order the reference documents them.
std::vector<Section> fixed_sections();

// The names `cimkit list` accepts: arch, model, dataset, chip, then every registry interface.
std::vector<std::string> list_kinds();

// Every name `cimkit describe` accepts on its own (sections, chip, interfaces).
std::vector<std::string> describable_names();

}  // namespace cimkit::cli
