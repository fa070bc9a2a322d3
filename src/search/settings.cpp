#include "search/settings.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit::search {

Schema SearchSettings::schema() {
  Schema s("search", "A precision search (cimkit search): strategy, budget, rung, reward and bit ranges");
  s.integer("episodes", "Candidates to evaluate (the budget; a resumed search may raise it)").range(1, 100000000).def(int64_t{100});
  s.real("wall_seconds", "Wall-time budget over every resumed part; 0: none").at_least(0).def(0.0);
  s.choice("fidelity", {"bit_exact", "tile", "weight"},
           "Rung of the inner loop's analog reads (docs/results/fidelity.md: tile ranks as bit_exact does)")
      .def(std::string("tile"));
  s.integer("finalists", "Best candidates re-evaluated at final_fidelity on the test set at the end (0: none)")
      .range(0, 1000)
      .def(int64_t{3});
  s.choice("final_fidelity", {"bit_exact", "tile", "weight"},
           "Rung of the finalists' and the fixed 8-bit reference's re-evaluation (bit_exact; tile for deep networks "
           "where bit_exact at 8 bits costs minutes, docs/results/fidelity.md)")
      .def(std::string("bit_exact"));
  s.choice("reward_images", {"validation", "test"},
           "Images the reward's accuracy is measured on: the validation split (data.val_fraction; the finalists "
           "and the fixed 8-bit model are then reported on the test set, unseen by the search) or the test set")
      .def(std::string("validation"));
  s.integer("validation_limit", "Validation images per candidate evaluation (the first N of the split; 0: all)")
      .range(0, 100000000)
      .def(int64_t{1000});
  s.boolean("refine", "Post-search refinement: drop redundant top weight bit planes (paper 000 §III.C.3)").def(true);
  s.real("refine_fraction", "A bit plane with fewer '1's than this fraction of the weights is dropped (paper 000: 5 %)")
      .range(0, 0.999)
      .def(0.05);
  s.integer("finetune_steps",
            "HAQ's short fine-tune of each candidate at its bits: SGD steps on the first training batches (0: none)")
      .range(0, 100000000)
      .def(int64_t{0});
  s.real("finetune_lr", "Learning rate of that fine-tune (HAQ: SGD 0.001, momentum 0.9, weight decay 4e-5)")
      .above(0)
      .def(1e-3);
  s.choice("reward_form", {"normalised", "literal", "accuracy"},
           "Paper 000 eq. 7-8 as printed (literal: '1' bits plus kelvins), each term relative to the fixed "
           "8-bit model (normalised; docs/architecture.md, Search strategies), or HAQ's accuracy-only reward "
           "(accuracy: without the candidate's own heat)")
      .def(std::string("normalised"));
  s.choice("budget_metric", {"none", "energy", "latency"},
           "HAQ's resource constraint: the cost model's energy or latency per inference, kept within "
           "budget_fraction of the fixed 8-bit model's by the action wall (none: no constraint)")
      .def(std::string("none"));
  s.real("budget_fraction", "The budget as a fraction of the fixed 8-bit model's energy or latency").range(0.01, 1.0).def(0.5);
  s.real("reward_lambda", "λ of eq. 7 (paper 000: 0.1)").above(0).def(0.1);
  s.integer("early_conv_min_bits", "Weight bits of early convolutions: minimum (paper 000: 2)").range(1, 16).def(int64_t{2});
  s.integer("early_conv_max_bits", "Weight bits of early convolutions: maximum (paper 000: 8)").range(1, 16).def(int64_t{8});
  s.integer("late_conv_min_bits", "Weight bits of later convolutions: minimum (paper 000: 2)").range(1, 16).def(int64_t{2});
  s.integer("late_conv_max_bits", "Weight bits of later convolutions: maximum (paper 000: 4)").range(1, 16).def(int64_t{4});
  s.integer("linear_min_bits", "Weight bits of fully connected layers: minimum (paper 000: 6)").range(1, 16).def(int64_t{6});
  s.integer("linear_max_bits", "Weight bits of fully connected layers: maximum (paper 000: 8)").range(1, 16).def(int64_t{8});
  s.integer("early_conv_layers", "Convolutions (in forward order) that count as early; -1: the first half, rounded up")
      .range(-1, 10000)
      .def(int64_t{-1});
  s.boolean("search_act", "Search the activation bits too (HAQ's linear environment: two decisions per layer)").def(true);
  s.integer("act_min_bits", "Activation bits: minimum").range(1, 16).def(int64_t{2});
  s.integer("act_max_bits", "Activation bits: maximum").range(1, 16).def(int64_t{8});
  s.integer("fixed_act_bits", "Activation bits when they are not searched").range(1, 16).def(int64_t{8});
  return s;
}

