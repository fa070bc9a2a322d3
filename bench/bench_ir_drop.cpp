// IR drop's cost in the crossbar engine (issue 15 §4), as ratios taken in one run: the bench
// layer of bench_crossbar.cpp (W [128, 1152], 4096 input rows, 128x128 arrays, 8-bit weights in
// 1-bit cells, 8-bit inputs through 1-bit DACs, 8-bit ADC, realistic cells) programmed and read
// with chip.crossbar.ir_drop none, and with `fast` or `circuit` (2.82 Ω per segment, MNSIM 2.0's
// default wire resistance; 100 Ω driver and sense). The wires are solved once per programmed
// layer and read state, so each iteration times programming + the first read (the solve's
// cost) and a second read (what every further batch costs), each against `none` back to back.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "core/rng.hpp"
#include "crossbar/engine.hpp"

using namespace cimkit;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::shared_ptr<const Chip> ir_chip(const std::string& mode) {
  const std::string wires = mode == "none" ? "" : ", ir_drop: " + mode + ", r_wire_row_ohm: 2.82, r_wire_col_ohm: 2.82, "
                                                  "r_driver_ohm: 100, r_sense_ohm: 100";
  const std::string yaml = "crossbar: {rows: 128, cols: 128, cell_bits: 1, weight_bits: 8, input_bits: 8, path: conductance" +
                           wires + "}\ndevice: {impl: reram, d2d_std: 0.03, c2c_std: 0.02}\ndac: {bits: 1}\nadc: {bits: 8}\n";
  return Chip::from_config(load_yaml_string(yaml, "<bench>"), "chip");
}

// {programming + first read, second read} in seconds.
std::pair<double, double> program_and_read(const std::shared_ptr<const Chip>& chip, const torch::Tensor& w,
                                           const torch::Tensor& x) {
  CrossbarLayer::Options opt;
  opt.seed = 1;
  const double t0 = now_s();
  CrossbarLayer layer(chip, w, opt);
  benchmark::DoNotOptimize(layer.forward(x).y.data_ptr<float>());
  const double t1 = now_s();
  benchmark::DoNotOptimize(layer.forward(x).y.data_ptr<float>());
  return {t1 - t0, now_s() - t1};
}

void BM_IrDrop(benchmark::State& state, const std::string& mode) {
  set_threads(0);
  auto g = make_generator(1);
  const torch::Tensor w = at::randn({128, 1152}, g), x = at::rand({4096, 1152}, g);
  const auto none = ir_chip("none"), with = ir_chip(mode);
  std::vector<double> first, first_none, second, second_none;
  for (auto _ : state) {
    const auto [a0, a1] = program_and_read(none, w, x);
    const auto [b0, b1] = program_and_read(with, w, x);
    first_none.push_back(a0);
    second_none.push_back(a1);
    first.push_back(b0);
    second.push_back(b1);
    state.SetIterationTime(b0 + b1);
  }
  state.counters["program_read_s"] = median(first);
  state.counters["program_read_none_s"] = median(first_none);
  state.counters["program_read_ratio"] = median(first) / median(first_none);
  state.counters["read_s"] = median(second);
  state.counters["read_ratio"] = median(second) / median(second_none);
  state.counters["threads"] = torch::get_num_threads();
}

}  // namespace

BENCHMARK_CAPTURE(BM_IrDrop, fast, std::string("fast"))->UseManualTime()->Iterations(2)->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_IrDrop, circuit, std::string("circuit"))->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
