// Network-level speed, as ratios taken in one run (these machines are noisy).
//
// BM_TrainThroughput: training steps (forward, backward, Adam update) of the quickstart model
//   (lenet5 on 1x28x28 inputs, batch 128, 8-bit weights/activations/ADC) in float mode, quantised
//   mode (LSQ fake quantisation, straight-through) and analog mode in training (the chip
//   surrogate: per-row-tile partial sums through the ADC with a straight-through floor). The modes
//   are interleaved within each iteration; counters report images/s (medians) and the ratios of
//   QAT and analog-in-the-loop to float.
// BM_Vgg8AnalogInference: VGG-8 (the MNSIM/paper-000 network) on 3x32x32 inputs, evaluated on the
//   chip: 8-bit weights in 1-bit cells (7 magnitude slices x 2 polarities), 8-bit inputs through
//   1-bit DACs (8 input slices), 128x128 arrays, 8-bit ADC. Three chips: ideal cells, where the
//   8-bit ADC is lossless for 128 rows of 1-bit cells and 1-bit DACs and the engine takes its
//   one-GEMM shortcut; the same with the shortcut off (the integer path, every slice and ADC
//   conversion done); and the realistic ReRAM cell of the default chip (the conductance path,
//   with read noise). Reported as images/s and as the ratio to the digital (quantised-mode)
//   inference of the same batch.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/config_tree.hpp"
#include "core/rng.hpp"
#include "nn/zoo.hpp"
#include "timing.hpp"

using namespace cimkit;

namespace {

std::shared_ptr<const Chip> chip(const std::string& device, const std::string& extra_crossbar = "") {
  const std::string yaml =
      "crossbar: {rows: 128, cols: 128, cell_bits: 1, weight_bits: 8, input_bits: 8, baseline: reference_column" +
      extra_crossbar + "}\n"
      "device: " + device + "\ndac: {impl: linear, bits: 1}\nadc: {impl: linear, bits: 8, range: full_scale}\n";
  return Chip::from_config(load_yaml_string(yaml, "<bench>"), "chip");
}

void BM_TrainThroughput(benchmark::State& state) {
  set_threads(0);
  torch::manual_seed(1);
  nn::ZooOptions zo;
  zo.name = "lenet5";
  auto net = nn::make_model(zo);
  net->set_context(std::make_shared<nn::AnalogContext>(chip("{impl: ideal}"), 1));
  net->train();
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  const int64_t batch = 128, steps = 8;
  auto x = torch::randn({batch, 1, 28, 28});
  auto y = torch::randint(0, 10, {batch}, torch::kInt64);
  const nn::LayerMode modes[3] = {nn::LayerMode::Float, nn::LayerMode::Quantised, nn::LayerMode::Analog};
  std::vector<double> rate[3];
  auto run = [&](nn::LayerMode m) {
    net->set_mode(m);
    const double t0 = bench::now_s();
    for (int64_t i = 0; i < steps; ++i) {
      opt.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      loss.backward();
      opt.step();
    }
    return static_cast<double>(steps * batch) / (bench::now_s() - t0);
  };
  for (auto m : modes) run(m);  // warm-up (quantiser initialisation, allocator)
  for (auto _ : state) {
    const double t0 = bench::now_s();
    for (int k = 0; k < 3; ++k) rate[k].push_back(run(modes[k]));
    state.SetIterationTime(bench::now_s() - t0);
  }
  const double f = bench::median(rate[0]), q = bench::median(rate[1]), a = bench::median(rate[2]);
  state.counters["float_img_s"] = f;
  state.counters["qat_img_s"] = q;
  state.counters["analog_img_s"] = a;
  state.counters["qat_vs_float"] = q / f;
  state.counters["analog_vs_float"] = a / f;
}

void vgg8_inference(benchmark::State& state, const std::string& device, const std::string& extra_crossbar = "") {
  set_threads(0);
  torch::manual_seed(2);
  nn::ZooOptions zo;
  zo.name = "vgg8";
  zo.in_channels = 3;
  zo.image_size = 32;
  auto net = nn::make_model(zo);
  net->set_context(std::make_shared<nn::AnalogContext>(chip(device, extra_crossbar), 1));
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t batch = 4;
  auto x = torch::randn({batch, 3, 32, 32});
  net->set_mode(nn::LayerMode::Quantised);
  net->forward(x);  // initialises the quantisers
  net->set_mode(nn::LayerMode::Analog);
  net->forward(x);  // programs the arrays (not timed)
  std::vector<double> analog, digital;
  for (auto _ : state) {
    net->set_mode(nn::LayerMode::Analog);
    double t0 = bench::now_s();
    net->forward(x);
    const double ta = bench::now_s() - t0;
    net->set_mode(nn::LayerMode::Quantised);
    t0 = bench::now_s();
    net->forward(x);
    const double td = bench::now_s() - t0;
    analog.push_back(static_cast<double>(batch) / ta);
    digital.push_back(static_cast<double>(batch) / td);
    state.SetIterationTime(ta + td);
  }
  int64_t arrays = 0;
  for (auto& l : net->analog_layers()) arrays += l.layer->mapping().n_arrays;
  state.counters["analog_img_s"] = bench::median(analog);
  state.counters["digital_img_s"] = bench::median(digital);
  state.counters["digital_vs_analog"] = bench::median(digital) / bench::median(analog);
  state.counters["arrays"] = static_cast<double>(arrays);
}

void BM_Vgg8AnalogInference_Ideal(benchmark::State& state) { vgg8_inference(state, "{impl: ideal}"); }
void BM_Vgg8AnalogInference_IdealSliced(benchmark::State& state) {
  vgg8_inference(state, "{impl: ideal}", ", lossless_shortcut: false");
}
void BM_Vgg8AnalogInference_Realistic(benchmark::State& state) { vgg8_inference(state, "{preset: realistic_reram}"); }

}  // namespace

BENCHMARK(BM_TrainThroughput)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);
BENCHMARK(BM_Vgg8AnalogInference_Ideal)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);
BENCHMARK(BM_Vgg8AnalogInference_IdealSliced)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);
BENCHMARK(BM_Vgg8AnalogInference_Realistic)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);

BENCHMARK_MAIN();
