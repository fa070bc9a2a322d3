// Networks onto arrays, PEs and tiles: layer lists, shape tracing, and array counts checked
// against formulas written out here, independently of the code under test.
#include <gtest/gtest.h>

#include <vector>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "mapping/placement.hpp"
#include "nn/shape_trace.hpp"
#include "nn/zoo.hpp"

namespace cimkit::mapping {
namespace {

const std::string kNets = CIMKIT_NETWORKS_DIR;

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

CrossbarSpec spec_128_1bit() {
  CrossbarSpec s;  // 128x128 arrays, 1-bit cells, 8-bit signed weights, differential pairs
  s.rows = 128;
  s.cols = 128;
  s.cell_bits = 1;
  s.weight_bits = 8;
  s.input_bits = 8;
  s.weight_scheme = WeightScheme::Differential;
  s.baseline = Baseline::Cancelled;
  return s;
}

// Arrays of one [out, in] matrix: 7 magnitude slices x 2 polarities per output column, rows in
// tiles of 128.
int64_t arrays_of(int64_t in, int64_t out) { return cdiv(in, 128) * cdiv(out * 7 * 2, 128); }

TEST(LayerList, Vgg16MatchesAnIndependentCount) {
  const NetworkShape net = load_layer_list(kNets + "/mnsim/vgg16.yaml");
  // MNSIM's vgg16: 13 3x3 convs (padding 1) with max-pools after conv 2, 4, 7, 10 on 32x32,
  // then flatten (2x2x512) and one fc to 10 classes.
  const std::vector<int64_t> ch = {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512};
  const std::vector<int64_t> side = {32, 32, 16, 16, 8, 8, 8, 4, 4, 4, 2, 2, 2};
  int64_t arrays = 0, macs = 0, cin = 3;
  for (size_t i = 0; i < ch.size(); ++i) {
    arrays += arrays_of(cin * 9, ch[i]);
    macs += cin * 9 * ch[i] * side[i] * side[i];
    cin = ch[i];
  }
  arrays += arrays_of(2048, 10);
  macs += 2048 * 10;
  ASSERT_EQ(net.layers.size(), 14u);
  EXPECT_EQ(net.layers.back().in_features, 2048);
  EXPECT_EQ(net.macs(), macs);
  const NetworkPlacement p = place_network(net, spec_128_1bit(), 1, Hierarchy{});
  EXPECT_EQ(p.arrays, arrays);
  EXPECT_EQ(p.pes, arrays);  // one array per PE by default
}

TEST(LayerList, Resnet18MatchesAnIndependentCount) {
  const NetworkShape net = load_layer_list(kNets + "/mnsim/resnet18.yaml");
  // MNSIM's resnet18: 3x3 stem 3->64 then max-pool (32 -> 16); four stages of two blocks, each
  // block two 3x3 convs; stages 2-4 start with stride 2 and a 3x3 stride-2 projection conv;
  // flatten 2x2x512 = 2048 -> fc 512 -> fc 10.
  int64_t arrays = arrays_of(27, 64);
  int64_t convs = 1;
  int64_t cin = 64;
  for (int64_t c : {64, 128, 256, 512}) {
    arrays += arrays_of(cin * 9, c) + arrays_of(c * 9, c) + arrays_of(c * 9, c) + arrays_of(c * 9, c);
    convs += 4;
    if (c != 64) {
      arrays += arrays_of(cin * 9, c);
      ++convs;
    }
    cin = c;
  }
  arrays += arrays_of(2048, 512) + arrays_of(512, 10);
  ASSERT_EQ(net.layers.size(), static_cast<size_t>(convs + 2));
  EXPECT_EQ(place_network(net, spec_128_1bit(), 1, Hierarchy{}).arrays, arrays);
  // The projection conv reads the block input (input: [-4]), 16x16x64 -> 8x8x128.
  const WeightLayer& proj = net.layers[7];
  EXPECT_EQ(proj.input.str(), "64x16x16");
  EXPECT_EQ(proj.output.str(), "128x8x8");
}

TEST(Placement, AgreesWithTheEngineAndCountsPesAndTiles) {
  CrossbarSpec s = spec_128_1bit();
  s.baseline = Baseline::ReferenceColumn;
  s.cell_bits = 2;
  const LayerMapping m = plan_mapping(s, 1, 100, 300);
  EXPECT_EQ(m.row_tiles, 3);
  EXPECT_EQ(m.weight_slices, 4);  // 7 magnitude bits in 2-bit cells
  EXPECT_EQ(m.arrays_per_tile, cdiv(100 * 4 * 2, 127));
  NetworkShape net;
  net.name = "two";
  auto linear = [](const std::string& name, int64_t in, int64_t out) {
    WeightLayer l;
    l.name = name;
    l.kind = "linear";
    l.in_features = in;
    l.out_features = out;
    return l;
  };
  net.layers.push_back(linear("a", 300, 100));
  net.layers.push_back(linear("b", 100, 10));
  Hierarchy h;
  h.arrays_per_pe = 4;
  h.pes_per_tile = 2;
  h.tiles = 4;
  const NetworkPlacement p = place_network(net, s, 1, h);
  EXPECT_EQ(p.layers[0].mapping.n_arrays, 3 * 7);
  EXPECT_EQ(p.layers[0].pes, 6);
  EXPECT_EQ(p.layers[0].tiles, 3);
  EXPECT_EQ(p.layers[1].pes, 1);
  EXPECT_EQ(p.tiles, 4);
  h.tiles = 3;
  try {
    place_network(net, s, 1, h);
    FAIL() << "expected a does-not-fit error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs 4 tiles"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1 tiles short"), std::string::npos) << e.what();
  }
  h.share_tiles = true;  // 7 PEs packed: 4 tiles of 2 PEs still needed
  EXPECT_THROW(place_network(net, s, 1, h), Error);
  h.tiles = 4;
  EXPECT_EQ(place_network(net, s, 1, h).tiles, 4);
  // Larger arrays, fewer arrays.
  CrossbarSpec big = s;
  big.rows = big.cols = 256;
  EXPECT_LT(place_network(net, big, 1, Hierarchy{}).arrays, place_network(net, s, 1, Hierarchy{}).arrays);
}

TEST(Placement, PlaceLayerDuplicatesAndKeepsTheLayersOwnWidths) {
  CrossbarSpec s = spec_128_1bit();
  s.baseline = Baseline::ReferenceColumn;
  s.cell_bits = 2;
  Hierarchy h;
  h.arrays_per_pe = 4;
  h.pes_per_tile = 2;
  WeightLayer a;
  a.name = "a";
  a.kind = "linear";
  a.in_features = 300;
  a.out_features = 100;
  // One copy: 3 row tiles x 7 arrays = 21 arrays in 6 PEs of 4, 3 tiles of 2.
  const LayerPlacement one = place_layer(a, s, 1, h);
  EXPECT_EQ(one.arrays, 21);
  EXPECT_EQ(one.pes, 6);
  EXPECT_EQ(one.tiles, 3);
  // Three copies: 63 arrays, ceil(63 / 4) = 16 PEs, 8 tiles, 63 of 64 array slots used; the
  // mapping of one copy is unchanged.
  LayerPlacement three = place_layer(a, s, 1, h, 3);
  EXPECT_EQ(three.duplication, 3);
  EXPECT_EQ(three.mapping.n_arrays, 21);
  EXPECT_EQ(three.arrays, 63);
  EXPECT_EQ(three.pes, 16);
  EXPECT_EQ(three.tiles, 8);
  EXPECT_DOUBLE_EQ(three.pe_utilisation, 63.0 / 64.0);
  set_duplication(three, h, 1);
  EXPECT_EQ(three.pes, one.pes);
  EXPECT_EQ(three.tiles, one.tiles);
  EXPECT_THROW(set_duplication(three, h, 0), Error);
  // Tiles of several layers: whole tiles each, or packed PE by PE when shared.
  EXPECT_EQ(tiles_needed({one, place_layer(a, s, 1, h, 3)}, h), 3 + 8);
  h.share_tiles = true;
  EXPECT_EQ(tiles_needed({one, place_layer(a, s, 1, h, 3)}, h), cdiv(6 + 16, 2));

  // Widths: not given, the spec's (8-bit weights: 7 magnitude bits in 2-bit cells = 4 slices;
  // 8 one-bit input slices); given, the layer's own (4-bit weights: 2 slices; 3 input slices).
  EXPECT_FALSE(a.weight_bits.has_value());
  EXPECT_FALSE(a.input_bits.has_value());
  EXPECT_FALSE(a.adc_bits.has_value());
  EXPECT_EQ(one.weight_bits, 8);
  EXPECT_EQ(one.mapping.weight_slices, 4);
  EXPECT_EQ(one.mapping.input_slices, 8);
  WeightLayer narrow = a;
  narrow.weight_bits = 4;
  narrow.input_bits = 3;
  const LayerPlacement n = place_layer(narrow, s, 1, h);
  EXPECT_EQ(n.weight_bits, 4);
  EXPECT_EQ(n.input_bits, 3);
  EXPECT_EQ(n.mapping.weight_slices, 2);
  EXPECT_EQ(n.mapping.input_slices, 3);
  EXPECT_LT(n.arrays, one.arrays);
  // place_network places every layer the same way, at its own widths.
  NetworkShape net;
  net.name = "mixed";
  net.layers = {a, narrow};
  h.share_tiles = false;
  const NetworkPlacement p = place_network(net, s, 1, h);
  EXPECT_EQ(p.layers[0].arrays, one.arrays);
  EXPECT_EQ(p.layers[1].arrays, n.arrays);
  EXPECT_EQ(p.arrays, one.arrays + n.arrays);
  // A layer list gives no widths: the chip's.
  for (const auto& l : load_layer_list(kNets + "/mnsim/vgg8.yaml").layers) {
    EXPECT_FALSE(l.weight_bits || l.input_bits || l.adc_bits) << l.name;
  }
}

TEST(Trace, ZooModelShapesMatchTheLayerList) {
  nn::ZooOptions zo;
  zo.name = "vgg8";
  zo.in_channels = 3;
  zo.image_size = 32;
  auto model = nn::make_model(zo);
  const NetworkShape traced = nn::trace_network(*model, "vgg8", {3, 32, 32});
  const NetworkShape listed = load_layer_list(kNets + "/mnsim/vgg8.yaml");
  ASSERT_EQ(traced.layers.size(), listed.layers.size());
  for (size_t i = 0; i < listed.layers.size(); ++i) {
    EXPECT_EQ(traced.layers[i].in_features, listed.layers[i].in_features) << i;
    EXPECT_EQ(traced.layers[i].out_features, listed.layers[i].out_features) << i;
    EXPECT_EQ(traced.layers[i].vectors, listed.layers[i].vectors) << i;
  }
  EXPECT_EQ(traced.macs(), listed.macs());
}

TEST(LayerList, ErrorsNameFileLineAndLayer) {
  auto msg = [](const std::string& yaml) {
    try {
      parse_layer_list(load_yaml_string(yaml, "net.yaml"), "net.yaml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  EXPECT_NE(msg("name: x\ninput: {channels: 3, height: 8, width: 8}\nlayers:\n"
                "  - {type: conv, in_channels: 1, out_channels: 4, kernel_size: 3}\n")
                .find("net.yaml:4"),
            std::string::npos);
  EXPECT_NE(msg("input: {channels: 3, height: 8, width: 8}\nlayers:\n  - {type: convv}\n").find("did you mean"),
            std::string::npos);
  EXPECT_NE(msg("input: {channels: 3, height: 4, width: 4}\nlayers:\n"
                "  - {type: conv, in_channels: 3, out_channels: 4, kernel_size: 5}\n")
                .find("does not fit"),
            std::string::npos);
  EXPECT_NE(msg("input: {channels: 2, height: 2, width: 2}\nlayers:\n  - {type: flatten}\n"
                "  - {type: linear, in_features: 9, out_features: 2}\n")
                .find("8 values"),
            std::string::npos);
  EXPECT_NE(msg("input: {channels: 2, height: 2, width: 2}\nlayers:\n  - {type: relu, input: [-3]}\n")
                .find("before the network input"),
            std::string::npos);
}

}  // namespace
}  // namespace cimkit::mapping
