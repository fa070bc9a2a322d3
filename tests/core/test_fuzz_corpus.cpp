// Replays every file of the fuzz corpus (tests/fuzz/corpus: hostile inputs written by hand and
// what the fuzzer found, docs/testing.md) through the YAML config loader: each must load or
// raise ConfigError / DataError, never another exception or a crash, within a memory cap and
// a time limit (each load runs in a capped child).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/bounded_run.hpp"
#include "core/config_tree.hpp"

using namespace cimkit;
using cimkit::testing::run_bounded;

namespace {

std::vector<std::string> corpus_files() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(CIMKIT_FUZZ_CORPUS_DIR)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool acceptable(const std::string& result) {
  return result == "loaded" || result.rfind("ConfigError: ", 0) == 0 ||
         result.rfind("DataError: ", 0) == 0;
}

}  // namespace

TEST(FuzzCorpus, EveryInputLoadsOrRaisesAConfigOrDataError) {
  const std::vector<std::string> files = corpus_files();
  ASSERT_GE(files.size(), 40u) << "corpus missing at " << CIMKIT_FUZZ_CORPUS_DIR;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    // As a file (size and file-type checks, then the text) and as text (as --set values and
    // embedded configs are read).
    const std::string as_file = run_bounded([&] { load_yaml_file(path); }, 20);
    EXPECT_TRUE(acceptable(as_file)) << as_file;
    const std::string as_text = run_bounded([&] {
      std::ifstream in(path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      const ConfigNode root = load_yaml_string(ss.str(), path);
      // What loaded must write back as YAML that loads to the same tree.
      const std::string written = to_yaml(root);
      if (written.size() > YamlLimits::max_bytes) return;  // aliases expanded past the limit
      std::string again;
      try {
        again = to_yaml(load_yaml_string(written, "written.yaml"));
      } catch (const ConfigError& e) {
        throw std::runtime_error(std::string("to_yaml output does not load: ") + e.what());
      }
      if (again != written) throw std::runtime_error("to_yaml output reads back as another tree");
    }, 20);
    EXPECT_TRUE(acceptable(as_text)) << as_text;
  }
}

TEST(FuzzCorpus, TheHostileInputsAreRejected) {
  // The hand-written hostile inputs must not load (a loader that accepted everything would
  // pass the replay above).
  for (const char* name : {"alias_bomb.yaml", "alias_big_scalar.yaml", "alias_cycle_list.yaml",
                           "alias_cycle_map.yaml", "tab_indent_map.yaml", "random_bytes.bin",
                           "nul_bytes.yaml", "invalid_utf8.yaml", "deep_flow_lists.yaml",
                           "deep_flow_maps.yaml", "deep_block_maps.yaml", "nested_65.yaml",
                           "duplicate_keys.yaml", "unterminated_flow.yaml", "top_level_list.yaml"}) {
    const std::string path = std::string(CIMKIT_FUZZ_CORPUS_DIR) + "/" + name;
    const std::string result = run_bounded([&] { load_yaml_file(path); }, 20);
    EXPECT_EQ(result.rfind("ConfigError: " + path + ":", 0), 0u) << result;
  }
}
