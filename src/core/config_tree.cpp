#include "core/config_tree.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace cimkit {

ConfigNode ConfigNode::scalar(std::string value, SourceLoc loc) {
  ConfigNode n;
  n.kind_ = Kind::Scalar;
  n.value_ = std::move(value);
  n.loc_ = std::move(loc);
  return n;
}
ConfigNode ConfigNode::map(SourceLoc loc) {
  ConfigNode n;
  n.kind_ = Kind::Map;
  n.loc_ = std::move(loc);
  return n;
}
ConfigNode ConfigNode::seq(SourceLoc loc) {
  ConfigNode n;
  n.kind_ = Kind::Seq;
  n.loc_ = std::move(loc);
  return n;
}

const char* ConfigNode::kind_name() const {
  switch (kind_) {
    case Kind::Null: return "null";
    case Kind::Scalar: return "scalar";
    case Kind::Map: return "map";
    case Kind::Seq: return "list";
  }
  return "?";
}

bool ConfigNode::has(const std::string& key) const { return find(key) != nullptr; }

const ConfigNode* ConfigNode::find(const std::string& key) const {
  for (const auto& kv : map_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}
ConfigNode* ConfigNode::find(const std::string& key) {
  for (auto& kv : map_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

ConfigNode& ConfigNode::set(const std::string& key, ConfigNode child) {
  if (kind_ == Kind::Null) kind_ = Kind::Map;
  for (auto& kv : map_) {
    if (kv.first == key) {
      kv.second = std::move(child);
      return kv.second;
    }
  }
  map_.emplace_back(key, std::move(child));
  return map_.back().second;
}

bool ConfigNode::erase(const std::string& key) {
  for (auto it = map_.begin(); it != map_.end(); ++it) {
    if (it->first == key) {
      map_.erase(it);
      return true;
    }
  }
  return false;
}

void ConfigNode::append_new(std::string key, ConfigNode child) {
  if (kind_ == Kind::Null) kind_ = Kind::Map;
  map_.emplace_back(std::move(key), std::move(child));
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : map_) out.push_back(kv.first);
  return out;
}

// A section that picks another implementation, or names its own preset, starts afresh: the
// base's keys belong to a different implementation (or preset) and would not fit.
static bool replaces(const ConfigNode& base, const ConfigNode& over) {
  if (over.has("preset")) return true;
  const ConfigNode* a = base.find("impl");
  const ConfigNode* b = over.find("impl");
  return a && b && a->is_scalar() && b->is_scalar() && a->value() != b->value();
}

ConfigNode merge(const ConfigNode& base, const ConfigNode& over) {
  if (!base.is_map() || !over.is_map() || replaces(base, over)) return over;
  ConfigNode out = base;
  for (const auto& [key, child] : over.items()) {
    const ConfigNode* existing = out.find(key);
    if (existing && existing->is_map() && child.is_map()) {
      out.set(key, merge(*existing, child));
    } else {
      out.set(key, child);
    }
  }
  return out;
}

void apply_override(ConfigNode& root, const std::string& assignment) {
  const SourceLoc loc{"--set", 0};
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(loc, "", "malformed override '" + assignment +
                                   "'; expected path.to.key=value");
  }
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  ConfigNode value;
  try {
    value = load_yaml_string(text, "--set");
  } catch (const ConfigError& e) {
    throw ConfigError(loc, path, "malformed value '" + text + "': " + e.message());
  }
  if (value.is_null()) value = ConfigNode::scalar(text, loc);
  value.set_loc(loc);

  ConfigNode* node = &root;
  std::string walked;
  size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos
                                                                          : dot - start);
    if (key.empty()) throw ConfigError(loc, path, "empty component in key path");
    walked += (walked.empty() ? "" : ".") + key;
    if (dot == std::string::npos) {
      // Choosing another implementation or a preset starts the section afresh (as merge does):
      // the old keys belong to what is being replaced.
      const ConfigNode* old = node->find(key);
      if ((key == "impl" || key == "preset") && !(old && old->is_scalar() && value.is_scalar() && old->value() == value.value())) {
        *node = ConfigNode::map(loc);
      }
      node->set(key, std::move(value));
      return;
    }
    ConfigNode* child = node->find(key);
    if (!child) {
      child = &node->set(key, ConfigNode::map(loc));
    } else if (!child->is_map()) {
      throw ConfigError(loc, walked, "cannot set a key inside a " + std::string(child->kind_name()));
    }
    node = child;
    start = dot + 1;
  }
}

const ConfigNode* find_path(const ConfigNode& root, const std::string& dotted) {
  const ConfigNode* node = &root;
  size_t start = 0;
  while (node) {
    const auto dot = dotted.find('.', start);
    const std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos
                                                                            : dot - start);
    if (!node->is_map()) return nullptr;
    node = node->find(key);
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
  return nullptr;
}

namespace {
// yaml-cpp may write text with control characters (a carriage return, say) or text starting
// like a document marker (`...`, `---`) unquoted, and then cannot read it back as the same
// text; double quotes escape them.
void emit_text(YAML::Emitter& out, const std::string& text) {
  const bool control = std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  const bool marker = text.rfind("---", 0) == 0 || text.rfind("...", 0) == 0;
  if (control || marker) out << YAML::DoubleQuoted;
  out << text;
}

void emit(YAML::Emitter& out, const ConfigNode& n) {
  switch (n.kind()) {
    case ConfigNode::Kind::Null: out << YAML::Null; break;
    case ConfigNode::Kind::Scalar: emit_text(out, n.value()); break;
    case ConfigNode::Kind::Seq:
      out << YAML::Flow << YAML::BeginSeq;
      for (const auto& e : n.elements()) emit(out, e);
      out << YAML::EndSeq;
      break;
    case ConfigNode::Kind::Map:
      out << YAML::BeginMap;
      for (const auto& [k, v] : n.items()) {
        // YAML reads a key written as `key:` only up to 1024 characters; longer keys are
        // written as `? key`.
        if (k.size() > 200) out << YAML::LongKey;
        out << YAML::Key;
        emit_text(out, k);
        out << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
  }
}
}  // namespace

std::string to_yaml(const ConfigNode& root) {
  YAML::Emitter out;
  emit(out, root);
  return std::string(out.c_str()) + "\n";
}

}  // namespace cimkit
