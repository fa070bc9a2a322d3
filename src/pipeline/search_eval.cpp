#include "pipeline/search_eval.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "search/bits.hpp"
#include "search/resource_wall.hpp"

namespace cimkit::pipeline {

CandidateEvaluator::CandidateEvaluator(ChipEvaluator& evaluator, search::SearchSpace space, CandidateEvalOptions options)
    : ev_(evaluator), space_(std::move(space)), opt_(options), base_(evaluator.network().precisions()) {
  if (space_.layers.size() != base_.size()) {
    throw Error(fmt::format("search: the space has {} layers, the network {} analog layers", space_.layers.size(),
                            base_.size()));
  }
  const EvaluatorOptions& eo = ev_.options();
  if (!eo.arch || !eo.thermal.enabled || !eo.thermal.feedback) {
    throw Error("search: the candidate evaluation needs the cost model and the thermal solve with feedback "
                "(cost.enabled, thermal.enabled and thermal.feedback true): the reward counts the heat");
  }
}

std::vector<nn::Precision> CandidateEvaluator::precisions_of(const std::vector<int>& weight_bits,
                                                             const std::vector<int>& act_bits) const {
  std::vector<nn::Precision> p = base_;
  for (size_t l = 0; l < p.size(); ++l) {
    p[l].weight_bits = weight_bits[l];
    p[l].act_bits = act_bits[l];
  }
  return p;
}

std::vector<nn::Precision> CandidateEvaluator::refined_precisions(const search::Candidate& c) {
  std::vector<nn::Precision> p = precisions_of(c.weight_bits, c.act_bits);
  ev_.apply_precisions(p);
  if (!opt_.refine) return p;
  bool changed = false;
  auto layers = ev_.network().analog_layers();
  for (size_t l = 0; l < p.size(); ++l) {
    const int bits = search::refine_weight_bits(layers[l].layer->weight_codes().first, p[l].weight_bits,
                                                opt_.refine_fraction, std::min(2, p[l].weight_bits));
    changed = changed || bits != p[l].weight_bits;
    p[l].weight_bits = bits;
  }
  if (changed) ev_.apply_precisions(p);
  return p;
}

search::RewardTerms CandidateEvaluator::terms_of(const Evaluation& e) {
  search::RewardTerms t;
  t.accuracy_pct = 100.0 * e.hot->analog_mean;
  t.accuracy_cold_pct = 100.0 * e.chip.analog_mean;
  const double ambient = e.thermal->problem.model.package.ambient_k;
  auto layers = ev_.network().analog_layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    t.ones.push_back(search::count_one_bits(layers[l].layer->weight_codes().first));
    const auto& temps = e.thermal->array_temperature_k[l];
    const double mean = std::accumulate(temps.begin(), temps.end(), 0.0) / static_cast<double>(temps.size());
    t.delta_t_k.push_back(std::max(0.0, mean - ambient));
  }
  return t;
}

const search::RewardTerms& CandidateEvaluator::reference() {
  if (!reference_) {
    search::Candidate ref;
    for (const auto& l : space_.layers) {
      ref.weight_bits.push_back(opt_.reference_bits);
      ref.act_bits.push_back(l.search_act ? opt_.reference_bits : l.fixed_act);
    }
    const std::vector<nn::Precision> p = precisions_of(ref.weight_bits, ref.act_bits);
    const Evaluation e = ev_.evaluate({p, nullptr, opt_.fidelity});
    ev_.apply_precisions(p);
    reference_ = terms_of(e);
  }
  return *reference_;
}

double CandidateEvaluator::price_of(const search::Candidate& c) {
  const cost::CostReport r = ev_.price(precisions_of(c.weight_bits, c.act_bits));
  return opt_.budget_metric == "latency" ? r.totals.latency_s : r.totals.energy_j;
}

search::Evaluation CandidateEvaluator::operator()(const search::Candidate& proposed) {
  const search::RewardTerms& ref = reference();
  search::Candidate c = proposed;
  std::optional<search::Walled> walled;
  if (opt_.budget_metric != "none") {
    if (budget_ < 0.0) {
      search::Candidate eight = proposed;
      for (size_t l = 0; l < space_.layers.size(); ++l) {
        eight.weight_bits[l] = opt_.reference_bits;
        eight.act_bits[l] = space_.layers[l].search_act ? opt_.reference_bits : space_.layers[l].fixed_act;
      }
      budget_ = opt_.budget_fraction * price_of(eight);
    }
    walled = search::enforce_budget(c, space_, [&](const search::Candidate& x) { return price_of(x); }, budget_);
    c = walled->candidate;
  }
  const std::vector<nn::Precision> p = refined_precisions(c);
  const bool tune = opt_.finetune && opt_.finetune->options().steps > 0;
  const double tune_loss = tune ? opt_.finetune->tune() : 0.0;
  const Evaluation e = ev_.evaluate({p, nullptr, opt_.fidelity});
  const search::RewardTerms t = terms_of(e);  // the fine-tuned weights' '1' bits
  if (tune) opt_.finetune->restore();
  search::Evaluation out;
  out.reward = search::reward(t, ref, opt_.reward);
  std::string wb, ab;
  for (size_t l = 0; l < p.size(); ++l) {
    wb += (l ? " " : "") + std::to_string(p[l].weight_bits);
    ab += (l ? " " : "") + std::to_string(p[l].act_bits);
  }
  auto& r = out.record;
  r["refined_weight_bits"] = wb;
  r["refined_act_bits"] = ab;
  r["fidelity"] = to_string(opt_.fidelity);
  if (walled) {
    r["budget_" + opt_.budget_metric] = budget_;
    r["walled_cost"] = walled->cost;
    r["wall_steps"] = walled->steps;
    r["within_budget"] = walled->within;
  }
  if (tune) r["finetune_loss"] = tune_loss;
  r["digital_acc_pct"] = 100.0 * e.chip.digital_accuracy;
  r["acc_pct"] = 100.0 * e.chip.analog_mean;
  r["acc_heat_pct"] = t.accuracy_pct;
  r["energy_j"] = e.cost->totals.energy_j;
  r["latency_s"] = e.cost->totals.latency_s;
  r["tops_per_w"] = e.cost->totals.tops_per_w;
  r["crossbars"] = e.chip.n_arrays;
  r["peak_k"] = e.thermal->steady.stats.peak_k;
  r["mean_k"] = e.thermal->steady.stats.mean_k;
  r["std_k"] = e.thermal->steady.stats.std_k;
  // The arrays' temperature distribution (paper 000 Fig. 8e).
  const auto q = e.thermal->array_quantiles();
  r["array_t_min_k"] = q[0];
  r["array_t_p25_k"] = q[1];
  r["array_t_median_k"] = q[2];
  r["array_t_p75_k"] = q[3];
  r["array_t_max_k"] = q[4];
  std::string dt;
  for (size_t l = 0; l < t.delta_t_k.size(); ++l) dt += (l ? " " : "") + fmt::format("{:.4f}", t.delta_t_k[l]);
  r["delta_t_k_per_layer"] = dt;
  r["ones"] = std::accumulate(t.ones.begin(), t.ones.end(), 0.0);
  r["eval_s"] = e.seconds.total;
  return out;
}

}  // namespace cimkit::pipeline
