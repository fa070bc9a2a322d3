// A search's candidate evaluation spread over processes (issue 13 §6): rank 0 runs the strategy
// and the driver; a round's candidate i is evaluated by rank i mod world size (rank 0 takes its
// share), the records come back to rank 0 through c10d collectives in candidate order. Every
// rank must evaluate a candidate to the same record (same config, base model, seeds and thread
// count), which makes a distributed run's log equal to the one-process run's.
#pragma once
#include <string>
#include <vector>

#include "dist/process_group.hpp"
#include "search/driver.hpp"

namespace cimkit::search {

class DistributedEvaluation {
 public:
  // `local` evaluates a candidate in this process.
  DistributedEvaluation(dist::ProcessGroup& group, Evaluate local);
  // Releases the other ranks when rank 0 leaves without finish() (an error on the way).
  ~DistributedEvaluation();

  // Rank 0: evaluates a round over every rank. An evaluation that fails on any rank throws an
  // Error naming the rank and the candidate, after every rank has answered.
  std::vector<Evaluation> operator()(const std::vector<Candidate>& round);
  // Rank 0: ends the other ranks' serve().
  void finish();
  // Ranks > 0: evaluates the rounds rank 0 sends until it finishes.
  void serve();

 private:
  std::string evaluate_share(const std::string& round_message);
  dist::ProcessGroup& group_;
  Evaluate local_;
  bool finished_ = false;
};

}  // namespace cimkit::search
