// Cost-model throughput: a full evaluation (mapping + pricing + schedule) of ResNet-18 (MNSIM's
// CIFAR-10 layer list, 21 weight layers), since searches call it thousands of times. Target:
// <= 1 ms per evaluation (issue 4). Network loading is outside the timed loop, as in a search.
#include <benchmark/benchmark.h>

#include "core/config_tree.hpp"
#include "core/rng.hpp"
#include "cost/cost_model.hpp"
#include "mapping/network.hpp"

namespace {

using namespace cimkit;

const mapping::NetworkShape& resnet18() {
  static const mapping::NetworkShape net = mapping::load_layer_list(std::string(CIMKIT_NETWORKS_DIR) + "/mnsim/resnet18.yaml");
  return net;
}

cost::CostModel model(const std::string& arch, const std::string& duplication) {
  ConfigNode a = ConfigNode::map({"bench", 0});
  a.set("preset", ConfigNode::scalar(arch, {"bench", 0}));
  cost::CostOptions o;
  o.duplication = duplication;
  return cost::CostModel::from_config(&a, nullptr, o);
}

void run(benchmark::State& state, const std::string& arch, const std::string& duplication) {
  const cost::CostModel cm = model(arch, duplication);
  const auto& net = resnet18();
  // The reports are summed (not passed to DoNotOptimize: Debian's benchmark 1.7's "+m,r" asm
  // constraint mangled a double here under GCC 12); evaluate allocates, so it is never elided.
  double energy_sum = 0;
  for (auto _ : state) energy_sum += cm.evaluate(net).totals.energy_j;
  const double energy = energy_sum / static_cast<double>(state.iterations());
  state.counters["layers"] = static_cast<double>(net.layers.size());
  state.counters["energy_uJ"] = benchmark::Counter(energy * 1e6);
  state.counters["evals_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_CostResNet18_ThermalQuant(benchmark::State& s) { run(s, "thermal_quant", "none"); }
void BM_CostResNet18_Isaac(benchmark::State& s) { run(s, "isaac", "none"); }
void BM_CostResNet18_IsaacBalanced(benchmark::State& s) { run(s, "isaac", "balance"); }
void BM_CostResNet18_Mnsim(benchmark::State& s) { run(s, "mnsim", "none"); }

BENCHMARK(BM_CostResNet18_ThermalQuant)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CostResNet18_Isaac)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CostResNet18_IsaacBalanced)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CostResNet18_Mnsim)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
