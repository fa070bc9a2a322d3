#include "data/idx.hpp"

#include <cstring>

#include "core/error.hpp"
#include "data/file_bytes.hpp"

namespace cimkit::data {
namespace {

uint32_t be32(const std::vector<uint8_t>& b, size_t off) {
  return (uint32_t{b[off]} << 24) | (uint32_t{b[off + 1]} << 16) | (uint32_t{b[off + 2]} << 8) |
         uint32_t{b[off + 3]};
}

// Checks magic and size of an IDX file with `n_dims` dimensions; returns the dimensions.
std::vector<int64_t> parse_header(const std::string& path, const std::vector<uint8_t>& bytes,
                                  uint32_t magic, const char* kind) {
  const size_t n_dims = magic & 0xff;
  const size_t header = 4 + 4 * n_dims;
  if (bytes.size() < header)
    throw DataError(path, std::string("truncated: an ") + kind + " file starts with a " +
                              std::to_string(header) + "-byte header, found " +
                              std::to_string(bytes.size()) + " bytes");
  const uint32_t found = be32(bytes, 0);
  if (found != magic)
    throw DataError(path, std::string("not an ") + kind + " file: magic number " +
                              std::to_string(found) + ", expected " + std::to_string(magic));
  std::vector<int64_t> dims;
  unsigned __int128 expected = header;
  unsigned __int128 payload = 1;
  for (size_t i = 0; i < n_dims; ++i) {
    dims.push_back(be32(bytes, 4 + 4 * i));
    payload *= static_cast<uint64_t>(dims.back());
  }
  for (size_t i = 1; i < n_dims; ++i)
    if (dims[i] == 0) throw DataError(path, std::string(kind) + " header has a zero dimension");
  expected += payload;
  if (expected != bytes.size()) {
    std::string msg = "expected " + std::to_string(static_cast<uint64_t>(expected)) +
                      " bytes (" + std::to_string(header) + "-byte header + " +
                      std::to_string(static_cast<uint64_t>(payload)) + " data bytes for dimensions";
    for (int64_t d : dims) msg += " " + std::to_string(d);
    msg += "), found " + std::to_string(bytes.size());
    throw DataError(path, (expected > bytes.size() ? "truncated: " : "trailing bytes: ") + msg);
  }
  return dims;
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const auto d = parse_header(path, bytes, kIdxImagesMagic, "idx3-ubyte image");
  torch::Tensor out = torch::empty({d[0], 1, d[1], d[2]}, torch::kUInt8);
  if (out.numel() > 0) std::memcpy(out.data_ptr<uint8_t>(), bytes.data() + 16, out.numel());
  return out;
}

torch::Tensor read_idx_labels(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const auto d = parse_header(path, bytes, kIdxLabelsMagic, "idx1-ubyte label");
  torch::Tensor raw = torch::empty({d[0]}, torch::kUInt8);
  if (raw.numel() > 0) std::memcpy(raw.data_ptr<uint8_t>(), bytes.data() + 8, raw.numel());
  return raw.to(torch::kInt64);
}

}  // namespace cimkit::data
