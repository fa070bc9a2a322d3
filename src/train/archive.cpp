#include "train/archive.hpp"

#include <ATen/core/ivalue.h>

#include <sstream>
#include <vector>

#include "core/error.hpp"
#include "core/files.hpp"
#include "nn/torch_file.hpp"

namespace cimkit::train {

using torch::serialize::InputArchive;
using torch::serialize::OutputArchive;

void save_archive(const std::string& path, OutputArchive& ar) {
  std::ostringstream bytes;
  try {
    ar.save_to(bytes);
  } catch (const c10::Error& e) {
    throw DataError(path, std::string("cannot serialise: ") + e.what_without_backtrace());
  }
  write_file_atomic(path, bytes.str());
}

InputArchive open_archive(const std::string& path, const c10::optional<torch::Device>& device) {
  // Checked first: LibTorch's reader verifies neither the file type nor the records' CRC-32, so a
  // checkpoint with overwritten tensor bytes would load as if nothing happened.
  const std::vector<char> bytes = nn::read_pt_bytes(path, "checkpoint");
  InputArchive ar;
  try {
    ar.load_from(bytes.data(), bytes.size(), device);
  } catch (const c10::Error& e) {
    throw DataError(path, "not a readable torch::serialize archive (" + nn::short_torch_message(e) + ")");
  }
  return ar;
}

std::string read_string(InputArchive& ar, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isString())
    throw DataError(path, "missing entry '" + key + "' (a string)");
  return v.toStringRef();
}

int64_t read_int(InputArchive& ar, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isInt())
    throw DataError(path, "missing entry '" + key + "' (an integer)");
  return v.toInt();
}

void check_format(InputArchive& ar, const std::string& path, const char* format) {
  c10::IValue v;
  if (!ar.try_read("cimkit_format", v) || !v.isString())
    throw DataError(path, std::string("not a cimkit checkpoint (no 'cimkit_format'; expected '") +
                              format + "')");
  if (v.toStringRef() != format)
    throw DataError(path,
                    "checkpoint format is '" + v.toStringRef() + "', expected '" + format + "'");
}

}  // namespace cimkit::train
