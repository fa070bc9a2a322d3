// A small CrossNAS space for the nas tests: 1-channel square images, 10 classes, a small head.
#pragma once
#include <vector>

#include "core/rng.hpp"
#include "data/dataset.hpp"
#include "nas/arch.hpp"

namespace cimkit::nas::testing {

inline ArchSpace toy_space(int64_t max_depth, std::vector<int64_t> channels, int64_t image_size) {
  ArchSpace s;
  s.max_depth = max_depth;
  s.channels = std::move(channels);
  s.in_channels = 1;
  s.image_size = image_size;
  s.n_classes = 10;
  s.head_hidden1 = 16;
  s.head_hidden2 = 8;
  return s;
}

// n images of 8x8 pixels, 10 classes; the class lights one row of the image, so any path of the
// toy space can learn it.
inline data::Dataset toy_data(int64_t n) {
  auto g = make_generator(4);
  data::Dataset d;
  d.name = "toy";
  d.n_classes = 10;
  d.labels = at::randint(10, {n}, g, torch::kInt64);
  torch::Tensor img = (at::rand({n, 1, 8, 8}, g) * 60).to(torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = d.labels[i].item<int64_t>();
    img[i][0].narrow(0, c % 8, 1).fill_(255);
  }
  d.images = img;
  d.norm_mean = {0.3};
  d.norm_std = {0.3};
  return d;
}

}  // namespace cimkit::nas::testing
