#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <regex>

#include "cli/commands.hpp"
#include "cli/cost_job.hpp"
#include "cli/file_kind.hpp"
#include "core/error.hpp"
#include "core/memory.hpp"
#include "core/paths.hpp"
#include "core/text.hpp"
#include "nn/shape_trace.hpp"
#include "nn/zoo.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;

mapping::NetworkShape network_for(const std::string& network, const ConfigNode* model, const std::string& input,
                                  int64_t classes) {
  const bool is_file = network.size() > 5 && (network.substr(network.size() - 5) == ".yaml" ||
                                              network.substr(network.size() - 4) == ".yml");
  if (is_file) {
    const std::map<FileKind, std::string> hints = {
        {FileKind::Floorplan, "give it to cimkit thermal --floorplan " + network},
        {FileKind::Config, "give it as the config (cimkit cost " + network + ")"}};
    if (fs::exists(network)) {
      refuse_misplaced_file(network, FileKind::LayerList, hints);
      return mapping::load_layer_list(network);
    }
    const fs::path in_tree = fs::path(config_dir()).parent_path() / network;  // networks/... beside configs/
    if (fs::exists(in_tree)) {
      refuse_misplaced_file(in_tree.string(), FileKind::LayerList, hints);
      return mapping::load_layer_list(in_tree.string());
    }
    throw Error("network file '" + network + "' not found (nor " + in_tree.string() + ")");
  }
  const auto& names = nn::zoo_names();
  if (std::find(names.begin(), names.end(), network) == names.end()) {
    throw Error("network '" + network + "' is neither a layer-list file (.yaml) nor a zoo model" +
                did_you_mean_hint(network, names) + "; zoo models: " + join(names, ", "));
  }
  std::smatch m;
  static const std::regex shape_re(R"(([1-9]\d{0,6})x([1-9]\d{0,6})x([1-9]\d{0,6}))");
  if (!std::regex_match(input, m, shape_re) || std::stoll(m[2]) != std::stoll(m[3])) {
    throw Error("--input '" + input + "': expected CxHxW with square images and sizes from 1 to 9999999, e.g. 3x32x32");
  }
  ConfigNode section = model && !model->is_null() ? *model : ConfigNode::map({"<command line>", 0});
  section.set("name", ConfigNode::scalar(network, {"<command line>", 0}));
  const Params mp = parse_params(section, nn::ZooOptions::schema(), "model");
  nn::ZooOptions zo = nn::ZooOptions::from_params(mp);
  zo.name = network;
  zo.in_channels = std::stoll(m[1]);
  zo.image_size = std::stoll(m[2]);
  zo.n_classes = classes;
  if (classes < 1) throw Error("--classes must be >= 1");
  require_memory(nn::estimate_zoo_model_bytes(zo), "the network " + network + " at --input " + input,
                 "use a smaller --input");
  auto net = nn::make_model(zo);
  mapping::NetworkShape shape = nn::trace_network(*net, network, {zo.in_channels, zo.image_size, zo.image_size});
  if (!model || model->is_null()) {
    for (auto& l : shape.layers) l.weight_bits = l.input_bits = l.adc_bits = std::nullopt;  // the chip's widths
  }
  return shape;
}

