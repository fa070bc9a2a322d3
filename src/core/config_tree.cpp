#include "core/config_tree.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

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

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : map_) out.push_back(kv.first);
  return out;
}

namespace {

ConfigNode convert(const YAML::Node& y, const std::string& file) {
  const SourceLoc loc{file, y.Mark().line >= 0 ? y.Mark().line + 1 : 0};
  switch (y.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: {
      ConfigNode n;
      n.set_loc(loc);
      return n;
    }
    case YAML::NodeType::Scalar:
      return ConfigNode::scalar(y.Scalar(), loc);
    case YAML::NodeType::Sequence: {
      ConfigNode n = ConfigNode::seq(loc);
      for (const auto& e : y) n.push_back(convert(e, file));
      return n;
    }
    case YAML::NodeType::Map: {
      ConfigNode n = ConfigNode::map(loc);
      std::set<std::string> seen;
      for (const auto& kv : y) {
        if (!kv.first.IsScalar()) {
          throw ConfigError({file, kv.first.Mark().line + 1}, "",
                            "map keys must be plain names, not lists or maps");
        }
        const std::string key = kv.first.Scalar();
        if (!seen.insert(key).second) {
          throw ConfigError({file, kv.first.Mark().line + 1}, key,
                            "duplicate key; each key may appear once per map");
        }
        ConfigNode child = convert(kv.second, file);
        if (child.is_null()) child.set_loc({file, kv.first.Mark().line + 1});
        n.set(key, std::move(child));
      }
      return n;
    }
  }
  return {};
}

ConfigNode parse(const std::string& text, const std::string& name) {
  try {
    return convert(YAML::Load(text), name);
  } catch (const YAML::ParserException& e) {
    throw ConfigError({name, e.mark.line >= 0 ? e.mark.line + 1 : 0}, "",
                      "malformed YAML: " + e.msg);
  }
}

}  // namespace

ConfigNode load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError({path, 0}, "", "cannot read config file (does it exist and is it readable?)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  ConfigNode root = parse(ss.str(), path);
  if (!root.is_map() && !root.is_null()) {
    throw ConfigError({path, root.loc().line}, "",
                      std::string("a config file must be a map of keys, found a ") +
                          root.kind_name());
  }
  if (root.is_null()) root = ConfigNode::map({path, 1});
  return root;
}

ConfigNode load_yaml_string(const std::string& text, const std::string& source_name) {
  return parse(text, source_name);
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
    value = convert(YAML::Load(text), "--set");
  } catch (const YAML::ParserException& e) {
    throw ConfigError(loc, path, "malformed value '" + text + "': " + e.msg);
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
void emit(YAML::Emitter& out, const ConfigNode& n) {
  switch (n.kind()) {
    case ConfigNode::Kind::Null: out << YAML::Null; break;
    case ConfigNode::Kind::Scalar: out << n.value(); break;
    case ConfigNode::Kind::Seq:
      out << YAML::Flow << YAML::BeginSeq;
      for (const auto& e : n.elements()) emit(out, e);
      out << YAML::EndSeq;
      break;
    case ConfigNode::Kind::Map:
      out << YAML::BeginMap;
      for (const auto& [k, v] : n.items()) {
        out << YAML::Key << k << YAML::Value;
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
