// The YAML config loader on hostile input: alias bombs and cycles, tabs, binary data, deep
// nesting, directories and oversized files each stop with a message naming the file, the line
// and the limit, in bounded memory and time (loads that could blow up run in a capped child).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/bounded_run.hpp"
#include "core/config_tree.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
using cimkit::testing::run_bounded;

namespace {

std::string scratch_file(const std::string& name, const std::string& bytes) {
  const std::string path = cimkit::testing::fresh_dir("core", "bounds_" + name) + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string load_file(const std::string& path) {
  return run_bounded([&] { load_yaml_file(path); });
}

std::string load_text(const std::string& text, const std::string& name = "t.yaml") {
  return run_bounded([&] { load_yaml_string(text, name); });
}

// Nine levels of nine aliases: under 400 bytes that expand to 9^9 (387 million) scalars.
std::string alias_bomb() {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    text += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) text += std::string(i ? ", " : "") + "*" + char(c - 1);
    text += "]\n";
  }
  return text;
}

const std::string kAliasHint =
    "; each use of an alias (*name) counts as a copy of what its anchor (&name) holds";

}  // namespace

TEST(ConfigBounds, AliasBombStopsAtTheValueLimitNamingFileLineAndKey) {
  const std::string text = alias_bomb();
  ASSERT_LT(text.size(), 400u);
  const std::string path = scratch_file("bomb.yaml", text);
  // a..e expand to 74 733 values with the root; f (line 6) would add 597 871.
  EXPECT_EQ(load_file(path), "ConfigError: " + path + ":6: f: more than " +
                                 std::to_string(YamlLimits::max_values) +
                                 " values (scalars, lists and maps) in the config" + kAliasHint);
}

TEST(ConfigBounds, AliasesOfABigScalarStopAtTheTextLimit) {
  const std::string text = "a: &a " + std::string(60000, 'x') + "\nb: [" + [] {
    std::string uses;
    for (int i = 0; i < 100; ++i) uses += std::string(i ? ", " : "") + "*a";
    return uses;
  }() + "]\n";
  ASSERT_LT(text.size(), YamlLimits::max_bytes);
  EXPECT_EQ(load_text(text, "big.yaml"),
            "ConfigError: big.yaml:2: b: more than " + std::to_string(YamlLimits::max_text_bytes) +
                " bytes of keys and values in the config" + kAliasHint);
}

TEST(ConfigBounds, AnAliasInsideItsOwnAnchorIsACycle) {
  EXPECT_EQ(load_text("a: &a [1, *a]\n", "cyc.yaml"),
            "ConfigError: cyc.yaml:1: a: an alias refers to a list or map that contains it (a cycle)");
  EXPECT_EQ(load_text("x: 1\nm: &m {b: 1, c: *m}\n", "cyc.yaml"),
            "ConfigError: cyc.yaml:2: m: an alias refers to a list or map that contains it (a cycle)");
  // The same through --set.
  EXPECT_EQ(run_bounded([] {
              ConfigNode root = ConfigNode::map();
              apply_override(root, "chip.x=&a [*a]");
            }),
            "ConfigError: --set: chip.x: malformed value '&a [*a]': an alias refers to a list or "
            "map that contains it (a cycle)");
  // Aliases that do not contain themselves still load.
  EXPECT_EQ(load_text("d: &d {impl: ideal}\nchip: {device: *d, adc: [*d, *d]}\n"), "loaded");
}

TEST(ConfigBounds, TabsInIndentationAreNamed) {
  const std::string msg = ": tabs are not allowed in YAML indentation; indent with spaces";
  EXPECT_EQ(load_text("chip:\n\tadc: 1\n"), "ConfigError: t.yaml:2" + msg);
  EXPECT_EQ(load_text("chip:\n  adc: 1\n\tdac: 2\n"), "ConfigError: t.yaml:3" + msg);
  EXPECT_EQ(load_text("\tchip: 1\n"), "ConfigError: t.yaml:1" + msg);
  EXPECT_EQ(load_text("a:\n  - 1\n\t- 2\n"), "ConfigError: t.yaml:3" + msg);
  const std::string path = scratch_file("tabs.yaml", "x: 1\nchip:\n\tadc: 1\n");
  EXPECT_EQ(load_file(path), "ConfigError: " + path + ":3" + msg);
  // A tab inside a block scalar, after its indentation, is text and loads.
  EXPECT_EQ(load_text("text: |\n  line\n  \ttabbed\n"), "loaded");
}

