// Internal argument checks and reductions shared by quant.cpp and quant_init.cpp (not API).
#pragma once
#include <torch/torch.h>

namespace cimkit::nn::detail {

// ShapeError unless x is a defined floating-point tensor; names function `fn` and argument `arg`.
void check_floating(const torch::Tensor& x, const char* fn, const char* arg);
// ShapeError unless q_n >= 0 and q_p > 0.
void check_range(double q_n, double q_p, const char* fn);
// ShapeError unless dim is −1 (per tensor) or a valid dim of x; returns dim.
int64_t check_dim(const torch::Tensor& x, int64_t dim, const char* fn);
// x (detached) as [rows, n]: one row per index of dim `dim`, or a single row for dim = −1.
torch::Tensor rows_of(const torch::Tensor& x, int64_t dim);
// s where s > 0, else 1 (a degenerate all-zero channel quantises exactly with any step).
torch::Tensor positive_or_one(const torch::Tensor& s);

}  // namespace cimkit::nn::detail