SearchSettings SearchSettings::from_config(const ConfigNode& section, const std::string& path) {
  const ConfigNode empty = ConfigNode::map();
  const ConfigNode& sec = section.is_null() ? empty : section;
  const Params p = parse_params(sec, schema(), path, {"strategy", "overrides"});
  SearchSettings s;
  s.budget.episodes = p.get_int("episodes");
  s.budget.wall_seconds = p.get_real("wall_seconds");
  s.fidelity = p.get_string("fidelity");
  s.finalists = p.get_int("finalists");
  s.final_fidelity = p.get_string("final_fidelity");
  s.refine = p.get_bool("refine");
  s.reward_images = p.get_string("reward_images");
  s.validation_limit = p.get_int("validation_limit");
  s.refine_fraction = p.get_real("refine_fraction");
  s.finetune_steps = p.get_int("finetune_steps");
  s.finetune_lr = p.get_real("finetune_lr");
  s.reward.form = parse_reward_form(p.get_string("reward_form"), path + ".reward_form");
  s.reward.lambda = p.get_real("reward_lambda");
  s.budget_metric = p.get_string("budget_metric");
  s.budget_fraction = p.get_real("budget_fraction");
  // A bit range whose minimum exceeds its maximum: a config error at the line of the key given.
  auto checked = [&](const BitRange& r, const ConfigNode& in, const char* lo, const char* hi, const std::string& at) {
    if (r.min <= r.max) return r;
    const ConfigNode* n = in.find(lo) ? in.find(lo) : in.find(hi);
    throw ConfigError(n ? n->loc() : in.loc(), at + "." + (in.find(lo) ? lo : hi),
                      fmt::format("{} = {} is above {} = {}; allowed: {} <= {}", lo, r.min, hi, r.max, lo, hi));
  };
  auto range = [&](const char* lo, const char* hi, const std::string&) {
    return checked(BitRange{static_cast<int>(p.get_int(lo)), static_cast<int>(p.get_int(hi))}, sec, lo, hi, path);
  };
  s.rules.early_conv = range("early_conv_min_bits", "early_conv_max_bits", "early_conv_min_bits/early_conv_max_bits");
  s.rules.late_conv = range("late_conv_min_bits", "late_conv_max_bits", "late_conv_min_bits/late_conv_max_bits");
  s.rules.linear = range("linear_min_bits", "linear_max_bits", "linear_min_bits/linear_max_bits");
  s.rules.act = range("act_min_bits", "act_max_bits", "act_min_bits/act_max_bits");
  s.rules.early_conv_layers = static_cast<int>(p.get_int("early_conv_layers"));
  s.rules.search_act = p.get_bool("search_act");
  s.rules.fixed_act = static_cast<int>(p.get_int("fixed_act_bits"));
  // overrides: {layer: {weight_min_bits, weight_max_bits, act_min_bits, act_max_bits}}
  if (const ConfigNode* ov = sec.find("overrides"); ov && !ov->is_null()) {
    if (!ov->is_map()) throw ConfigError(ov->loc(), path + ".overrides", "must be a map of layer name -> bit ranges");
    Schema os("override", "Bit ranges of one layer");
    os.integer("weight_min_bits", "Weight bits: minimum").range(1, 16);
    os.integer("weight_max_bits", "Weight bits: maximum").range(1, 16);
    os.integer("act_min_bits", "Activation bits: minimum").range(1, 16);
    os.integer("act_max_bits", "Activation bits: maximum").range(1, 16);
    for (const auto& [name, node] : ov->items()) {
      const std::string at = path + ".overrides." + name;
      const Params o = parse_params(node, os, at);
      auto pair = [&](const char* lo, const char* hi, std::map<std::string, BitRange>& into) {
        const bool has_lo = o.given(lo), has_hi = o.given(hi);
        if (has_lo != has_hi) throw ConfigError(node.loc(), at, fmt::format("give both {} and {}", lo, hi));
        if (!has_lo) return;
        into[name] = checked(BitRange{static_cast<int>(o.get_int(lo)), static_cast<int>(o.get_int(hi))}, node, lo, hi, at);
      };
      s.rules.override_locs[name] = node.loc();
      pair("weight_min_bits", "weight_max_bits", s.rules.weight_overrides);
      pair("act_min_bits", "act_max_bits", s.rules.act_overrides);
    }
  }
  const ConfigNode* st = sec.find("strategy");
  if (st && !st->is_null()) {
    s.strategy = *st;
  } else {
    s.strategy = ConfigNode::map();
    s.strategy.set("impl", ConfigNode::scalar("ddpg"));
  }
  make_strategy(s.strategy, path + ".strategy");  // validates now, so a typo fails in seconds
  s.resolved = p.to_node();
  s.resolved.set("strategy", make_strategy(s.strategy, path + ".strategy").resolved());
  if (const ConfigNode* ov = sec.find("overrides"); ov && !ov->is_null()) s.resolved.set("overrides", *ov);
  return s;
}

}  // namespace cimkit::search
