// IDX files (the MNIST / Fashion-MNIST container, http://yann.lecun.com/exdb/mnist/), gzipped or
// plain. A file is a 4-byte magic (0, 0, type 0x08 = unsigned byte, number of dimensions), one
// big-endian uint32 per dimension, then the row-major data. Images are idx3-ubyte (magic 2051:
// count, rows, cols), labels idx1-ubyte (magic 2049: count).
#pragma once
#include <torch/torch.h>

#include <string>

namespace cimkit::data {

inline constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803
inline constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801

// Images of an idx3-ubyte file, kept as bytes: uint8 [n, 1, rows, cols]. DataError naming the
// file for a missing file, a wrong magic, zero dimensions, or a size other than the header's
// 16 bytes + n*rows*cols (truncated or trailing bytes; the message gives both counts).
torch::Tensor read_idx_images(const std::string& path);

// Labels of an idx1-ubyte file: int64 [n]. Same checks as read_idx_images (8-byte header).
torch::Tensor read_idx_labels(const std::string& path);

}  // namespace cimkit::data
