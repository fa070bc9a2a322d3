#include "cli/search_job.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "cli/job_sections.hpp"
#include "cli/run_config.hpp"
#include "cli/search_plots.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"
#include "nn/interop.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_data.hpp"
#include "pipeline/search_eval.hpp"
#include "search/settings.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

// What must match between a search's checkpoint and the run resuming it: everything but the
// budget and the base model's training (the model is reused from the run folder).
std::string fingerprint(const RunConfig& rc) {
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

std::string bits_of(const std::vector<nn::Precision>& p, bool weights) {
  std::string s;
  for (size_t i = 0; i < p.size(); ++i) s += (i ? " " : "") + std::to_string(weights ? p[i].weight_bits : p[i].act_bits);
  return s;
}

}  // namespace

int search_job(const JobArgs& args, std::ostream& term) {
  const std::string config = args.config;
  if (config.empty()) throw Error("cimkit search: give a config (configs/search/thermal_quant.yaml is the example)");
  RunConfig probe = RunConfig::load(config, args.overrides);
  std::string out_dir = !args.out.empty() ? args.out : probe.out;
  if (out_dir.empty()) out_dir = (fs::path("runs") / fs::path(config).stem()).string();
  const fs::path model_path = fs::path(out_dir) / "model.pt";
  // Checked before anything is trained or written (the driver checks again, with the contents).
  const fs::path checkpoint = fs::path(out_dir) / "checkpoint.pt";
  if (args.resume && !fs::exists(checkpoint)) {
    throw Error(fmt::format("--resume: no search checkpoint at {} (the run folder is '{}')", checkpoint.string(), out_dir));
  }
  if (!args.resume && fs::exists(checkpoint)) {
    throw Error(fmt::format("run folder '{}' holds a search ({}); pass --resume to continue it or --out DIR for a new one",
                            out_dir, checkpoint.string()));
  }
  std::vector<std::string> overrides = args.overrides;
  const bool reuse_model = fs::exists(model_path);
  if (reuse_model) {  // the base model of this run folder: trained once, reused on resume
    overrides.push_back("train.pretrained=" + model_path.string());
    overrides.push_back("train.epochs=0");
  }
  RunConfig rc = RunConfig::load(config, overrides);
  const int threads = set_threads(rc.threads);
  const JobSections js = parse_job_sections(rc);
  search::SearchSettings ss = search::SearchSettings::from_config(rc.sections.at("search"), "search");
  rc.resolved.set("search", ss.resolved);
  rc.resolved.set("out", ConfigNode::scalar(out_dir, {"<run>", 0}));
  if (!js.cost.get_bool("enabled") || !js.thermal.enabled || !js.thermal.feedback) {
    throw Error(config + ": a search rewards the heat; cost.enabled, thermal.enabled and thermal.feedback must be true");
  }
  fs::create_directories(out_dir);
  write_file_atomic((fs::path(out_dir) / "resolved_config.yaml").string(), to_yaml(rc.resolved));

  const train::TrainOptions topt = train::TrainOptions::from_params(js.train);
  pipeline::JobData jd = pipeline::prepare_data(js.data, topt.batch_size, rc.seed);
  pipeline::JobModel jm = pipeline::build_model(js.model, js.train, jd, rc.chip, rc.operating, rc.seed);
  term << fmt::format("cimkit search {} -> {}  ({} threads)\n", config, out_dir, threads);
  if (!reuse_model) {
    term << fmt::format("training the base model: {} for {} epochs\n", jm.zoo.name, topt.epochs);
    pipeline::TrainingSettings ts;
    const pipeline::TrainingOutcome tr = pipeline::train_model(jm, jd, topt, rc.seed, ts);
    if (tr.interrupted) return 130;
    nn::save_state_dict(*jm.net, model_path.string());
  } else {
    term << "base model: " << model_path.string() << " (reused)\n";
  }

  pipeline::EvaluatorOptions evo;
  evo.eval = pipeline::ChipEvalOptions::from_params(js.eval);
  evo.arch = js.arch;
  evo.cost = cost::CostOptions::from_params(js.cost);
  evo.thermal = js.thermal;
  // The reward reads the validation split (the first validation_limit images), so the test set
  // stays unseen until the finalists are reported on it.
  const bool on_validation = ss.reward_images == "validation";
  data::DataLoader reward_data = jd.test;
  if (on_validation) {
    if (!jd.val) {
      throw Error(config + ": search.reward_images is 'validation' but data.val_fraction leaves no validation images; "
                           "raise data.val_fraction or set search.reward_images: test");
    }
    const int64_t n = ss.validation_limit > 0 ? std::min(ss.validation_limit, jd.val_size()) : jd.val_size();
    reward_data = data::DataLoader(jd.val->dataset().subset(torch::arange(n)), jd.val->options());
  }
  pipeline::ChipEvaluator ev(jm.net, jm.ctx, reward_data, jm.zoo.name, jm.input_shape(), evo);
  const double origin = 100.0 * ev.float_accuracy();
  const search::SearchSpace space = search::space_from_shape(ev.shape(), ss.rules, "search");
  pipeline::CandidateEvalOptions co;
  co.fidelity = parse_fidelity(ss.fidelity, "search.fidelity");
  co.refine = ss.refine;
  co.refine_fraction = ss.refine_fraction;
  co.reward = ss.reward;
  co.reward.origin_accuracy_pct = origin;
  pipeline::CandidateEvaluator evaluate(ev, space, co);

  search::DriverOptions dopt;
  dopt.out = out_dir;
  dopt.budget = ss.budget;
  dopt.seed = derive_seed(rc.seed, "search");
  dopt.resume = args.resume;
  dopt.fingerprint = fingerprint(rc);
  const auto strategy = search::make_strategy(ss.strategy, "search.strategy").object;
  search::Driver driver(strategy, space, dopt);
  term << fmt::format("search: {} over {} layers, {} episodes at the {} rung (float model {:.2f} %)\n",
                      ss.strategy.find("impl") ? ss.strategy.find("impl")->value() : "ddpg", space.layers.size(),
                      ss.budget.episodes, ss.fidelity, origin);
  // One line per episode: its bits, accuracy and reward, the best reward so far and an ETA.
  int64_t done = 0, best_episode = -1;
  double best_reward = -std::numeric_limits<double>::infinity();
  const auto t0 = std::chrono::steady_clock::now();
  const search::SearchLog log = driver.run([&](const search::Candidate& c) {
    search::Evaluation e = evaluate(c);
    ++done;
    if (e.reward > best_reward) {
      best_reward = e.reward;
      best_episode = c.id;
    }
    const double per = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(done);
    const int64_t left = std::max<int64_t>(0, ss.budget.episodes - c.id - 1);
    term << fmt::format("episode {:4d}  w [{}] a [{}]  acc with heat {:.2f} %  reward {:+.4f}  best {:+.4f} (ep {})  "
                        "ETA {:.0f} s\n",
                        c.id, e.record["refined_weight_bits"].get<std::string>(),
                        e.record["refined_act_bits"].get<std::string>(), e.record["acc_heat_pct"].get<double>(), e.reward,
                        best_reward, best_episode, per * double(left));
    return e;
  });

  // Finalists, re-evaluated bit-exactly (and the fixed 8-bit reference beside them).
  std::vector<size_t> order(log.records.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return log.records[a]["reward"].get<double>() > log.records[b]["reward"].get<double>();
  });
  ev.set_data(jd.test);
  const double origin_test = on_validation ? 100.0 * ev.float_accuracy() : origin;
  pipeline::CandidateEvalOptions exact = co;
  exact.reward.origin_accuracy_pct = origin_test;
  exact.fidelity = Fidelity::BitExact;
  exact.refine = false;  // the logged bits are already refined
  pipeline::CandidateEvaluator evaluate_exact(ev, space, exact);
  auto parse_bits = [](const std::string& s) {
    std::vector<int> v;
    std::istringstream is(s);
    for (int b; is >> b;) v.push_back(b);
    return v;
  };
  ordered_json finalists = ordered_json::array();
  std::ostringstream summary;
  summary << fmt::format("cimkit search {} — {} on {}, {} episodes (stopped by the {} budget), {:.1f} s\n", config, jm.zoo.name, jd.name,
                         log.records.size(), log.stopped_by, log.elapsed_s);
  summary << fmt::format("reward: {} with λ = {}, accuracy on {} ({} images; float model {:.2f} %)\n",
                         search::to_string(ss.reward.form), ss.reward.lambda,
                         on_validation ? "the validation split" : "the test set", reward_data.dataset().size(), origin);
  search::Candidate eight;
  for (const auto& l : space.layers) {
    eight.weight_bits.push_back(8);
    eight.act_bits.push_back(l.search_act ? 8 : l.fixed_act);
  }
  const search::Evaluation ref = evaluate_exact(eight);
  auto line = [&](const std::string& name, const search::Evaluation& e) {
    const auto& r = e.record;
    return fmt::format("  {:<12} w [{}] a [{}]  acc {:.2f} % / with heat {:.2f} %  energy {:.3g} J  {:.4g} TOPS/W  "
                       "crossbars {}  peak {:.2f} K  reward {:+.4f}\n",
                       name, r["refined_weight_bits"].get<std::string>(), r["refined_act_bits"].get<std::string>(),
                       r["acc_pct"].get<double>(), r["acc_heat_pct"].get<double>(), r["energy_j"].get<double>(),
                       r["tops_per_w"].get<double>(), r["crossbars"].get<int64_t>(), r["peak_k"].get<double>(), e.reward);
  };
  summary << fmt::format("bit-exact re-evaluation on the {} test images (float model {:.2f} %):\n", jd.test_size(),
                         origin_test)
          << line("fixed 8-bit", ref);
  for (int64_t k = 0; k < std::min<int64_t>(ss.finalists, static_cast<int64_t>(order.size())); ++k) {
    const ordered_json& rec = log.records[order[k]];
    search::Candidate c;
    c.weight_bits = parse_bits(rec["refined_weight_bits"].get<std::string>());
    c.act_bits = parse_bits(rec["refined_act_bits"].get<std::string>());
    const search::Evaluation e = evaluate_exact(c);
    summary << line(fmt::format("#{} (ep {})", k + 1, rec["episode"].get<int64_t>()), e);
    ordered_json f = ordered_json::object();
    f["episode"] = rec["episode"];
    f["inner_loop"] = rec;
    f["bit_exact"] = e.record;
    f["bit_exact"]["reward"] = e.reward;
    finalists.push_back(f);
  }
  ordered_json stats = ordered_json::object();
  stats["config"] = config;
  stats["network"] = jm.zoo.name;
  stats["reward_images"] = ss.reward_images;
  stats["reward_images_count"] = reward_data.dataset().size();
  stats["float_accuracy_pct"] = origin;
  stats["float_accuracy_test_pct"] = origin_test;
  stats["episodes"] = static_cast<int64_t>(log.records.size());
  stats["stopped_by"] = log.stopped_by;
  stats["elapsed_s"] = log.elapsed_s;
  stats["best_episode"] = log.best;
  stats["fixed_8bit_bit_exact"] = ref.record;
  stats["fixed_8bit_bit_exact"]["reward"] = ref.reward;
  stats["finalists"] = finalists;
  stats["candidates"] = log.records;
  write_file_atomic((fs::path(out_dir) / "stats.json").string(), stats.dump(1));
  std::vector<std::string> layer_names;
  for (const auto& l : space.layers) layer_names.push_back(l.name);
  const auto plots = write_search_plots((fs::path(out_dir) / "plots").string(), log.records, log.best, layer_names);
  write_file_atomic((fs::path(out_dir) / "summary.txt").string(), summary.str());
  term << summary.str();
  term << fmt::format("run folder: {} (summary.txt, stats.json, candidates.csv, checkpoint.pt, model.pt, "
                      "resolved_config.yaml, plots/: {} charts)\n",
                      out_dir, plots.size());
  return 0;
}

}  // namespace cimkit::cli
