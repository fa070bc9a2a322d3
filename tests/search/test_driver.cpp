// The search driver: budget, log, atomic checkpoints, and a resumed run equal to an uninterrupted
// one (after a stop between episodes or in the middle of one); bad runs are clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "search/driver.hpp"
#include "search/plateau.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
using namespace cimkit::search;
namespace fs = std::filesystem;

namespace {

SearchSpace space() {
  SearchSpace s;
  s.layers = {{"conv1", LayerKind::Conv, 1, 6, 5, 1, 784, 150, {2, 8}, {2, 8}, true, 8},
              {"fc1", LayerKind::Linear, 256, 10, 1, 1, 1, 2560, {2, 8}, {2, 8}, false, 8}};
  return s;
}

std::shared_ptr<Strategy> ddpg() {
  return make_strategy(load_yaml_string("{impl: ddpg, warmup_episodes: 3, batch_size: 8, hidden1: 16, hidden2: 8}", "s.yaml"),
                       "search.strategy")
      .object;
}

Evaluation synthetic(const Candidate& c) {
  Evaluation e;
  e.reward = -0.1 * (std::abs(c.weight_bits[0] - 4) + std::abs(c.weight_bits[1] - 6) + std::abs(c.act_bits[0] - 5));
  e.record["accuracy_pct"] = 80.0 + e.reward;
  e.record["note"] = "a, \"quoted\" note";
  return e;
}

// The synthetic evaluation of a round, noting its size.
EvaluateBatch in_rounds(std::vector<size_t>& rounds) {
  return [&rounds](const std::vector<Candidate>& round) {
    rounds.push_back(round.size());
    std::vector<Evaluation> out;
    for (const auto& c : round) out.push_back(synthetic(c));
    return out;
  };
}

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

DriverOptions options(const fs::path& out, int64_t episodes, bool resume = false) {
  DriverOptions o;
  o.out = out.string();
  o.budget.episodes = episodes;
  o.seed = 7;
  o.resume = resume;
  o.fingerprint = "ddpg toy";
  return o;
}

}  // namespace

TEST(SearchDriver, ResumedRunEqualsTheUninterruptedOne) {
  const fs::path dir = cimkit::testing::fresh_dir("search", "driver_resume");
  const fs::path whole = dir / "whole", parts = dir / "parts";
  const SearchLog full = Driver(ddpg(), space(), options(whole, 14)).run(synthetic);
  ASSERT_EQ(full.records.size(), 14u);
  EXPECT_EQ(full.stopped_by, "episodes");
  // Stopped after 5 episodes, then killed in the middle of the 9th (the evaluation throws).
  Driver(ddpg(), space(), options(parts, 5)).run(synthetic);
  int calls = 0;
  auto dies = [&](const Candidate& c) {
    if (++calls == 4) throw std::runtime_error("killed");
    return synthetic(c);
  };
  EXPECT_THROW(Driver(ddpg(), space(), options(parts, 14, true)).run(dies), std::runtime_error);
  const SearchLog resumed = Driver(ddpg(), space(), options(parts, 14, true)).run(synthetic);
  ASSERT_EQ(resumed.records.size(), 14u);
  for (size_t i = 0; i < 14; ++i) EXPECT_EQ(resumed.records[i].dump(), full.records[i].dump()) << "episode " << i;
  EXPECT_EQ(read(parts / "candidates.csv"), read(whole / "candidates.csv"));
  EXPECT_EQ(resumed.best, full.best);
  // The CSV quotes what needs quoting.
  EXPECT_NE(read(whole / "candidates.csv").find("\"a, \"\"quoted\"\" note\""), std::string::npos);
}

