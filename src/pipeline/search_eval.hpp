// The candidate evaluation of a precision search (issue 13 §2; paper 000 §III.C): a candidate's
// per-layer bits applied to the trained network by the ChipEvaluator (paper 000 eq. 1, with the
// evaluator's quantiser-step rule), the post-search refinement of its weight bit planes
// (§III.C.3), optionally HAQ's short fine-tune at those bits, then the evaluation on the chip, with the heat of the candidate's own power map,
// at the search's fidelity rung; the reward of eq. 7–8 against the fixed 8-bit reference, and
// the record the driver logs (candidates.csv).
#pragma once
#include <optional>
#include <vector>

#include "pipeline/chip_eval.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/search_finetune.hpp"
#include "search/driver.hpp"
#include "search/reward.hpp"

namespace cimkit::pipeline {

struct CandidateEvalOptions {
  Fidelity fidelity = kSearchFidelity;  // the inner loop's rung
  bool refine = true;                   // paper 000 §III.C.3
  double refine_fraction = 0.05;        // a bit plane with fewer '1's than this goes (paper: 5 %)
  int reference_bits = 8;               // the fixed-width reference of the normalised reward
  search::RewardOptions reward;         // origin_accuracy_pct: set by the caller (the float model)
  Finetuner* finetune = nullptr;        // HAQ's short fine-tune per candidate (none: not owned)
  // HAQ's resource constraint: "energy" or "latency" per inference kept within budget_fraction of
  // the fixed reference's by the action wall (search/resource_wall.hpp); "none": no constraint.
  std::string budget_metric = "none";
  double budget_fraction = 0.5;
};

class CandidateEvaluator {
 public:
  // The evaluator must price and heat (cost and thermal with feedback enabled): the reward
  // needs the heat. The layers' ADC bits stay as the network has them.
  CandidateEvaluator(ChipEvaluator& evaluator, search::SearchSpace space, CandidateEvalOptions options);

  // The fixed-width reference (every layer at reference_bits, activations too where searched),
  // evaluated on first use.
  const search::RewardTerms& reference();
  // Evaluates `c` (refined first) and returns its reward and record.
  search::Evaluation operator()(const search::Candidate& c);
  // The precisions a candidate is evaluated at after its refinement (applied to the network).
  std::vector<nn::Precision> refined_precisions(const search::Candidate& c);

 private:
  std::vector<nn::Precision> precisions_of(const std::vector<int>& weight_bits, const std::vector<int>& act_bits) const;
  search::RewardTerms terms_of(const Evaluation& e);
  ChipEvaluator& ev_;
  search::SearchSpace space_;
  CandidateEvalOptions opt_;
  std::vector<nn::Precision> base_;  // the network's precisions when given (ADC bits kept)
  std::optional<search::RewardTerms> reference_;
  double budget_ = -1.0;  // the resource budget, once priced (< 0: not yet)
  double price_of(const search::Candidate& c);  // the budget metric of c's precisions
};

}  // namespace cimkit::pipeline
