// Paper 003's mechanisms, training throughput as ratios to plain QAT taken in one run (these
// machines are noisy). lenet5 on 1x28x28 inputs, batch 128, 4-bit weights and activations, the
// first and last layers digital at 8 bits, on the RAOQ chip of configs/raoq/lenet5.yaml (128-row
// tiles, 6-bit signed ADC with k = 4). One training step (forward, backward, Adam update) of:
//   qat        quantised mode (LSQ+), no ADC
//   kurtosis   the same with W-reshape's term
//   adc        analog mode with the ADC in the loop (eq. 2-3 per row tile) and A-shift: vanilla
//   bitaug     adc plus BitAug's second forward and backward (λ_b = 1)
//   lora       adc with ADC-LoRA (rank 4) on the layers on the arrays, weights frozen
// The arms are interleaved within each iteration; counters give images/s (medians) and each arm's
// ratio to qat (and bitaug's to adc: the price of the second pass).
#include <benchmark/benchmark.h>

#include <vector>

#include "core/config_tree.hpp"
#include "core/rng.hpp"
#include "nn/zoo.hpp"
#include "timing.hpp"
#include "train/adc_lora.hpp"
#include "train/bitaug.hpp"
#include "train/kurtosis.hpp"

using namespace cimkit;

namespace {

std::shared_ptr<nn::Network> raoq_lenet5() {
  torch::manual_seed(1);
  nn::ZooOptions zo;
  zo.name = "lenet5";
  zo.precision = {4, 4, 6};
  zo.first_last_bits = 8;
  zo.first_last_digital = true;
  zo.quant = nn::QuantMode::lsqplus;
  auto net = nn::make_model(zo);
  const auto chip = Chip::from_config(
      load_yaml_string("{preset: raoq, crossbar: {rows: 128, cols: 128, a_shift: true}, adc: {bits: 6}}", "<bench>"),
      "chip");
  auto ctx = std::make_shared<nn::AnalogContext>(chip, 1);
  ctx->training.adc_model = nn::SurrogateAdc::Tile;
  net->set_context(ctx);
  net->train();
  return net;
}

void BM_RaoqTrainThroughput(benchmark::State& state) {
  set_threads(0);
  auto net = raoq_lenet5(), lora_net = raoq_lenet5();
  const int64_t batch = 128, steps = 4;
  auto x = torch::randn({batch, 1, 28, 28});
  auto y = torch::randint(0, 10, {batch}, torch::kInt64);
  for (auto& n : {net, lora_net}) {  // initialise the learned steps
    n->set_mode(nn::LayerMode::Quantised);
    n->forward(x);
  }
  train::enable_adc_lora(*lora_net, train::LoraOptions{});
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  torch::optim::Adam lora_opt(lora_net->parameters(), torch::optim::AdamOptions(1e-3));
  train::WReshape shape(*net, {2e-3, 1.0, 0.5});
  train::BitAugOptions bo;
  bo.epochs = 1000000;  // λ_b stays at about 1
  const auto bitaug = train::bitaug_pass(net, bo);
  enum Arm { Qat, Kurtosis, Adc, BitAug, Lora, N };
  std::vector<double> rate[N];
  auto run = [&](Arm arm) {
    auto& n = arm == Lora ? lora_net : net;
    auto& o = arm == Lora ? lora_opt : opt;
    n->set_mode(arm == Qat || arm == Kurtosis ? nn::LayerMode::Quantised : nn::LayerMode::Analog);
    const double t0 = bench::now_s();
    for (int64_t i = 0; i < steps; ++i) {
      o.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(n->forward(x), y);
      if (arm == Kurtosis) loss = loss + 2e-3 * shape.loss();
      loss.backward();
      if (arm == BitAug) bitaug(x, y, train::BatchInfo{0, i, 1000, i, 1e-3, 0.0});
      o.step();
    }
    return static_cast<double>(steps * batch) / (bench::now_s() - t0);
  };
  for (int a = 0; a < N; ++a) run(static_cast<Arm>(a));  // warm-up
  for (auto _ : state) {
    const double t0 = bench::now_s();
    for (int a = 0; a < N; ++a) rate[a].push_back(run(static_cast<Arm>(a)));
    state.SetIterationTime(bench::now_s() - t0);
  }
  const char* names[N] = {"qat", "kurtosis", "adc", "bitaug", "lora"};
  const double q = bench::median(rate[Qat]);
  for (int a = 0; a < N; ++a) {
    state.counters[std::string(names[a]) + "_img_s"] = bench::median(rate[a]);
    if (a != Qat) state.counters[std::string(names[a]) + "_vs_qat"] = bench::median(rate[a]) / q;
  }
  state.counters["bitaug_vs_adc"] = bench::median(rate[BitAug]) / bench::median(rate[Adc]);
}

}  // namespace

BENCHMARK(BM_RaoqTrainThroughput)->UseManualTime()->Iterations(5)->Unit(benchmark::kSecond);
BENCHMARK_MAIN();
