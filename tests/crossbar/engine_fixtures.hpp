// Shared helpers for the crossbar engine tests.
#pragma once
#include <torch/torch.h>

#include <string>

#include "core/config_tree.hpp"
#include "crossbar/engine.hpp"

namespace cimkit::testing {

inline std::shared_ptr<const Chip> chip_from(const std::string& yaml) {
  return Chip::from_config(load_yaml_string(yaml, "test_chip.yaml"), "chip");
}

// Uniform random integer codes in [lo, hi], shape [rows, cols], fixed seed.
inline torch::Tensor random_codes(int64_t rows, int64_t cols, int64_t lo, int64_t hi, uint64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  return at::randint(lo, hi + 1, {rows, cols}, g, torch::TensorOptions().dtype(torch::kInt64)).to(torch::kFloat32);
}

// Exact reference: x_q . w_q^T in float64.
inline torch::Tensor integer_product(const torch::Tensor& x, const torch::Tensor& w) {
  return torch::mm(x.to(torch::kFloat64), w.to(torch::kFloat64).t());
}

}  // namespace cimkit::testing
