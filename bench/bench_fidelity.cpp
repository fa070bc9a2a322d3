// The fidelity ladder's speed and memory on whole networks, as ratios taken in one run.
//
// BM_FidelityLenet5 (1x28x28, batch 64) and BM_FidelityVgg8 (3x32x32, batch 4): the network on
// the default chip (configs/presets/chip/default.yaml: 128x128 arrays of 1-bit realistic ReRAM
// cells, 1-bit DACs, 8-bit ADC, reference columns; 8-bit weights and inputs), read at every rung
// of the fidelity ladder and digitally (quantised mode), interleaved within each iteration:
//   <rung>_img_s        images/s of reads of programmed cells (the tile rung's ADC model already
//                       fitted on them: an untimed read first)
//   <rung>_cand_s       seconds of one new candidate at that rung: the cells programmed afresh
//                       (a new context generation) and the first read of the batch (for the tile
//                       rung, its ADC-model fit included): what a search pays per device instance
//   <rung>_vs_digital   read throughput as a fraction of digital
//   <rung>_vs_bit_exact read throughput as a multiple of bit_exact's
//   <rung>_peak_mib     the process's peak resident memory during that rung's reads (VmHWM,
//                       reset through /proc/self/clear_refs before each), in MiB
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "nn/zoo.hpp"
#include "timing.hpp"

using namespace cimkit;

namespace {

// Peak resident set size since the last reset, in MiB (0 where /proc is not available).
double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      f >> kb;
      return kb / 1024.0;
    }
    std::getline(f, key);
  }
  return 0.0;
}
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

void fidelity_ladder(benchmark::State& state, const std::string& name, int64_t channels, int64_t size,
                     int64_t batch) {
  set_threads(0);
  torch::manual_seed(3);
  nn::ZooOptions zo;
  zo.name = name;
  zo.in_channels = channels;
  zo.image_size = size;
  auto net = nn::make_model(zo);
  auto ctx = std::make_shared<nn::AnalogContext>(Chip::default_chip(), 1);
  net->set_context(ctx);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({batch, channels, size, size});
  net->set_mode(nn::LayerMode::Quantised);
  net->forward(x);  // initialises the quantisers
  const Fidelity rungs[3] = {Fidelity::BitExact, Fidelity::Tile, Fidelity::Weight};
  std::vector<double> rate[3], cand[3], peak[3], digital;
  auto read = [&](Fidelity f) {
    net->set_mode(nn::LayerMode::Analog);
    ctx->fidelity = f;
    const double t0 = bench::now_s();
    net->forward(x);
    return bench::now_s() - t0;
  };
  for (int k = 0; k < 3; ++k) read(rungs[k]);  // programs the arrays, fits the tile model
  for (auto _ : state) {
    const double t0 = bench::now_s();
    for (int k = 0; k < 3; ++k) {
      if (rungs[k] == Fidelity::Tile) read(rungs[k]);  // the model fitted on these cells (untimed)
      reset_peak_rss();
      rate[k].push_back(static_cast<double>(batch) / read(rungs[k]));
      peak[k].push_back(peak_rss_mib());
      ctx->set_operating(ctx->operating());  // a new candidate: every layer programs again
      cand[k].push_back(read(rungs[k]));
    }
    net->set_mode(nn::LayerMode::Quantised);
    const double td = bench::now_s();
    net->forward(x);
    digital.push_back(static_cast<double>(batch) / (bench::now_s() - td));
    state.SetIterationTime(bench::now_s() - t0);
  }
  const double dig = bench::median(digital), exact = bench::median(rate[0]);
  state.counters["digital_img_s"] = dig;
  for (int k = 0; k < 3; ++k) {
    const std::string r = to_string(rungs[k]);
    const double v = bench::median(rate[k]);
    state.counters[r + "_img_s"] = v;
    state.counters[r + "_cand_s"] = bench::median(cand[k]);
    state.counters[r + "_vs_digital"] = v / dig;
    state.counters[r + "_vs_bit_exact"] = v / exact;
    state.counters[r + "_peak_mib"] = *std::max_element(peak[k].begin(), peak[k].end());
  }
}

void BM_FidelityLenet5(benchmark::State& state) { fidelity_ladder(state, "lenet5", 1, 28, 64); }
void BM_FidelityVgg8(benchmark::State& state) { fidelity_ladder(state, "vgg8", 3, 32, 4); }

}  // namespace

BENCHMARK(BM_FidelityLenet5)->UseManualTime()->Iterations(5)->Unit(benchmark::kSecond);
BENCHMARK(BM_FidelityVgg8)->UseManualTime()->Iterations(2)->Unit(benchmark::kSecond);
