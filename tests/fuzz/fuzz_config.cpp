// libFuzzer target for the YAML config loader (docs/testing.md): arbitrary bytes go through
// load_yaml_string, and what loads goes on through typed validation (parse_params), merging,
// --set overrides and to_yaml. Every input must either load or raise ConfigError / DataError;
// any other exception aborts (libFuzzer reports it as a crash), as do sanitizer findings, and
// -rss_limit_mb / -timeout catch inputs that take unbounded memory or time.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

#include "core/config_tree.hpp"
#include "core/params.hpp"

using namespace cimkit;

namespace {

Schema fuzz_schema() {
  Schema s("fuzz", "keys that look like cimkit's");
  s.integer("bits", "resolution").range(1, 16).def(int64_t{8});
  s.real("g_on_us", "conductance").with_unit("uS").above(0).def(40.0);
  s.real("clip_k", "clipping").at_least(0).at_most(1e6).def(4.0);
  s.choice("rounding", {"nearest", "floor"}, "rounding").def(std::string("nearest"));
  s.boolean("signed", "signed input").def(false);
  s.string("name", "a name").def(std::string("x"));
  return s;
}

void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_config: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void validate(const ConfigNode& section, const Schema& schema, const std::string& path) {
  try {
    const Params p = parse_params(section, schema, path, {"impl", "preset"});
    // Resolved values must load back (this is how resolved_config.yaml is written and read).
    const std::string text = to_yaml(p.to_node());
    parse_params(load_yaml_string(text, "resolved.yaml"), schema, path, {"impl", "preset"});
  } catch (const ConfigError&) {
  }
}

void exercise(const ConfigNode& root, const std::string& text) {
  const Schema schema = fuzz_schema();
  validate(root, schema, "chip.adc");
  if (root.is_map()) {
    for (const auto& [key, child] : root.items()) validate(child, schema, key);
  }
  // The tree written back must load again unless, with aliases expanded, it is over the limits.
  const std::string written = to_yaml(root);
  try {
    const std::string again = to_yaml(load_yaml_string(written, "written.yaml"));
    if (again != written) fail("to_yaml output reads back as another tree", written + "---\n" + again);
  } catch (const ConfigError& e) {
    if (written.size() <= YamlLimits::max_bytes / 4) fail("to_yaml output does not load", e.what());
  }
  ConfigNode merged = merge(root, root);
  find_path(merged, "chip.adc.bits");
  // The first line as a --set value.
  const std::string value = text.substr(0, std::min(text.find('\n'), size_t(256)));
  try {
    apply_override(merged, "chip.adc.bits=" + value);
  } catch (const ConfigError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    exercise(load_yaml_string(text, "fuzz.yaml"), text);
  } catch (const ConfigError&) {
  } catch (const DataError&) {
  }
  return 0;
}
