// A run's configuration: a YAML file (or built-in defaults) plus `--set` overrides, validated
// into the chip and the top-level keys, and written back as resolved_config.yaml.
#pragma once
#include <map>
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
  std::string out;      // run folder ("" = the command's default)
  std::string config_path;  // the file it came from ("" for the built-in default)
  // The job sections (`model`, `data`, `train`, `eval`) as given (after overrides), for the
  // command that owns them to validate; absent ones are null nodes.
  std::map<std::string, ConfigNode> sections;
  ConfigNode resolved;  // every key with its value; re-running it reproduces the run

  static const std::vector<std::string>& job_sections();

  // `path` may be empty (built-in default: chip preset `default`).
  static RunConfig load(const std::string& path, const std::vector<std::string>& overrides);
  static Schema top_schema();
};

void write_text_file(const std::string& path, const std::string& text);  // atomic (tmp + rename)

}  // namespace cimkit
