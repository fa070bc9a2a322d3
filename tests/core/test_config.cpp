// Configuration: loading, merging, overrides, typed validation and the exact error messages.
#include <gtest/gtest.h>

#include "core/config_tree.hpp"
#include "core/params.hpp"
#include "core/text.hpp"

using namespace cimkit;

namespace {

Schema adc_like_schema() {
  Schema s("adc.test", "test schema");
  s.integer("bits", "ADC resolution").range(1, 16).def(int64_t{8});
  s.real("clip_k", "clipping").above(0).def(4.0);
  s.choice("rounding", {"nearest", "floor"}, "rounding").def(std::string("nearest"));
  s.boolean("signed", "signed input").def(false);
  s.real("g_on_us", "LRS conductance").with_unit("uS").above(0).require();
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(Config, ParsesTypedValuesAndDefaults) {
  const ConfigNode n = load_yaml_string("bits: 6\ng_on_us: 38.5\nsigned: true\n", "t.yaml");
  const Params p = parse_params(n, adc_like_schema(), "chip.adc");
  EXPECT_EQ(p.get_int("bits"), 6);
  EXPECT_DOUBLE_EQ(p.get_real("g_on_us"), 38.5);
  EXPECT_TRUE(p.get_bool("signed"));
  EXPECT_EQ(p.get_string("rounding"), "nearest");  // default
  EXPECT_TRUE(p.given("bits"));
  EXPECT_FALSE(p.given("clip_k"));
  EXPECT_EQ(p.loc("bits").line, 1);
  EXPECT_EQ(p.loc("g_on_us").line, 2);
}

TEST(Config, UnknownKeyNamesFileLineAndSuggests) {
  const ConfigNode n = load_yaml_string("bits: 6\nclip_kk: 2\ng_on_us: 1\n", "chip.yaml");
  EXPECT_EQ(error_of([&] { parse_params(n, adc_like_schema(), "chip.adc"); }),
            "chip.yaml:2: chip.adc.clip_kk: unknown key 'clip_kk' (did you mean 'clip_k'?); "
            "allowed keys: bits, clip_k, rounding, signed, g_on_us");
}

TEST(Config, WrongTypeIsReported) {
  const ConfigNode n = load_yaml_string("bits: six\ng_on_us: 1\n", "c.yaml");
  EXPECT_EQ(error_of([&] { parse_params(n, adc_like_schema(), "chip.adc"); }),
            "c.yaml:1: chip.adc.bits: 'six' is not an integer; allowed: an integer in [1, 16]");
  const ConfigNode m = load_yaml_string("bits: 6.5\ng_on_us: 1\n", "c.yaml");
  EXPECT_EQ(error_of([&] { parse_params(m, adc_like_schema(), "chip.adc"); }),
            "c.yaml:1: chip.adc.bits: '6.5' is not an integer; allowed: an integer in [1, 16]");
  const ConfigNode b = load_yaml_string("signed: maybe\ng_on_us: 1\n", "c.yaml");
  EXPECT_EQ(error_of([&] { parse_params(b, adc_like_schema(), "chip.adc"); }),
            "c.yaml:1: chip.adc.signed: 'maybe' is not a bool; allowed: true or false");
  const ConfigNode l = load_yaml_string("bits: [1, 2]\ng_on_us: 1\n", "c.yaml");
  EXPECT_EQ(error_of([&] { parse_params(l, adc_like_schema(), "chip.adc"); }),
            "c.yaml:1: chip.adc.bits: expected a value, found a list; allowed: an integer in [1, 16]");
}

TEST(Config, OutOfRangeIsReported) {
  const ConfigNode n = load_yaml_string("g_on_us: 1\nbits: 40\n", "c.yaml");
  EXPECT_EQ(error_of([&] { parse_params(n, adc_like_schema(), "chip.adc"); }),
            "c.yaml:2: chip.adc.bits: value 40 is out of range; allowed: an integer in [1, 16]");
  const ConfigNode z = load_yaml_string("g_on_us: 0\n", "c.yaml");
  EXPECT_EQ(error_of([&] { parse_params(z, adc_like_schema(), "chip.adc"); }),
            "c.yaml:1: chip.adc.g_on_us: value 0 is out of range; allowed: a real number > 0");
}

TEST(Config, BadChoiceSuggests) {
  const ConfigNode n = load_yaml_string("g_on_us: 1\nrounding: flor\n", "c.yaml");
  EXPECT_EQ(error_of([&] { parse_params(n, adc_like_schema(), "chip.adc"); }),
            "c.yaml:2: chip.adc.rounding: unknown value 'flor' (did you mean 'floor'?); "
            "allowed: one of: nearest, floor");
}

TEST(Config, MissingRequiredValue) {
  const ConfigNode n = load_yaml_string("bits: 4\n", "c.yaml");
  EXPECT_EQ(error_of([&] { parse_params(n, adc_like_schema(), "chip.adc"); }),
            "c.yaml:1: chip.adc.g_on_us: missing required value; allowed: a real number > 0 "
            "(LRS conductance)");
}

TEST(Config, MalformedAndUnreadableFiles) {
  try {
    load_yaml_file("/nonexistent/dir/x.yaml");
    ADD_FAILURE() << "a missing config file loaded";
  } catch (const DataError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/dir/x.yaml: no such file (expected a config file)");
  }
  const std::string msg = error_of([] { load_yaml_string("a: [1, 2\nb: 3\n", "bad.yaml"); });
  EXPECT_NE(msg.find("bad.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed YAML"), std::string::npos) << msg;
  EXPECT_EQ(error_of([] { load_yaml_string("a: 1\nb: 2\na: 3\n", "dup.yaml"); }),
            "dup.yaml:3: a: duplicate key; each key may appear once per map");
}

TEST(Config, MergeAndOverrides) {
  const ConfigNode base = load_yaml_string("chip:\n  adc: {bits: 8, rounding: floor}\n  x: 1\n", "preset.yaml");
  const ConfigNode over = load_yaml_string("chip:\n  adc: {bits: 6}\n", "user.yaml");
  ConfigNode m = merge(base, over);
  EXPECT_EQ(find_path(m, "chip.adc.bits")->value(), "6");
  EXPECT_EQ(find_path(m, "chip.adc.bits")->loc().file, "user.yaml");
  EXPECT_EQ(find_path(m, "chip.adc.rounding")->value(), "floor");
  EXPECT_EQ(find_path(m, "chip.x")->value(), "1");
  apply_override(m, "chip.adc.bits=4");
  apply_override(m, "chip.new.key=hello");
  EXPECT_EQ(find_path(m, "chip.adc.bits")->value(), "4");
  EXPECT_EQ(find_path(m, "chip.adc.bits")->loc().file, "--set");
  EXPECT_EQ(find_path(m, "chip.new.key")->value(), "hello");
  EXPECT_EQ(error_of([&] { apply_override(m, "chip.adc.bits"); }),
            "--set: malformed override 'chip.adc.bits'; expected path.to.key=value");
  EXPECT_EQ(error_of([&] { apply_override(m, "chip.x.y=1"); }),
            "--set: chip.x: cannot set a key inside a scalar");
}

TEST(Config, ResolvedYamlRoundTrips) {
  const ConfigNode n = load_yaml_string("g_on_us: 0.1\nclip_k: 0.30000000000000004\n", "c.yaml");
  const Params p = parse_params(n, adc_like_schema(), "chip.adc");
  const std::string text = to_yaml(p.to_node());
  const Params again = parse_params(load_yaml_string(text, "resolved.yaml"), adc_like_schema(), "chip.adc");
  EXPECT_EQ(again.get_real("clip_k"), 0.30000000000000004);  // bit-exact double round trip
  EXPECT_EQ(again.get_int("bits"), 8);
  EXPECT_EQ(to_yaml(again.to_node()), text);
}

TEST(Config, ToYamlWritesWhatReadsBackAsTheSameTree) {
  // Found by the fuzz target (tests/fuzz/corpus/found_*): yaml-cpp wrote these unquoted, or
  // as a simple key over YAML's 1024 characters, and could not read them back.
  ConfigNode root = ConfigNode::map();
  root.set("cr", ConfigNode::scalar("2:\r"));
  root.set("dots", ConfigNode::scalar("..."));
  root.set("dashes", ConfigNode::scalar("--- x"));
  root.set(std::string(1500, 'k') + "\n", ConfigNode::scalar("long key"));
  const std::string text = to_yaml(root);
  const ConfigNode back = load_yaml_string(text, "written.yaml");
  ASSERT_EQ(back.items().size(), 4u);
  EXPECT_EQ(back.find("cr")->value(), "2:\r");
  EXPECT_EQ(back.find("dots")->value(), "...");
  EXPECT_EQ(back.find("dashes")->value(), "--- x");
  EXPECT_EQ(back.items()[3].first, std::string(1500, 'k') + "\n");
  EXPECT_EQ(to_yaml(back), text);
}

TEST(Config, ChangingImplOrPresetReplacesTheSection) {
  const ConfigNode base = load_yaml_string("adc: {impl: linear, bits: 8}\ndevice: {impl: ideal, g_on_us: 3}\n", "a.yaml");
  const ConfigNode m = merge(base, load_yaml_string("adc: {impl: ideal}\ndevice: {preset: x}\n", "b.yaml"));
  EXPECT_EQ(to_yaml(*m.find("adc")), "impl: ideal\n");
  EXPECT_EQ(to_yaml(*m.find("device")), "preset: x\n");
  const ConfigNode same = merge(base, load_yaml_string("adc: {impl: linear, bits: 6}\n", "c.yaml"));
  EXPECT_EQ(find_path(same, "adc.bits")->value(), "6");
}

TEST(Config, SettingImplOrPresetStartsTheSectionAfresh) {
  ConfigNode root = load_yaml_string("chip:\n  adc: {impl: linear, bits: 8}\n", "a.yaml");
  apply_override(root, "chip.adc.impl=linear");  // same impl: keys stay
  EXPECT_EQ(find_path(root, "chip.adc.bits")->value(), "8");
  apply_override(root, "chip.adc.impl=ideal");
  EXPECT_EQ(to_yaml(*find_path(root, "chip.adc")), "impl: ideal\n");
  apply_override(root, "chip.adc.preset=fast");
  EXPECT_EQ(to_yaml(*find_path(root, "chip.adc")), "preset: fast\n");
}

TEST(Text, DoublesReadBackAsYamlFloats) {
  EXPECT_EQ(format_double(100.0), "100");
  EXPECT_EQ(format_double(0.15), "0.15");
  EXPECT_EQ(format_double(1e-9), "1.0e-09");
  EXPECT_EQ(format_double(2.5e20), "2.5e+20");
}

TEST(Text, DidYouMean) {
  EXPECT_EQ(did_you_mean("reram", {"ideal", "rerams", "pulse"}), "rerams");
  EXPECT_EQ(did_you_mean("qqqqqq", {"ideal", "reram"}), "");
  EXPECT_EQ(edit_distance("adc_bist", "adc_bits"), 1);
}
