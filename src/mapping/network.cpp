#include "mapping/network.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::mapping {
namespace {

// Reads an integer key of a layer; ConfigError at the key when missing (and required) or bad.
int64_t int_key(const ConfigNode& layer, const std::string& key, const std::string& path, int64_t lo,
                std::optional<int64_t> def = {}) {
  const ConfigNode* n = layer.find(key);
  if (!n) {
    if (def) return *def;
    throw ConfigError(layer.loc(), path, "missing key '" + key + "'");
  }
  int64_t v = 0;
  try {
    size_t used = 0;
    v = std::stoll(n->value(), &used);
    if (used != n->value().size() || !n->is_scalar()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw ConfigError(n->loc(), path + "." + key, "'" + n->value() + "' is not an integer");
  }
  if (v < lo) throw ConfigError(n->loc(), path + "." + key, fmt::format("{} is below the minimum {}", v, lo));
  return v;
}

const std::map<std::string, std::set<std::string>>& allowed_keys() {
  static const std::map<std::string, std::set<std::string>> keys = {
      {"conv", {"type", "input", "in_channels", "out_channels", "kernel_size", "stride", "padding", "bias"}},
      {"linear", {"type", "input", "in_features", "out_features", "bias"}},
      {"pool", {"type", "input", "mode", "kernel_size", "stride", "padding"}},
      {"flatten", {"type", "input"}},
      {"add", {"type", "input"}},
      {"relu", {"type", "input"}},
      {"bn", {"type", "input"}},
      {"dropout", {"type", "input"}},
  };
  return keys;
}

}  // namespace

std::string TensorShape::str() const { return fmt::format("{}x{}x{}", channels, height, width); }

int64_t NetworkShape::macs() const {
  int64_t s = 0;
  for (const auto& l : layers) s += l.macs();
  return s;
}

int64_t NetworkShape::pool_ops() const {
  int64_t s = 0;
  for (const auto& p : pools) s += p.channels * p.out_pixels * p.kernel * p.kernel;
  return s;
}

int64_t NetworkShape::weights() const {
  int64_t s = 0;
  for (const auto& l : layers) s += l.in_features * l.out_features;
  return s;
}

NetworkShape load_layer_list(const std::string& path) { return parse_layer_list(load_yaml_file(path), path); }

NetworkShape parse_layer_list(const ConfigNode& root, const std::string& file) {
  NetworkShape net;
  net.source = file;
  const ConfigNode* name = root.find("name");
  net.name = name && name->is_scalar() ? name->value() : "network";
  for (const auto& [key, value] : root.items()) {
    if (key != "name" && key != "input" && key != "layers" && key != "source" && key != "sources") {
      throw ConfigError(value.loc(), key, "unknown key; a layer list has name, input, layers (and sources)");
    }
  }
  const ConfigNode* in = root.find("input");
  if (!in || !in->is_map()) throw ConfigError(root.loc(), "input", "missing map {channels, height, width}");
  net.input = {int_key(*in, "channels", "input", 1), int_key(*in, "height", "input", 1, 1),
               int_key(*in, "width", "input", 1, 1)};
  const ConfigNode* layers = root.find("layers");
  if (!layers || !layers->is_seq() || layers->elements().empty()) {
    throw ConfigError(layers ? layers->loc() : root.loc(), "layers", "missing or empty list of layers");
  }
  std::vector<TensorShape> out;  // output shape of each list position
  std::vector<int64_t> node_at;  // the graph node each list position's output is (-1: the input)
  std::map<std::string, int> counts;
  const auto& items = layers->elements();
  for (size_t i = 0; i < items.size(); ++i) {
    const ConfigNode& l = items[i];
    const std::string path = fmt::format("layers[{}]", i);
    if (!l.is_map()) throw ConfigError(l.loc(), path, "a layer is a map with a `type`");
    const ConfigNode* t = l.find("type");
    if (!t) throw ConfigError(l.loc(), path, "missing key 'type'");
    const std::string type = t->value();
    const auto kit = allowed_keys().find(type);
    if (kit == allowed_keys().end()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : allowed_keys()) names.push_back(k);
      throw ConfigError(t->loc(), path + ".type",
                        "unknown layer type '" + type + "'" + did_you_mean_hint(type, names) +
                            "; allowed: conv, linear, pool, flatten, add, relu, bn, dropout");
    }
    for (const auto& [k, v] : l.items()) {
      if (!kit->second.count(k)) {
        throw ConfigError(v.loc(), path + "." + k,
                          "unknown key for a '" + type + "' layer" +
                              did_you_mean_hint(k, std::vector<std::string>(kit->second.begin(), kit->second.end())));
      }
    }
    // Inputs, relative to this position.
    std::vector<TensorShape> ins;
    std::vector<int64_t> rel = {-1};
    if (const ConfigNode* inp = l.find("input")) {
      rel.clear();
      if (inp->is_seq()) {
        for (const auto& e : inp->elements()) rel.push_back(std::stoll(e.value()));
      } else {
        rel.push_back(std::stoll(inp->value()));
      }
    }
    std::vector<int64_t> in_nodes;
    for (int64_t r : rel) {
      const int64_t src = static_cast<int64_t>(i) + r;
      if (r >= 0 || src < -1) {
        throw ConfigError(l.loc(), path + ".input",
                          fmt::format("input {} points {}; allowed: negative offsets back to -{} (the network input)",
                                      r, r >= 0 ? "forward" : "before the network input", i + 1));
      }
      ins.push_back(src < 0 ? net.input : out[static_cast<size_t>(src)]);
      in_nodes.push_back(src < 0 ? -1 : node_at[static_cast<size_t>(src)]);
    }
    if (type != "add" && ins.size() != 1) throw ConfigError(l.loc(), path + ".input", "this layer type reads one input");
    const TensorShape x = ins[0];
    TensorShape y = x;
    const std::string lname = fmt::format("{}{}", type == "conv" ? "conv" : type, ++counts[type]);
    // This position's graph node: a new one for conv, linear, pool and add; else the one it reads.
    int64_t node = in_nodes[0];
    auto add_node = [&](NetworkNode::Kind kind, int64_t index, int64_t k, int64_t s, int64_t p) {
      net.nodes.push_back({kind, lname, index, in_nodes, x, y, k, s, p});
      node = static_cast<int64_t>(net.nodes.size()) - 1;
    };
    if (type == "conv") {
      WeightLayer w;
      w.name = lname;
      w.kind = "conv2d";
      const int64_t cin = int_key(l, "in_channels", path, 1), cout = int_key(l, "out_channels", path, 1);
      w.kernel = int_key(l, "kernel_size", path, 1);
      w.stride = int_key(l, "stride", path, 1, 1);
      w.padding = int_key(l, "padding", path, 0, 0);
      if (cin != x.channels) {
        throw ConfigError(l.loc(), path + ".in_channels",
                          fmt::format("is {} but the layer's input is {} (channels x height x width)", cin, x.str()));
      }
      y = {cout, (x.height + 2 * w.padding - w.kernel) / w.stride + 1, (x.width + 2 * w.padding - w.kernel) / w.stride + 1};
      if (y.height < 1 || y.width < 1) {
        throw ConfigError(l.loc(), path, fmt::format("a {}x{} kernel with padding {} does not fit the {} input", w.kernel,
                                                     w.kernel, w.padding, x.str()));
      }
      w.in_features = cin * w.kernel * w.kernel;
      w.out_features = cout;
      w.vectors = y.height * y.width;
      w.input = x;
      w.output = y;
      net.layers.push_back(w);
      add_node(NetworkNode::Kind::Weight, static_cast<int64_t>(net.layers.size()) - 1, w.kernel, w.stride, w.padding);
    } else if (type == "linear") {
      WeightLayer w;
      w.name = lname;
      w.kind = "linear";
      w.in_features = int_key(l, "in_features", path, 1);
      w.out_features = int_key(l, "out_features", path, 1);
      if (w.in_features != x.numel()) {
        throw ConfigError(l.loc(), path + ".in_features",
                          fmt::format("is {} but the layer's input has {} values ({})", w.in_features, x.numel(), x.str()));
      }
      y = {w.out_features, 1, 1};
      w.input = x;
      w.output = y;
      net.layers.push_back(w);
      add_node(NetworkNode::Kind::Weight, static_cast<int64_t>(net.layers.size()) - 1, 1, 1, 0);
    } else if (type == "pool") {
      const int64_t k = int_key(l, "kernel_size", path, 1);
      const int64_t s = int_key(l, "stride", path, 1, k);
      const int64_t p = int_key(l, "padding", path, 0, 0);
      if (const ConfigNode* m = l.find("mode"); m && m->value() != "max" && m->value() != "avg") {
        throw ConfigError(m->loc(), path + ".mode", "'" + m->value() + "'; allowed: max, avg");
      }
      y = {x.channels, (x.height + 2 * p - k) / s + 1, (x.width + 2 * p - k) / s + 1};
      if (y.height < 1 || y.width < 1) {
        throw ConfigError(l.loc(), path, fmt::format("a {}x{} pool does not fit the {} input", k, k, x.str()));
      }
      net.pools.push_back({y.channels, y.height * y.width, k});
      add_node(NetworkNode::Kind::Pool, static_cast<int64_t>(net.pools.size()) - 1, k, s, p);
    } else if (type == "flatten") {
      y = {x.numel(), 1, 1};
    } else if (type == "add") {
      if (ins.size() < 2) throw ConfigError(l.loc(), path + ".input", "an add reads at least two inputs");
      for (const auto& other : ins) {
        if (other.channels != x.channels || other.height != x.height || other.width != x.width) {
          throw ConfigError(l.loc(), path + ".input",
                            fmt::format("inputs of different shapes: {} and {}", x.str(), other.str()));
        }
      }
      add_node(NetworkNode::Kind::Add, -1, 1, 1, 0);
    }
    out.push_back(y);
    node_at.push_back(node);
  }
  if (net.layers.empty()) throw ConfigError(layers->loc(), "layers", "no conv or linear layer: nothing to map");
  return net;
}

}  // namespace cimkit::mapping
