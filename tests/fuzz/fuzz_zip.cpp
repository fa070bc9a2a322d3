// libFuzzer target for the zip-archive check every `.pt` file passes before LibTorch reads it
// (core/zip_check.hpp): any bytes must either pass or raise DataError, never crash, hang or read
// outside the buffer (ASan and UBSan watch). `make fuzz-zip` (docs/testing.md).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "core/zip_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly the input's bytes on the heap, so ASan sees any read past the end.
  std::string bytes(reinterpret_cast<const char*>(data), size);
  std::string* exact = new std::string(bytes);
  try {
    cimkit::looks_like_zip(exact->data(), exact->size());
    cimkit::verify_zip_archive("fuzz.pt", exact->data(), exact->size(), "tensor file");
  } catch (const cimkit::DataError&) {
  }
  delete exact;
  return 0;
}
