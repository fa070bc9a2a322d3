// Steady thermal solve on a 128 × 128 die grid with 4 layers (silicon, TIM, spreader, sink:
// HotSpot's package; issue 5 target ≤ 100 ms on 2 cores). Assembly, solver preparation
// (CG's preconditioner, or the LDLᵀ factorisation) and one solve are timed separately, then
// all together, for both discretisations and both linear solvers.
#include <benchmark/benchmark.h>

#include "thermal/solver.hpp"

namespace cimkit::thermal {
namespace {

ModelSpec bench_spec(Discretisation mode, LinearSolver solver) {
  ModelSpec s;
  s.stack = hotspot_stack();  // silicon + TIM, then spreader and sink: 4 layers
  s.die_width_m = s.die_height_m = 10e-3;
  s.nx = s.ny = 128;
  s.mode = mode;
  s.solver = solver;
  return s;
}

Grid2D bench_power() {
  // 50 W: a quarter of the die at 40 W, the rest at 10 W.
  Grid2D p(128, 128, 10.0 / (128 * 128 * 0.75));
  for (int r = 0; r < 64; ++r)
    for (int c = 0; c < 64; ++c) p.at(r, c) = 40.0 / (64 * 64);
  return p;
}

void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"hotspot", "direct"})->Args({0, 0})->Args({1, 0})->Args({0, 1})->Args({1, 1})->Unit(benchmark::kMillisecond);
}
ModelSpec from(const benchmark::State& st) {
  return bench_spec(st.range(0) ? Discretisation::Hotspot : Discretisation::Default,
                    st.range(1) ? LinearSolver::Direct : LinearSolver::Cg);
}

void BM_ThermalAssemble(benchmark::State& st) {
  const ModelSpec s = from(st);
  for (auto _ : st) benchmark::DoNotOptimize(ThermalModel(s).n_nodes());
}
BENCHMARK(BM_ThermalAssemble)->ArgNames({"hotspot", "direct"})->Args({0, 0})->Args({1, 0})->Unit(benchmark::kMillisecond);

void BM_ThermalFactor(benchmark::State& st) {
  const ModelSpec s = from(st);
  for (auto _ : st) {
    st.PauseTiming();
    ThermalModel m(s);
    st.ResumeTiming();
    m.factor();
  }
}
BENCHMARK(BM_ThermalFactor)->Apply(args);

void BM_ThermalSolve(benchmark::State& st) {
  ThermalModel m(from(st));
  m.factor();
  const Grid2D p = bench_power();
  for (auto _ : st) benchmark::DoNotOptimize(m.steady(p).heat_out_w);
  st.counters["nodes"] = m.n_nodes();
  st.counters["cg_iterations"] = m.last_iterations();
}
BENCHMARK(BM_ThermalSolve)->Apply(args);

// Everything a one-off steady solve costs: assemble, prepare, solve.
void BM_ThermalTotal(benchmark::State& st) {
  const ModelSpec s = from(st);
  const Grid2D p = bench_power();
  for (auto _ : st) {
    ThermalModel m(s);
    benchmark::DoNotOptimize(m.steady(p).heat_out_w);
  }
}
BENCHMARK(BM_ThermalTotal)->Apply(args);

}  // namespace
}  // namespace cimkit::thermal

BENCHMARK_MAIN();
