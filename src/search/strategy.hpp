// Search strategies speak ask/tell (issue 13; docs/architecture.md, "search"): propose() gives
// the next candidate, report() tells the strategy what it scored. A strategy is built by name
// from the registry (`cimkit list strategy`), then start()ed on a search space with a seed; its
// whole state (networks, optimisers, memory, random streams, counters) goes into a checkpoint
// archive and comes back bit for bit, so a resumed search equals an uninterrupted one.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/registry.hpp"
#include "search/space.hpp"

namespace cimkit::search {

class Strategy {
 public:
  static constexpr const char* kInterface = "strategy";
  static constexpr const char* kDescription =
      "Search strategy: proposes per-layer bit widths (ask) and learns from their rewards (tell)";
  static constexpr const char* kDefaultImpl = "ddpg";

  virtual ~Strategy() = default;
  // Sets the space (checked by the caller) and the seed; resets every counter and stream.
  virtual void start(const SearchSpace& space, uint64_t seed) = 0;
  // The next candidate. Several may be outstanding (evaluated in parallel); each is reported once.
  virtual Candidate propose() = 0;
  // The reward of a proposed candidate (higher is better). Error for an unknown or repeated id.
  virtual void report(const Candidate& candidate, double reward) = 0;
  // How many more candidates may be proposed now, before any outstanding one is reported, with
  // the search still equal to its one-at-a-time run (propose, report, propose, ...): the parallel
  // width the driver may use. At least 1 when nothing is outstanding; 0 when the next proposal
  // needs the outstanding rewards (a learning agent after its warm-up).
  virtual int64_t proposable() const = 0;
  // True when the strategy has nothing more to propose (its own budget spent, or its space
  // exhausted): the driver ends the search there. Strategies without an end never are.
  virtual bool finished() const { return false; }
  // The strategy's own best guess now, without exploration (the same as propose() for
  // strategies that do not learn). Does not change the state.
  virtual Candidate best_guess() = 0;
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

// The registry's strategy named `impl` with its parameters from `section` (at `path`).
Built<Strategy> make_strategy(const ConfigNode& section, const std::string& path);

// The bits a candidate's actions choose (action_to_bits per step, activations not searched keep
// their fixed bits).
Candidate candidate_from_actions(const SearchSpace& space, const std::vector<double>& actions, int64_t id);

// A generator's state and the id counter, saved and loaded under `prefix` (helpers for
// strategies).
void save_generator(torch::serialize::OutputArchive& a, const std::string& key, const at::Generator& g);
void load_generator(torch::serialize::InputArchive& a, const std::string& key, at::Generator& g);
void save_int(torch::serialize::OutputArchive& a, const std::string& key, int64_t v);
int64_t load_int(torch::serialize::InputArchive& a, const std::string& key);

}  // namespace cimkit::search
