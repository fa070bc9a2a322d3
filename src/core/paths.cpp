#include "core/paths.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/text.hpp"

namespace fs = std::filesystem;

namespace cimkit {

std::string config_dir() {
  if (const char* env = std::getenv("CIMKIT_CONFIG_DIR"); env && *env) return env;
  return std::string(CIMKIT_SOURCE_DIR) + "/configs";
}

std::vector<std::string> list_presets(const std::string& kind) {
  std::vector<std::string> out;
  const fs::path dir = fs::path(config_dir()) / "presets" / kind;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

static ConfigNode expand(const ConfigNode& section, const std::string& kind,
                         const std::string& path, int depth) {
  if (!section.is_map()) return section;
  const ConfigNode* preset = section.find("preset");
  if (!preset) return section;
  if (!preset->is_scalar()) {
    throw ConfigError(preset->loc(), path + ".preset", "expected a preset name or a .yaml path");
  }
  if (depth > 8) throw ConfigError(preset->loc(), path + ".preset", "presets nest too deeply (a cycle?)");
  const std::string name = preset->value();
  std::string file;
  if (name.size() > 5 && name.substr(name.size() - 5) == ".yaml") {
    file = name;
  } else {
    file = (fs::path(config_dir()) / "presets" / kind / (name + ".yaml")).string();
    if (!fs::exists(file)) {
      const auto known = list_presets(kind);
      const std::string hint = did_you_mean(name, known);
      throw ConfigError(preset->loc(), path + ".preset",
                        "unknown " + kind + " preset '" + name + "'" +
                            (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                            "; known: " + (known.empty() ? "(none)" : join(known)));
    }
  }
  ConfigNode base = expand(load_yaml_file(file), kind, path, depth + 1);
  ConfigNode over = section;
  over.erase("preset");
  ConfigNode out = merge(base, over);
  out.set_loc(section.loc());
  return out;
}

ConfigNode expand_preset(const ConfigNode& section, const std::string& kind,
                         const std::string& path) {
  return expand(section, kind, path, 0);
}

}  // namespace cimkit
