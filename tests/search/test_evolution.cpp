// The evolutionary search (search/evolution.hpp, paper 004 Algorithm 1): it finds the optimum of
// a toy fitness, never proposes a genome twice or an invalid one, keeps an elitist top-k, applies
// per-gene mutation scales, resumes bit for bit; and the `evolution` strategy over bit widths.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <sstream>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "search/evolution.hpp"
#include "search/strategy.hpp"

using namespace cimkit;
using namespace cimkit::search;

namespace {

// 8 genes of 5 choices; the optimum is 3,1,4,1,0,2,4,3 (fitness 0).
const Genome kTarget = {3, 1, 4, 1, 0, 2, 4, 3};
std::vector<Gene> toy_genes() {
  std::vector<Gene> g;
  for (size_t i = 0; i < kTarget.size(); ++i) g.push_back({"g" + std::to_string(i), 5, 1.0});
  return g;
}
double toy_fitness(const Genome& g) {
  double f = 0;
  for (size_t i = 0; i < g.size(); ++i) f -= static_cast<double>((g[i] - kTarget[i]) * (g[i] - kTarget[i]));
  return f;
}
EvolutionOptions small() {
  EvolutionOptions o;
  o.population = 20;
  o.top_k = 5;
  o.mutations = 10;
  o.crossovers = 10;
  o.mutation_prob = 0.1;
  o.cycles = 15;
  return o;
}
// Runs `cycles` whole cycles (or to the end); returns every proposed genome in order.
std::vector<Genome> run(Evolution& e, int64_t cycles = 1000) {
  std::vector<Genome> out;
  const int64_t stop = e.cycle() + cycles;
  while (!e.done() && e.cycle() < stop) {
    std::vector<Genome> batch;
    while (auto g = e.propose()) batch.push_back(*g);
    for (const Genome& g : batch) e.report(g, toy_fitness(g));
    out.insert(out.end(), batch.begin(), batch.end());
  }
  return out;
}

}  // namespace

TEST(Evolution, FindsTheOptimumOfAToyFitness) {
  // 5^8 = 390,625 genomes; 15 cycles of 20 evaluate at most 300 of them.
  Evolution e(toy_genes(), small(), 7);
  const auto proposed = run(e);
  ASSERT_TRUE(e.done());
  EXPECT_LE(proposed.size(), 300u);
  EXPECT_EQ(e.top().front().genome, kTarget);
  EXPECT_EQ(e.top().front().fitness, 0.0);
  // Random search with the same budget: its best is far off on average (each gene right with
  // probability 1/5), so the operators are doing the work.
  double first_cycle_best = -1e9;
  for (size_t i = 0; i < 20; ++i) first_cycle_best = std::max(first_cycle_best, toy_fitness(proposed[i]));
  EXPECT_LT(first_cycle_best, -2.0);
}

TEST(Evolution, NeverProposesAGenomeTwiceOrAnInvalidOne) {
  // Valid: gene 0 even. A small space (3 genes of 3 choices, 18 valid) is exhausted quickly.
  std::vector<Gene> genes = {{"a", 3, 1.0}, {"b", 3, 1.0}, {"c", 3, 1.0}};
  EvolutionOptions o = small();
  o.population = 6;
  o.top_k = 3;
  o.mutations = 3;
  o.crossovers = 3;
  o.cycles = 50;
  Evolution e(genes, o, 3, [](const Genome& g) { return g[0] % 2 == 0; });
  const auto proposed = run(e);
  std::set<std::string> keys;
  for (const Genome& g : proposed) {
    EXPECT_EQ(g[0] % 2, 0) << genome_key(g);
    EXPECT_TRUE(keys.insert(genome_key(g)).second) << "twice: " << genome_key(g);
  }
  EXPECT_EQ(keys.size(), 18u);  // every valid genome once, then the search ends
  EXPECT_TRUE(e.done());
}

TEST(Evolution, TopKIsElitistAcrossCycles) {
  Evolution e(toy_genes(), small(), 11);
  double best = -1e9;
  while (!e.done()) {
    run(e, 1);
    for (const auto& h : e.history()) best = std::max(best, h.fitness);
    ASSERT_LE(e.top().size(), 5u);
    EXPECT_EQ(e.top().front().fitness, best);  // the best ever seen is never dropped
    for (size_t i = 1; i < e.top().size(); ++i) EXPECT_GE(e.top()[i - 1].fitness, e.top()[i].fitness);
  }
}

