#include "cli/search_setup.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "pipeline/evaluator.hpp"
#include "search/space_rules.hpp"

namespace cimkit::cli {

std::string search_fingerprint(const RunConfig& rc) {
  ConfigNode f = ConfigNode::map();
  for (const char* key : {"seed", "chip", "operating", "model", "data", "eval", "cost", "thermal", "arch", "search"}) {
    if (const ConfigNode* n = rc.resolved.find(key)) f.set(key, *n);
  }
  if (ConfigNode* s = f.find("search")) {
    s->erase("episodes");
    s->erase("wall_seconds");
  }
  return to_yaml(f);
}

std::unique_ptr<SearchSetup> load_search(const std::string& config, std::vector<std::string> overrides,
                                         const std::string& out_dir, const std::string& model_path) {
  if (!model_path.empty()) {  // the base model: trained once, reused
    overrides.push_back("train.pretrained=" + model_path);
    overrides.push_back("train.epochs=0");
  }
  auto s = std::make_unique<SearchSetup>();
  s->config = config;
  s->rc = RunConfig::load(config, overrides);
  s->threads = set_threads(s->rc.threads);
  s->js = parse_job_sections(s->rc);
  s->ss = search::SearchSettings::from_config(s->rc.sections.at("search"), "search");
  s->rc.resolved.set("search", s->ss.resolved);
  s->rc.resolved.set("out", ConfigNode::scalar(out_dir, {"<run>", 0}));
  if (!s->js.cost.get_bool("enabled") || !s->js.thermal.enabled || !s->js.thermal.feedback) {
    throw Error(config + ": a search rewards the heat; cost.enabled, thermal.enabled and thermal.feedback must be true");
  }
  s->topt = train::TrainOptions::from_params(s->js.train);
  s->jd = pipeline::prepare_data(s->js.data, s->topt.batch_size, s->rc.seed);
  s->jm = pipeline::build_model(s->js.model, s->js.train, *s->jd, s->rc.chip, s->rc.operating, s->rc.seed);
  return s;
}

void prepare_evaluation(SearchSetup& s) {
  pipeline::EvaluatorOptions evo;
  evo.eval = pipeline::ChipEvalOptions::from_params(s.js.eval);
  evo.arch = s.js.arch;
  evo.cost = cost::CostOptions::from_params(s.js.cost);
  evo.thermal = s.js.thermal;
  // The reward reads the validation split (the first validation_limit images), so the test set
  // stays unseen until the finalists are reported on it.
  s.on_validation = s.ss.reward_images == "validation";
  s.reward_data = s.jd->test;
  if (s.on_validation) {
    if (!s.jd->val) {
      throw Error(s.config + ": search.reward_images is 'validation' but data.val_fraction leaves no validation images; "
                             "raise data.val_fraction or set search.reward_images: test");
    }
    const int64_t n = s.ss.validation_limit > 0 ? std::min(s.ss.validation_limit, s.jd->val_size()) : s.jd->val_size();
    s.reward_data = data::DataLoader(s.jd->val->dataset().subset(torch::arange(n)), s.jd->val->options());
  }
  s.ev = std::make_unique<pipeline::ChipEvaluator>(s.jm.net, s.jm.ctx, *s.reward_data, s.jm.zoo.name,
                                                   s.jm.input_shape(), evo);
  s.origin_pct = 100.0 * s.ev->float_accuracy();
  s.space = search::space_from_shape(s.ev->shape(), s.ss.rules, "search");
  s.co.fidelity = parse_fidelity(s.ss.fidelity, "search.fidelity");
  s.co.refine = s.ss.refine;
  s.co.refine_fraction = s.ss.refine_fraction;
  s.co.budget_metric = s.ss.budget_metric;
  s.co.budget_fraction = s.ss.budget_fraction;
  s.co.reward = s.ss.reward;
  s.co.reward.origin_accuracy_pct = s.origin_pct;
  if (s.ss.finetune_steps > 0) {
    pipeline::FinetuneOptions fo;
    fo.steps = s.ss.finetune_steps;
    fo.lr = s.ss.finetune_lr;
    s.finetune = std::make_unique<pipeline::Finetuner>(s.jm.net, s.jd->train, fo);
    s.co.finetune = s.finetune.get();
  }
}

}  // namespace cimkit::cli
