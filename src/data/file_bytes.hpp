// Whole-file reads for dataset files, gzipped or plain.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cimkit::data {

// The (decompressed) bytes of `path`. zlib's gzopen reads gzip streams and passes plain files
// through unchanged, so both forms work. DataError naming the file when it is missing, is a
// directory, cannot be read, or is a gzip stream that is corrupt or cut short.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// `path` if it exists, else `path + ".gz"` if that exists, else empty.
std::string find_plain_or_gz(const std::string& path);

}  // namespace cimkit::data
