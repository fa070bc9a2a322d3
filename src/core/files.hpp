// Crash-safe file output: run folders, checkpoints, plots.
#pragma once
#include <string>

namespace cimkit {

// Writes `bytes` to `<path>.tmp`, fsyncs it, renames it over `path` and fsyncs the directory, so
// `path` always holds either the old or the new content. DataError naming `path` on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace cimkit
