#include "search/reward.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::search {

RewardForm parse_reward_form(const std::string& name, const std::string& key) {
  if (name == "normalised") return RewardForm::Normalised;
  if (name == "literal") return RewardForm::Literal;
  if (name == "accuracy") return RewardForm::Accuracy;
  throw Error(fmt::format("{} = '{}' is not a reward form; allowed: normalised, literal, accuracy{}", key, name,
                          did_you_mean_hint(name, {"normalised", "literal"})));
}

std::string to_string(RewardForm f) {
  switch (f) {
    case RewardForm::Literal: return "literal";
    case RewardForm::Accuracy: return "accuracy";
    default: return "normalised";
  }
}

namespace {

double checked_sum(const std::vector<double>& v, const char* what, size_t layers) {
  if (v.size() != layers) {
    throw Error(fmt::format("reward: {} has {} layers, the candidate {}", what, v.size(), layers));
  }
  for (double x : v) {
    if (!(x >= 0.0) || !std::isfinite(x)) throw Error(fmt::format("reward: {} must be finite and >= 0, got {}", what, x));
  }
  return std::accumulate(v.begin(), v.end(), 0.0);
}

}  // namespace

double reward(const RewardTerms& c, const RewardTerms& reference, const RewardOptions& o) {
  if (!std::isfinite(c.accuracy_pct) || !std::isfinite(o.origin_accuracy_pct)) throw Error("reward: accuracy is not finite");
  if (o.form == RewardForm::Accuracy) {
    if (!std::isfinite(c.accuracy_cold_pct)) throw Error("reward: accuracy is not finite");
    return o.lambda * (c.accuracy_cold_pct - o.origin_accuracy_pct);
  }
  const size_t layers = c.ones.size();
  const double ones = checked_sum(c.ones, "'1' bits", layers);
  const double heat = checked_sum(c.delta_t_k, "temperature rises", layers);
  double cost = 0.0;
  if (o.form == RewardForm::Literal) {
    cost = ones + heat;
  } else {
    const double ones_ref = checked_sum(reference.ones, "the reference's '1' bits", layers);
    const double heat_ref = checked_sum(reference.delta_t_k, "the reference's temperature rises", layers);
    if (ones_ref <= 0.0 || heat_ref <= 0.0) {
      throw Error("reward: the normalised form needs a reference with '1' bits and a temperature rise (both sums are "
                  "0: is the chip's power map empty?)");
    }
    cost = 0.5 * (ones / ones_ref + heat / heat_ref);
  }
  if (cost <= 0.0) throw Error("reward: the cost is 0 (no '1' bits and no heat): 1/cost is undefined");
  return o.lambda * (c.accuracy_pct - o.origin_accuracy_pct + 1.0 / cost);
}

}  // namespace cimkit::search
