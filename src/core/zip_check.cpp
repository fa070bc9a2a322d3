#include "core/zip_check.hpp"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace cimkit {
namespace {

// Little-endian field readers (zip stores every integer little-endian).
uint64_t le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kEnd64LocatorSig = 0x07064b50;

struct Entry {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

class Walker {
 public:
  Walker(const std::string& path, const char* data, size_t size, const std::string& what)
      : path_(path), d_(data), n_(size), what_(what) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw DataError(path_, "corrupt or truncated " + what_ + ": " + why +
                               " (the zip archive's structure or checksums do not match; it cannot be used)");
  }
  void need(uint64_t offset, uint64_t len, const char* what) const {
    if (offset > n_ || len > n_ - offset) fail(std::string(what) + " lies beyond the end of the file");
  }

  void run() {
    const uint64_t end = find_end();
    uint64_t entries = le(d_ + end + 10, 2), cd_size = le(d_ + end + 12, 4), cd_offset = le(d_ + end + 16, 4);
    if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
      if (end < 20 || le(d_ + end - 20, 4) != kEnd64LocatorSig) fail("zip64 end record locator missing");
      const uint64_t e64 = le(d_ + end - 20 + 8, 8);
      need(e64, 56, "the zip64 end record");
      if (le(d_ + e64, 4) != kEnd64Sig) fail("zip64 end record missing");
      entries = le(d_ + e64 + 32, 8);
      cd_size = le(d_ + e64 + 40, 8);
      cd_offset = le(d_ + e64 + 48, 8);
    }
    need(cd_offset, cd_size, "the central directory");
    if (entries == 0) fail("the archive holds no entries");
    uint64_t p = cd_offset;
    for (uint64_t i = 0; i < entries; ++i) {
      need(p, 46, "a central directory entry");
      if (le(d_ + p, 4) != kCentralSig) fail("central directory entry " + std::to_string(i) + " is damaged");
      Entry e;
      e.method = static_cast<uint16_t>(le(d_ + p + 10, 2));
      e.crc = static_cast<uint32_t>(le(d_ + p + 16, 4));
      e.compressed = le(d_ + p + 20, 4);
      e.uncompressed = le(d_ + p + 24, 4);
      const uint64_t name_len = le(d_ + p + 28, 2), extra_len = le(d_ + p + 30, 2), comment_len = le(d_ + p + 32, 2);
      e.local_offset = le(d_ + p + 42, 4);
      need(p + 46, name_len + extra_len + comment_len, "a central directory entry");
      e.name.assign(d_ + p + 46, name_len);
      read_zip64_extra(d_ + p + 46 + name_len, extra_len, e);
      check(e);
      p += 46 + name_len + extra_len + comment_len;
    }
  }

 private:
  uint64_t find_end() const {
    if (n_ < 22) fail("the file is too short for a zip archive");
    const uint64_t lowest = n_ > 22 + 65535 ? n_ - 22 - 65535 : 0;
    for (uint64_t p = n_ - 22;; --p) {
      if (le(d_ + p, 4) == kEndSig) return p;
      if (p == lowest) break;
    }
    fail("no end-of-archive record (the file was cut short)");
  }

  void read_zip64_extra(const char* x, uint64_t len, Entry& e) const {
    uint64_t q = 0;
    while (q + 4 <= len) {
      const uint64_t id = le(x + q, 2), size = le(x + q + 2, 2);
      if (q + 4 + size > len) break;
      if (id == 0x0001) {
        uint64_t r = q + 4;
        auto take = [&](uint64_t& field) {
          if (field != 0xFFFFFFFF) return;
          if (r + 8 > q + 4 + size) fail("entry '" + e.name + "' has a short zip64 field");
          field = le(x + r, 8);
          r += 8;
        };
        take(e.uncompressed);
        take(e.compressed);
        take(e.local_offset);
      }
      q += 4 + size;
    }
  }

  void check(const Entry& e) const {
    need(e.local_offset, 30, "the local header of an entry");
    const char* h = d_ + e.local_offset;
    if (le(h, 4) != kLocalSig) fail("entry '" + e.name + "': its local header is damaged");
    const uint64_t data = e.local_offset + 30 + le(h + 26, 2) + le(h + 28, 2);
    need(data, e.compressed, ("the data of entry '" + e.name + "'").c_str());
    uint32_t crc = 0;
    if (e.method == 0) {
      if (e.compressed != e.uncompressed) fail("entry '" + e.name + "': stored sizes disagree");
      crc = crc_of(d_ + data, e.compressed);
    } else if (e.method == 8) {
      crc = inflated_crc(d_ + data, e.compressed, e);
    } else {
      fail("entry '" + e.name + "' uses compression method " + std::to_string(e.method) +
           " (only stored and deflated entries are read)");
    }
    if (crc != e.crc) fail("entry '" + e.name + "' fails its CRC-32 check");
  }

  static uint32_t crc_of(const char* p, uint64_t len) {
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
      const uInt chunk = static_cast<uInt>(std::min<uint64_t>(len, 1u << 30));
      crc = crc32(crc, reinterpret_cast<const Bytef*>(p), chunk);
      p += chunk;
      len -= chunk;
    }
    return static_cast<uint32_t>(crc);
  }

  uint32_t inflated_crc(const char* p, uint64_t len, const Entry& e) const {
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail("cannot start zlib");
    std::vector<unsigned char> out(1 << 16);
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
    zs.avail_in = static_cast<uInt>(std::min<uint64_t>(len, 1u << 30));
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      zs.next_out = out.data();
      zs.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        inflateEnd(&zs);
        fail("entry '" + e.name + "' does not inflate");
      }
      const size_t got = out.size() - zs.avail_out;
      crc = crc32(crc, out.data(), static_cast<uInt>(got));
      total += got;
      if (total > e.uncompressed) {  // a deflate bomb stops here, not after inflating everything
        inflateEnd(&zs);
        fail("entry '" + e.name + "' inflates to more than its recorded size");
      }
      if (rc == Z_OK && got == 0 && zs.avail_in == 0) {
        inflateEnd(&zs);
        fail("entry '" + e.name + "' is cut short");
      }
    }
    inflateEnd(&zs);
    if (total != e.uncompressed) fail("entry '" + e.name + "' inflates to the wrong size");
    return static_cast<uint32_t>(crc);
  }

  const std::string& path_;
  const char* d_;
  size_t n_;
  const std::string& what_;
};

}  // namespace

bool looks_like_zip(const char* data, size_t size) { return size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0; }

void verify_zip_archive(const std::string& path, const char* data, size_t size, const std::string& what) {
  Walker(path, data, size, what).run();
}

}  // namespace cimkit
