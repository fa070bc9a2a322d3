// Checkpoint archives on disk (torch::serialize): written atomically, read through the checked
// .pt reader (file type, CRC-32 of every record), with typed entries whose absence or wrong type is
// a DataError naming the file. Shared by the trainer's checkpoints and the searches'.
#pragma once
#include <torch/torch.h>

#include <string>

namespace cimkit::train {

// Serialises `ar` and writes it to `path` atomically (core/files.hpp). DataError naming the file.
void save_archive(const std::string& path, torch::serialize::OutputArchive& ar);
// Reads the archive at `path`, checked first. DataError naming the file.
torch::serialize::InputArchive open_archive(const std::string& path,
                                            const c10::optional<torch::Device>& device = c10::nullopt);
// The string / integer entry `key`; DataError naming `path` and the entry when it is missing or
// of another type.
std::string read_string(torch::serialize::InputArchive& ar, const std::string& key, const std::string& path);
int64_t read_int(torch::serialize::InputArchive& ar, const std::string& key, const std::string& path);
// DataError unless the entry `cimkit_format` is `format`.
void check_format(torch::serialize::InputArchive& ar, const std::string& path, const char* format);

}  // namespace cimkit::train
