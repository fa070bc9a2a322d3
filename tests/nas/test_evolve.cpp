// The evolutionary search run with checkpoints (nas/evolve.hpp): a run stopped between rounds and
// resumed logs what the uninterrupted run logs, a checkpoint of other settings is refused, and
// genomes meaning the same architecture are evaluated once (the canonical genome).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "nas/evolve.hpp"
#include "nas/toy_space.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
using namespace cimkit::nas;
namespace fs = std::filesystem;

namespace {

search::EvolutionOptions small() {
  search::EvolutionOptions o;
  o.population = 8;
  o.top_k = 3;
  o.mutations = 3;
  o.crossovers = 3;
  o.cycles = 4;
  return o;
}

std::vector<search::Gene> genes() { return {{"a", 5, 1.0}, {"b", 5, 1.0}, {"c", 5, 1.0}}; }

GenomeScore score(const search::Genome& g) {
  GenomeScore s;
  s.fitness = -std::abs(g[0] - 4.0) - std::abs(g[1] - 1.0) - std::abs(g[2] - 2.0);  // optimum (4, 1, 2)
  s.record = {{"sum", g[0] + g[1] + g[2]}};
  return s;
}

ScoreRound each(const std::function<void()>& before = {}) {
  return [before](const std::vector<search::Genome>& round) {
    if (before) before();
    std::vector<GenomeScore> out;
    for (const auto& g : round) out.push_back(score(g));
    return out;
  };
}

}  // namespace

TEST(Evolve, AResumedRunLogsWhatTheUninterruptedOneLogs) {
  const fs::path dir = cimkit::testing::fresh_dir("test_nas", "evolve");
  EvolveOptions o;
  o.checkpoint = (dir / "whole.pt").string();
  o.fingerprint = "settings: 1";
  search::Evolution whole(genes(), small(), 5);
  const EvolveLog all = evolve(whole, each(), o);
  ASSERT_EQ(all.records.size(), 32u);
  EXPECT_GE(whole.top().front().fitness, -1.0);  // near the optimum after 4 cycles of 8

  o.checkpoint = (dir / "part.pt").string();
  int rounds = 0;
  search::Evolution first(genes(), small(), 5);
  EXPECT_THROW(evolve(first, each([&] {
                        if (++rounds == 3) throw std::runtime_error("killed in round 3");
                      }),
                      o),
               std::runtime_error);
  search::Evolution resumed(genes(), small(), 77);  // another seed: the checkpoint decides
  o.resume = true;
  const EvolveLog rest = evolve(resumed, each(), o);
  EXPECT_EQ(rest.resumed_records, 16);
  ASSERT_EQ(rest.records.size(), all.records.size());
  for (size_t i = 0; i < all.records.size(); ++i) EXPECT_EQ(rest.records[i].dump(), all.records[i].dump());

  o.fingerprint = "settings: 2";
  search::Evolution other(genes(), small(), 5);
  try {
    evolve(other, each(), o);
    FAIL() << "another search's checkpoint was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("settings: 1 -> 2"), std::string::npos) << e.what();
  }
}

TEST(Evolve, ArchitecturesAreEvaluatedOnceWhateverTheirUnusedGenes) {
  const ArchSpace space = cimkit::nas::testing::toy_space(3, {4, 8}, 8);
  search::EvolutionOptions o = small();
  o.population = 10;
  o.cycles = 6;
  search::Evolution evo(space.genes(), o, 2, [&](const search::Genome& g) { return space.valid(space.decode(g)); },
                        "nas.arch_search", [&](const search::Genome& g) { return space.encode(space.decode(g)); });
  std::set<std::string> archs;
  int64_t n = 0;
  evolve(evo, [&](const std::vector<search::Genome>& round) {
    std::vector<GenomeScore> out;
    for (const auto& g : round) {
      const Arch a = space.decode(g);
      EXPECT_TRUE(archs.insert(a.key()).second) << a.key() << " evaluated twice";
      EXPECT_EQ(g, space.encode(a));
      ++n;
      GenomeScore s;
      s.fitness = static_cast<double>(a.blocks.size());
      out.push_back(s);
    }
    return out;
  }, EvolveOptions{});
  EXPECT_GT(n, 20);
}
