// Helpers shared by the test programs: scratch directories and error-message checks.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "core/error.hpp"

namespace cimkit::testing {

// <tmp>/cimkit_test_<program>_<pid>/<name>, emptied on each call; the whole <program> root is
// removed when the test binary exits.
inline std::string fresh_dir(const std::string& program, const std::string& name) {
  namespace fs = std::filesystem;
  struct Root {
    fs::path path;
    explicit Root(const std::string& program)
        : path(fs::temp_directory_path() / ("cimkit_test_" + program + "_" + std::to_string(getpid()))) {
      fs::remove_all(path);
      fs::create_directories(path);
    }
    ~Root() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const Root root(program);  // one program name per test binary
  const fs::path p = root.path / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// The message of the cimkit::Error `f` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace cimkit::testing

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)
