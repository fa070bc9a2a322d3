// The search driver (issue 13 §1): owns the budget (episodes, wall time), the seed, the log and
// the checkpoints of a strategy's search. One round: propose as many candidates as the parallel
// width and the strategy allow (Strategy::proposable; one when the search runs in one process),
// evaluate them (a function the caller passes: the pipeline's chip evaluation, spread over
// processes or not, or a synthetic reward in tests), report their rewards in order, append their
// records, write the checkpoint atomically. A run stopped anywhere (even kill -9) and started
// again with `resume` loses at most the round in flight and then equals the uninterrupted run for
// the same seed, record for record, whatever the parallel width.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search/strategy.hpp"

namespace cimkit::search {

struct Budget {
  int64_t episodes = 100;      // > 0
  double wall_seconds = 0.0;   // 0: no limit; counted over every resumed part of the run
  // cimkit::Error naming `key` unless episodes > 0 and wall_seconds >= 0.
  void check(const std::string& key) const;
};

// What evaluating a candidate gives: its reward and a flat record of named values (numbers or
// strings) for candidates.csv.
struct Evaluation {
  double reward = 0.0;
  nlohmann::ordered_json record = nlohmann::ordered_json::object();
};
using Evaluate = std::function<Evaluation(const Candidate&)>;
// A round's candidates, evaluated (in parallel or not); one Evaluation per candidate, in order.
using EvaluateBatch = std::function<std::vector<Evaluation>(const std::vector<Candidate>&)>;

struct SearchLog;

struct DriverOptions {
  std::string out;          // folder: checkpoint.pt, candidates.csv
  Budget budget;
  uint64_t seed = 0;
  bool resume = false;      // continue from out/checkpoint.pt (Error when there is none)
  int64_t parallel = 1;     // most candidates per round (the evaluating processes); >= 1
  // What must match between a checkpoint and the run that resumes it (the strategy and its
  // parameters, the space, the evaluation's settings): a resumed run with another fingerprint is
  // refused, naming both.
  std::string fingerprint;
  // Called once with the log a resumed run loaded (progress displays start from its best).
  std::function<void(const SearchLog&)> on_resume;
};

struct SearchLog {
  // One record per evaluated episode, in order: episode, candidate id, bits per layer, reward,
  // then the evaluation's record.
  std::vector<nlohmann::ordered_json> records;
  int64_t best = -1;        // index of the highest reward
  double elapsed_s = 0.0;   // wall time over every part of the run
  std::string stopped_by;   // "episodes" | "wall time" | "strategy finished"
};

class Driver {
 public:
  Driver(std::shared_ptr<Strategy> strategy, SearchSpace space, DriverOptions options);
  // Runs until the budget is spent; the log so far (with what a resumed part loaded).
  SearchLog run(const EvaluateBatch& evaluate);
  SearchLog run(const Evaluate& evaluate);
  std::string checkpoint_path() const;
  std::string candidates_path() const;

 private:
  void save(const SearchLog& log) const;
  SearchLog load();
  std::shared_ptr<Strategy> strategy_;
  SearchSpace space_;
  DriverOptions opt_;
};

// The settings that differ between two fingerprints (YAML texts), at most `most` of them:
// "key: a -> b; ...".
std::string fingerprint_difference(const std::string& was, const std::string& now, size_t most = 6);

// The records as CSV: the union of their keys as columns, in order of first appearance.
std::string records_csv(const std::vector<nlohmann::ordered_json>& records);

}  // namespace cimkit::search
