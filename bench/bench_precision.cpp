// A precision change against programming from scratch, as ratios taken in one run.
//
// BM_PrecisionChange: one 128x1152 layer (a VGG 3x3x128 -> 128 conv as a matrix) on the default
// chip's realistic ReRAM cells (configs/presets/chip/default.yaml), read with 64 input vectors.
// Each iteration, interleaved:
//   read       a read at the current precision (the floor: what any evaluation pays);
//   change     the ADC resolution flips between 8 and 6 bits (AnalogLayer::set_precision), then a
//              read: the programmed cells are kept and only the ADC transfer is redone
//              (CrossbarLayer::retarget);
//   reprogram  the same flip with the layer forced to be programmed from scratch (a new context
//              generation: draw the cells' traits, program every cell), then a read - what every
//              precision change cost before the typed route.
// Counters: medians in ms and the ratios reprogram / change and change / read.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/config_tree.hpp"
#include "core/rng.hpp"
#include "nn/analog.hpp"
#include "timing.hpp"

using namespace cimkit;

namespace {

void BM_PrecisionChange(benchmark::State& state) {
  set_threads(0);
  torch::manual_seed(1);
  auto ctx = std::make_shared<nn::AnalogContext>(Chip::default_chip(), 1);
  nn::AnalogLinear layer(nn::AnalogLinearOptions(1152, 128).quant(nn::QuantMode::minmax));
  layer->set_context(ctx);
  layer->eval();
  layer->set_mode(nn::LayerMode::Analog);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({64, 1152});
  layer->forward(x);  // programmed once
  std::vector<double> read, change, reprogram;
  int adc = 8;
  auto timed = [&](std::vector<double>& into, bool flip, bool force) {
    const double t0 = bench::now_s();
    if (flip) {
      adc = adc == 8 ? 6 : 8;
      layer->set_precision({8, 8, adc});
    }
    if (force) ctx->set_operating(ctx->operating());  // invalidates every programmed layer
    benchmark::DoNotOptimize(layer->forward(x));
    into.push_back(bench::now_s() - t0);
  };
  for (auto _ : state) {
    const double t0 = bench::now_s();
    timed(read, false, false);
    timed(change, true, false);
    timed(reprogram, true, true);
    state.SetIterationTime(bench::now_s() - t0);
  }
  const double r = bench::median(read), c = bench::median(change), p = bench::median(reprogram);
  state.counters["read_ms"] = 1e3 * r;
  state.counters["change_ms"] = 1e3 * c;
  state.counters["reprogram_ms"] = 1e3 * p;
  state.counters["reprogram_over_change"] = p / c;
  state.counters["change_over_read"] = c / r;
}

}  // namespace

BENCHMARK(BM_PrecisionChange)->UseManualTime()->Iterations(7)->Unit(benchmark::kMillisecond);
