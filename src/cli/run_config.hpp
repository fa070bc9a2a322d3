// A run's configuration: a YAML file (or built-in defaults) plus `--set` overrides, validated
// into the chip and the top-level keys, and written back as resolved_config.yaml.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "core/params.hpp"
#include "crossbar/chip.hpp"

namespace cimkit {

struct RunConfig {
  uint64_t seed = 1;
  int threads = 0;
  std::shared_ptr<const Chip> chip;
  OperatingConditions operating;
  ConfigNode resolved;  // every key with its value; re-running it reproduces the run

  // `path` may be empty (built-in default: chip preset `default`).
  static RunConfig load(const std::string& path, const std::vector<std::string>& overrides);
  static Schema top_schema();
};

void write_text_file(const std::string& path, const std::string& text);  // atomic (tmp + rename)

}  // namespace cimkit
