// Generated test data for the pipeline tests (nothing is read from files): n random 1×8×8 images
// with labels in 0..2.
#pragma once
#include <torch/torch.h>

#include "data/dataset.hpp"

namespace cimkit::pipeline::testing {

inline data::Dataset synthetic(int64_t n, uint64_t seed = 5) {
  data::Dataset d;
  d.name = "synthetic";
  auto g = at::detail::createCPUGenerator(seed);
  d.images = at::randint(0, 256, {n, 1, 8, 8}, g, torch::TensorOptions().dtype(torch::kUInt8));
  d.labels = at::randint(0, 3, {n}, g, torch::TensorOptions().dtype(torch::kInt64));
  d.n_classes = 3;
  d.norm_mean = {0.5};
  d.norm_std = {0.25};
  return d;
}

}  // namespace cimkit::pipeline::testing
