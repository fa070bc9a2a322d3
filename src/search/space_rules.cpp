#include "search/space_rules.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::search {

SearchSpace space_from_shape(const mapping::NetworkShape& shape, const LayerRules& rules, const std::string& key) {
  std::vector<std::string> names;
  int64_t convs = 0;
  for (const auto& l : shape.layers) {
    names.push_back(l.name);
    if (l.kind == "conv2d") ++convs;
  }
  for (const auto* overrides : {&rules.weight_overrides, &rules.act_overrides}) {
    for (const auto& [name, range] : *overrides) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        const std::string msg = fmt::format("no layer '{}' in {}{}; its layers: {}", name, shape.name,
                                            did_you_mean_hint(name, names), fmt::join(names, ", "));
        const auto at = rules.override_locs.find(name);
        if (at != rules.override_locs.end()) throw ConfigError(at->second, key + ".overrides." + name, msg);
        throw Error(key + ": " + msg);
      }
    }
  }
  const int64_t early = rules.early_conv_layers >= 0 ? rules.early_conv_layers : (convs + 1) / 2;
  SearchSpace s;
  int64_t conv_index = 0;
  for (const auto& l : shape.layers) {
    LayerSpace ls;
    ls.name = l.name;
    const bool conv = l.kind == "conv2d";
    ls.kind = conv ? LayerKind::Conv : LayerKind::Linear;
    ls.in = conv ? l.input.channels : l.in_features;
    ls.out = l.out_features;
    ls.kernel = l.kernel;
    ls.stride = l.stride;
    ls.feature_size = conv ? l.input.height * l.input.width : 1;
    ls.params = l.in_features * l.out_features;
    ls.weight = !conv ? rules.linear : conv_index++ < early ? rules.early_conv : rules.late_conv;
    if (auto it = rules.weight_overrides.find(l.name); it != rules.weight_overrides.end()) ls.weight = it->second;
    ls.act = rules.act;
    if (auto it = rules.act_overrides.find(l.name); it != rules.act_overrides.end()) ls.act = it->second;
    ls.search_act = rules.search_act;
    ls.fixed_act = rules.fixed_act;
    s.layers.push_back(ls);
  }
  s.check(key);
  return s;
}

}  // namespace cimkit::search
