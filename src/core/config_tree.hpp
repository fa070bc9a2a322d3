// The configuration tree: YAML documents loaded into nodes that remember where each value came
// from (file and line), merged preset-first, overridden by `--set a.b.c=value`, and written
// back out as YAML. Typed validation lives in params.hpp; this layer only knows structure.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace cimkit {

class ConfigNode {
 public:
  enum class Kind { Null, Scalar, Map, Seq };

  ConfigNode() = default;
  static ConfigNode scalar(std::string value, SourceLoc loc = {});
  static ConfigNode map(SourceLoc loc = {});
  static ConfigNode seq(SourceLoc loc = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_scalar() const { return kind_ == Kind::Scalar; }
  bool is_map() const { return kind_ == Kind::Map; }
  bool is_seq() const { return kind_ == Kind::Seq; }
  const std::string& value() const { return value_; }  // scalar text
  const SourceLoc& loc() const { return loc_; }
  void set_loc(SourceLoc loc) { loc_ = std::move(loc); }
  const char* kind_name() const;

  // Map access (insertion order is kept, so written configs read like their sources).
  bool has(const std::string& key) const;
  const ConfigNode* find(const std::string& key) const;
  ConfigNode* find(const std::string& key);
  ConfigNode& set(const std::string& key, ConfigNode child);  // insert or replace
  bool erase(const std::string& key);
  std::vector<std::string> keys() const;
  const std::vector<std::pair<std::string, ConfigNode>>& items() const { return map_; }
  // Appends `key`, which the caller knows is not in the map yet (the loader, which has checked
  // for duplicates): no search, so loading a map of n keys is not O(n^2).
  void append_new(std::string key, ConfigNode child);

  // Sequence access.
  const std::vector<ConfigNode>& elements() const { return seq_; }
  void push_back(ConfigNode child) { seq_.push_back(std::move(child)); }

 private:
  Kind kind_ = Kind::Null;
  std::string value_;
  SourceLoc loc_;
  std::vector<std::pair<std::string, ConfigNode>> map_;
  std::vector<ConfigNode> seq_;
};

// Bounds on YAML input, so that any file or text loads in bounded memory and time
// (docs/architecture.md, "Bounded YAML input"). Aliases are expanded: each use of `*name` counts
// as a copy of what `&name` holds, so a few hundred bytes cannot expand to gigabytes.
struct YamlLimits {
  static constexpr size_t max_bytes = size_t(1) << 20;       // size of a file or text
  static constexpr size_t max_values = 100000;               // scalars, lists and maps
  static constexpr size_t max_text_bytes = size_t(4) << 20;  // keys and scalar values
  static constexpr int max_depth = 64;                       // lists and maps inside each other
};

// Loads a YAML config file (in config_load.cpp). A path that is missing, a directory or not a
// regular file raises DataError naming it; text over YamlLimits, text that is not UTF-8 (NUL
// bytes, control characters, binary data), tabs in indentation, malformed YAML, nesting too deep,
// aliases that refer to themselves and duplicate keys raise ConfigError naming file and line.
ConfigNode load_yaml_file(const std::string& path);
// Parses YAML text with the same checks; `source_name` is what error messages call it.
ConfigNode load_yaml_string(const std::string& text, const std::string& source_name);

// Deep merge: maps merge key by key, anything else in `over` replaces what is in `base`. A map
// in `over` that names a `preset`, or an `impl` other than the base's, replaces the base map.
ConfigNode merge(const ConfigNode& base, const ConfigNode& over);

// Applies one `path.to.key=value` override (value parsed as YAML, so `[1,2]` is a list).
// Raises ConfigError on a malformed assignment or a path through a non-map.
void apply_override(ConfigNode& root, const std::string& assignment);

// Node at a dotted path, or nullptr.
const ConfigNode* find_path(const ConfigNode& root, const std::string& dotted);

// YAML text for a tree.
std::string to_yaml(const ConfigNode& root);

}  // namespace cimkit
