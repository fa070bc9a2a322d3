#include "nas/settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"

namespace cimkit::nas {
namespace {

Schema space_schema() {
  Schema s("nas.space", "The architecture space (paper 004 Table 1); lists: blocks, channels");
  s.integer("max_depth", "Most choice blocks in a network (paper 004: 8)").range(1, 64).def(int64_t{8});
  return s;
}

Schema supernet_schema() {
  Schema s("nas.supernet", "Single-path one-shot training of the supernet (paper 004 eq. 2, SPOS)");
  s.integer("epochs", "Passes over the training set (paper 004 §4.2: 1000 on CIFAR-10)").range(0, 100000).def(int64_t{5});
  s.integer("batch_size", "Images per step (one architecture per step)").range(1, 65536).def(int64_t{128});
  s.real("lr", "SGD learning rate at the start (SPOS: 0.5 for 1024 images; paper 004: 0.1)").above(0).def(0.05);
  s.real("momentum", "SGD momentum (SPOS: 0.9)").range(0, 0.999).def(0.9);
  s.real("weight_decay", "On convolution and FC weights only (SPOS: 4e-5)").at_least(0).def(4e-5);
  s.choice("schedule", {"cosine", "step"}, "Cosine to zero, or x gamma every step_epochs (paper 004: x0.2 every 250)")
      .def(std::string("cosine"));
  s.integer("step_epochs", "Epochs between decays of the step schedule").range(1, 100000).def(int64_t{250});
  s.real("gamma", "Decay factor of the step schedule").range(1e-6, 1).def(0.2);
  s.real("label_smoothing", "Label smoothing of the cross-entropy (SPOS: 0.1)").range(0, 0.99).def(0.1);
  return s;
}

Schema arch_search_schema() {
  Schema s("nas.arch_search", "Evolution over architectures (paper 004 Algorithm 1), scored by eq. 4");
  search::EvolutionOptions::declare(s);
  s.real("w_acc", "Eq. 4's weight of the accuracy; 1 - w_acc weighs the normalised EDP").range(0, 1).def(0.5);
  s.choice("edp_norm", {"reference", "minmax"},
           "EDP_norm: per cent of reference_arch's EDP on the same chip (reference), or 100 (EDP - lo) / (hi - lo) "
           "with edp_lo_js / edp_hi_js (minmax, the CrossNAS code's form)")
      .def(std::string("reference"));
  s.string("reference_arch", "The network whose EDP is 100 (edp_norm: reference), e.g. VGG32-VGG64-VGG128")
      .def(std::string("VGG32-VGG64-VGG128"));
  s.real("edp_lo_js", "minmax: the EDP that scores 0, in J·s").at_least(0).def(0.0);
  s.real("edp_hi_js", "minmax: the EDP that scores 100, in J·s").at_least(0).def(1e-9);
  s.integer("search_seed", "Stream of the search's own draws (with the run seed): another value searches the same "
                           "supernet again, for the spread of the outcome")
      .range(0, 1000000)
      .def(int64_t{0});
  s.integer("recal_batches", "Training batches each candidate's BatchNorm is recalibrated on (SPOS §3.2)")
      .range(1, 100000)
      .def(int64_t{10});
  s.integer("val_images", "Validation images each candidate's accuracy is measured on (0: the whole split)")
      .range(0, 100000000)
      .def(int64_t{1000});
  return s;
}

Schema quant_schema() {
  Schema s("nas.quant", "The mixed-precision supernet of the chosen architecture (paper 004 §3.3); list: bits. "
                        "Epochs and optimiser: the `train:` section");
  return s;
}

Schema chip_search_schema() {
  Schema s("nas.chip_search", "Joint evolution over per-layer bits and the chip (paper 004 §3.3, Table 1); "
                              "lists: xbar_sizes, adc_bits, dac_bits");
  search::EvolutionOptions::declare(s);
  s.real("w_acc", "Eq. 4's weight of the on-chip accuracy").range(0, 1).def(0.5);
  s.real("quant_mutation_scale", "Mutation probability of a bit-width gene, as a multiple of mutation_prob").range(0, 100).def(0.5);
  s.real("chip_mutation_scale", "Mutation probability of a chip gene, as a multiple of mutation_prob").range(0, 100).def(2.0);
  s.integer("search_seed", "Stream of the search's own draws (with the run seed)").range(0, 1000000).def(int64_t{0});
  s.choice("fidelity", {"bit_exact", "tile", "weight"}, "Rung of the candidates' reads on the chip (docs/results/fidelity.md)")
      .def(std::string("tile"));
  s.integer("val_images", "Validation images each candidate is read on, on the chip (0: the whole split)")
      .range(0, 100000000)
      .def(int64_t{500});
  return s;
}

Schema finetune_schema() {
  Schema s("nas.finetune", "The winner's final fine-tune at its bits, then its evaluation at final_fidelity");
  s.integer("epochs", "Epochs of the fine-tune (0: none)").range(0, 100000).def(int64_t{1});
  s.real("lr", "Its learning rate (the `train:` optimiser and schedule)").above(0).def(1e-3);
  s.choice("final_fidelity", {"bit_exact", "tile", "weight"}, "Rung of the winner's final evaluation on the test set")
      .def(std::string("bit_exact"));
  return s;
}

// A YAML list of integers at sec[key] (or `def` when absent), each checked by `ok`.
std::vector<int64_t> int_list(const ConfigNode& sec, const std::string& key, const std::string& at,
                              std::vector<int64_t> def, const std::function<bool(int64_t)>& ok, const std::string& allowed) {
  const ConfigNode* n = sec.find(key);
  if (!n || n->is_null()) return def;
  if (!n->is_seq()) throw ConfigError(n->loc(), at + "." + key, "must be a list, e.g. [" + allowed + "]");
  if (n->elements().empty()) throw ConfigError(n->loc(), at + "." + key, "the list is empty; allowed: " + allowed);
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  for (const ConfigNode& e : n->elements()) {
    int64_t v = 0;
    try {
      size_t used = 0;
      v = std::stoll(e.value(), &used);
      if (used != e.value().size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw ConfigError(e.loc(), at + "." + key, fmt::format("'{}' is not an integer; allowed: {}", e.value(), allowed));
    }
    if (!ok(v)) throw ConfigError(e.loc(), at + "." + key, fmt::format("{} is out of range; allowed: {}", v, allowed));
    if (!seen.insert(v).second) throw ConfigError(e.loc(), at + "." + key, fmt::format("{} is listed twice", v));
    out.push_back(v);
  }
  return out;
}

ConfigNode list_node(const std::vector<int64_t>& v) {
  ConfigNode n = ConfigNode::seq();
  for (int64_t x : v) n.push_back(ConfigNode::scalar(std::to_string(x)));
  return n;
}

std::vector<int> to_int(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

const ConfigNode& section_or_empty(const ConfigNode& parent, const std::string& key) {
  static const ConfigNode empty = ConfigNode::map();
  const ConfigNode* n = parent.find(key);
  return n && !n->is_null() ? *n : empty;
}

}  // namespace

std::vector<std::pair<std::string, Schema>> NasSettings::schemas() {
  return {{"nas.space", space_schema()},         {"nas.supernet", supernet_schema()},
          {"nas.arch_search", arch_search_schema()}, {"nas.quant", quant_schema()},
          {"nas.chip_search", chip_search_schema()}, {"nas.finetune", finetune_schema()}};
}

NasSettings NasSettings::from_config(const ConfigNode& section, const std::string& path) {
  const ConfigNode empty = ConfigNode::map();
  const ConfigNode& sec = section.is_null() ? empty : section;
  if (!sec.is_map()) throw ConfigError(sec.loc(), path, "must be a map of space, supernet, arch_search, quant, chip_search, finetune");
  const std::set<std::string> subs{"space", "supernet", "arch_search", "quant", "chip_search", "finetune"};
  for (const auto& [k, v] : sec.items()) {
    if (!subs.count(k)) {
      throw ConfigError(v.loc(), path + "." + k, "unknown key; allowed: space, supernet, arch_search, quant, chip_search, finetune");
    }
  }
  NasSettings s;
  s.resolved = ConfigNode::map();

  // space
  const std::string sp = path + ".space";
  const ConfigNode& space = section_or_empty(sec, "space");
  const Params ps = parse_params(space, space_schema(), sp, {"blocks", "channels"});
  s.space.max_depth = ps.get_int("max_depth");
  if (const ConfigNode* b = space.find("blocks"); b && !b->is_null()) {
    if (!b->is_seq() || b->elements().empty()) {
      throw ConfigError(b->loc(), sp + ".blocks", "must be a non-empty list of VGG, MVGG, RES");
    }
    s.space.types.clear();
    for (const ConfigNode& e : b->elements()) {
      BlockType t;
      if (e.value() == "VGG") t = BlockType::Vgg;
      else if (e.value() == "MVGG") t = BlockType::Mvgg;
      else if (e.value() == "RES") t = BlockType::Res;
      else throw ConfigError(e.loc(), sp + ".blocks", fmt::format("'{}' is not a block type; allowed: VGG, MVGG, RES", e.value()));
      if (std::find(s.space.types.begin(), s.space.types.end(), t) != s.space.types.end()) {
        throw ConfigError(e.loc(), sp + ".blocks", e.value() + " is listed twice");
      }
      s.space.types.push_back(t);
    }
  }
  s.space.channels = int_list(space, "channels", sp, {32, 64, 128}, [](int64_t c) { return c >= 1 && c <= 4096; },
                              "channel counts 1..4096, e.g. 32, 64, 128");
  ConfigNode rs = ps.to_node();
  ConfigNode blocks = ConfigNode::seq();
  for (BlockType t : s.space.types) blocks.push_back(ConfigNode::scalar(to_string(t)));
  rs.set("blocks", blocks);
  rs.set("channels", list_node(s.space.channels));
  s.resolved.set("space", rs);

  // supernet
  const Params pn = parse_params(section_or_empty(sec, "supernet"), supernet_schema(), path + ".supernet");
  s.supernet.epochs = pn.get_int("epochs");
  s.supernet_batch = pn.get_int("batch_size");
  s.supernet.sgd.lr = pn.get_real("lr");
  s.supernet.sgd.momentum = pn.get_real("momentum");
  s.supernet.sgd.weight_decay = pn.get_real("weight_decay");
  s.supernet.schedule = pn.get_string("schedule");
  s.supernet.step_epochs = pn.get_int("step_epochs");
  s.supernet.gamma = pn.get_real("gamma");
  s.supernet.label_smoothing = pn.get_real("label_smoothing");
  s.resolved.set("supernet", pn.to_node());

  // arch_search
  const Params pa = parse_params(section_or_empty(sec, "arch_search"), arch_search_schema(), path + ".arch_search");
  s.arch_evolution = search::EvolutionOptions::from_params(pa);
  s.arch_w_acc = pa.get_real("w_acc");
  s.arch_norm.kind = pa.get_string("edp_norm") == "minmax" ? EdpNormalisation::Kind::MinMax : EdpNormalisation::Kind::Reference;
  s.arch_norm.lo_js = pa.get_real("edp_lo_js");
  s.arch_norm.hi_js = pa.get_real("edp_hi_js");
  if (s.arch_norm.kind == EdpNormalisation::Kind::MinMax && !(s.arch_norm.hi_js > s.arch_norm.lo_js)) {
    pa.fail("edp_hi_js", fmt::format("edp_hi_js ({}) must be above edp_lo_js ({})", s.arch_norm.hi_js, s.arch_norm.lo_js));
  }
  s.reference_arch = pa.get_string("reference_arch");
  s.recal_batches = pa.get_int("recal_batches");
  s.arch_search_seed = static_cast<uint64_t>(pa.get_int("search_seed"));
  s.val_images = pa.get_int("val_images");
  s.resolved.set("arch_search", pa.to_node());

  // quant
  const std::string qp = path + ".quant";
  const ConfigNode& quant = section_or_empty(sec, "quant");
  const Params pq = parse_params(quant, quant_schema(), qp, {"bits"});
  s.quant_bits = to_int(int_list(quant, "bits", qp, {5, 7, 9}, [](int64_t b) { return b >= 2 && b <= 16; }, "bits 2..16, e.g. 5, 7, 9"));
  ConfigNode rq = pq.to_node();
  rq.set("bits", list_node({s.quant_bits.begin(), s.quant_bits.end()}));
  s.resolved.set("quant", rq);

  // chip_search
  const std::string cp = path + ".chip_search";
  const ConfigNode& chip = section_or_empty(sec, "chip_search");
  const Params pc = parse_params(chip, chip_search_schema(), cp, {"xbar_sizes", "adc_bits", "dac_bits"});
  s.chip_evolution = search::EvolutionOptions::from_params(pc);
  s.chip_w_acc = pc.get_real("w_acc");
  s.quant_mutation_scale = pc.get_real("quant_mutation_scale");
  s.chip_mutation_scale = pc.get_real("chip_mutation_scale");
  s.chip_fidelity = pc.get_string("fidelity");
  s.chip_search_seed = static_cast<uint64_t>(pc.get_int("search_seed"));
  s.chip_val_images = pc.get_int("val_images");
  s.xbar_sizes = int_list(chip, "xbar_sizes", cp, {32, 64, 128, 256}, [](int64_t v) { return v >= 2 && v <= 4096; },
                          "crossbar sizes 2..4096, e.g. 32, 64, 128, 256");
  s.adc_bits = to_int(int_list(chip, "adc_bits", cp, {4, 6, 8, 10}, [](int64_t v) { return v >= 1 && v <= 16; },
                               "ADC bits 1..16, e.g. 4, 6, 8, 10"));
  s.dac_bits = to_int(int_list(chip, "dac_bits", cp, {1, 2}, [](int64_t v) { return v >= 1 && v <= 8; }, "DAC bits 1..8, e.g. 1, 2"));
  ConfigNode rc = pc.to_node();
  rc.set("xbar_sizes", list_node(s.xbar_sizes));
  rc.set("adc_bits", list_node({s.adc_bits.begin(), s.adc_bits.end()}));
  rc.set("dac_bits", list_node({s.dac_bits.begin(), s.dac_bits.end()}));
  s.resolved.set("chip_search", rc);

  // finetune
  const Params pf = parse_params(section_or_empty(sec, "finetune"), finetune_schema(), path + ".finetune");
  s.finetune_epochs = pf.get_int("epochs");
  s.finetune_lr = pf.get_real("lr");
  s.final_fidelity = pf.get_string("final_fidelity");
  s.resolved.set("finetune", pf.to_node());
  return s;
}

}  // namespace cimkit::nas
