// The binary on config files that are not configs: a directory, tabs, binary data. Each stops
// with exit 2 and a message naming the file, instead of running on defaults or printing
// yaml-cpp's own wording.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "cli/run_cimkit.hpp"
#include "support/scratch.hpp"

using cimkit::testing::CliRun;
using cimkit::testing::run_cimkit;

namespace {

// `cimkit mvm` with the test data's weights and inputs and the given config.
CliRun mvm(const std::string& config, const std::string& out_dir) {
  const std::string data = CIMKIT_TEST_DATA_DIR;
  return run_cimkit("mvm --config " + config + " --weights " + data + "/w_codes.pt --inputs " + data +
                    "/x_codes.pt --out " + out_dir + "/y.pt --integer");
}

std::string write(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST(ConfigFiles, ADirectoryIsNotAConfigFile) {
  const std::string dir = cimkit::testing::fresh_dir("test_cli_config", "dir");
  const CliRun m = mvm(dir, dir);
  EXPECT_EQ(m.code, 2) << m.output;
  EXPECT_HAS(m.output, dir + ": is a directory, expected a config file");
  const CliRun cost = run_cimkit("cost " + dir);
  EXPECT_EQ(cost.code, 2) << cost.output;
  EXPECT_HAS(cost.output, dir + ": is a directory, expected a config file");
}

TEST(ConfigFiles, TabsAndBinaryDataAreNamed) {
  const std::string dir = cimkit::testing::fresh_dir("test_cli_config", "bad");
  const std::string tabs = write(dir, "tabs.yaml", "network:\n\tpreset: resnet18\n");
  const CliRun t = run_cimkit("cost " + tabs);
  EXPECT_EQ(t.code, 2) << t.output;
  EXPECT_HAS(t.output, tabs + ":2: tabs are not allowed in YAML indentation; indent with spaces");
  const std::string bin = write(dir, "weights.yaml", std::string("\x80\x02\x8a\x0a\0\0\0", 7));
  const CliRun b = mvm(bin, dir);
  EXPECT_EQ(b.code, 2) << b.output;
  EXPECT_HAS(b.output, bin + ":1: the file is not text (YAML expected): byte 0 (0x80) is not valid UTF-8");
}
