// `evolution`: the evolutionary search of search/evolution.hpp as a precision-search strategy.
// One gene per decision of the space (SearchSpace::steps(): a layer's weight bits, then its
// activation bits when searched), choosing a bit width in the step's range. A cycle's genomes
// may all be outstanding at once (proposable), so the driver spreads them over its processes.
#include <fmt/format.h>

#include <map>
#include <optional>

#include "core/error.hpp"
#include "search/evolution.hpp"
#include "search/strategy.hpp"

namespace cimkit::search {
namespace {

class EvolutionStrategy : public Strategy {
 public:
  explicit EvolutionStrategy(const Params& p) : opt_(EvolutionOptions::from_params(p)) {}
  static Schema schema() {
    Schema s("evolution", "Evolutionary search (paper 004 Algorithm 1, SPOS): a population per cycle of crossover and mutation children of the best so far");
    EvolutionOptions::declare(s);
    return s;
  }

  void start(const SearchSpace& space, uint64_t seed) override {
    space_ = space;
    steps_ = space.steps();
    std::vector<Gene> genes;
    for (const auto& st : steps_) {
      const LayerSpace& l = space.layers[st.layer];
      genes.push_back({l.name + (st.weight ? ".weight_bits" : ".act_bits"), st.range(space).count(), 1.0});
    }
    evo_.emplace(std::move(genes), opt_, seed, Evolution::Validity{}, "search.strategy");
    ids_.clear();
    next_id_ = 0;
  }
  Candidate propose() override {
    const auto g = evolution().propose();
    if (!g) throw Error("strategy evolution: nothing to propose before the cycle's candidates are reported");
    Candidate c = from_genome(*g, next_id_++);
    ids_[c.id] = *g;
    return c;
  }
  void report(const Candidate& c, double reward) override {
    const auto it = ids_.find(c.id);
    if (it == ids_.end()) throw Error(fmt::format("strategy evolution: candidate {} was not proposed or was already reported", c.id));
    evolution().report(it->second, reward);
    ids_.erase(it);
  }
  int64_t proposable() const override { return evo_ ? evo_->proposable() : 0; }
  bool finished() const override { return evo_ && evo_->done(); }
  Candidate best_guess() override {
    const Evolution& e = evolution();
    if (!e.top().empty()) return from_genome(e.top().front().genome, -1);
    if (!e.history().empty()) return from_genome(e.history().front().genome, -1);
    return from_genome(Genome(steps_.size(), 0), -1);
  }
  void save(torch::serialize::OutputArchive& a) const override {
    if (!evo_) throw Error("strategy evolution: save before start");
    evo_->save(a, "evolution");
    save_int(a, "evolution.next_id", next_id_);
  }
  void load(torch::serialize::InputArchive& a) override {
    evolution().load(a, "evolution");
    next_id_ = load_int(a, "evolution.next_id");
    ids_.clear();  // a checkpoint is taken with nothing outstanding
  }

 private:
  Evolution& evolution() {
    if (!evo_) throw Error("strategy evolution: used before start");
    return *evo_;
  }
  const Evolution& evolution() const {
    if (!evo_) throw Error("strategy evolution: used before start");
    return *evo_;
  }
  // Gene value v of a step with range [min, max]: min + v bits; the action is bits_to_action's,
  // so candidate_from_actions gives the same bits.
  Candidate from_genome(const Genome& g, int64_t id) const {
    Candidate c;
    c.id = id;
    c.weight_bits.assign(space_.layers.size(), 0);
    c.act_bits.assign(space_.layers.size(), 0);
    for (size_t l = 0; l < space_.layers.size(); ++l) c.act_bits[l] = space_.layers[l].fixed_act;
    for (size_t k = 0; k < steps_.size(); ++k) {
      const BitRange& r = steps_[k].range(space_);
      const int bits = r.min + static_cast<int>(g[k]);
      (steps_[k].weight ? c.weight_bits : c.act_bits)[steps_[k].layer] = bits;
      c.actions.push_back(bits_to_action(bits, r));
    }
    return c;
  }

  EvolutionOptions opt_;
  SearchSpace space_;
  std::vector<SearchSpace::Step> steps_;
  std::optional<Evolution> evo_;
  std::map<int64_t, Genome> ids_;
  int64_t next_id_ = 0;
};

}  // namespace
}  // namespace cimkit::search

CIMKIT_REGISTER(cimkit::search::Strategy, cimkit::search::EvolutionStrategy, "evolution",
                "Evolutionary search over the bit widths (paper 004 Algorithm 1: crossover and mutation of the top-k)")
