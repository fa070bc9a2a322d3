#include "core/memory.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.hpp"

namespace cimkit {

uint64_t available_memory_bytes() {
  uint64_t avail = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemAvailable:") {
      avail = kb * 1024;
      break;
    }
  }
  if (avail == 0) {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) avail = uint64_t(pages) * uint64_t(page);
  }
  if (avail == 0) avail = uint64_t(1) << 34;  // unknown: assume 16 GiB
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) avail = std::min<uint64_t>(avail, rl.rlim_cur);
  if (const char* env = std::getenv("CIMKIT_MEMORY_LIMIT_MB")) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && mb > 0) avail = std::min<uint64_t>(avail, uint64_t(mb) << 20);
  }
  return avail;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.3g %s", bytes, units[u]);
  return buf;
}

void require_memory(double estimate_bytes, const std::string& what, const std::string& advice) {
  const uint64_t limit = available_memory_bytes();
  if (estimate_bytes <= double(limit)) return;
  throw Error(what + " needs about " + format_bytes(estimate_bytes) + ", more than the " + format_bytes(double(limit)) +
              " of memory available (MemAvailable, RLIMIT_AS or CIMKIT_MEMORY_LIMIT_MB); " + advice);
}

}  // namespace cimkit
