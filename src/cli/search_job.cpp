#include "cli/search_job.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>

#include "cli/search_report.hpp"
#include "cli/search_setup.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"
#include "nn/interop.hpp"
#include "pipeline/pretrain.hpp"
#include "search/distributed.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every rank's setup status ("" = ready), gathered: the first failure, named by its rank, fails
// them all.
void agree_ready(dist::ProcessGroup& group, const std::string& status) {
  const auto all = group.allgather(status);
  for (size_t r = 0; r < all.size(); ++r) {
    if (!all[r].empty()) throw Error(fmt::format("search: rank {} is not ready: {}", r, all[r]));
  }
}

// An evaluating rank: receives the settings' fingerprint, the reward's float-model accuracy and the
// base model from rank 0, builds the same evaluation, and evaluates what rank 0 hands out.
int search_worker(const JobArgs& args, dist::ProcessGroup& group, std::ostream& term) {
  std::string hello, model;
  group.broadcast(hello, 0);
  group.broadcast(model, 0);
  const ordered_json h = ordered_json::parse(hello);
  const fs::path tmp = fs::temp_directory_path() / fmt::format("cimkit-search-rank{}-{}.pt", group.rank(), getpid());
  std::unique_ptr<SearchSetup> s;
  std::string status;
  try {
    write_file_atomic(tmp.string(), model);
    s = load_search(args.config, args.overrides, h["out"].get<std::string>(), tmp.string());
    fs::remove(tmp);
    const std::string fp = search_fingerprint(s->rc);
    if (fp != h["fingerprint"].get<std::string>()) {
      status = "its config differs from rank 0's (give every rank the same config and --set overrides)";
    } else {
      prepare_evaluation(*s);
      s->co.reward.origin_accuracy_pct = h["origin_pct"].get<double>();
    }
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    status = e.what();
  }
  agree_ready(group, status);
  term << fmt::format("cimkit search {}: rank {} of {} ready ({} threads), evaluating for rank 0\n", args.config,
                      group.rank(), group.size(), s->threads);
  pipeline::CandidateEvaluator evaluate(*s->ev, s->space, s->co);
  search::DistributedEvaluation(group, [&](const search::Candidate& c) { return evaluate(c); }).serve();
  term << fmt::format("rank {}: rank 0 finished the search\n", group.rank());
  return 0;
}

}  // namespace

