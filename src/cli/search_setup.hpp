// What every process of `cimkit search` builds alike (issue 13 §5–6): the config with its search
// settings, the data, the base model, and — once the model is trained — the chip evaluation of a
// candidate on the reward images. Rank 0 and the evaluating ranks of a distributed search call
// the same functions, so a candidate gets the same record on any of them.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/job_sections.hpp"
#include "cli/run_config.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_data.hpp"
#include "pipeline/search_eval.hpp"
#include "search/settings.hpp"

namespace cimkit::cli {

struct SearchSetup {
  std::string config;
  RunConfig rc;
  JobSections js;
  search::SearchSettings ss;
  train::TrainOptions topt;
  int threads = 1;
  std::optional<pipeline::JobData> jd;  // always set by load_search
  pipeline::JobModel jm;
  // Set by prepare_evaluation:
  bool on_validation = false;
  std::optional<data::DataLoader> reward_data;     // the reward's images
  std::unique_ptr<pipeline::ChipEvaluator> ev;      // on reward_data
  search::SearchSpace space;
  std::unique_ptr<pipeline::Finetuner> finetune;   // search.finetune_steps > 0
  pipeline::CandidateEvalOptions co;                // origin: the float model on reward_data
  double origin_pct = 0.0;
};

// Loads `config` with `overrides` (a base model at `model_path`, when not empty, is loaded and not
// trained), validates the job and search sections, reads the data and builds the model. `out_dir`
// goes into the resolved config.
std::unique_ptr<SearchSetup> load_search(const std::string& config, std::vector<std::string> overrides,
                                         const std::string& out_dir, const std::string& model_path);

// With the base model trained: the chip evaluator on the reward images (the first
// search.validation_limit validation images, or the test set), the search space, the candidate
// evaluation's options and the float model's accuracy there.
void prepare_evaluation(SearchSetup& s);

// What must match between a search's checkpoint and the run resuming it, and between the ranks of
// a distributed search: everything but the budget and the base model's training.
std::string search_fingerprint(const RunConfig& rc);

}  // namespace cimkit::cli
