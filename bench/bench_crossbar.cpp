// Crossbar engine speed and memory, as ratios taken in one run (these machines are noisy).
//
// Layer: a conv-sized matrix W [128, 1152] (128 output channels, 3x3x128 im2col rows) and 4096
// input rows; 8-bit weights in 1-bit cells (differential), 8-bit inputs through 1-bit DACs,
// 128x128 arrays, 8-bit ADC. The reference is the plain GEMMs that slicing needs: one
// [4096, 128] x [128, 128] product per (row tile, input slice, weight slice, polarity):
// 9 x 8 x 7 x 2 = 1008 GEMMs. Each iteration times the engine and the reference back to back;
// the counters report medians and their ratio (target <= 1.3). The lossless shortcut is
// compared with the one GEMM [4096, 1152] x [1152, 128]. Peak memory is the rise of the
// process's resident high-water mark (VmHWM, reset through /proc/self/clear_refs) in a call.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "core/rng.hpp"
#include "crossbar/engine.hpp"

using namespace cimkit;

namespace {

constexpr int64_t kOut = 128, kIn = 1152, kRows = 4096;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Resident-set high-water mark in MiB; reset_peak() makes it restart from the current RSS.
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }
double read_status_mib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  }
  return 0.0;
}

std::shared_ptr<const Chip> chip(const std::string& extra_crossbar, const std::string& device,
                                 int adc_bits = 8) {
  const std::string yaml = "crossbar: {rows: 128, cols: 128, cell_bits: 1, weight_bits: 8, input_bits: 8" +
                           extra_crossbar + "}\ndevice: " + device + "\ndac: {bits: 1}\nadc: {bits: " +
                           std::to_string(adc_bits) + "}\n";
  return Chip::from_config(load_yaml_string(yaml, "<bench>"), "chip");
}

struct Data {
  torch::Tensor w, x;
  std::vector<torch::Tensor> a_tiles, b_blocks;  // operands of the reference GEMMs
  Data() {
    auto g = make_generator(1);
    w = at::randn({kOut, kIn}, g);
    x = at::rand({kRows, kIn}, g);
    for (int t = 0; t < 9; ++t) a_tiles.push_back(at::randint(0, 2, {kRows, 128}, g).to(torch::kFloat32));
    for (int i = 0; i < 14; ++i) b_blocks.push_back(at::randint(0, 2, {128, kOut}, g).to(torch::kFloat32));
  }
};
Data& data() {
  static Data d;
  return d;
}

// The plain GEMMs of the slicing: 9 tiles x 8 input slices x 14 (weight slice, polarity).
double reference_gemms_s() {
  Data& d = data();
  torch::Tensor out = torch::empty({kRows, kOut});
  const double t0 = now_s();
  for (int t = 0; t < 9; ++t)
    for (int s = 0; s < 8; ++s)
      for (int g = 0; g < 14; ++g) torch::mm_out(out, d.a_tiles[t], d.b_blocks[g]);
  return now_s() - t0;
}

void run_layer_case(benchmark::State& state, const std::shared_ptr<const Chip>& c) {
  set_threads(0);
  Data& d = data();
  CrossbarLayer::Options opt;
  opt.seed = 1;
  CrossbarLayer layer(c, d.w, opt);
  std::vector<double> t_layer, t_ref;
  double peak_mib = 0.0;
  for (auto _ : state) {
    const double ref = reference_gemms_s();
    const double rss0 = read_status_mib("VmRSS:");
    reset_peak();
    const double t0 = now_s();
    MvmResult r = layer.forward(d.x);
    benchmark::DoNotOptimize(r.y.data_ptr<float>());
    const double t1 = now_s();
    peak_mib = std::max(peak_mib, read_status_mib("VmHWM:") - rss0);
    t_layer.push_back(t1 - t0);
    t_ref.push_back(ref);
    state.SetIterationTime(t1 - t0);
  }
  state.counters["layer_s"] = median(t_layer);
  state.counters["plain_gemms_s"] = median(t_ref);
  state.counters["ratio"] = median(t_layer) / median(t_ref);
  state.counters["peak_mib"] = peak_mib;
  state.counters["threads"] = torch::get_num_threads();
}

void BM_IntegerPath(benchmark::State& state) {
  run_layer_case(state, chip(", lossless_shortcut: false", "{impl: ideal}"));
}
void BM_ConductancePath(benchmark::State& state) {
  // Cells with D2D and C2C variation, stuck-at faults, drift and temperature: all fixed per
  // programming, so a read is still one GEMM per tile.
  run_layer_case(state, chip(", path: conductance, baseline: reference_column",
                             "{impl: reram, d2d_std: 0.03, c2c_std: 0.02, stuck_off_rate: 0.001, "
                             "stuck_on_rate: 0.001, drift_nu: 0.005, temp_coeff_lrs_per_k: -0.001}"));
}
void BM_ConductancePathReadNoise(benchmark::State& state) {
  // Read noise adds a second GEMM (x^2 against the variance matrix) and one Gaussian draw per
  // partial sum.
  run_layer_case(state, chip(", path: conductance", "{impl: reram, d2d_std: 0.03, read_noise_std: 0.01}"));
}
void BM_ChunkBound(benchmark::State& state) {
  // The integer-path layer under several working-memory bounds (MiB).
  run_layer_case(state, chip(", lossless_shortcut: false, chunk_mb: " + std::to_string(state.range(0)), "{impl: ideal}"));
}

void BM_LosslessShortcut(benchmark::State& state) {
  set_threads(0);
  Data& d = data();
  CrossbarLayer::Options opt;
  opt.seed = 1;
  CrossbarLayer layer(chip("", "{impl: ideal}"), d.w, opt);
  const torch::Tensor xq = torch::round(d.x * 255), wq = torch::round(d.w * 20).t().contiguous();
  std::vector<double> t_layer, t_ref;
  for (auto _ : state) {
    const double t0 = now_s();
    benchmark::DoNotOptimize(torch::mm(xq, wq).data_ptr<float>());
    const double t1 = now_s();
    MvmResult r = layer.forward(d.x);
    benchmark::DoNotOptimize(r.y.data_ptr<float>());
    const double t2 = now_s();
    t_ref.push_back(t1 - t0);
    t_layer.push_back(t2 - t1);
    state.SetIterationTime(t2 - t1);
  }
  state.counters["layer_s"] = median(t_layer);
  state.counters["one_gemm_s"] = median(t_ref);
  state.counters["ratio"] = median(t_layer) / median(t_ref);
  state.counters["shortcut"] = layer.shortcut_active() ? 1 : 0;
}

}  // namespace

BENCHMARK(BM_IntegerPath)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);
BENCHMARK(BM_ConductancePath)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);
BENCHMARK(BM_ConductancePathReadNoise)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);
BENCHMARK(BM_ChunkBound)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond)->Arg(2)->Arg(8)->Arg(32)->Arg(256);
BENCHMARK(BM_LosslessShortcut)->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
