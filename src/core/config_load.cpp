// Loading YAML text into config trees, in bounded memory and time whatever the input: the text
// is checked (size, UTF-8 text) before yaml-cpp sees it, and the conversion of yaml-cpp's nodes
// counts what it produces, expanding aliases, so an alias bomb or a self-referencing alias stops
// with an error instead of exhausting memory or the stack. Limits: YamlLimits in config_tree.hpp.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/config_tree.hpp"
#include "core/files.hpp"

namespace cimkit {

namespace {

int line_of_offset(const std::string& text, size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

// Offset of the first byte that keeps `text` from being UTF-8 YAML text (a NUL or another
// control character other than tab, line feed and carriage return, or a byte that is not part
// of a well-formed UTF-8 sequence), or npos. `why` says what is wrong with it.
size_t first_non_text_byte(const std::string& text, std::string& why) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = s[i];
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        why = c == 0 ? "a NUL byte" : "a control character";
        return i;
      }
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (s[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (!ok || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      why = "not valid UTF-8";
      return i;
    }
    i += len;
  }
  return std::string::npos;
}

void check_text(const std::string& text, const std::string& name, const char* what) {
  if (text.size() > YamlLimits::max_bytes) {
    throw ConfigError({name, 0}, "", std::string(what) + " is " + std::to_string(text.size()) +
                                         " bytes, more than the " +
                                         std::to_string(YamlLimits::max_bytes) +
                                         " bytes allowed for a YAML config");
  }
  std::string why;
  const size_t bad = first_non_text_byte(text, why);
  if (bad != std::string::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw ConfigError({name, line_of_offset(text, bad)}, "",
                      std::string(what) + " is not text (YAML expected): byte " +
                          std::to_string(bad) + " (" + hex + ") is " + why);
  }
}

// 1-based number of a line among `lines` (1-based) whose indentation holds a tab, or 0.
int tab_indented_line(const std::string& text, std::initializer_list<int> lines) {
  int number = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (std::find(lines.begin(), lines.end(), number) != lines.end()) {
      const size_t first = text.find_first_not_of(" \t", start);
      const bool content = first != std::string::npos && first < end && text[first] != '\r';
      if (content && text.find('\t', start) < first) return number;
    }
    start = end + 1;
    ++number;
  }
  return 0;
}

std::string limit_hint() {
  return "; each use of an alias (*name) counts as a copy of what its anchor (&name) holds";
}

// yaml-cpp nodes -> ConfigNode, counting the values and text produced (an alias is converted
// again at each use) and the depth, against YamlLimits.
class Converter {
 public:
  explicit Converter(std::string file) : file_(std::move(file)) {}

  ConfigNode convert(const YAML::Node& y) {
    const SourceLoc loc = loc_of(y);
    if (y.IsSequence() || y.IsMap()) open(y, loc);
    if (++values_ > YamlLimits::max_values) {
      throw ConfigError(top_loc(loc), top_key_,
                        "more than " + std::to_string(YamlLimits::max_values) +
                            " values (scalars, lists and maps) in the config" + limit_hint());
    }
    switch (y.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: {
        ConfigNode n;
        n.set_loc(loc);
        return n;
      }
      case YAML::NodeType::Scalar:
        count_text(y.Scalar().size(), loc);
        return ConfigNode::scalar(y.Scalar(), loc);
      case YAML::NodeType::Sequence: {
        ConfigNode n = ConfigNode::seq(loc);
        for (const auto& e : y) n.push_back(convert(e));
        open_.pop_back();
        return n;
      }
      case YAML::NodeType::Map: {
        ConfigNode n = ConfigNode::map(loc);
        std::set<std::string> seen;
        for (const auto& kv : y) {
          const SourceLoc key_loc = loc_of(kv.first);
          if (!kv.first.IsScalar()) {
            throw ConfigError(key_loc, "", "map keys must be plain names, not lists or maps");
          }
          const std::string& key = kv.first.Scalar();
          if (!seen.insert(key).second) {
            throw ConfigError(key_loc, key, "duplicate key; each key may appear once per map");
          }
          count_text(key.size(), key_loc);
          if (open_.size() == 1) top_key_ = key, top_line_ = key_loc.line;
          ConfigNode child = convert(kv.second);
          if (child.is_null()) child.set_loc(key_loc);
          n.append_new(key, std::move(child));
        }
        open_.pop_back();
        return n;
      }
    }
    return {};
  }

 private:
  // Enters list or map `y`, which must not be nested too deep or contain itself.
  void open(const YAML::Node& y, const SourceLoc& loc) {
    if (static_cast<int>(open_.size()) >= YamlLimits::max_depth) {
      throw ConfigError(loc, top_key_, "nesting deeper than " +
                                           std::to_string(YamlLimits::max_depth) +
                                           " levels of lists and maps" + limit_hint());
    }
    for (const YAML::Node& ancestor : open_) {
      if (ancestor.is(y)) {
        throw ConfigError(loc, top_key_,
                          "an alias refers to a list or map that contains it (a cycle)");
      }
    }
    open_.push_back(y);
  }
  SourceLoc loc_of(const YAML::Node& y) const {
    return {file_, y.Mark().line >= 0 ? y.Mark().line + 1 : 0};
  }
  // Where a size limit is reported: the top-level entry being converted (the node that crosses
  // the limit may sit inside an anchor defined elsewhere).
  SourceLoc top_loc(const SourceLoc& loc) const {
    return top_key_.empty() ? loc : SourceLoc{file_, top_line_};
  }
  void count_text(size_t bytes, const SourceLoc& loc) {
    text_bytes_ += bytes;
    if (text_bytes_ > YamlLimits::max_text_bytes) {
      throw ConfigError(top_loc(loc), top_key_,
                        "more than " + std::to_string(YamlLimits::max_text_bytes) +
                            " bytes of keys and values in the config" + limit_hint());
    }
  }

  std::string file_;
  std::vector<YAML::Node> open_;  // lists and maps being converted, outermost first
  std::string top_key_;
  int top_line_ = 0;
  size_t values_ = 0, text_bytes_ = 0;
};

ConfigNode parse(const std::string& text, const std::string& name, const char* what) {
  check_text(text, name, what);
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    throw ConfigError({name, e.mark.line >= 0 ? e.mark.line + 1 : 0}, "",
                      "nesting deeper than " + std::to_string(YamlLimits::max_depth) +
                          " levels of lists and maps");
  } catch (const YAML::ParserException& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    if (const int tab = tab_indented_line(text, {line, line - 1})) {
      throw ConfigError({name, tab}, "",
                        "tabs are not allowed in YAML indentation; indent with spaces");
    }
    throw ConfigError({name, line}, "", "malformed YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError({name, e.mark.line >= 0 ? e.mark.line + 1 : 0}, "",
                      "malformed YAML: " + e.msg);
  }
  return Converter(name).convert(doc);
}

}  // namespace

ConfigNode load_yaml_file(const std::string& path) {
  const std::string text = read_input_file(path, "config file", YamlLimits::max_bytes);
  ConfigNode root = parse(text, path, "the file");
  if (!root.is_map() && !root.is_null()) {
    throw ConfigError({path, root.loc().line}, "",
                      std::string("a config file must be a map of keys, found a ") +
                          root.kind_name());
  }
  if (root.is_null()) root = ConfigNode::map({path, 1});
  return root;
}

ConfigNode load_yaml_string(const std::string& text, const std::string& source_name) {
  return parse(text, source_name, "the input");
}

}  // namespace cimkit
