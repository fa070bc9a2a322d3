#include "cli/run_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "cost/architecture.hpp"

namespace cimkit {

Schema RunConfig::top_schema() {
  Schema s("run", "Top-level keys of a run config (besides the `chip` and `operating` sections).");
  s.integer("seed", "Seed of every random stream in the run").at_least(0).def(int64_t{1});
  s.integer("threads", "CPU threads for tensor code (0: one per core)").range(0, 1024).def(int64_t{0});
  s.string("out", "Run folder for `cimkit run` (empty: runs/<config file name>)").def(std::string(""));
  return s;
}

const std::vector<std::string>& RunConfig::job_sections() {
  static const std::vector<std::string> names = {"model", "data", "train", "pretrain", "raoq", "eval", "arch", "cost", "thermal", "search", "nas"};
  return names;
}

namespace {

// `child`'s keys over `base`'s: maps merge key by key, anything else replaces.
void merge_over(ConfigNode& base, const ConfigNode& child) {
  for (const auto& [k, v] : child.items()) {
    ConfigNode* b = base.find(k);
    if (b && b->is_map() && v.is_map()) {
      merge_over(*b, v);
    } else {
      base.set(k, v);
    }
  }
}

// A config file with its `extends: FILE` chain resolved (FILE relative to the extending file):
// the extended config, with this file's keys merged over it. Config errors for a missing or
// non-map file, a non-string value and a cycle.
ConfigNode load_extending(const std::string& path, std::vector<std::string>& chain) {
  const std::string canon = std::filesystem::weakly_canonical(path).string();
  if (std::find(chain.begin(), chain.end(), canon) != chain.end() || chain.size() >= 8) {
    throw ConfigError({path, 0}, "extends", "a cycle or a chain longer than 8: " + fmt::format("{}", fmt::join(chain, " -> ")));
  }
  chain.push_back(canon);
  ConfigNode root = load_yaml_file(path);
  const ConfigNode* ext = root.find("extends");
  if (!ext) return root;
  if (!ext->is_scalar() || ext->value().empty()) {
    throw ConfigError(ext->loc(), "extends", "must be the path of another config file (relative to this one)");
  }
  std::filesystem::path base_path = ext->value();
  if (base_path.is_relative()) base_path = std::filesystem::path(path).parent_path() / base_path;
  if (!std::filesystem::exists(base_path)) {
    throw ConfigError(ext->loc(), "extends", fmt::format("no such file: {}", base_path.string()));
  }
  ConfigNode base = load_extending(base_path.string(), chain);
  base.erase("extends");
  root.erase("extends");
  merge_over(base, root);
  base.set_loc(root.loc());
  return base;
}

}  // namespace

RunConfig RunConfig::load(const std::string& path, const std::vector<std::string>& overrides) {
  std::vector<std::string> chain;
  ConfigNode root = path.empty() ? ConfigNode::map({"<default>", 0}) : load_extending(path, chain);
  if (!root.has("chip")) {  // the default chip, before overrides so --set refines it
    ConfigNode chip = ConfigNode::map({"<default>", 0});
    chip.set("preset", ConfigNode::scalar("default", {"<default>", 0}));
    root.set("chip", chip);
  }
  if (!root.has("arch")) {  // the default architecture, so --set arch.KEY refines it
    ConfigNode arch = ConfigNode::map({"<default>", 0});
    arch.set("preset", ConfigNode::scalar(cost::Architecture::kDefaultPreset, {"<default>", 0}));
    root.set("arch", arch);
  }
  for (const auto& o : overrides) apply_override(root, o);
  ConfigNode top = ConfigNode::map(root.loc());
  std::vector<std::string> allowed = {"chip", "operating"};
  for (const auto& n : job_sections()) allowed.push_back(n);
  for (const auto& n : top_schema().names()) allowed.push_back(n);
  RunConfig rc;
  for (const auto& n : job_sections()) rc.sections[n] = root.has(n) ? *root.find(n) : ConfigNode();
  for (const auto& [key, value] : root.items()) {
    if (key == "chip" || key == "operating" || rc.sections.count(key)) continue;
    if (!top_schema().find(key)) fail_unknown_key(key, value, "", allowed);
    top.set(key, value);
  }
  const Params tp = parse_params(top, top_schema(), "");
  const ConfigNode* op = root.find("operating");
  const Params opp = parse_params(op ? *op : ConfigNode(), OperatingConditions::schema(), "operating");

  rc.config_path = path;
  rc.seed = static_cast<uint64_t>(tp.get_int("seed"));
  rc.out = tp.get_string("out");
  rc.threads = static_cast<int>(tp.get_int("threads"));
  rc.chip = Chip::from_config(*root.find("chip"), "chip");
  rc.operating = OperatingConditions::from_params(opp);
  rc.resolved = ConfigNode::map();
  const ConfigNode top_values = tp.to_node();
  for (const auto& [k, v] : top_values.items()) rc.resolved.set(k, v);
  rc.resolved.set("chip", rc.chip->resolved());
  rc.resolved.set("operating", opp.to_node());
  return rc;
}

void write_text_file(const std::string& path, const std::string& text) { write_file_atomic(path, text); }

}  // namespace cimkit
