// Memory budgets: large inputs that are valid by their declared ranges can still exceed what
// this machine has (a 4096 x 4096 thermal grid, a 100000 x 100000 image). Code that allocates in
// proportion to a user's input estimates the bytes first and calls require_memory, so the user
// reads the estimate and the limit instead of std::bad_alloc minutes later.
#pragma once
#include <cstdint>
#include <string>

namespace cimkit {

// The bytes this process may still allocate: MemAvailable of /proc/meminfo (or the physical
// memory where that is missing), capped by RLIMIT_AS and by the environment variable
// CIMKIT_MEMORY_LIMIT_MB when set (for shared machines and tests).
uint64_t available_memory_bytes();

// "1.5 GiB", "320 MiB", "12 KiB".
std::string format_bytes(double bytes);

// Error "<what> needs about <estimate>, more than the <limit> available (<advice>)" when
// `estimate_bytes` exceeds available_memory_bytes(). Nothing is allocated.
void require_memory(double estimate_bytes, const std::string& what, const std::string& advice);

}  // namespace cimkit
