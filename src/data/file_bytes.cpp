#include "data/file_bytes.hpp"

#include <zlib.h>

#include <filesystem>

#include "core/error.hpp"

namespace cimkit::data {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(path, "file not found");
  if (fs::is_directory(path, ec)) throw DataError(path, "expected a file, found a directory");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw DataError(path, "cannot open for reading");
  std::vector<uint8_t> out;
  constexpr unsigned kChunk = 1u << 20;
  for (;;) {
    const size_t old = out.size();
    out.resize(old + kChunk);
    const int n = gzread(f, out.data() + old, kChunk);
    if (n <= 0) {
      out.resize(old);
      break;
    }
    out.resize(old + static_cast<size_t>(n));
  }
  int errnum = Z_OK;
  const char* msg = gzerror(f, &errnum);
  const std::string zmsg = msg ? msg : "";
  gzclose(f);
  if (errnum == Z_BUF_ERROR)
    throw DataError(path, "gzip stream cut short (" + zmsg + ") after " + std::to_string(out.size()) +
                              " decompressed bytes; the file is truncated");
  if (errnum != Z_OK) throw DataError(path, "corrupt gzip stream (zlib: " + zmsg + ")");
  return out;
}

std::string find_plain_or_gz(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path;
  if (std::filesystem::is_regular_file(path + ".gz", ec)) return path + ".gz";
  return {};
}

}  // namespace cimkit::data
