// The strategies that do not learn: `random` (uniform actions, HAQ's warm-up as a whole search)
// and `fixed` (one uniform bit width for every layer: the fixed-8-bit baseline and its kin,
// evaluated by the same code as the searches).
#include <fmt/format.h>

#include <limits>

#include <set>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "search/strategy.hpp"

namespace cimkit::search {
namespace {

// Bookkeeping shared by both: ids, outstanding proposals.
class Proposals {
 public:
  int64_t next() {
    outstanding_.insert(next_id_);
    return next_id_++;
  }
  void settle(const Candidate& c, const char* who) {
    if (!outstanding_.erase(c.id)) {
      throw Error(fmt::format("{}: candidate {} was not proposed or was already reported", who, c.id));
    }
  }
  void reset() {
    next_id_ = 0;
    outstanding_.clear();
  }
  int64_t next_id() const { return next_id_; }
  void set_next_id(int64_t id) {
    next_id_ = id;
    outstanding_.clear();  // a checkpoint is taken with nothing outstanding
  }

 private:
  int64_t next_id_ = 0;
  std::set<int64_t> outstanding_;
};

class RandomStrategy : public Strategy {
 public:
  explicit RandomStrategy(const Params&) {}
  static Schema schema() { return Schema("random", "Uniform random actions for every decision (bits uniform over each layer's range)"); }

  void start(const SearchSpace& space, uint64_t seed) override {
    space_ = space;
    gen_ = make_generator(derive_seed(seed, "strategy_random"));
    ids_.reset();
  }
  Candidate propose() override {
    const int64_t n = static_cast<int64_t>(space_.steps().size());
    const torch::Tensor u = at::rand({n}, gen_, torch::kFloat64);
    return candidate_from_actions(space_, std::vector<double>(u.data_ptr<double>(), u.data_ptr<double>() + n), ids_.next());
  }
  void report(const Candidate& c, double) override { ids_.settle(c, "strategy random"); }
  // Draws never depend on rewards.
  int64_t proposable() const override { return std::numeric_limits<int32_t>::max(); }
  Candidate best_guess() override {
    return candidate_from_actions(space_, std::vector<double>(space_.steps().size(), 0.5), -1);
  }
  void save(torch::serialize::OutputArchive& a) const override {
    save_generator(a, "random.generator", gen_);
    save_int(a, "random.next_id", ids_.next_id());
  }
  void load(torch::serialize::InputArchive& a) override {
    load_generator(a, "random.generator", gen_);
    ids_.set_next_id(load_int(a, "random.next_id"));
  }

 private:
  SearchSpace space_;
  at::Generator gen_ = make_generator(0);
  Proposals ids_;
};

class FixedStrategy : public Strategy {
 public:
  explicit FixedStrategy(const Params& p)
      : weight_bits_(static_cast<int>(p.get_int("weight_bits"))), act_bits_(static_cast<int>(p.get_int("act_bits"))) {}
  static Schema schema() {
    Schema s("fixed", "The same bit widths for every layer on every proposal, whatever the search ranges (baselines)");
    s.integer("weight_bits", "Weight bits of every layer").range(2, 16).def(int64_t{8});
    s.integer("act_bits", "Activation bits of every layer whose activations are searched (others keep their fixed bits)")
        .range(1, 16)
        .def(int64_t{8});
    return s;
  }
  void start(const SearchSpace& space, uint64_t) override {
    space_ = space;
    ids_.reset();
  }
  Candidate propose() override {
    Candidate c = best_guess();
    c.id = ids_.next();
    return c;
  }
  void report(const Candidate& c, double) override { ids_.settle(c, "strategy fixed"); }
  int64_t proposable() const override { return std::numeric_limits<int32_t>::max(); }
  Candidate best_guess() override {
    Candidate c;
    for (const LayerSpace& l : space_.layers) {
      c.weight_bits.push_back(weight_bits_);
      c.act_bits.push_back(l.search_act ? act_bits_ : l.fixed_act);
    }
    return c;
  }
  void save(torch::serialize::OutputArchive& a) const override { save_int(a, "fixed.next_id", ids_.next_id()); }
  void load(torch::serialize::InputArchive& a) override { ids_.set_next_id(load_int(a, "fixed.next_id")); }

 private:
  int weight_bits_, act_bits_;
  SearchSpace space_;
  Proposals ids_;
};

}  // namespace
}  // namespace cimkit::search

CIMKIT_REGISTER(cimkit::search::Strategy, cimkit::search::RandomStrategy, "random",
                "Uniform random bit widths within each layer's ranges")
CIMKIT_REGISTER(cimkit::search::Strategy, cimkit::search::FixedStrategy, "fixed",
                "One uniform bit width for every layer (the fixed-8-bit baseline and its kin)")
