// The configuration tree: YAML documents loaded into nodes that remember where each value came
// from (file and line), merged preset-first, overridden by `--set a.b.c=value`, and written
// back out as YAML. Typed validation lives in params.hpp; this layer only knows structure.
#pragma once
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

// Loads a YAML file. Unreadable or malformed files and duplicate keys raise ConfigError naming
// the file and line.
ConfigNode load_yaml_file(const std::string& path);
// Parses YAML text; `source_name` is what error messages call it.
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
