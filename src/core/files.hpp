// Crash-safe file output and checked file input: run folders, checkpoints, plots, configs.
#pragma once
#include <cstdint>
#include <string>

namespace cimkit {

// Writes `bytes` to a fresh temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the directory, so `path` always holds either the old or the new content. Only regular
// files and new paths are written: a symbolic link is followed and its target replaced (the link
// stays); a directory, device file, FIFO or socket is refused. DataError naming `path` on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

// Where write_file_atomic(path) would write: `path`, or the final target of the symbolic links it
// names. DataError naming `path` when that is a directory, a device file, a FIFO or a socket.
// Commands call it on every output before they start their work, so a bad output path fails
// before anything is computed or written.
std::string resolve_output_path(const std::string& path);

// The whole content of the regular file `path`. `what` says what the file should be ("config
// file", "tensor file", ...) for the messages. DataError naming the file when it does not exist,
// is a directory, is not a regular file (a FIFO, device or socket, which could block or never
// end), cannot be read, or is larger than `max_bytes`.
std::string read_input_file(const std::string& path, const std::string& what,
                            uint64_t max_bytes = uint64_t(1) << 32);

}  // namespace cimkit
