#include "crossbar/kernels.hpp"

#include <ATen/Parallel.h>

namespace cimkit {
namespace {

// Rounding below: for |v| < 2^22, (v + 1.5 * 2^23) - 1.5 * 2^23 is v rounded to nearest, ties
// to even, by the FPU's default mode. Branch-free, so the loops vectorise without SSE4.1, and it
// matches torch::round (also ties to even) used by the generic path.

// One row of outputs: acc[o] += c * Q(p[o]) for o in [0, out). Cloned for AVX2 and baseline
// x86-64; the loader picks the clone for the CPU at run time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void row_nearest(const float* __restrict p, double* __restrict acc, int64_t out, float inv,
                 float lo, float hi, double c) {
  for (int64_t o = 0; o < out; ++o) {
    float v = p[o] * inv;
    v = v < lo ? lo : (v > hi ? hi : v);
    v = (v + 12582912.0f) - 12582912.0f;
    acc[o] += c * static_cast<double>(v);
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void row_floor(const float* __restrict p, double* __restrict acc, int64_t out, float inv,
               float lo, float hi, double c) {
  for (int64_t o = 0; o < out; ++o) {
    float v = p[o] * inv;
    v = v < lo ? lo : (v > hi ? hi : v);
    float r = (v + 12582912.0f) - 12582912.0f;
    r = r > v ? r - 1.0f : r;
    acc[o] += c * static_cast<double>(r);
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void row_pass(const float* __restrict p, double* __restrict acc, int64_t out, double c) {
  for (int64_t o = 0; o < out; ++o) acc[o] += c * static_cast<double>(p[o]);
}

}  // namespace

void adc_shift_add_generic(const torch::Tensor& partial, int64_t n, int64_t n_slices,
                           int64_t n_groups, const torch::Tensor& coef, const AdcTransfer& adc,
                           torch::Tensor& acc) {
  const int64_t out = acc.size(1);
  torch::Tensor q = partial;
  if (adc.quantises()) {
    q = partial * static_cast<float>(1.0 / adc.step);
    q = q.clamp(adc.code_min, adc.code_max);
    q = adc.rounding == Rounding::Nearest ? torch::round(q) : torch::floor(q);
  }
  // [S, n, G, out] x coef[S, G] -> [n, out], accumulated in float64 (sums exceed 2^24).
  q = q.view({n_slices, n, n_groups, out}).to(torch::kFloat64);
  acc.add_(torch::einsum("sngo,sg->no", {q, coef.to(acc.device()).view({n_slices, n_groups})}));
}

void adc_shift_add(const torch::Tensor& partial, int64_t n, int64_t n_slices, int64_t n_groups,
                   const torch::Tensor& coef, const AdcTransfer& adc, torch::Tensor& acc) {
  const bool cpu_fast = partial.device().is_cpu() && partial.scalar_type() == torch::kFloat32 &&
                        partial.is_contiguous() && acc.is_contiguous() &&
                        acc.scalar_type() == torch::kFloat64 &&
                        (!adc.quantises() || (adc.code_max < (1 << 22) && adc.code_min > -(1 << 22)));
  if (!cpu_fast) {
    adc_shift_add_generic(partial, n, n_slices, n_groups, coef, adc, acc);
    return;
  }
  const int64_t out = acc.size(1);
  const int64_t row_stride = n_groups * out;
  const float* p = partial.data_ptr<float>();
  double* a = acc.data_ptr<double>();
  const torch::Tensor coef_cpu = coef.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* cf = coef_cpu.data_ptr<double>();
  const float inv = adc.quantises() ? static_cast<float>(1.0 / adc.step) : 1.0f;
  const float lo = static_cast<float>(adc.code_min), hi = static_cast<float>(adc.code_max);
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double* acc_row = a + i * out;
      for (int64_t s = 0; s < n_slices; ++s) {
        const float* prow = p + (s * n + i) * row_stride;
        for (int64_t g = 0; g < n_groups; ++g) {
          const double c = cf[s * n_groups + g];
          if (c == 0.0) continue;
          const float* src = prow + g * out;
          if (!adc.quantises()) {
            row_pass(src, acc_row, out, c);
          } else if (adc.rounding == Rounding::Nearest) {
            row_nearest(src, acc_row, out, inv, lo, hi, c);
          } else {
            row_floor(src, acc_row, out, inv, lo, hi, c);
          }
        }
      }
    }
  });
}

}  // namespace cimkit
