// Runs a piece of a test in a forked child with a memory cap (RLIMIT_AS) and an alarm, so that a
// regression which makes a load take gigabytes, loop forever or overflow the stack fails the
// test instead of taking the machine (or the test program) down with it.
#pragma once
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>

#include "core/error.hpp"

namespace cimkit::testing {

// Virtual memory the process already maps (LibTorch maps a lot), in bytes.
inline unsigned long long mapped_bytes() {
  unsigned long long pages = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%llu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return pages * static_cast<unsigned long long>(sysconf(_SC_PAGESIZE));
}

// What `f` did, run in a child allowed `extra_mib` MiB of memory beyond what is mapped now and
// `seconds` of time: "loaded" when it returned, "ConfigError: <message>", "DataError:
// <message>", "other exception: <what>", or "killed by signal N" (SIGALRM: out of time; SIGSEGV:
// a stack overflow, for instance).
inline std::string run_bounded(const std::function<void()>& f, unsigned seconds = 20,
                               unsigned long long extra_mib = 1024) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(fds[0]);
    const rlim_t cap = mapped_bytes() + (extra_mib << 20);
    const struct rlimit lim{cap, cap};
    setrlimit(RLIMIT_AS, &lim);
    alarm(seconds);
    std::string result;
    try {
      f();
      result = "loaded";
    } catch (const ConfigError& e) {
      result = std::string("ConfigError: ") + e.what();
    } catch (const DataError& e) {
      result = std::string("DataError: ") + e.what();
    } catch (const std::exception& e) {
      result = std::string("other exception: ") + e.what();
    }
    const char* p = result.data();
    size_t left = result.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) break;
      p += n, left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status)) +
                                  " (" + strsignal(WTERMSIG(status)) + ")";
  return out;
}

}  // namespace cimkit::testing