TEST(ConfigBounds, BinaryDataIsNotText) {
  const std::string nul = scratch_file("nul.yaml", std::string("chip:\n  adc: 1\0\0\n", 17));
  EXPECT_EQ(load_file(nul), "ConfigError: " + nul +
                                ":2: the file is not text (YAML expected): byte 14 (0x00) is a NUL byte");
  std::string random;
  for (int i = 0; i < 512; ++i) random += char((i * 197 + 31) % 256);
  const std::string bin = scratch_file("random.bin", random);
  EXPECT_EQ(load_file(bin), "ConfigError: " + bin +
                                ":1: the file is not text (YAML expected): byte 0 (0x1F) is a control character");
  EXPECT_EQ(load_text("name: caf\xe9\n"),
            "ConfigError: t.yaml:1: the input is not text (YAML expected): byte 9 (0xE9) is not valid UTF-8");
  // UTF-8 itself (a byte order mark, accents) is text.
  EXPECT_EQ(load_text("\xef\xbb\xbfname: caf\xc3\xa9\n"), "loaded");
}

TEST(ConfigBounds, DeepNestingStopsWithoutOverflowingTheStack) {
  const std::string deep = "nesting deeper than " + std::to_string(YamlLimits::max_depth) +
                           " levels of lists and maps";
  EXPECT_EQ(load_text(std::string(100000, '['), "deep.yaml"), "ConfigError: deep.yaml:1: " + deep);
  std::string maps;
  for (int i = 0; i < 20000; ++i) maps += "{a: ";
  EXPECT_EQ(load_text(maps, "deep.yaml"), "ConfigError: deep.yaml:1: " + deep);
  std::string block;
  for (int i = 0; i < 300; ++i) block += std::string(i, ' ') + "k:\n";
  EXPECT_EQ(load_text(block, "deep.yaml"), "ConfigError: deep.yaml:65: k: " + deep + kAliasHint);
  // Exactly the limit loads: the top-level map and 63 lists inside it.
  const int inner = YamlLimits::max_depth - 1;
  EXPECT_EQ(load_text("a: " + std::string(inner, '[') + std::string(inner, ']') + "\n"), "loaded");
  EXPECT_EQ(load_text("a: " + std::string(inner + 1, '[') + std::string(inner + 1, ']') + "\n"),
            "ConfigError: t.yaml:1: a: " + deep + kAliasHint);
}

TEST(ConfigBounds, DirectoriesAndOversizedFilesAreRefused) {
  const std::string dir = cimkit::testing::fresh_dir("core", "bounds_dir");
  EXPECT_EQ(load_file(dir), "DataError: " + dir + ": is a directory, expected a config file");
  EXPECT_EQ(load_file(dir + "/missing.yaml"),
            "DataError: " + dir + "/missing.yaml: no such file (expected a config file)");
  const std::string big = std::string("a: ") + std::string(YamlLimits::max_bytes, 'x') + "\n";
  const std::string path = scratch_file("big.yaml", big);
  EXPECT_EQ(load_file(path), "DataError: " + path + ": is " + std::to_string(big.size()) +
                                 " bytes, more than the " + std::to_string(YamlLimits::max_bytes) +
                                 " bytes allowed for a config file");
  EXPECT_EQ(load_text(big, "big.yaml"),
            "ConfigError: big.yaml: the input is " + std::to_string(big.size()) +
                " bytes, more than the " + std::to_string(YamlLimits::max_bytes) +
                " bytes allowed for a YAML config");
}

TEST(ConfigBounds, AMapOfManyKeysLoadsInLinearTime) {
  // 90 000 distinct keys, just under the size limit: a search per insertion would make this
  // quadratic (4e9 key comparisons).
  std::string text;
  for (int i = 0; i < 90000; ++i) text += "k" + std::to_string(i) + ": 1\n";
  ASSERT_LT(text.size(), YamlLimits::max_bytes);
  EXPECT_EQ(run_bounded([&] {
              const ConfigNode root = load_yaml_string(text, "keys.yaml");
              if (root.items().size() != 90000) throw std::runtime_error("keys lost");
            }, 10),
            "loaded");
}
