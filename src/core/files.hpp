// Crash-safe file output and checked file input: run folders, checkpoints, plots, configs.
#pragma once
#include <cstdint>
#include <string>

namespace cimkit {

// Writes `bytes` to `<path>.tmp`, fsyncs it, renames it over `path` and fsyncs the directory, so
// `path` always holds either the old or the new content. DataError naming `path` on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The whole content of the regular file `path`. `what` says what the file should be ("config
// file", "tensor file", ...) for the messages. DataError naming the file when it does not exist,
// is a directory, is not a regular file (a FIFO, device or socket, which could block or never
// end), cannot be read, or is larger than `max_bytes`.
std::string read_input_file(const std::string& path, const std::string& what,
                            uint64_t max_bytes = uint64_t(1) << 32);

}  // namespace cimkit
