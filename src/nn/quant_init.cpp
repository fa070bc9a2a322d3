// Initialisation rules for the learned LSQ / LSQ+ parameters (algorithms.md §4.4–4.5).
#include <cmath>

#include "core/error.hpp"
#include "nn/quant.hpp"
#include "nn/quant_detail.hpp"

namespace cimkit::nn {

using torch::Tensor;
using namespace detail;

Tensor lsq_init_step(const Tensor& x, double q_p, int64_t per_channel_dim) {
  check_floating(x, "lsq_init_step", "x");
  check_dim(x, per_channel_dim, "lsq_init_step");
  check_range(0.0, q_p, "lsq_init_step");
  return positive_or_one(2.0 * rows_of(x, per_channel_dim).abs().mean(1) / std::sqrt(q_p));
}

Tensor lsqplus_init_weight_step(const Tensor& x, int bits, int64_t per_channel_dim) {
  check_floating(x, "lsqplus_init_weight_step", "x");
  check_dim(x, per_channel_dim, "lsqplus_init_weight_step");
  lsq_range(bits, true, "lsqplus_init_weight_step: bits");
  const Tensor rows = rows_of(x, per_channel_dim);
  const Tensor mu = rows.mean(1), sigma = rows.std(1, /*unbiased=*/false);
  const Tensor reach = torch::maximum((mu - 3 * sigma).abs(), (mu + 3 * sigma).abs());
  return positive_or_one(reach / std::ldexp(1.0, bits - 1));
}

std::pair<Tensor, Tensor> lsqplus_init_minmax(const Tensor& x, double q_n, double q_p,
                                              int64_t per_channel_dim) {
  check_floating(x, "lsqplus_init_minmax", "x");
  check_dim(x, per_channel_dim, "lsqplus_init_minmax");
  check_range(q_n, q_p, "lsqplus_init_minmax");
  const Tensor rows = rows_of(x, per_channel_dim);
  const Tensor lo = rows.amin(1), hi = rows.amax(1);
  const Tensor step = positive_or_one((hi - lo) / (q_p + q_n));
  return {step, lo + q_n * step};  // β = min − n·s with n = −q_n
}

}  // namespace cimkit::nn
