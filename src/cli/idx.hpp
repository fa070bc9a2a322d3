// IDX image files (MNIST, Fashion-MNIST), gzipped or not.
#pragma once
#include <torch/torch.h>

#include <string>

namespace cimkit {

// Reads up to `limit` images from an idx3-ubyte file as [n, rows*cols] float32 in [0, 1].
// DataError naming the file for a missing, truncated or malformed file.
torch::Tensor read_idx_images(const std::string& path, int64_t limit);

}  // namespace cimkit
