// Runs the built `cimkit` binary (CIMKIT_BINARY) from a test, capturing stdout and stderr.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace cimkit::testing {

struct CliRun {
  int code;            // exit status (-1 when the process did not exit normally)
  std::string output;  // stdout and stderr, interleaved
};

inline CliRun run_cimkit(const std::string& args) {
  const std::string cmd = std::string(CIMKIT_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace cimkit::testing
