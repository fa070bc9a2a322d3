// The cost model: a one-layer toy priced by hand, agreement of its action counts with the
// crossbar engine's, MNSIM's published conventions (PE area, vgg8's PE count and layer-0
// latencies), monotonic behaviour, duplication, and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "cost/cost_model.hpp"
#include "crossbar/engine.hpp"
#include "mapping/network.hpp"
#include "support/scratch.hpp"

namespace cimkit::cost {
namespace {

const std::string kNets = CIMKIT_NETWORKS_DIR;

mapping::NetworkShape net_of(const std::string& name) { return mapping::load_layer_list(kNets + "/mnsim/" + name + ".yaml"); }

// One PE level (2 PEs per tile), one tile level (3 tiles), chip: every number chosen for hand
// arithmetic.
const char* kToyArch = R"(
technology_nm: 40
clock_ghz: 1
timing: {array_read_ns: 10, overlap_adc: true, pipeline: true, digital_cycles: 1}
levels:
  - name: pe
    count: 2
    components:
      - {name: adc, bits: 4, rate_gsps: 1, count: 1, energy_pj: 1, area_mm2: 0.001}
      - {name: dac, bits: 1, count: 8, energy_pj: 0.1, area_mm2: 0.0001}
      - {name: crossbar, rows: 8, cols: 8, count: 1, area_mm2: 0.002}
  - name: tile
    count: 3
    components:
      - {name: buffer, count: 1, energy_pj: 10, width_bits: 64, area_mm2: 0.05}
  - name: chip
    count: 1
    components:
      - {name: io, role: other, count: 1, area_mm2: 1}
)";

ChipParams toy_chip() {
  ChipParams c;
  c.spec.rows = 8;
  c.spec.cols = 8;
  c.spec.cell_bits = 1;
  c.spec.weight_bits = 4;  // differential: 3 magnitude slices x 2 polarities
  c.spec.input_bits = 4;   // 4 one-bit input slices
  c.dac_bits = 1;
  c.adc_bits = 4;
  c.read_voltage_v = 0.2;
  c.t_read_s = 10e-9;
  c.g_on_s = 10e-6;
  c.g_off_s = 1e-6;
  return c;
}

mapping::NetworkShape toy_net() {
  mapping::NetworkShape n;
  n.name = "toy";
  n.input = {12, 1, 1};
  mapping::WeightLayer l;
  l.name = "fc";
  l.kind = "linear";
  l.in_features = 12;
  l.out_features = 2;
  l.vectors = 5;
  l.input = {12, 1, 1};
  l.output = {2, 1, 1};
  n.layers.push_back(l);
  return n;
}

TEST(CostModel, OneLayerToyByHand) {
  const Architecture arch = Architecture::from_config(load_yaml_string(kToyArch, "toy_arch.yaml"));
  const CostModel cm(arch, toy_chip());
  const CostReport r = cm.evaluate(toy_net());
  ASSERT_EQ(r.layers.size(), 1u);
  const LayerCost& l = r.layers[0];
  // Geometry: 12 rows -> 2 row tiles of 8; 3 slices x 2 polarities x 2 outputs = 12 columns ->
  // 2 arrays per row tile; 4 arrays in 4 PEs (1 array each) in 2 tiles (2 PEs each).
  EXPECT_EQ(l.arrays, 4);
  EXPECT_EQ(l.pes, 4);
  EXPECT_EQ(l.tiles, 2);
  // Actions per inference: DAC = V S in A_tile = 5*4*12*2; ADC = V S T G out = 5*4*2*6*2.
  EXPECT_EQ(l.dac_conversions, 480);
  EXPECT_EQ(l.adc_conversions, 480);
  EXPECT_EQ(l.array_reads, 5 * 4 * 4);
  // Energy: DAC 480 x 0.1 pJ; ADC 480 x 1 pJ; buffer ceil(5*12*4/64) + ceil(5*2*4/64) = 5
  // accesses x 10 pJ; array: DAC drives x activity x V^2 x t x cells per row x mean G
  // = 480 x 0.5 x 0.04 x 10 ns x 6 x 5.5 uS.
  const double e_array = 480 * 0.5 * 0.04 * 10e-9 * 6 * 5.5e-6;
  EXPECT_NEAR(r.components.at("pe.dac").energy_j, 48e-12, 1e-18);
  EXPECT_NEAR(r.components.at("pe.adc").energy_j, 480e-12, 1e-18);
  EXPECT_NEAR(r.components.at("tile.buffer").energy_j, 50e-12, 1e-18);
  EXPECT_NEAR(r.components.at("pe.crossbar").energy_j, e_array, 1e-18);
  EXPECT_NEAR(r.totals.energy_j, 48e-12 + 480e-12 + 50e-12 + e_array, 1e-17);
  // Latency: a slice is max(10 ns read, 8 columns x 1 ns conversion) = 10 ns; 4 slices per
  // vector, 5 vectors, plus one 1 ns digital cycle.
  EXPECT_NEAR(l.latency_s, 5 * 4 * 10e-9 + 1e-9, 1e-15);
  EXPECT_NEAR(r.totals.latency_s, 201e-9, 1e-15);
  // Area: 2 tiles x (buffer + 2 PEs x (ADC + 8 DACs + crossbar)) + the chip's io block.
  const double pe = 0.001 + 8 * 0.0001 + 0.002, tile = 0.05 + 2 * pe;
  EXPECT_NEAR(l.area_m2 * 1e6, 2 * tile, 1e-12);
  EXPECT_NEAR(r.totals.area_m2 * 1e6, 2 * tile + 1, 1e-9);
  EXPECT_NEAR(r.totals.chip_area_m2 * 1e6, 3 * tile + 1, 1e-9);
  // Derived figures.
  const double ops = 2.0 * 12 * 2 * 5;
  EXPECT_DOUBLE_EQ(r.totals.edp_js, r.totals.energy_j * r.totals.latency_s);
  EXPECT_NEAR(r.totals.tops_per_w, ops / r.totals.energy_j / 1e12, 1e-9);
  EXPECT_NEAR(r.totals.tops, ops / 201e-9 / 1e12, 1e-12);

  // Serial ADC: a slice is 10 + 8 = 18 ns.
  Architecture serial = Architecture::from_config(
      load_yaml_string(std::string(kToyArch).replace(std::string(kToyArch).find("overlap_adc: true"), 17, "overlap_adc: false"),
                       "toy_serial.yaml"));
  EXPECT_NEAR(CostModel(serial, toy_chip()).evaluate(toy_net()).totals.latency_s, 5 * 4 * 18e-9 + 1e-9, 1e-15);
}

TEST(CostModel, CountsEqualTheEngines) {
  // The cost model's shape-only action counts are the engine's for a real MVM.
  const auto chip = Chip::from_config(
      load_yaml_string("crossbar: {rows: 16, cols: 16, cell_bits: 2, weight_bits: 6, input_bits: 5}\n"
                       "device: {impl: ideal}\ndac: {impl: linear, bits: 2}\nadc: {impl: linear, bits: 8}\n",
                       "chip.yaml"),
      "chip");
  const int64_t out = 7, in = 37, n = 3;
  torch::manual_seed(3);
  CrossbarLayer layer(chip, torch::randn({out, in}), CrossbarLayer::Options{});
  const MvmResult res = layer.forward(torch::rand({n, in}));
  mapping::NetworkShape net = toy_net();
  net.layers[0].in_features = in;
  net.layers[0].out_features = out;
  net.layers[0].vectors = n;
  const CostModel cm(Architecture::preset("thermal_quant"), ChipParams::from_chip(*chip));
  const LayerCost l = cm.evaluate(net).layers[0];
  EXPECT_EQ(l.dac_conversions, res.counts.dac_conversions);
  EXPECT_EQ(l.adc_conversions, res.counts.adc_conversions);
  EXPECT_EQ(l.array_reads, res.counts.array_activations);
  EXPECT_EQ(l.arrays, layer.mapping().n_arrays);
  // The engine's measured read energy replaces the shape estimate when given.
  CostOptions o;
  o.layers["fc"].read_energy_j = res.counts.read_energy_j() / n;
  const CostReport measured = CostModel(Architecture::preset("thermal_quant"), ChipParams::from_chip(*chip), o).evaluate(net);
  EXPECT_TRUE(measured.layers[0].measured_read_energy);
  EXPECT_DOUBLE_EQ(measured.components.at("pe.crossbar").energy_j, res.counts.read_energy_j() / n);
}

TEST(CostModel, MnsimConventions) {
  const CostModel cm = CostModel::from_config(nullptr, nullptr, {});  // thermal_quant default
  EXPECT_EQ(cm.architecture().name(), "thermal_quant");
  ConfigNode arch = ConfigNode::map({"t", 0});
  arch.set("preset", ConfigNode::scalar("mnsim", {"t", 0}));
  const CostModel m = CostModel::from_config(&arch, nullptr, {});
  EXPECT_EQ(m.chip().spec.rows, 256);
  EXPECT_EQ(m.chip().adc_bits, 6);
  const CostReport r = m.evaluate(net_of("vgg8"));
  // MNSIM's printed "Total crossbar number" for vgg8 is its PE count: 8+40+40+80+160+304+608+32
  // (mnsim.md §3.1); physical crossbars are twice that (positive and negative).
  ASSERT_EQ(r.layers.size(), 8u);
  const std::vector<int64_t> pes = {8, 40, 40, 80, 160, 304, 608, 32};
  for (size_t i = 0; i < pes.size(); ++i) EXPECT_EQ(r.layers[i].pes, pes[i]) << r.layers[i].name;
  EXPECT_EQ(r.totals.n_pes, 1272);
  EXPECT_EQ(r.totals.n_arrays, 2544);
  // Layer 0 (r = 27 rows, c = 128 columns): multiple_time 9; per pixel DAC 27 ns, ADC 72 ns,
  // crossbar 9 x 3.160013 ns, over 1024 pixels: 27 648 / 73 728 / 29 123 ns as MNSIM prints.
  EXPECT_NEAR(r.layers[0].components.at("dac").busy_s * 1e9, 27648, 0.5);
  EXPECT_NEAR(r.layers[0].components.at("adc").busy_s * 1e9, 73728, 0.5);
  EXPECT_NEAR(r.layers[0].components.at("crossbar").busy_s * 1e9, 29123, 0.5);
  // MNSIM's default PE: 1 030 048 um^2 (crossbars 777 544, ADCs 211 200, DACs 21, digital 703,
  // a 0.5 KB line buffer in the 2 KB SRAM bin, 40 580; mnsim.md §2.4, §2.6).
  EXPECT_NEAR(r.reference["mnsim_derived"]["pe_area_m2"].get<double>() * 1e12, 1030048.0, 2.0);
  EXPECT_LE(r.reference["mnsim_derived"]["pe_input_buffer_kb"].get<double>(), 2.0);
  EXPECT_GT(r.components.at("pe_input_buffer").energy_j, 0.0);
  EXPECT_GT(r.components.at("tile_output_buffer").energy_j, 0.0);
  EXPECT_NEAR(r.reference["mnsim_derived"]["cell_read_power_w"].get<double>(), 7.576e-8, 0.001e-8);
}

TEST(CostModel, MonotonicAndDuplication) {
  const mapping::NetworkShape net = net_of("resnet18");
  auto with = [&](int adc_bits, int64_t rows, const mapping::NetworkShape& n) {
    ChipParams c = CostModel::from_config(nullptr, nullptr, {}).chip();
    c.adc_bits = adc_bits;
    c.spec.rows = c.spec.cols = rows;
    return CostModel(Architecture::preset("thermal_quant"), c).evaluate(n);
  };
  const CostReport a4 = with(4, 128, net), a6 = with(6, 128, net), a8 = with(8, 128, net), a10 = with(10, 128, net);
  EXPECT_LT(a4.components.at("pe.adc").energy_j, a6.components.at("pe.adc").energy_j);
  EXPECT_LT(a6.components.at("pe.adc").energy_j, a8.components.at("pe.adc").energy_j);
  EXPECT_LT(a8.components.at("pe.adc").energy_j, a10.components.at("pe.adc").energy_j);
  EXPECT_LT(a8.totals.area_m2, a10.totals.area_m2);
  // Larger arrays -> fewer arrays (alexnet: small enough for 64x64 arrays on 256 tiles).
  const mapping::NetworkShape alex = net_of("alexnet");
  const CostReport r64 = with(8, 64, alex), r128 = with(8, 128, alex), r256 = with(8, 256, alex);
  EXPECT_GT(r64.totals.n_arrays, r128.totals.n_arrays);
  EXPECT_GT(r128.totals.n_arrays, r256.totals.n_arrays);
  // More tiles used -> more area: vgg16 needs more tiles than vgg8.
  const CostModel tq = CostModel::from_config(nullptr, nullptr, {});
  const CostReport v8 = tq.evaluate(net_of("vgg8")), v16 = tq.evaluate(net_of("vgg16"));
  EXPECT_NE(v8.totals.n_tiles, v16.totals.n_tiles);
  EXPECT_EQ(v8.totals.n_tiles < v16.totals.n_tiles, v8.totals.area_m2 < v16.totals.area_m2);
  // Balancing by duplication shortens the pipeline interval and uses more tiles.
  CostOptions bal;
  bal.duplication = "balance";
  const CostReport b = CostModel(tq.architecture(), tq.chip(), bal).evaluate(net_of("vgg8"));
  EXPECT_LT(b.totals.interval_s, v8.totals.interval_s / 2);
  EXPECT_GT(b.totals.n_tiles, v8.totals.n_tiles);
  EXPECT_LE(b.totals.n_tiles, 256);
  EXPECT_NEAR(b.totals.energy_j, v8.totals.energy_j, 0.01 * v8.totals.energy_j);  // same work, more copies

  // Shared tiles pack the layers' PEs: fewer tiles, less area, the same energy.
  auto arch_with = [](const std::string& extra) {
    ConfigNode a = load_yaml_string("preset: thermal_quant\n" + extra, "arch.yaml");
    return Architecture::from_config(a, "arch");
  };
  const CostReport shared = CostModel(arch_with("share_tiles: true\n"), tq.chip()).evaluate(net_of("vgg8"));
  EXPECT_LT(shared.totals.n_tiles, v8.totals.n_tiles);
  EXPECT_LT(shared.totals.area_m2, v8.totals.area_m2);
  EXPECT_DOUBLE_EQ(shared.totals.energy_j, v8.totals.energy_j);
  // A slower ADC: conversions take longer (the latency grows once they outlast the 100 ns read),
  // the energy per conversion stays.
  const CostReport slow = CostModel(arch_with("adc_rate_gsps: 0.32\n"), tq.chip()).evaluate(net_of("vgg8"));
  EXPECT_GT(slow.totals.latency_s, 3 * v8.totals.latency_s);
  EXPECT_DOUBLE_EQ(slow.components.at("pe.adc").energy_j, v8.components.at("pe.adc").energy_j);
}

TEST(CostModel, ErrorsSayWhatAndHowMuch) {
  const std::string small = std::string(kToyArch);
  const Architecture arch = Architecture::from_config(load_yaml_string(small, "toy_arch.yaml"));
  mapping::NetworkShape big = toy_net();
  big.layers[0].in_features = 200;
  const std::string e = testing::error_of([&] { CostModel(arch, toy_chip()).evaluate(big); });
  EXPECT_HAS(e, "does not fit");
  EXPECT_HAS(e, "tiles short");
  EXPECT_HAS(testing::error_of([&] {
               Architecture::from_config(load_yaml_string("technology_nm: 40\nclock_ghz: 1\nconventions: mnsims\n", "a.yaml"));
             }),
             "did you mean 'mnsim'");
  EXPECT_HAS(testing::error_of([&] {
               Architecture::from_config(load_yaml_string(
                   "technology_nm: 40\nclock_ghz: 1\nconventions: mnsim\nmnsim: {adc_num: 0}\n", "a.yaml"));
             }),
             "arch.mnsim.adc_num");
  EXPECT_HAS(testing::error_of([&] {
               Architecture::from_config(load_yaml_string(
                   "technology_nm: 40\nclock_ghz: 1\nlevels:\n  - {name: pe, components: [{name: adc, count: 1}]}\n"
                   "  - {name: chip}\n",
                   "a.yaml"));
             }),
             "needs `bits`");
}

}  // namespace
}  // namespace cimkit::cost
