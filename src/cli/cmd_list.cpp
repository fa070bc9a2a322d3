// `cimkit list [KIND]`: everything a user can name — architecture presets, zoo models, datasets,
// chip presets and the implementations and presets of every registry interface — read from the
// code, the preset folders and the dataset folders, never from hand-kept text.
#include <fmt/format.h>

#include <iostream>

#include "cli/catalog.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/registry.hpp"
#include "core/text.hpp"
#include "cost/architecture.hpp"
#include "crossbar/chip.hpp"
#include "data/dataset.hpp"
#include "nn/zoo.hpp"

namespace cimkit::cli {
namespace {

size_t width_of(const std::vector<std::string>& names, size_t at_least = 0) {
  for (const auto& n : names) at_least = std::max(at_least, n.size());
  return at_least;
}

void list_arch(std::ostream& out) {
  const auto names = list_presets("arch");
  const size_t w = width_of(names, 6);
  out << "Architecture presets (--arch NAME, arch: {preset: NAME}; configs/presets/arch):\n";
  for (const auto& n : names) {
    const cost::Architecture a = cost::Architecture::preset(n);
    out << fmt::format("  {:<{}}  {} conventions, {} nm, {} GHz, chip preset {}{}\n", n, w, a.conventions(),
                       format_double(a.technology_nm()), format_double(a.clock_hz() / 1e9),
                       a.default_chip().empty() ? std::string("default") : a.default_chip(),
                       n == cost::Architecture::kDefaultPreset ? "  (the default)" : "");
  }
}

// Parameters and analog layers of a zoo model at one input shape; "-" when it cannot be built.
std::string model_size(const std::string& name, int64_t channels, int64_t size) {
  nn::ZooOptions o;
  o.name = name;
  o.in_channels = channels;
  o.image_size = size;
  o.n_classes = 10;
  try {
    auto net = nn::make_model(o);
    return fmt::format("{} ({} analog layers)", nn::count_parameters(*net), net->analog_layers().size());
  } catch (const Error&) {
    return "-";
  }
}

void list_models(std::ostream& out) {
  const auto& names = nn::zoo_names();
  const size_t w = width_of(names, 6);
  out << "Zoo models (model.name, --network NAME; docs/models.md), parameters at width 1 and 10 classes:\n";
  std::vector<std::string> small, large;
  for (const auto& n : names) small.push_back(model_size(n, 1, 28)), large.push_back(model_size(n, 3, 32));
  const size_t sw = width_of(small, 21);
  out << fmt::format("  {:<{}}  {:<{}}  {}\n", "model", w, "input 1x28x28 (MNIST)", sw, "input 3x32x32 (CIFAR)");
  for (size_t i = 0; i < names.size(); ++i) {
    out << fmt::format("  {:<{}}  {:<{}}  {}\n", names[i], w, small[i], sw, large[i]);
  }
}

void list_datasets(std::ostream& out) {
  const auto& names = data::dataset_names();
  const size_t w = width_of(names, 7);
  out << "Datasets (data.name; data.dir overrides the folder):\n";
  for (const auto& n : names) {
    const std::string dir = data::default_data_dir(n);
    out << fmt::format("  {:<{}}  {:<9}  {}\n", n, w, data::dataset_files_present(n) ? "installed" : "not found",
                       dir);
  }
}

void list_chips(std::ostream& out) {
  const auto names = list_presets("chip");
  const size_t w = width_of(names, 6);
  out << "Chip presets (--chip NAME, chip: {preset: NAME}; configs/presets/chip):\n";
  for (const auto& n : names) {
    ConfigNode section = ConfigNode::map({"<list>", 0});
    section.set("preset", ConfigNode::scalar(n, {"<list>", 0}));
    const auto chip = Chip::from_config(section, "chip");
    const auto& s = chip->spec();
    const ConfigNode r = chip->resolved();
    const int adc = chip->adc().bits();
    out << fmt::format("  {:<{}}  {}x{} arrays, {}-bit cells, {}-bit DAC, {} ADC, device {}{}\n", n, w, s.rows, s.cols,
                       s.cell_bits, chip->dac().bits(), adc > 0 ? std::to_string(adc) + "-bit" : std::string("ideal"),
                       r.find("device")->find("impl")->value(), n == "default" ? "  (the default)" : "");
  }
}

void list_interface(const RegistryBase& r, std::ostream& out) {
  std::vector<std::string> names = r.names();
  const auto presets = list_presets(r.interface_name());
  for (const auto& p : presets) names.push_back(p);
  const size_t w = width_of(names);
  out << r.interface_name() << ": " << r.description() << " (cimkit describe " << r.interface_name()
      << ".NAME)\n";
  for (const auto& i : r.impls()) out << fmt::format("  impl    {:<{}}  {}\n", i.name, w, i.description);
  for (const auto& p : presets) {
    ConfigNode section = ConfigNode::map({"<list>", 0});
    section.set("preset", ConfigNode::scalar(p, {"<list>", 0}));
    const ConfigNode e = expand_preset(section, r.interface_name(), r.interface_name());
    out << fmt::format("  preset  {:<{}}  impl {}\n", p, w, e.has("impl") ? e.find("impl")->value() : "?");
  }
}

void list_kinds_summary(std::ostream& out) {
  out << "What you can name (cimkit list KIND):\n";
  const auto arch = list_presets("arch"), chips = list_presets("chip");
  std::vector<std::string> datasets;
  for (const auto& n : data::dataset_names()) {
    datasets.push_back(n + (data::dataset_files_present(n) ? "" : " (not found)"));
  }
  std::vector<std::pair<std::string, std::string>> rows = {
      {"arch", "architecture presets: " + join(arch)},
      {"model", "zoo models: " + join(nn::zoo_names())},
      {"dataset", "datasets: " + join(datasets)},
      {"chip", "chip presets: " + join(chips)}};
  for (auto* r : all_registries()) {
    std::string line = r->description() + "; impl " + join(r->names());
    const auto presets = list_presets(r->interface_name());
    if (!presets.empty()) line += "; presets " + join(presets);
    rows.emplace_back(r->interface_name(), line);
  }
  std::vector<std::string> kinds;
  for (const auto& [k, _] : rows) kinds.push_back(k);
  const size_t w = width_of(kinds);
  for (const auto& [k, line] : rows) out << fmt::format("  {:<{}}  {}\n", k, w, line);
  std::vector<std::string> sections;
  for (const auto& s : fixed_sections()) sections.push_back(s.name);
  out << "Config sections (cimkit describe NAME): " << join(sections) << ", chip, and every kind above as "
      << "KIND.NAME (e.g. cimkit describe device.reram, chip.default, arch.isaac)\n";
}

}  // namespace

int list_command(const std::string& kind, std::ostream& out) {
  if (kind.empty()) {
    list_kinds_summary(out);
    return 0;
  }
  if (kind == "arch") {
    list_arch(out);
  } else if (kind == "model") {
    list_models(out);
  } else if (kind == "dataset") {
    list_datasets(out);
  } else if (kind == "chip") {
    list_chips(out);
  } else if (RegistryBase* r = find_registry(kind)) {
    list_interface(*r, out);
  } else {
    const auto kinds = list_kinds();
    throw Error("cimkit list: unknown kind '" + kind + "'" + did_you_mean_hint(kind, kinds) + "; known: " + join(kinds));
  }
  return 0;
}

void add_list(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("list", "List what you can name: architectures, models, datasets, chip presets, and "
                                         "the implementations and presets of each interface");
  auto kind = std::make_shared<std::string>();
  cmd->add_option("kind", *kind, "arch, model, dataset, chip, or an interface (device, dac, adc, pulse_device); "
                                 "none: every kind");
  cmd->callback([&action, kind] { action = [kind] { return list_command(*kind, std::cout); }; });
}

}  // namespace cimkit::cli
