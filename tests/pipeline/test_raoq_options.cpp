// The `raoq:` section: defaults, and bad values named by file, line and key with what is allowed.
#include <gtest/gtest.h>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "pipeline/raoq.hpp"

using namespace cimkit;

namespace {

pipeline::RaoqOptions parse(const std::string& yaml) {
  const ConfigNode n = load_yaml_string(yaml, "raoq.yaml");
  return pipeline::RaoqOptions::from_params(parse_params(n, pipeline::RaoqOptions::schema(), "raoq"));
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(RaoqOptions, DefaultsAndLists) {
  const auto o = parse("{enabled: true, bitaug_offsets: '-2, 1', lora_layers: 'fc1, fc2'}");
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(o.bitaug_offsets, (std::vector<int>{-2, 1}));
  EXPECT_EQ(o.lora_options.layers, (std::vector<std::string>{"fc1", "fc2"}));
  EXPECT_EQ(parse("{}").bitaug_offsets, (std::vector<int>{-1, 1, 2}));
}

TEST(RaoqOptions, BadValuesNameFileLineAndKey) {
  const std::string zero = error_of("enabled: true\nbitaug_offsets: '-1, 0'\n");
  EXPECT_NE(zero.find("raoq.yaml:2"), std::string::npos) << zero;
  EXPECT_NE(zero.find("raoq.bitaug_offsets"), std::string::npos) << zero;
  EXPECT_NE(zero.find("non-zero integer"), std::string::npos) << zero;
  const std::string repeated = error_of("bitaug_offsets: '1, 1'\n");
  EXPECT_NE(repeated.find("repeated"), std::string::npos) << repeated;
  const std::string word = error_of("bitaug_offsets: 'one'\n");
  EXPECT_NE(word.find("'one'"), std::string::npos) << word;
  const std::string unknown = error_of("kurtosys: 0.1\n");
  EXPECT_NE(unknown.find("did you mean 'kurtosis'"), std::string::npos) << unknown;
  const std::string range = error_of("kurtosis_late_from: 2\n");
  EXPECT_NE(range.find("raoq.kurtosis_late_from"), std::string::npos) << range;
}
