#include "core/params.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/text.hpp"

namespace cimkit {

ParamSpec& ParamSpec::def(ParamValue v) {
  if (type == ParamType::Real && std::holds_alternative<int64_t>(v))
    v = static_cast<double>(std::get<int64_t>(v));
  if (type == ParamType::Int && std::holds_alternative<double>(v))
    v = static_cast<int64_t>(std::get<double>(v));
  default_value = std::move(v);
  required = false;
  return *this;
}
ParamSpec& ParamSpec::require() {
  required = true;
  default_value.reset();
  return *this;
}
ParamSpec& ParamSpec::range(double lo, double hi) {
  min = lo;
  max = hi;
  return *this;
}
ParamSpec& ParamSpec::at_least(double lo) {
  min = lo;
  return *this;
}
ParamSpec& ParamSpec::above(double lo) {
  min = lo;
  min_exclusive = true;
  return *this;
}
ParamSpec& ParamSpec::at_most(double hi) {
  max = hi;
  return *this;
}
ParamSpec& ParamSpec::with_unit(std::string u) {
  unit = std::move(u);
  return *this;
}

std::string ParamSpec::type_name() const {
  switch (type) {
    case ParamType::Bool: return "bool";
    case ParamType::Int: return "integer";
    case ParamType::Real: return "real";
    case ParamType::String: return "string";
    case ParamType::Choice: return "choice";
  }
  return "?";
}

static std::string num_text(double v, ParamType t) {
  if (t == ParamType::Int) return std::to_string(static_cast<int64_t>(v));
  return format_double(v);
}

std::string ParamSpec::allowed() const {
  switch (type) {
    case ParamType::Bool: return "true or false";
    case ParamType::String: return "a string";
    case ParamType::Choice: return "one of: " + join(choices);
    default: break;
  }
  std::string kind = type == ParamType::Int ? "an integer" : "a real number";
  if (min && max) {
    return kind + " in " + (min_exclusive ? "(" : "[") + num_text(*min, type) + ", " +
           num_text(*max, type) + (max_exclusive ? ")" : "]");
  }
  if (min) return kind + (min_exclusive ? " > " : " >= ") + num_text(*min, type);
  if (max) return kind + (max_exclusive ? " < " : " <= ") + num_text(*max, type);
  return kind;
}

std::string value_text(const ParamValue& v) {
  if (std::holds_alternative<bool>(v)) return std::get<bool>(v) ? "true" : "false";
  if (std::holds_alternative<int64_t>(v)) return std::to_string(std::get<int64_t>(v));
  if (std::holds_alternative<double>(v)) return format_double(std::get<double>(v));
  return std::get<std::string>(v);
}

std::string ParamSpec::default_text() const {
  if (required) return "(required)";
  if (!default_value) return "";
  return value_text(*default_value);
}

ParamSpec& Schema::add(const std::string& name, ParamType type, const std::string& description) {
  ParamSpec s;
  s.name = name;
  s.type = type;
  s.description = description;
  specs_.push_back(std::move(s));
  return specs_.back();
}
ParamSpec& Schema::boolean(const std::string& n, const std::string& d) {
  return add(n, ParamType::Bool, d);
}
ParamSpec& Schema::integer(const std::string& n, const std::string& d) {
  return add(n, ParamType::Int, d);
}
ParamSpec& Schema::real(const std::string& n, const std::string& d) {
  return add(n, ParamType::Real, d);
}
ParamSpec& Schema::string(const std::string& n, const std::string& d) {
  return add(n, ParamType::String, d);
}
ParamSpec& Schema::choice(const std::string& n, std::vector<std::string> c,
                          const std::string& d) {
  ParamSpec& s = add(n, ParamType::Choice, d);
  s.choices = std::move(c);
  return s;
}

const ParamSpec* Schema::find(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string> Schema::names() const {
  std::vector<std::string> out;
  for (const auto& s : specs_) out.push_back(s.name);
  return out;
}

std::string Schema::markdown() const {
  std::ostringstream out;
  out << "| key | unit | type | default | allowed | description |\n";
  out << "|---|---|---|---|---|---|\n";
  for (const auto& s : specs_) {
    out << "| `" << s.name << "` | " << (s.unit.empty() ? "–" : s.unit) << " | " << s.type_name()
        << " | " << (s.required ? "**required**" : "`" + s.default_text() + "`") << " | "
        << s.allowed() << " | " << s.description << " |\n";
  }
  return out.str();
}

std::string Schema::text() const {
  std::ostringstream out;
  size_t w = 4;
  for (const auto& s : specs_) w = std::max(w, s.name.size());
  for (const auto& s : specs_) {
    out << "  " << s.name << std::string(w - s.name.size() + 2, ' ') << s.description;
    if (!s.unit.empty()) out << " [" << s.unit << "]";
    out << "\n" << std::string(w + 4, ' ') << s.allowed() << "; default "
        << (s.required ? "none (required)" : s.default_value ? s.default_text() : "none") << "\n";
  }
  return out.str();
}

[[noreturn]] static void bad_value(const ParamSpec& spec, const ConfigNode& node,
                                   const std::string& path, const std::string& what) {
  throw ConfigError(node.loc(), path, what + "; allowed: " + spec.allowed());
}

ParamValue parse_value(const ParamSpec& spec, const ConfigNode& node, const std::string& path) {
  if (!node.is_scalar()) {
    bad_value(spec, node, path, std::string("expected a value, found a ") + node.kind_name());
  }
  const std::string& t = node.value();
  switch (spec.type) {
    case ParamType::Bool: {
      if (t == "true" || t == "True" || t == "yes" || t == "on") return true;
      if (t == "false" || t == "False" || t == "no" || t == "off") return false;
      bad_value(spec, node, path, "'" + t + "' is not a bool");
    }
    case ParamType::Int:
    case ParamType::Real: {
      const char* begin = t.c_str();
      char* end = nullptr;
      errno = 0;
      double v = 0;
      if (spec.type == ParamType::Int) {
        const long long i = std::strtoll(begin, &end, 10);
        if (t.empty() || *end != '\0' || errno == ERANGE) {
          bad_value(spec, node, path, "'" + t + "' is not an integer");
        }
        v = static_cast<double>(i);
      } else {
        v = std::strtod(begin, &end);
        if (t.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
          bad_value(spec, node, path, "'" + t + "' is not a finite real number");
        }
      }
      const bool low = spec.min && (spec.min_exclusive ? v <= *spec.min : v < *spec.min);
      const bool high = spec.max && (spec.max_exclusive ? v >= *spec.max : v > *spec.max);
      if (low || high) bad_value(spec, node, path, "value " + t + " is out of range");
      if (spec.type == ParamType::Int) return static_cast<int64_t>(v);
      return v;
    }
    case ParamType::String:
      return t;
    case ParamType::Choice: {
      for (const auto& c : spec.choices)
        if (c == t) return t;
      const std::string hint = did_you_mean(t, spec.choices);
      bad_value(spec, node, path,
                "unknown value '" + t + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
  bad_value(spec, node, path, "unsupported type");
}

void fail_unknown_key(const std::string& key, const ConfigNode& value,
                      const std::string& section_path, const std::vector<std::string>& allowed) {
  const std::string hint = did_you_mean(key, allowed);
  const std::string path = section_path.empty() ? key : section_path + "." + key;
  throw ConfigError(value.loc(), path,
                    "unknown key '" + key + "'" +
                        (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                        "; allowed keys: " + join(allowed));
}

Params parse_params(const ConfigNode& section, const Schema& schema, const std::string& path,
                    const std::set<std::string>& extra_keys) {
  Params p;
  p.path_ = path;
  p.schema_ = schema;
  if (!section.is_null() && !section.is_map()) {
    throw ConfigError(section.loc(), path,
                      std::string("expected a map of keys, found a ") + section.kind_name());
  }
  std::vector<std::string> allowed(extra_keys.begin(), extra_keys.end());
  for (const auto& n : schema.names()) allowed.push_back(n);
  for (const auto& [key, value] : section.items()) {
    if (extra_keys.count(key)) continue;
    if (!schema.find(key)) fail_unknown_key(key, value, path, allowed);
  }
  for (const auto& spec : schema.specs()) {
    const std::string key_path = path.empty() ? spec.name : path + "." + spec.name;
    const ConfigNode* node = section.is_map() ? section.find(spec.name) : nullptr;
    if (node && !node->is_null()) {
      p.values_[spec.name] = parse_value(spec, *node, key_path);
      p.locs_[spec.name] = node->loc();
      p.given_.insert(spec.name);
    } else if (spec.required) {
      throw ConfigError(node ? node->loc() : section.loc(), key_path,
                        "missing required value; allowed: " + spec.allowed() + " (" +
                            spec.description + ")");
    } else if (spec.default_value) {
      p.values_[spec.name] = *spec.default_value;
      p.locs_[spec.name] = SourceLoc{"<default>", 0};
    }
  }
  return p;
}

const ParamValue& Params::raw(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    throw Error("internal: parameter '" + name + "' is not declared in " + path_ +
                " or has no value");
  }
  return it->second;
}

bool Params::get_bool(const std::string& name) const { return std::get<bool>(raw(name)); }
int64_t Params::get_int(const std::string& name) const { return std::get<int64_t>(raw(name)); }
double Params::get_real(const std::string& name) const {
  const auto& v = raw(name);
  if (std::holds_alternative<int64_t>(v)) return static_cast<double>(std::get<int64_t>(v));
  return std::get<double>(v);
}
const std::string& Params::get_string(const std::string& name) const {
  return std::get<std::string>(raw(name));
}
bool Params::given(const std::string& name) const { return given_.count(name) > 0; }
SourceLoc Params::loc(const std::string& name) const {
  auto it = locs_.find(name);
  return it == locs_.end() ? SourceLoc{} : it->second;
}

void Params::fail(const std::string& name, const std::string& message) const {
  throw ConfigError(loc(name), path_.empty() ? name : path_ + "." + name, message);
}

void Params::set(const std::string& name, ParamValue v) {
  const ParamSpec* spec = schema_.find(name);
  if (!spec) throw Error("internal: parameter '" + name + "' is not declared in " + path_);
  const ConfigNode node = ConfigNode::scalar(value_text(v), {"<api>", 0});
  values_[name] = parse_value(*spec, node, path_.empty() ? name : path_ + "." + name);
  locs_[name] = node.loc();
  given_.insert(name);
}

ConfigNode Params::to_node() const {
  ConfigNode out = ConfigNode::map();
  for (const auto& spec : schema_.specs()) {
    auto it = values_.find(spec.name);
    if (it == values_.end()) continue;
    out.set(spec.name, ConfigNode::scalar(value_text(it->second), loc(spec.name)));
  }
  return out;
}

}  // namespace cimkit
