// Parameter declarations. Every configurable number in cimkit is declared exactly once, here in
// code: name (carrying the unit the user types, e.g. `g_on_us`), type, default or required,
// allowed range or choices, and a one-line description. The declaration drives YAML parsing and
// validation, `cimkit describe`, and docs/config.md, so the three can never disagree.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/config_tree.hpp"

namespace cimkit {

enum class ParamType { Bool, Int, Real, String, Choice };
using ParamValue = std::variant<bool, int64_t, double, std::string>;

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Real;
  std::string description;
  std::string unit;                       // e.g. "uS", "K", "s"; empty if dimensionless
  std::optional<ParamValue> default_value;
  bool required = false;
  std::optional<double> min, max;         // numeric bounds
  bool min_exclusive = false, max_exclusive = false;
  std::vector<std::string> choices;       // for Choice

  // Chainable setters used by declarations.
  ParamSpec& def(ParamValue v);
  ParamSpec& require();
  ParamSpec& range(double lo, double hi);        // inclusive
  ParamSpec& at_least(double lo);                // inclusive
  ParamSpec& above(double lo);                   // exclusive
  ParamSpec& at_most(double hi);                 // inclusive
  ParamSpec& with_unit(std::string u);

  std::string type_name() const;    // "integer", "real", "bool", "string", "one of"
  std::string allowed() const;      // "integer in [1, 16]", "one of: a, b"
  std::string default_text() const; // "8", "(required)"
};

std::string value_text(const ParamValue& v);

// The declared parameters of one config section (a fixed section or one implementation).
class Schema {
 public:
  Schema() = default;
  Schema(std::string name, std::string description)
      : name_(std::move(name)), description_(std::move(description)) {}

  ParamSpec& boolean(const std::string& name, const std::string& description);
  ParamSpec& integer(const std::string& name, const std::string& description);
  ParamSpec& real(const std::string& name, const std::string& description);
  ParamSpec& string(const std::string& name, const std::string& description);
  ParamSpec& choice(const std::string& name, std::vector<std::string> choices,
                    const std::string& description);

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  const std::vector<ParamSpec>& specs() const { return specs_; }
  const ParamSpec* find(const std::string& name) const;
  std::vector<std::string> names() const;

  // Markdown table of the parameters (used by docs/config.md and `cimkit describe`).
  std::string markdown() const;
  // Plain-text listing for terminals.
  std::string text() const;

 private:
  ParamSpec& add(const std::string& name, ParamType type, const std::string& description);
  std::string name_, description_;
  std::vector<ParamSpec> specs_;
};

// Validated, typed values of one section. Each value remembers where it came from.
class Params {
 public:
  const std::string& path() const { return path_; }
  const Schema& schema() const { return schema_; }

  bool get_bool(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  double get_real(const std::string& name) const;  // Int values convert
  const std::string& get_string(const std::string& name) const;
  bool given(const std::string& name) const;        // set in a file or by --set
  SourceLoc loc(const std::string& name) const;

  // Raises a ConfigError pointing at `name` (for checks that involve several values).
  [[noreturn]] void fail(const std::string& name, const std::string& message) const;

  // Resolved values (every declared key, defaults filled in) as a config node.
  ConfigNode to_node() const;

  void set(const std::string& name, ParamValue v);  // programmatic override (validated)

 private:
  friend Params parse_params(const ConfigNode&, const Schema&, const std::string&,
                             const std::set<std::string>&);
  const ParamValue& raw(const std::string& name) const;
  std::string path_;
  Schema schema_;
  std::map<std::string, ParamValue> values_;
  std::map<std::string, SourceLoc> locs_;
  std::set<std::string> given_;
};

// Validates `section` (a map, or null for "all defaults") against `schema`. `path` is the
// dotted key path of the section ("chip.adc"). Keys in `extra_keys` (such as `impl`) are
// accepted without being parameters.
Params parse_params(const ConfigNode& section, const Schema& schema, const std::string& path,
                    const std::set<std::string>& extra_keys = {});

// Parses one scalar against a spec; throws ConfigError at `loc` / `path` if it does not fit.
ParamValue parse_value(const ParamSpec& spec, const ConfigNode& node, const std::string& path);

// Raises the "unknown key" error with a did-you-mean and the allowed keys.
[[noreturn]] void fail_unknown_key(const std::string& key, const ConfigNode& value,
                                   const std::string& section_path,
                                   const std::vector<std::string>& allowed);

}  // namespace cimkit