CostSetup load_cost_setup(const CostArgs& args) {
  if (!args.config.empty()) {
    refuse_misplaced_file(args.config, FileKind::Config,
                          {{FileKind::LayerList, "use --network " + args.config},
                           {FileKind::Floorplan, "use cimkit thermal --floorplan " + args.config}});
  }
  ConfigNode root = args.config.empty() ? ConfigNode::map({"<command line>", 0}) : load_yaml_file(args.config);
  if (!root.is_map()) throw ConfigError(root.loc(), "", "a cost config is a map with chip, arch, cost, model sections");
  auto set_preset = [&](const std::string& section, const std::string& name) {
    ConfigNode n = ConfigNode::map({"<command line>", 0});
    n.set("preset", ConfigNode::scalar(name, {"<command line>", 0}));
    root.set(section, n);
  };
  if (!args.arch.empty()) set_preset("arch", args.arch);
  if (!args.chip.empty()) set_preset("chip", args.chip);
  if (!root.has("arch")) {  // the default architecture, before the overrides so --set arch.KEY refines it
    ConfigNode n = ConfigNode::map({"<default>", 0});
    n.set("preset", ConfigNode::scalar(cost::Architecture::kDefaultPreset, {"<default>", 0}));
    root.set("arch", n);
  }
  for (const auto& o : args.overrides) apply_override(root, o);
  // A run config is a cost config too: its run-only sections are accepted and left alone.
  static const std::vector<std::string> known = {"chip", "arch", "cost", "thermal", "model", "data", "train", "eval",
                                                 "operating", "seed", "threads", "out", "sources"};
  for (const auto& [k, v] : root.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) fail_unknown_key(k, v, "", known);
  }
  const ConfigNode* cost_node = root.find("cost");
  const Params cp = parse_params(cost_node ? *cost_node : ConfigNode(), cost::CostOptions::schema(), "cost");
  cost::CostOptions opt = cost::CostOptions::from_params(cp);
  if (!args.duplication.empty()) opt.duplication = args.duplication;
  if (opt.duplication != "none" && opt.duplication != "balance") {
    throw Error("--duplication '" + opt.duplication + "': allowed none, balance");
  }
  std::string network = args.network.empty() ? cp.get_string("network") : args.network;
  const ConfigNode* model = root.find("model");
  if (network.empty() && model && model->has("name")) network = model->find("name")->value();
  if (network.empty()) network = "resnet18";
  // A relative layer-list path in a config file is relative to the working directory, then to
  // the source tree (network_for).
  mapping::NetworkShape net = network_for(network, model, args.input, args.classes);
  cost::CostModel cm = cost::CostModel::from_config(root.find("arch"), root.find("chip"), opt);
  return {std::move(root), std::move(net), std::move(cm)};
}

int cost_command(const CostArgs& args, std::ostream& out) {
  const CostSetup setup = load_cost_setup(args);
  const cost::CostModel& cm = setup.model;
  const cost::CostReport rep = cm.evaluate(setup.network);
  if (args.json) {
    nlohmann::json j = rep.to_json();
    j["reference"] = rep.reference;
    out << j.dump(2) << "\n";
    return 0;
  }
  const auto& c = cm.chip();
  out << fmt::format("chip: {}x{} arrays, {}-bit cells, {}-bit weights, {}-bit inputs, {}-bit DAC, {}-bit ADC\n",
                     c.spec.rows, c.spec.cols, c.spec.cell_bits, c.spec.weight_bits, c.spec.input_bits, c.dac_bits,
                     c.adc_bits);
  out << rep.summary_table();
  out << "per component:\n" << rep.component_table();
  size_t w = 16;  // the name column fits the longest layer name
  for (const auto& l : rep.layers) w = std::max(w, l.name.size());
  out << fmt::format("{:<{}} {:>5} {:>8} {:>6} {:>6} {:>6} {:>11} {:>11} {:>11}\n", "layer", w, "bits", "arrays", "PEs",
                     "tiles", "dup", "energy", "latency", "area mm^2");
  for (const auto& l : rep.layers) {
    out << fmt::format("{:<{}} {:>5} {:>8} {:>6} {:>6} {:>6} {:>11} {:>11} {:>11.4g}\n", l.name, w,
                       fmt::format("{}/{}", l.weight_bits, l.input_bits), l.arrays, l.pes, l.tiles, l.duplication,
                       cost::format_si(l.energy_j, "J"), cost::format_si(l.latency_s, "s"), l.area_m2 * 1e6);
  }
  return 0;
}

void add_cost(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("cost", "Energy, latency, area, EDP and TOPS/W of a network on an architecture "
                                         "(shapes only; docs/cost.md)");
  auto a = std::make_shared<CostArgs>();
  cmd->add_option("config", a->config, "Optional config with chip / arch / cost / model sections (a run config works)");
  cmd->add_option("--network,-n", a->network, "Zoo model name or layer-list file (default: cost.network, the "
                                              "model section's name, else resnet18)");
  cmd->add_option("--arch", a->arch, "Architecture preset: " + join(list_presets("arch"), ", "));
  cmd->add_option("--chip", a->chip, "Chip preset (default: the architecture's own chip)");
  cmd->add_option("--input", a->input, "Zoo networks: input shape CxHxW (default 3x32x32)");
  cmd->add_option("--classes", a->classes, "Zoo networks: output classes (default 10)");
  cmd->add_option("--duplication", a->duplication, "Weight duplication: none or balance");
  cmd->add_option("--set", a->overrides, "Override a config key: path.to.key=value (repeatable)");
  cmd->add_flag("--json", a->json, "Print every figure as JSON on stdout");
  cmd->callback([&action, a] { action = [a] { return cost_command(*a, std::cout); }; });
}

}  // namespace cimkit::cli
