#include "search/evolution.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "search/strategy.hpp"

namespace cimkit::search {

std::string genome_key(const Genome& g) { return fmt::format("{}", fmt::join(g, ".")); }

void EvolutionOptions::declare(Schema& s) {
  // Paper 004 Algorithm 1: P = 50, n = m = P/2, prob 0.1; SPOS's search: top-k 10, 20 cycles,
  // 10 x num attempts (../shared/reference/algorithms.md §3.3).
  s.integer("population", "Genomes per cycle, P (paper 004 Algorithm 1: 50)").range(2, 100000).def(int64_t{50});
  s.integer("top_k", "Size of the elitist set the parents come from (SPOS: 10)").range(1, 100000).def(int64_t{10});
  s.integer("mutations", "Mutation children per cycle, n (Algorithm 1: P/2)").range(0, 100000).def(int64_t{25});
  s.integer("crossovers", "Crossover children per cycle, m (Algorithm 1: P/2)").range(0, 100000).def(int64_t{25});
  s.real("mutation_prob", "Probability that a mutation redraws a gene (Algorithm 1: 0.1)").range(0, 1).def(0.1);
  s.integer("cycles", "Cycles of the search (SPOS: 20; paper 004 §4.2: 10)").range(1, 100000).def(int64_t{20});
  s.integer("tries_per_child", "Draws per wanted child before an operator gives up and random genomes fill the cycle (SPOS: 10)")
      .range(1, 100000)
      .def(int64_t{10});
}

EvolutionOptions EvolutionOptions::from_params(const Params& p) {
  EvolutionOptions o;
  o.population = p.get_int("population");
  o.top_k = p.get_int("top_k");
  o.mutations = p.get_int("mutations");
  o.crossovers = p.get_int("crossovers");
  o.mutation_prob = p.get_real("mutation_prob");
  o.cycles = p.get_int("cycles");
  o.tries_per_child = p.get_int("tries_per_child");
  if (o.top_k > o.population) {
    p.fail("top_k", fmt::format("top_k ({}) must not exceed population ({})", o.top_k, o.population));
  }
  if (o.mutations + o.crossovers > o.population) {
    p.fail("mutations", fmt::format("mutations + crossovers ({} + {}) must not exceed population ({})", o.mutations,
                                    o.crossovers, o.population));
  }
  return o;
}

void EvolutionOptions::check(const std::string& key) const {
  if (population < 2 || top_k < 1 || top_k > population || mutations < 0 || crossovers < 0 ||
      mutations + crossovers > population || !(mutation_prob >= 0 && mutation_prob <= 1) || cycles < 1 ||
      tries_per_child < 1) {
    throw Error(fmt::format("{}: evolution needs population >= 2, 1 <= top_k <= population, mutations + crossovers "
                            "<= population, mutation_prob in [0, 1], cycles >= 1 (got P {}, top_k {}, n {}, m {}, "
                            "prob {}, cycles {})",
                            key, population, top_k, mutations, crossovers, mutation_prob, cycles));
  }
}

Evolution::Evolution(std::vector<Gene> genes, EvolutionOptions options, uint64_t seed, Validity valid,
                     const std::string& key, Canonical canonical)
    : genes_(std::move(genes)), opt_(options), valid_(std::move(valid)), canonical_(std::move(canonical)),
      gen_(make_generator(derive_seed(seed, "evolution"))) {
  opt_.check(key);
  if (genes_.empty()) throw Error(key + ": the search has no genes (nothing to choose)");
  for (const Gene& g : genes_) {
    if (g.choices < 1) throw Error(fmt::format("{}: gene '{}' has {} choices (needs at least 1)", key, g.name, g.choices));
    if (!(g.mutation_scale >= 0)) throw Error(fmt::format("{}: gene '{}' has a negative mutation scale", key, g.name));
  }
  // Cycle 0: random valid genomes.
  for (int64_t t = 0; static_cast<int64_t>(population_.size()) < opt_.population &&
                      t < opt_.population * opt_.tries_per_child * 10;
       ++t) {
    const Genome g = random_genome();
    if (fresh(g)) queue(g);
  }
  if (population_.empty()) {
    throw Error(key + ": no valid genome found in " + std::to_string(opt_.population * opt_.tries_per_child * 10) +
                " random draws (is every choice refused?)");
  }
}

Genome Evolution::random_genome() {
  Genome g(genes_.size());
  for (size_t i = 0; i < genes_.size(); ++i) {
    g[i] = at::randint(genes_[i].choices, {1}, gen_, torch::kInt64).item<int64_t>();
  }
  return g;
}

bool Evolution::fresh(const Genome& g) const {
  if (!valid_ || valid_(g)) return !seen_.count(genome_key(canonical_ ? canonical_(g) : g));
  return false;
}

void Evolution::queue(const Genome& g) {
  const Genome c = canonical_ ? canonical_(g) : g;
  seen_[genome_key(c)] = std::nullopt;
  population_.push_back(c);
}

std::optional<Genome> Evolution::propose() {
  if (done() || proposed_ >= population_.size()) return std::nullopt;
  return population_[proposed_++];
}

int64_t Evolution::proposable() const {
  return done() ? 0 : static_cast<int64_t>(population_.size() - proposed_);
}

void Evolution::report(const Genome& genome, double fitness) {
  const std::string key = genome_key(genome);
  auto it = seen_.find(key);
  const auto pos = std::find(population_.begin(), population_.begin() + static_cast<long>(proposed_), genome);
  if (it == seen_.end() || it->second || pos == population_.begin() + static_cast<long>(proposed_)) {
    throw Error("evolution: genome " + key + " was not proposed in this cycle or was already reported");
  }
  it->second = fitness;
  history_.push_back({genome, fitness});
  if (++reported_in_cycle_ == static_cast<int64_t>(population_.size())) next_cycle();
}

void Evolution::next_cycle() {
  // Elitist top-k: this cycle's genomes merged with the set, best first, ties by first seen.
  const size_t first = history_.size() - population_.size();
  for (size_t i = first; i < history_.size(); ++i) top_.push_back(history_[i]);
  std::stable_sort(top_.begin(), top_.end(), [](const Scored& a, const Scored& b) { return a.fitness > b.fitness; });
  if (static_cast<int64_t>(top_.size()) > opt_.top_k) top_.resize(static_cast<size_t>(opt_.top_k));
  ++cycle_;
  population_.clear();
  proposed_ = 0;
  reported_in_cycle_ = 0;
  if (done()) return;
  const int64_t k = static_cast<int64_t>(top_.size());
  auto parent = [&]() -> const Genome& { return top_[static_cast<size_t>(at::randint(k, {1}, gen_, torch::kInt64).item<int64_t>())].genome; };
  const auto u = [&]() { return at::rand({1}, gen_, torch::kFloat64).item<double>(); };
  // Algorithm 1: crossover children first, then mutation children.
  const size_t want_cross = static_cast<size_t>(opt_.crossovers);
  for (int64_t t = 0; population_.size() < want_cross && t < opt_.crossovers * opt_.tries_per_child; ++t) {
    const Genome& a = parent();
    const Genome& b = parent();
    Genome c(a.size());
    for (size_t i = 0; i < a.size(); ++i) c[i] = u() < 0.5 ? a[i] : b[i];
    if (fresh(c)) queue(c);
  }
  const size_t want_mut = population_.size() + static_cast<size_t>(opt_.mutations);
  for (int64_t t = 0; population_.size() < want_mut && t < opt_.mutations * opt_.tries_per_child; ++t) {
    Genome c = parent();
    for (size_t i = 0; i < c.size(); ++i) {
      if (u() < std::min(1.0, opt_.mutation_prob * genes_[i].mutation_scale)) {
        c[i] = at::randint(genes_[i].choices, {1}, gen_, torch::kInt64).item<int64_t>();
      }
    }
    if (fresh(c)) queue(c);
  }
  // Random genomes up to P (SPOS); the search ends early when the space is exhausted.
  for (int64_t t = 0; static_cast<int64_t>(population_.size()) < opt_.population &&
                      t < opt_.population * opt_.tries_per_child;
       ++t) {
    const Genome g = random_genome();
    if (fresh(g)) queue(g);
  }
  if (population_.empty()) cycle_ = opt_.cycles;  // nothing new left to try
}

namespace {

torch::Tensor genomes_tensor(const std::vector<Genome>& gs, size_t n_genes) {
  torch::Tensor t = torch::zeros({static_cast<int64_t>(gs.size()), static_cast<int64_t>(n_genes)}, torch::kInt64);
  for (size_t r = 0; r < gs.size(); ++r) {
    for (size_t i = 0; i < n_genes; ++i) t[static_cast<int64_t>(r)][static_cast<int64_t>(i)] = gs[r][i];
  }
  return t;
}

std::vector<Genome> tensor_genomes(const torch::Tensor& t) {
  std::vector<Genome> gs(static_cast<size_t>(t.size(0)));
  const auto acc = t.accessor<int64_t, 2>();
  for (int64_t r = 0; r < t.size(0); ++r) {
    for (int64_t i = 0; i < t.size(1); ++i) gs[static_cast<size_t>(r)].push_back(acc[r][i]);
  }
  return gs;
}

void save_scored(torch::serialize::OutputArchive& a, const std::string& key, const std::vector<Evolution::Scored>& s,
                 size_t n_genes) {
  std::vector<Genome> gs;
  std::vector<double> f;
  for (const auto& x : s) {
    gs.push_back(x.genome);
    f.push_back(x.fitness);
  }
  a.write(key + ".genomes", genomes_tensor(gs, n_genes));
  a.write(key + ".fitness", torch::tensor(f, torch::kFloat64));
}

std::vector<Evolution::Scored> load_scored(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor g, f;
  a.read(key + ".genomes", g);
  a.read(key + ".fitness", f);
  std::vector<Evolution::Scored> s;
  const auto gs = tensor_genomes(g);
  for (size_t i = 0; i < gs.size(); ++i) s.push_back({gs[i], f[static_cast<int64_t>(i)].item<double>()});
  return s;
}

}  // namespace

void Evolution::save(torch::serialize::OutputArchive& a, const std::string& prefix) const {
  save_generator(a, prefix + ".generator", gen_);
  save_int(a, prefix + ".cycle", cycle_);
  save_int(a, prefix + ".genes", static_cast<int64_t>(genes_.size()));
  a.write(prefix + ".population", genomes_tensor(population_, genes_.size()));
  save_scored(a, prefix + ".top", top_, genes_.size());
  save_scored(a, prefix + ".history", history_, genes_.size());
}

void Evolution::load(torch::serialize::InputArchive& a, const std::string& prefix) {
  if (load_int(a, prefix + ".genes") != static_cast<int64_t>(genes_.size())) {
    throw Error("evolution: the checkpoint's genomes have a different number of genes than this search");
  }
  load_generator(a, prefix + ".generator", gen_);
  cycle_ = load_int(a, prefix + ".cycle");
  torch::Tensor pop;
  a.read(prefix + ".population", pop);
  population_ = tensor_genomes(pop);
  top_ = load_scored(a, prefix + ".top");
  history_ = load_scored(a, prefix + ".history");
  // Rebuild what follows: every genome queued so far (history and this cycle), the reports of
  // this cycle. Proposed but unreported genomes are proposed again.
  seen_.clear();
  for (const auto& h : history_) seen_[genome_key(h.genome)] = h.fitness;
  reported_in_cycle_ = 0;
  size_t reported = 0;
  for (const Genome& g : population_) {
    const auto it = seen_.find(genome_key(g));
    if (it != seen_.end()) {
      ++reported_in_cycle_;
      ++reported;
    } else {
      seen_[genome_key(g)] = std::nullopt;
    }
  }
  // Reported genomes of this cycle come first in proposal order only if reports followed
  // proposals in order; move them to the front so the unreported ones are proposed next.
  std::stable_partition(population_.begin(), population_.end(),
                        [&](const Genome& g) { return seen_.at(genome_key(g)).has_value(); });
  proposed_ = reported;
}

}  // namespace cimkit::search
