// A small CrossNAS space for the nas tests: 1-channel square images, 10 classes, a small head.
#pragma once
#include <vector>

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

}  // namespace cimkit::nas::testing
