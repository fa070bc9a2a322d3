#include "cli/idx.hpp"

#include <zlib.h>

#include "core/error.hpp"

namespace cimkit {

torch::Tensor read_idx_images(const std::string& path, int64_t limit) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!f) throw DataError(path, "cannot open IDX file");
  auto read = [&](void* dst, unsigned n) { return gzread(f, dst, n) == static_cast<int>(n); };
  unsigned char header[16];
  if (!read(header, 16)) {
    gzclose(f);
    throw DataError(path, "truncated: an idx3-ubyte file starts with a 16-byte header");
  }
  auto be32 = [&](int off) {
    return (uint32_t{header[off]} << 24) | (uint32_t{header[off + 1]} << 16) | (uint32_t{header[off + 2]} << 8) | header[off + 3];
  };
  if (be32(0) != 0x00000803) {
    gzclose(f);
    throw DataError(path, "not an idx3-ubyte image file (magic number " + std::to_string(be32(0)) + ", expected 2051)");
  }
  const int64_t n = std::min<int64_t>(be32(4), limit), rows = be32(8), cols = be32(12);
  torch::Tensor out = torch::empty({n, rows * cols}, torch::kUInt8);
  const bool ok = read(out.data_ptr<uint8_t>(), static_cast<unsigned>(n * rows * cols));
  gzclose(f);
  if (!ok) throw DataError(path, "truncated: expected " + std::to_string(n) + " images of " + std::to_string(rows) + "x" + std::to_string(cols));
  return out.to(torch::kFloat32) / 255.0f;
}

}  // namespace cimkit
