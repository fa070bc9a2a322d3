// The CrossNAS stages' speed (issue 16 §6), as ratios taken in one run.
//
// BM_SupernetTraining: single-path training steps of the supernet of configs/search/crossnas.yaml
//   (depth up to 4 of VGG / MVGG / RES blocks with 16 / 32 / 64 channels, 1x28x28 inputs, batch
//   128): forward, backward and SliceSgd's update of the used slices, a fresh uniform architecture
//   per step (what the supernet stage does); the same steps always through the largest
//   architecture (RES64 x 4, the most work a step can be); and that largest network built on its
//   own (nas::Subnet, float mode) trained by torch's SGD. Interleaved; images/s (medians) and the
//   ratios of the supernet's steps to the standalone network's.
// BM_SubnetEvaluations: architecture-search candidates scored as the arch_search stage scores
//   them (BN recalibration on 5 training batches of 128, accuracy on 1,000 validation images with
//   inherited weights, the subnet traced and priced by the cost model on the crossnas
//   architecture): evaluations per minute for random architectures.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/config_tree.hpp"
#include "core/rng.hpp"
#include "nas/arch_eval.hpp"
#include "nas/spos.hpp"
#include "nas/subnet.hpp"
#include "timing.hpp"

using namespace cimkit;
using namespace cimkit::nas;

namespace {

ArchSpace space() {
  ArchSpace s;
  s.max_depth = 4;
  s.channels = {16, 32, 64};
  s.in_channels = 1;
  s.image_size = 28;
  s.n_classes = 10;
  return s;
}

void BM_SupernetTraining(benchmark::State& state) {
  set_threads(0);
  torch::manual_seed(1);
  const ArchSpace sp = space();
  Supernet net(sp, 1);
  net->train();
  SliceSgd sgd(net, SliceSgdOptions{0.05, 0.9, 4e-5});
  const Arch largest = sp.parse("RES64-RES64-RES64-RES64", "bench");
  nn::ZooOptions zo;
  zo.first_last_bits = 0;
  auto fixed = std::make_shared<Subnet>(sp, largest, zo);
  fixed->train();
  torch::optim::SGD opt(fixed->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(4e-5));
  const int64_t batch = 128, steps = 6;
  auto x = torch::randn({batch, 1, 28, 28});
  auto y = torch::randint(0, 10, {batch}, torch::kInt64);
  at::Generator gen = make_generator(5);
  std::vector<double> random_rate, largest_rate, fixed_rate;
  for (auto _ : state) {
    double t0 = bench::now_s();
    for (int64_t i = 0; i < steps; ++i) {
      const Arch a = sample_arch(sp, gen);
      torch::nn::functional::cross_entropy(net->forward(x, a), y).backward();
      sgd.step(a);
    }
    random_rate.push_back(double(batch * steps) / (bench::now_s() - t0));
    t0 = bench::now_s();
    for (int64_t i = 0; i < steps; ++i) {
      torch::nn::functional::cross_entropy(net->forward(x, largest), y).backward();
      sgd.step(largest);
    }
    largest_rate.push_back(double(batch * steps) / (bench::now_s() - t0));
    t0 = bench::now_s();
    for (int64_t i = 0; i < steps; ++i) {
      opt.zero_grad();
      torch::nn::functional::cross_entropy(fixed->forward(x), y).backward();
      opt.step();
    }
    const double s = bench::now_s() - t0;
    fixed_rate.push_back(double(batch * steps) / s);
    state.SetIterationTime(s);
  }
  const double r = bench::median(random_rate), l = bench::median(largest_rate), f = bench::median(fixed_rate);
  state.counters["supernet_img_s"] = r;
  state.counters["supernet_largest_img_s"] = l;
  state.counters["fixed_largest_img_s"] = f;
  state.counters["largest_over_fixed"] = l / f;
  state.counters["random_over_fixed"] = r / f;
}

void BM_SubnetEvaluations(benchmark::State& state) {
  set_threads(0);
  torch::manual_seed(2);
  const ArchSpace sp = space();
  Supernet net(sp, 2);
  std::vector<torch::Tensor> recal;
  for (int i = 0; i < 5; ++i) recal.push_back(torch::randn({128, 1, 28, 28}));
  const torch::Tensor vx = torch::randn({1000, 1, 28, 28}), vy = torch::randint(0, 10, {1000}, torch::kInt64);
  const ConfigNode arch = load_yaml_string("{preset: crossnas}", "<bench>");
  nn::ZooOptions zo;
  zo.first_last_bits = 0;
  ArchEvaluator ev(net, cost::CostModel::from_config(&arch, nullptr, {}), zo, recal, vx, vy);
  EdpNormalisation norm;
  norm.reference_edp_js = 1e-8;
  at::Generator gen = make_generator(7);
  std::vector<double> per_min;
  for (auto _ : state) {
    const int n = 5;
    const double t0 = bench::now_s();
    for (int i = 0; i < n; ++i) ev.evaluate(sample_arch(sp, gen), 0.9, norm);
    const double s = bench::now_s() - t0;
    per_min.push_back(60.0 * n / s);
    state.SetIterationTime(s);
  }
  state.counters["evaluations_per_min"] = bench::median(per_min);
}

}  // namespace

BENCHMARK(BM_SupernetTraining)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);
BENCHMARK(BM_SubnetEvaluations)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);

BENCHMARK_MAIN();