int search_job(const JobArgs& args, const dist::GroupOptions& dist_flags, std::ostream& term) {
  const std::string config = args.config;
  if (config.empty()) throw Error("cimkit search: give a config (configs/search/thermal_quant.yaml is the example)");
  const dist::GroupOptions go = dist::GroupOptions::resolve(dist_flags);
  if (go.distributed() && go.rank > 0) {
    term << fmt::format("rank {} of {}: joining rank 0 at {}:{} (waiting up to {:.0f} s)\n", go.rank, go.world_size,
                        go.master_addr, go.master_port, go.timeout_s);
    dist::ProcessGroup group(go);
    return search_worker(args, group, term);
  }
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
  const bool reuse_model = fs::exists(model_path);
  std::unique_ptr<SearchSetup> s = load_search(config, args.overrides, out_dir, reuse_model ? model_path.string() : "");
  fs::create_directories(out_dir);
  write_file_atomic((fs::path(out_dir) / "resolved_config.yaml").string(), to_yaml(s->rc.resolved));
  std::unique_ptr<dist::ProcessGroup> group;
  if (go.distributed()) {
    term << fmt::format("waiting for {} evaluating ranks at {}:{}\n", go.world_size - 1, go.master_addr, go.master_port);
    group = std::make_unique<dist::ProcessGroup>(go);
  }
  term << fmt::format("cimkit search {} -> {}  ({} threads{})\n", config, out_dir, s->threads,
                      group ? fmt::format(", {} processes", group->size()) : "");
  if (!reuse_model) {
    term << fmt::format("training the base model: {} for {} epochs\n", s->jm.zoo.name, s->topt.epochs);
    pipeline::TrainingSettings ts;
    const pipeline::TrainingOutcome tr = pipeline::train_model(s->jm, *s->jd, s->topt, s->rc.seed, ts);
    if (tr.interrupted) return 130;
    if (s->js.pretrain.enabled) {  // paper 000's thermal-aware pretraining: the search's base model
      term << fmt::format("pretraining ({}): {} epochs, α {}, β {}\n", s->js.pretrain.method == "bsq" ? "BSQ" : "paper 000", s->js.pretrain.epochs, s->js.pretrain.alpha,
                          s->js.pretrain.beta);
      pipeline::TrainingSettings pts;
      fs::create_directories(fs::path(out_dir) / "plots");
      const pipeline::PretrainOutcome pre =
          pipeline::pretrain(s->jm, *s->jd, s->js.pretrain, s->topt, derive_seed(s->rc.seed, "pretrain"), pts,
                             (fs::path(out_dir) / "plots" / "pretrain_weights.png").string());
      if (pre.interrupted) return 130;
      term << pre.summary();
      write_file_atomic((fs::path(out_dir) / "pretrain.json").string(), pre.to_json().dump(1));
    }
    nn::save_state_dict(*s->jm.net, model_path.string());
  } else {
    term << "base model: " << model_path.string() << " (reused)\n";
  }
  prepare_evaluation(*s);
  if (group) {
    std::string hello = ordered_json{{"fingerprint", search_fingerprint(s->rc)}, {"origin_pct", s->origin_pct},
                                     {"out", out_dir}}.dump();
    std::string model = read_bytes(model_path);
    group->broadcast(hello, 0);
    group->broadcast(model, 0);
    agree_ready(*group, "");
  }
  pipeline::CandidateEvaluator evaluate(*s->ev, s->space, s->co);

  search::DriverOptions dopt;
  dopt.out = out_dir;
  dopt.budget = s->ss.budget;
  dopt.seed = derive_seed(s->rc.seed, "search");
  dopt.resume = args.resume;
  dopt.fingerprint = search_fingerprint(s->rc);
  dopt.parallel = group ? group->size() : 1;
  // One line per episode: its bits, accuracy and reward, the best reward so far and an ETA.
  int64_t done = 0, best_episode = -1;
  double best_reward = -std::numeric_limits<double>::infinity();
  dopt.on_resume = [&](const search::SearchLog& earlier) {
    if (earlier.best < 0) return;
    best_episode = earlier.best;
    best_reward = earlier.records[static_cast<size_t>(earlier.best)]["reward"].get<double>();
  };
  const auto strategy = search::make_strategy(s->ss.strategy, "search.strategy").object;
  search::Driver driver(strategy, s->space, dopt);
  term << fmt::format("search: {} over {} layers, {} episodes at the {} rung (float model {:.2f} %)\n",
                      s->ss.strategy.find("impl") ? s->ss.strategy.find("impl")->value() : "ddpg", s->space.layers.size(),
                      s->ss.budget.episodes, s->ss.fidelity, s->origin_pct);
  const search::Evaluate local = [&](const search::Candidate& c) { return evaluate(c); };
  std::unique_ptr<search::DistributedEvaluation> spread;
  if (group) spread = std::make_unique<search::DistributedEvaluation>(*group, local);
  const auto t0 = std::chrono::steady_clock::now();
  const search::SearchLog log = driver.run(search::EvaluateBatch([&](const std::vector<search::Candidate>& round) {
    std::vector<search::Evaluation> results;
    if (spread) {
      results = (*spread)(round);
    } else {
      for (const auto& c : round) results.push_back(local(c));
    }
    for (size_t i = 0; i < round.size(); ++i) {
      const search::Candidate& c = round[i];
      const search::Evaluation& e = results[i];
      ++done;
      if (e.reward > best_reward) {
        best_reward = e.reward;
        best_episode = c.id;
      }
      const double per = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(done);
      const int64_t left = std::max<int64_t>(0, s->ss.budget.episodes - c.id - 1);
      term << fmt::format("episode {:4d}  w [{}] a [{}]  acc with heat {:.2f} %  reward {:+.4f}  best {:+.4f} (ep {})  "
                          "ETA {:.0f} s\n",
                          c.id, e.record["refined_weight_bits"].get<std::string>(),
                          e.record["refined_act_bits"].get<std::string>(), e.record["acc_heat_pct"].get<double>(),
                          e.reward, best_reward, best_episode, per * double(left));
    }
    return results;
  }));
  if (spread) spread->finish();

  const SearchReport report = report_search(*s, log, out_dir);
  term << report.summary;
  term << fmt::format("run folder: {} (summary.txt, stats.json, candidates.csv, checkpoint.pt, model.pt, "
                      "resolved_config.yaml, plots/: {} charts)\n",
                      out_dir, report.plots);
  return 0;
}

}  // namespace cimkit::cli
