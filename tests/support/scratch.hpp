// Helpers shared by the test programs: scratch directories and error-message checks.
#pragma once
#include <ftw.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include <filesystem>
#include <functional>
#include <string>

#include "core/error.hpp"

namespace cimkit::testing {

// <tmp>/cimkit_test_<program>_<pid>/<name>, emptied on each call; the whole <program> root is
// removed when the test binary exits.
inline std::string fresh_dir(const std::string& program, const std::string& name) {
  namespace fs = std::filesystem;
  // The root is a plain string and is removed at exit with POSIX nftw, not std::filesystem: pip
  // LibTorch 2.x (seen with 2.11.0+cu130) exports statically linked copies of libstdc++'s
  // std::filesystem functions (pytorch/pytorch#133437) that programs linking it bind to, and its
  // remove_all(const path&, error_code&) jumped to address 0 here, crashing every test program
  // that used a scratch directory at exit.
  struct Root {
    std::string path;
    explicit Root(const std::string& program)
        : path((fs::temp_directory_path() / ("cimkit_test_" + program + "_" + std::to_string(getpid()))).string()) {
      fs::remove_all(path);
      fs::create_directories(path);
    }
    ~Root() {
      nftw(path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
           FTW_DEPTH | FTW_PHYS);
    }
  };
  static const Root root(program);  // one program name per test binary
  const fs::path p = fs::path(root.path) / name;
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
