// Issue 16 §5 on the loopback address: two ranks (threads of this test, each with its own c10d
// process group) train the supernet data-parallel and end with the same weights as one process
// with the whole batch, up to float rounding; they score a search's rounds between them and log
// what one process logs, each rank scoring only its share.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <future>

#include "dist/process_group.hpp"
#include "nas/spos_trainer.hpp"
#include "nas/spread.hpp"
#include "nas/toy_space.hpp"
#include "support/free_port.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
using namespace cimkit::nas;
namespace fs = std::filesystem;

namespace {

ArchSpace space() { return cimkit::nas::testing::toy_space(2, {4, 8}, 8); }

dist::GroupOptions rank_options(int rank, int port) {
  dist::GroupOptions o;
  o.world_size = 2;
  o.rank = rank;
  o.master_addr = "127.0.0.1";
  o.master_port = port;
  o.timeout_s = 120;
  return o;
}

// Runs f(rank, group) on two ranks at once; the results in rank order.
template <class F>
auto on_two_ranks(F f) {
  const int port = cimkit::testing::free_port();
  auto one = std::async(std::launch::async, [&] {
    dist::ProcessGroup g(rank_options(1, port));
    return f(1, g);
  });
  dist::ProcessGroup g0(rank_options(0, port));
  auto r0 = f(0, g0);
  return std::make_pair(r0, one.get());
}

SposTrainOptions options() {
  SposTrainOptions o;
  o.epochs = 2;
  o.sgd = {0.05, 0.9, 1e-4};
  o.seed = 21;
  o.label_smoothing = 0.1;
  return o;
}

}  // namespace

TEST(DataParallel, TwoRanksTrainTheSupernetAsOneProcessWithTheWholeBatch) {
  if (!dist::available()) GTEST_SKIP() << "built without c10d's Gloo";
  torch::set_num_threads(1);
  const data::Dataset d = cimkit::nas::testing::toy_data(96);
  Supernet whole(space(), 3);
  {
    data::DataLoader loader(d, 16, true, 5);
    train_supernet(whole, loader, options());
  }
  auto [w0, w1] = on_two_ranks([&](int, dist::ProcessGroup& g) {
    Supernet net(space(), 3);
    data::DataLoader loader(d, 16, true, 5);
    SposTrainOptions o = options();
    o.group = &g;
    train_supernet(net, loader, o);
    return net;
  });
  double worst = 0;
  for (const auto& p : whole->named_parameters()) {
    const torch::Tensor a = w0->named_parameters()[p.key()], b = w1->named_parameters()[p.key()];
    EXPECT_TRUE(torch::equal(a, b)) << p.key() << ": the ranks' copies drifted apart";
    worst = std::max(worst, (a - p.value()).abs().max().item<double>());
  }
  for (const auto& b : whole->named_buffers()) {  // synchronised BatchNorm: the same running statistics
    worst = std::max(worst, (w0->named_buffers()[b.key()] - b.value()).abs().max().item<double>());
  }
  // 12 SGD steps with momentum: the sums' order differs (all-reduce, BN by sums), nothing else.
  EXPECT_LT(worst, 1e-6) << "largest weight difference against one process";
  RecordProperty("largest_difference", std::to_string(worst));
  std::printf("largest difference against one process: %.3g\n", worst);
}

TEST(DataParallel, RanksScoreTheirShareAndLogWhatOneProcessLogs) {
  if (!dist::available()) GTEST_SKIP() << "built without c10d's Gloo";
  const fs::path dir = cimkit::testing::fresh_dir("test_nas", "spread");
  std::vector<search::Gene> genes{{"a", 4, 1.0}, {"b", 3, 1.0}, {"c", 5, 1.0}};
  search::EvolutionOptions eo;
  eo.population = 8;
  eo.top_k = 3;
  eo.mutations = 3;
  eo.crossovers = 3;
  eo.cycles = 3;
  // A known optimum: a = 3, b = 0, c = 4.
  auto fitness = [](const search::Genome& g) { return -std::abs(g[0] - 3.0) - std::abs(g[1] - 0.0) - std::abs(g[2] - 4.0); };
  auto run = [&](dist::ProcessGroup* g, std::atomic<int>* calls) {
    search::Evolution evo(genes, eo, 9);
    const ScoreOne one = [&](const search::Genome& x) {
      if (calls) ++*calls;
      GenomeScore s;
      s.fitness = fitness(x);
      s.record = {{"double", 2 * s.fitness}};
      return s;
    };
    EvolveOptions o;
    o.checkpoint = (dir / fmt::format("rank{}.pt", g ? g->rank() : 9)).string();
    o.write = true;
    return evolve(evo, spread_scores(g, one), o).records;
  };
  const auto alone = run(nullptr, nullptr);
  std::atomic<int> calls0{0}, calls1{0};
  auto [r0, r1] = on_two_ranks([&](int rank, dist::ProcessGroup& g) { return run(&g, rank == 0 ? &calls0 : &calls1); });
  ASSERT_EQ(r0.size(), alone.size());
  for (size_t i = 0; i < alone.size(); ++i) {
    EXPECT_EQ(r0[i].dump(), alone[i].dump());
    EXPECT_EQ(r1[i].dump(), alone[i].dump());
  }
  EXPECT_EQ(calls0 + calls1, static_cast<int>(alone.size()));
  EXPECT_GT(calls1, 0);
  EXPECT_LE(std::abs(calls0 - calls1), 3);  // i mod 2 per round: at most one apart in each of the 3 rounds
}
