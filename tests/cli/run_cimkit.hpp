// Runs the built `cimkit` binary (CIMKIT_BINARY) from a test, capturing stdout and stderr.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cimkit::testing {

// The fixtures and the source tree the CLI tests read.
inline const std::string kCliData = CIMKIT_TEST_DATA_DIR;
inline const std::string kCliSource = CIMKIT_SOURCE_DIR;

// <build>/tests/tmp/<name>, emptied on each call (the CLI tests keep their folders for inspection).
inline std::string cli_tmp_dir(const std::string& name) {
  const std::filesystem::path d = std::filesystem::path(CIMKIT_TEST_TMP) / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

// A file's whole text ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

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
