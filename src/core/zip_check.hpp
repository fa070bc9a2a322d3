// Integrity of zip archives, the container of every `.pt` file (torch.save, torch::serialize).
// LibTorch's reader does not verify the CRC-32 of the records it reads, so a checkpoint whose
// tensor bytes were overwritten loads as if nothing happened; Python's zipfile does check. cimkit
// checks before it loads.
#pragma once
#include <cstddef>
#include <string>

namespace cimkit {

// True when `data` starts with a zip local-file header ("PK\3\4").
bool looks_like_zip(const char* data, size_t size);

// Walks the archive's central directory (zip64 included) and checks, for every entry, that its
// local header is where the directory says, that its data lies inside the file, and that the
// CRC-32 of its (stored or deflated) content matches the recorded one. DataError naming `path`
// and the first bad entry ("corrupt or truncated") otherwise. `what` names the file's role in
// messages ("checkpoint", "tensor file").
void verify_zip_archive(const std::string& path, const char* data, size_t size, const std::string& what);

}  // namespace cimkit
