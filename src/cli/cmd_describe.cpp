// `cimkit describe NAME`: the keys of a config section or an implementation (type, range,
// default, description), or a preset resolved: every key with the value in force once the preset
// is expanded and the defaults filled in, and the preset's sources.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cli/catalog.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/registry.hpp"
#include "core/text.hpp"
#include "cost/architecture.hpp"
#include "crossbar/chip.hpp"

namespace cimkit::cli {
namespace {

std::string preset_file(const std::string& kind, const std::string& name) {
  return (std::filesystem::path(config_dir()) / "presets" / kind / (name + ".yaml")).string();
}

bool has(const std::vector<std::string>& names, const std::string& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

ConfigNode preset_node(const std::string& kind, const std::string& name) {
  ConfigNode section = ConfigNode::map({"<describe>", 0});
  section.set("preset", ConfigNode::scalar(name, {"<describe>", 0}));
  return expand_preset(section, kind, kind);
}

void print_sources(const ConfigNode& expanded, const std::string& indent, std::ostream& out) {
  const ConfigNode* src = expanded.find("sources");
  if (!src) return;
  if (src->is_seq()) {
    for (const auto& e : src->elements()) out << indent << "- " << e.value() << "\n";
  } else {
    out << indent << "- " << src->value() << "\n";
  }
}

// A resolved section as indented "key: value" lines, sub-sections nested.
void print_node(const ConfigNode& n, const std::string& indent, std::ostream& out) {
  size_t w = 0;
  for (const auto& [k, v] : n.items()) w = std::max(w, k.size());
  for (const auto& [k, v] : n.items()) {
    if (v.is_map()) {
      out << indent << k << ":\n";
      print_node(v, indent + "  ", out);
    } else {
      out << indent << fmt::format("{:<{}}  {}\n", k + ":", w + 1, v.is_scalar() ? v.value() : to_yaml(v));
    }
  }
}

void describe_section(const Section& s, std::ostream& out) {
  out << s.name << ": " << s.schema.description() << "\n" << s.schema.text();
  if (!s.structure.empty()) {
    size_t w = 4;  // the name column of Schema::text()
    for (const auto& p : s.schema.specs()) w = std::max(w, p.name.size());
    for (const auto& k : s.structure) w = std::max(w, k.name.size());
    for (const auto& k : s.structure) {
      out << "  " << k.name << std::string(w - k.name.size() + 2, ' ') << k.description << "\n"
          << std::string(w + 4, ' ') << "a " << k.kind << "\n";
    }
  }
  if (s.name == "arch") {
    out << "Without an arch section the preset " << cost::Architecture::kDefaultPreset << " is used (cimkit describe arch."
        << cost::Architecture::kDefaultPreset << "); presets: " << join(list_presets("arch")) << "\n";
  }
}

void describe_chip_section(std::ostream& out) {
  out << "chip: the crossbar chip, sections crossbar (cimkit describe crossbar), device, dac and adc (cimkit describe "
         "device.NAME, ...); `preset: NAME` starts from configs/presets/chip/NAME.yaml\n"
      << "  presets: " << join(list_presets("chip")) << "; without a chip section: default (cimkit describe "
      << "chip.default)\n";
}

void describe_chip_preset(const std::string& name, std::ostream& out) {
  const ConfigNode expanded = preset_node("chip", name);
  ConfigNode section = ConfigNode::map({"<describe>", 0});
  section.set("preset", ConfigNode::scalar(name, {"<describe>", 0}));
  const auto chip = Chip::from_config(section, "chip");
  out << "chip." << name << ": chip preset " << preset_file("chip", name) << ", resolved (defaults filled in):\n";
  print_node(chip->resolved(), "  ", out);
  out << "sources:\n";
  print_sources(expanded, "  ", out);
  for (const char* sub : {"device", "dac", "adc"}) {
    const ConfigNode* s = expanded.find(sub);
    if (!s || !s->has("preset")) continue;
    const std::string p = s->find("preset")->value();
    out << "  " << sub << " preset " << p << ":\n";
    print_sources(preset_node(sub, p), "    ", out);
  }
}

std::string level_role(cost::LevelRole r) {
  return r == cost::LevelRole::Pe ? "pe" : r == cost::LevelRole::Tile ? "tile" : "chip";
}

void describe_arch_preset(const std::string& name, std::ostream& out) {
  const cost::Architecture a = cost::Architecture::preset(name);
  const auto& t = a.timing();
  out << "arch." << name << ": architecture preset " << preset_file("arch", name) << ", resolved:\n";
  out << fmt::format("  conventions:    {}\n  technology_nm:  {}\n  clock_ghz:      {}\n  chip:           {}\n",
                     a.conventions(), format_double(a.technology_nm()), format_double(a.clock_hz() / 1e9),
                     a.default_chip().empty() ? std::string("(none: the default chip)") : a.default_chip());
  out << fmt::format("  adc_scaling:    {}\n  share_tiles:    {}\n  adc_rate_gsps:  {}\n",
                     a.adc_scaling() == cost::AdcScaling::Table ? "table" : "walden", a.share_tiles() ? "true" : "false",
                     a.adc_rate_hz() > 0 ? format_double(a.adc_rate_hz() / 1e9) : std::string("(each ADC's own)"));
  out << fmt::format("  timing:\n    array_read_ns:   {}\n    overlap_adc:     {}\n    pipeline:        {}\n"
                     "    digital_cycles:  {}\n",
                     t.array_read_s > 0 ? fmt::format("{:.6g}", t.array_read_s * 1e9) : std::string("0 (the chip's DAC read pulse)"),
                     t.overlap_adc ? "true" : "false", t.pipeline ? "true" : "false", format_double(t.digital_cycles));
  if (a.conventions() == "mnsim") {
    out << "  mnsim:\n";
    print_node(a.mnsim().to_node(), "    ", out);
  }
  if (!a.levels().empty()) out << "  levels (PE outwards; power and area per unit):\n";
  size_t w = 4, rw = 4;  // name and role columns, over every level
  for (const auto& l : a.levels()) {
    for (const auto& c : l.components) w = std::max(w, c.name.size()), rw = std::max(rw, cost::to_string(c.role).size());
  }
  for (const auto& l : a.levels()) {
    out << fmt::format("    {} (role {}, {} per {}):\n", l.name, level_role(l.role), format_double(l.count),
                       &l == &a.levels().back() ? "chip" : "next level");
    for (const auto& c : l.components) {
      std::string line = fmt::format("      {:<{}}  x{:<6} {:<{}}", c.name, w, format_double(c.count),
                                     cost::to_string(c.role), rw);
      if (c.power_w > 0) line += fmt::format(" {:.4g} mW", c.power_w * 1e3);
      if (c.area_m2 > 0) line += fmt::format(" {:.4g} mm^2", c.area_m2 * 1e6);
      if (c.energy_j > 0) line += fmt::format(" {:.4g} pJ/action", c.energy_j * 1e12);
      if (c.bits > 0) line += fmt::format(" {}-bit", c.bits);
      out << line << "\n";
    }
  }
  out << "sources:\n";
  for (const auto& s : a.sources()) out << "  - " << s << "\n";
}

void describe_interface(const RegistryBase& r, std::ostream& out) {
  out << r.interface_name() << ": " << r.description() << "; choose one with impl: NAME or preset: NAME\n"
      << "  implementations: " << join(r.names()) << " (cimkit describe " << r.interface_name() << ".IMPL)\n";
  const auto presets = list_presets(r.interface_name());
  if (!presets.empty()) out << "  presets: " << join(presets) << " (cimkit describe " << r.interface_name() << ".PRESET)\n";
}

void describe_registry_preset(const RegistryBase& r, const std::string& name, std::ostream& out) {
  const std::string& iface = r.interface_name();
  const ConfigNode e = preset_node(iface, name);
  const ConfigNode* impl = e.find("impl");
  if (!impl) throw Error(preset_file(iface, name) + ": the preset names no impl");
  const ImplInfo* info = r.find(impl->value());
  if (!info) throw Error(preset_file(iface, name) + ": unknown impl '" + impl->value() + "'; known: " + join(r.names()));
  const Params p = parse_params(e, info->schema, iface, {"impl", "sources"});
  const ConfigNode values = p.to_node();
  out << iface << "." << name << ": " << iface << " preset " << preset_file(iface, name) << ", impl " << info->name
      << " (" << info->description << "); every key with the value in force:\n";
  size_t w = 4;
  for (const auto& s : info->schema.specs()) w = std::max(w, s.name.size());
  for (const auto& s : info->schema.specs()) {
    const ConfigNode* v = values.find(s.name);
    const std::string text = v ? v->value() + (s.unit.empty() ? "" : " " + s.unit) : std::string("(none)");
    out << fmt::format("  {:<{}}  {:<16}  {}\n", s.name, w, text, p.given(s.name) ? "preset" : "default");
  }
  out << "sources:\n";
  print_sources(e, "  ", out);
}

}  // namespace

int describe_command(const std::string& what, std::ostream& out) {
  for (const auto& s : fixed_sections()) {
    if (what == s.name) {
      describe_section(s, out);
      // arch.mnsim is a section and a preset's name too: show both.
      const auto presets = list_presets("arch");
      if (what.rfind("arch.", 0) == 0 && has(presets, what.substr(5))) {
        out << "\n";
        describe_arch_preset(what.substr(5), out);
      }
      return 0;
    }
  }
  if (what == "chip") {
    describe_chip_section(out);
    return 0;
  }
  const auto dot = what.find('.');
  const std::string head = what.substr(0, dot), name = dot == std::string::npos ? "" : what.substr(dot + 1);
  if (head == "chip" || head == "arch") {
    const auto presets = list_presets(head);
    if (!has(presets, name)) {
      throw Error("cimkit describe: unknown " + head + " preset '" + name + "'" + did_you_mean_hint(name, presets) +
                  "; presets: " + join(presets) + (head == "arch" ? "; sections: arch.timing, arch.mnsim" : ""));
    }
    head == "chip" ? describe_chip_preset(name, out) : describe_arch_preset(name, out);
    return 0;
  }
  RegistryBase* r = find_registry(head);
  if (!r) {
    const auto names = describable_names();
    throw Error("cimkit describe: unknown name '" + what + "'" + did_you_mean_hint(what, names) + "; known: " +
                join(names) + ", and KIND.NAME for an implementation or preset (cimkit list)");
  }
  if (dot == std::string::npos) {
    describe_interface(*r, out);
    return 0;
  }
  if (const ImplInfo* info = r->find(name)) {
    out << head << "." << name << ": " << info->schema.description() << "\n" << info->schema.text();
    return 0;
  }
  const auto presets = list_presets(head);
  if (has(presets, name)) {
    describe_registry_preset(*r, name, out);
    return 0;
  }
  std::vector<std::string> known = r->names();
  for (const auto& p : presets) known.push_back(p);
  throw Error("unknown " + head + " '" + name + "'" + did_you_mean_hint(name, known) + "; known: " + join(r->names()) +
              (presets.empty() ? "" : "; presets: " + join(presets)));
}

void add_describe(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("describe", "Describe a config section, an implementation, or a preset resolved "
                                             "(every key with the value in force, and its sources)");
  auto what = std::make_shared<std::string>();
  cmd->add_option("what", *what, "e.g. crossbar, arch, device, device.reram, device.realistic_reram, chip.default, "
                                 "arch.isaac")
      ->required();
  cmd->callback([&action, what] { action = [what] { return describe_command(*what, std::cout); }; });
}

}  // namespace cimkit::cli