TEST(SearchDriver, BudgetsAndBadRunsAreClearErrors) {
  const fs::path dir = cimkit::testing::fresh_dir("search", "driver_errors");
  try {
    Driver(ddpg(), space(), options(dir / "a", 0));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("search.budget.episodes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Driver(ddpg(), SearchSpace{}, options(dir / "a", 3)), Error);  // no layers
  // --resume without a checkpoint; a new run over an old one.
  EXPECT_THROW(Driver(ddpg(), space(), options(dir / "b", 3, true)).run(synthetic), Error);
  Driver(ddpg(), space(), options(dir / "b", 3)).run(synthetic);
  EXPECT_THROW(Driver(ddpg(), space(), options(dir / "b", 3)).run(synthetic), Error);
  // Another search's checkpoint: named, with both settings.
  DriverOptions other = options(dir / "b", 5, true);
  other.fingerprint = "random toy";
  try {
    Driver(ddpg(), space(), other).run(synthetic);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("checkpoint.pt"), std::string::npos) << m;
    EXPECT_NE(m.find("random toy"), std::string::npos) << m;
  }
  // A damaged checkpoint: a DataError naming the file, not a crash.
  {
    std::fstream f(dir / "b" / "checkpoint.pt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.write("garbage!", 8);
  }
  try {
    Driver(ddpg(), space(), options(dir / "b", 5, true)).run(synthetic);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint.pt"), std::string::npos) << e.what();
  }
  // A wall-time budget stops between episodes.
  DriverOptions timed = options(dir / "c", 1000);
  timed.budget.wall_seconds = 1e-9;
  const SearchLog log = Driver(ddpg(), space(), timed).run(synthetic);
  EXPECT_EQ(log.stopped_by, "wall time");
  EXPECT_LT(log.records.size(), 2u);
}

// Rounds of several candidates (the distributed evaluation's width) give the one-at-a-time log:
// DDPG's warm-up goes out in one round, its learning episodes one by one; random always in full
// rounds.
TEST(SearchDriver, ParallelRoundsEqualTheOneAtATimeRun) {
  for (const std::string impl : {"ddpg", "random"}) {
    auto make = [&] {
      return impl == "ddpg" ? ddpg() : make_strategy(load_yaml_string("{impl: random}", "s.yaml"), "search.strategy").object;
    };
    const fs::path dir = cimkit::testing::fresh_dir("test_search", "driver_parallel_" + impl);
    SearchLog one = Driver(make(), space(), options(dir / "one", 9)).run(synthetic);
    DriverOptions o = options(dir / "four", 9);
    o.parallel = 4;
    std::vector<size_t> rounds;
    SearchLog four = Driver(make(), space(), o).run(in_rounds(rounds));
    ASSERT_EQ(one.records.size(), four.records.size()) << impl;
    for (size_t i = 0; i < one.records.size(); ++i) EXPECT_EQ(one.records[i], four.records[i]) << impl << " episode " << i;
    const std::vector<size_t> expected =
        impl == "ddpg" ? std::vector<size_t>{3, 1, 1, 1, 1, 1, 1} : std::vector<size_t>{4, 4, 1};
    EXPECT_EQ(rounds, expected) << impl;
  }
}

// The evolution strategy through the driver: a cycle spreads over the processes (rounds of up
// to 4 within a cycle of 6), the records equal the one-at-a-time run, and the search ends when
// its cycles are spent, before the episode budget.
TEST(SearchDriver, EvolutionRunsByCyclesAndEndsWhenItsCyclesAreSpent) {
  auto make = [] {
    return make_strategy(load_yaml_string("{impl: evolution, population: 6, top_k: 2, mutations: 3, crossovers: 3, cycles: 3}",
                                          "s.yaml"),
                         "search.strategy")
        .object;
  };
  const fs::path dir = cimkit::testing::fresh_dir("test_search", "driver_evolution");
  SearchLog one = Driver(make(), space(), options(dir / "one", 100)).run(synthetic);
  EXPECT_EQ(one.records.size(), 18u);
  EXPECT_EQ(one.stopped_by, "strategy finished");
  DriverOptions o = options(dir / "four", 100);
  o.parallel = 4;
  std::vector<size_t> rounds;
  SearchLog four = Driver(make(), space(), o).run(in_rounds(rounds));
  ASSERT_EQ(one.records.size(), four.records.size());
  for (size_t i = 0; i < one.records.size(); ++i) EXPECT_EQ(one.records[i], four.records[i]) << "episode " << i;
  EXPECT_EQ(rounds, (std::vector<size_t>{4, 2, 4, 2, 4, 2}));
}

// The plateau of a reward curve: a ramp that levels off at episode 50 (window 10, tolerance
// 10 %: the moving average enters the band within the window before it).
TEST(SearchPlateau, FindsWhereTheMovingAverageSettles) {
  std::vector<double> r;
  for (int k = 0; k < 120; ++k) r.push_back(k < 50 ? k / 50.0 : 1.0);
  const Plateau p = find_plateau(r, 10, 0.1);
  EXPECT_NEAR(p.final_average, 1.0, 1e-12);
  // The moving average at k (k <= 59) is (mean of k-9..k clipped at 50)/50; within 0.1 of 1 from
  // k = 50 on (average of 41..50 -> 0.918 + ... ), never before 45.
  EXPECT_GE(p.episode, 45);
  EXPECT_LE(p.episode, 55);
  for (int64_t k = p.episode; k < 120; ++k) EXPECT_LE(std::abs(p.moving[k] - 1.0), 0.1 * (1.0 - p.moving[9]) + 1e-12);
  EXPECT_EQ(find_plateau(std::vector<double>(5, 1.0), 10).episode, -1);  // shorter than the window
  const Plateau flat = find_plateau(std::vector<double>(30, 2.0), 10);
  EXPECT_EQ(flat.episode, 9);  // settled from the first full window
}