TEST(Evolution, MutationScalesPerGene) {
  // One parent in the top-k (top_k 1), mutation only: gene 0 (scale 0) never changes from the
  // parent's value, gene 1 (scale 10: probability 1) is redrawn every time.
  std::vector<Gene> genes = {{"frozen", 4, 0.0}, {"hot", 1000, 10.0}, {"x", 1000, 1.0}};
  EvolutionOptions o;
  o.population = 40;
  o.top_k = 1;
  o.mutations = 40;
  o.crossovers = 0;
  o.mutation_prob = 0.1;
  o.cycles = 2;
  Evolution e(genes, o, 5);
  std::vector<Genome> first;
  while (auto g = e.propose()) first.push_back(*g);
  for (const Genome& g : first) e.report(g, static_cast<double>(g[2]));  // the parent: largest x
  const Genome parent = e.top().front().genome;
  int64_t same_x = 0, n = 0;
  while (auto g = e.propose()) {
    ++n;
    EXPECT_EQ((*g)[0], parent[0]);
    same_x += (*g)[2] == parent[2];
  }
  EXPECT_EQ(n, 40);
  EXPECT_GT(same_x, 40 * 0.75);  // x kept with probability ~0.9 (0.1 redraw)
}

TEST(Evolution, ResumesBitForBit) {
  Evolution a(toy_genes(), small(), 21);
  run(a, 4);
  torch::serialize::OutputArchive out;
  a.save(out, "evo");
  std::ostringstream os;
  out.save_to(os);
  const auto rest_a = run(a);

  Evolution b(toy_genes(), small(), 999);  // a different seed: the checkpoint decides
  torch::serialize::InputArchive in;
  std::istringstream is(os.str());
  in.load_from(is);
  b.load(in, "evo");
  EXPECT_EQ(b.cycle(), 4);
  const auto rest_b = run(b);
  EXPECT_EQ(rest_a, rest_b);
  EXPECT_EQ(a.top().front().genome, b.top().front().genome);
  EXPECT_EQ(a.history().size(), b.history().size());
}

TEST(Evolution, BadSettingsAreRefused) {
  EvolutionOptions o = small();
  o.top_k = 30;
  EXPECT_THROW(Evolution(toy_genes(), o, 1), Error);
  EXPECT_THROW(Evolution({}, small(), 1), Error);
  EXPECT_THROW(Evolution({{"empty", 0, 1.0}}, small(), 1), Error);
  EXPECT_THROW(Evolution(toy_genes(), small(), 1, [](const Genome&) { return false; }), Error);
  Evolution e(toy_genes(), small(), 1);
  EXPECT_THROW(e.report(Genome(8, 9), 0.0), Error);  // never proposed
  try {
    make_strategy(load_yaml_string("{impl: evolution, population: 10, mutations: 8, crossovers: 8}", "s.yaml"),
                  "search.strategy");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("mutations"), std::string::npos) << e.what();
  }
}

TEST(Evolution, StrategyOverBitWidths) {
  SearchSpace s;
  s.layers = {{"conv1", LayerKind::Conv, 1, 6, 5, 1, 784, 150, {2, 8}, {2, 8}, true, 8},
              {"fc1", LayerKind::Linear, 256, 120, 1, 1, 1, 30720, {6, 8}, {2, 8}, false, 8}};
  auto st = make_strategy(load_yaml_string("{impl: evolution, population: 8, top_k: 3, mutations: 4, crossovers: 4, cycles: 12}",
                                           "s.yaml"),
                          "search.strategy")
                .object;
  st->start(s, 3);
  EXPECT_EQ(st->proposable(), 8);
  // Reward: conv1 weight bits close to 5, activations to 6, fc1 to 7.
  auto reward = [](const Candidate& c) {
    return -std::abs(c.weight_bits[0] - 5) - std::abs(c.act_bits[0] - 6) - std::abs(c.weight_bits[1] - 7);
  };
  std::set<std::string> keys;
  for (int round = 0; round < 12; ++round) {
    std::vector<Candidate> batch;
    while (st->proposable() > 0) batch.push_back(st->propose());
    for (const Candidate& c : batch) {
      EXPECT_TRUE(keys.insert(c.key()).second) << c.key();
      EXPECT_GE(c.weight_bits[1], 6);
      EXPECT_EQ(c.act_bits[1], 8);  // not searched: its fixed bits
      EXPECT_EQ(candidate_from_actions(s, c.actions, c.id).key(), c.key());
      st->report(c, reward(c));
    }
  }
  EXPECT_EQ(st->proposable(), 0);
  const Candidate best = st->best_guess();
  EXPECT_EQ(reward(best), 0) << best.key();
}
