#include "cli/run_config.hpp"

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
  static const std::vector<std::string> names = {"model", "data", "train", "pretrain", "eval", "arch", "cost", "thermal", "search"};
  return names;
}

RunConfig RunConfig::load(const std::string& path, const std::vector<std::string>& overrides) {
  ConfigNode root = path.empty() ? ConfigNode::map({"<default>", 0}) : load_yaml_file(path);
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
