// The search's reward (paper 000 eq. 7–8): accuracy on the chip under heat against the original
// model's, plus the inverse of a cost that counts the '1' bits of the stored weights and the
// temperature rise of each layer's arrays.
//
//   R = λ · (acc_quant − acc_origin + 1 / cost),   cost = Σ_l ( Σ_b w^(l,b) + ΔT_l )
//
// Accuracies are in percent, as HAQ's code uses them (λ = 0.1 then gives rewards of a few tenths,
// the scale its DDPG settings were tuned for). Taken literally the cost adds a count of '1' bits
// (10^4–10^6 for the networks here) to kelvins, so 1/cost is ~1e-5: the reward is HAQ's accuracy
// reward and neither the bits nor the heat move it. The default form therefore measures each of
// the two terms relative to the reference model's (the fixed 8-bit model on the same chip):
//
//   cost_n = ½ · ( Σ_l ones_l / Σ_l ones_l^ref + Σ_l ΔT_l / Σ_l ΔT_l^ref )
//
// so the reference scores 1/cost_n = 1, a candidate with half the '1' bits and half the heating
// scores 2, and one percentage point of accuracy weighs as much as a unit of 1/cost_n.
//
// HAQ's reward (the HAQ baseline of issue 14) is the third form, `accuracy`: R = λ·(acc − acc_origin)
// with the accuracy on the chip at its operating temperature, without the candidate's own heat
// (HAQ knows no heat); resources enter through the budget's action wall (resource_wall.hpp).
#pragma once
#include <string>
#include <vector>

namespace cimkit::search {

enum class RewardForm { Normalised, Literal, Accuracy };
// "normalised" | "literal" | "accuracy"; cimkit::Error naming `key` otherwise.
RewardForm parse_reward_form(const std::string& name, const std::string& key);
std::string to_string(RewardForm f);

// What the reward needs of one evaluated candidate.
struct RewardTerms {
  double accuracy_pct = 0.0;          // on the chip with heat
  std::vector<double> ones;           // per layer: '1' bits of its stored weight codes
  std::vector<double> delta_t_k;      // per layer: temperature rise of its arrays (mean), kelvin
  double accuracy_cold_pct = 0.0;     // on the chip at the operating temperature, without its own heat
};

struct RewardOptions {
  RewardForm form = RewardForm::Normalised;
  double lambda = 0.1;                // paper 000: 0.1
  double origin_accuracy_pct = 0.0;   // acc_origin: the original (float) model's accuracy
};

// The reward of `c`; `reference` (the fixed 8-bit model) is used by the normalised form only.
// Error when the layer counts differ, a term is negative or not finite, or a reference sum is 0.
double reward(const RewardTerms& c, const RewardTerms& reference, const RewardOptions& o);

}  // namespace cimkit::search
