// MNSIM 2.0's conventions against MNSIM's own printout for vgg8
// (../shared/reference/mnsim_vgg8_outputs.md, MNSIM at ca39ccb) under its default config (arch
// preset `mnsim`) and the ISAAC-like one (configs/examples/mnsim_isaac.yaml): the layer list's
// node graph, the spiral tile placement and its hop distances, the per-pixel schedule (every
// node's layer latency and the entire latency) and the area.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "cost/cost_model.hpp"
#include "cost/mnsim_placement.hpp"
#include "mapping/network.hpp"

namespace cimkit::cost {
namespace {

const std::string kNets = CIMKIT_NETWORKS_DIR;

mapping::NetworkShape net_of(const std::string& name) { return mapping::load_layer_list(kNets + "/mnsim/" + name + ".yaml"); }

CostModel mnsim_default() {
  ConfigNode arch = ConfigNode::map({"t", 0});
  arch.set("preset", ConfigNode::scalar("mnsim", {"t", 0}));
  return CostModel::from_config(&arch, nullptr, {});
}

CostModel mnsim_isaac() {
  const ConfigNode cfg = load_yaml_file(kNets + "/../configs/examples/mnsim_isaac.yaml");
  return CostModel::from_config(cfg.find("arch"), cfg.find("chip"), {});
}

using Kind = mapping::NetworkNode::Kind;

TEST(MnsimGraph, LayerListsBecomeMnsimsNodes) {
  // vgg8: 7 convs, 4 pools and the fc in list order; relu and flatten fold into their producer.
  const mapping::NetworkShape v = net_of("vgg8");
  ASSERT_EQ(v.nodes.size(), 12u);
  const std::vector<Kind> kinds = {Kind::Weight, Kind::Weight, Kind::Pool,   Kind::Weight, Kind::Weight, Kind::Pool,
                                   Kind::Weight, Kind::Weight, Kind::Pool,   Kind::Weight, Kind::Pool,   Kind::Weight};
  for (size_t k = 0; k < kinds.size(); ++k) {
    EXPECT_EQ(v.nodes[k].kind, kinds[k]) << k;
    EXPECT_EQ(v.nodes[k].inputs, std::vector<int64_t>{static_cast<int64_t>(k) - 1}) << k;
  }
  EXPECT_EQ(v.nodes[2].name, "pool1");
  EXPECT_EQ(v.nodes[2].layer, 0);
  EXPECT_EQ(v.nodes[2].input.str(), "128x32x32");
  EXPECT_EQ(v.nodes[2].output.str(), "128x16x16");
  EXPECT_EQ(v.nodes[2].stride, 2);
  EXPECT_EQ(v.nodes[11].name, "linear1");
  EXPECT_EQ(v.nodes[11].layer, 7);
  EXPECT_EQ(v.nodes[9].padding, 0);
  // resnet18: element sums read the block's last conv and the block input; a projection reads
  // the add before its block (through the relu).
  const mapping::NetworkShape r = net_of("resnet18");
  int adds = 0;
  for (const auto& n : r.nodes) adds += n.kind == Kind::Add;
  EXPECT_EQ(adds, 8);
  EXPECT_EQ(r.nodes.size(), r.layers.size() + r.pools.size() + 8);
  // conv1, pool1, conv2, conv3, add1 (conv3 + pool1), conv4, conv5, add2 (conv5 + add1),
  // conv6 (stride 2), conv7, conv8 (projection of add2), add3 (conv8 + conv7).
  EXPECT_EQ(r.nodes[4].kind, Kind::Add);
  EXPECT_EQ(r.nodes[4].inputs, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(r.nodes[4].output.str(), "64x16x16");
  EXPECT_EQ(r.nodes[7].inputs, (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(r.nodes[8].inputs, std::vector<int64_t>{7});
  EXPECT_EQ(r.nodes[10].name, "conv8");
  EXPECT_EQ(r.nodes[10].inputs, std::vector<int64_t>{7});
  EXPECT_EQ(r.nodes[11].inputs, (std::vector<int64_t>{10, 9}));
}

TEST(MnsimPlacement, SpiralOrderAndHops) {
  // MNSIM's generate_hui_matrix(4, 4) lists tile ids [[0 1 8 9] [3 2 7 10] [4 5 6 11] [15 14 13 12]].
  const int64_t hui[4][4] = {{0, 1, 8, 9}, {3, 2, 7, 10}, {4, 5, 6, 11}, {15, 14, 13, 12}};
  const std::vector<mnsim::GridPos> order = mnsim::spiral_order(4, 4, 16);
  ASSERT_EQ(order.size(), 16u);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 4; ++c) {
      const auto& g = order[static_cast<size_t>(hui[r][c])];
      EXPECT_TRUE(g.row == r && g.col == c) << hui[r][c];
    }
  // A rectangular grid keeps the spiral's order and skips what is outside: on 2 x 4 tiles the
  // third shell gives (1, 2) and (0, 2) only.
  const std::vector<mnsim::GridPos> wide = mnsim::spiral_order(2, 4, 8);
  ASSERT_EQ(wide.size(), 8u);
  EXPECT_TRUE(wide[4].row == 1 && wide[4].col == 2);
  EXPECT_TRUE(wide[5].row == 0 && wide[5].col == 2);
  EXPECT_TRUE(wide[7].row == 1 && wide[7].col == 3);
  // vgg8's nodes on MNSIM's 64 x 64 tiles: (din, dtr) of every node as MNSIM's TCG computes them
  // (from a re-derivation of MNSIM that reproduces its vgg8 printout to the digit; the layer
  // latencies of MnsimSchedule.Vgg8LatencyAsMnsimPrintsIt depend on every one).
  auto hops_of = [](const std::vector<int64_t>& tiles) {
    std::vector<mnsim::PlacedNode> nodes(tiles.size());
    for (size_t k = 0; k < tiles.size(); ++k) {
      nodes[k].tiles = tiles[k];
      if (k + 1 < tiles.size()) nodes[k].consumers = {static_cast<int64_t>(k) + 1};
    }
    return mnsim::tile_hops(nodes, 64, 64);
  };
  const std::vector<mnsim::Hops> isaac = hops_of({2, 20, 1, 40, 76, 1, 152, 296, 1, 592, 1, 16});
  const std::vector<std::pair<double, double>> want_isaac = {{1, 7},  {4, 2},   {0, 8},  {7, 11}, {15, 3}, {0, 24},
                                                              {17, 24}, {28, 7}, {0, 45}, {34, 8}, {0, 16}, {8, 0}};
  const std::vector<mnsim::Hops> def = hops_of({2, 10, 1, 10, 20, 1, 40, 76, 1, 152, 1, 8});
  const std::vector<std::pair<double, double>> want_def = {{1, 4}, {3, 2},  {0, 4},  {3, 7}, {6, 1}, {0, 9},
                                                            {9, 12}, {13, 3}, {0, 20}, {20, 4}, {0, 8}, {4, 0}};
  for (size_t k = 0; k < 12; ++k) {
    EXPECT_EQ(isaac[k].in_layer, want_isaac[k].first) << k;
    EXPECT_EQ(isaac[k].transfer, want_isaac[k].second) << k;
    EXPECT_EQ(def[k].in_layer, want_def[k].first) << k;
    EXPECT_EQ(def[k].transfer, want_def[k].second) << k;
  }
  // A node whose consumer is an element_sum sends to the global accumulator at the left middle
  // (row 32 of 64): tile 0 sits at (0, 0), 32 hops away; the element_sum sends from its
  // consumer's first tile (tile 1 at (0, 1)): 33.
  std::vector<mnsim::PlacedNode> res(3);
  res[0] = {1, false, {1}};
  res[1] = {0, true, {2}};
  res[2] = {1, false, {}};
  const std::vector<mnsim::Hops> h = mnsim::tile_hops(res, 64, 64);
  EXPECT_EQ(h[0].transfer, 32);
  EXPECT_EQ(h[1].transfer, 33);
  EXPECT_EQ(h[2].transfer, 0);
}

struct Printout {
  double latency_ns, area_um2;
  std::vector<double> layer_latency_ns;  // per node (conv, fc, pooling), 6 significant digits
};

// MNSIM's vgg8 printout (mnsim_vgg8_outputs.md).
const Printout kDefault = {5151851.44571189,
                           1390330993.5429137,
                           {3.50552e+06, 937564, 4390.4, 160269, 190291, 9356.8, 134415, 132191, 21248, 17554.7, 36966.4, 2088.24}};
const Printout kIsaac = {5288665.312627485,
                         2806091813.310294,
                         {4.00893e+06, 664786, 4620.8, 113167, 145983, 11084.8, 128859, 115255, 39047, 14965.5, 40652.8, 1315.54}};

TEST(MnsimArea, Vgg8AsMnsimPrintsIt) {
  // MNSIM prices a (de)mux of ratio 1 as its 2:1 entry (8 transistors, PE.py:207-208): with it
  // the ISAAC-like area (ratio 1) is exact too, not 157 024 um^2 short; the default's is ratio 2.
  for (const auto& [model, want] : {std::pair{mnsim_default(), kDefault}, std::pair{mnsim_isaac(), kIsaac}}) {
    const CostReport r = model.evaluate(net_of("vgg8"));
    EXPECT_NEAR(r.totals.area_m2 * 1e12 / want.area_um2, 1.0, 1e-10) << model.chip().spec.rows;
  }
}

TEST(MnsimSchedule, Vgg8LatencyAsMnsimPrintsIt) {
  // Before the per-pixel schedule and the spiral placement, cimkit's vgg8 latency was +21.4 %
  // (default) and +19.8 % (ISAAC-like) off MNSIM's; now both agree to rounding (1e-9 asserted),
  // and every node's layer latency to the six printed digits.
  for (const auto& [model, want] : {std::pair{mnsim_default(), kDefault}, std::pair{mnsim_isaac(), kIsaac}}) {
    const CostReport r = model.evaluate(net_of("vgg8"));
    const std::string arch = model.chip().spec.rows == 128 ? "isaac" : "default";
    EXPECT_NEAR(r.totals.latency_s * 1e9 / want.latency_ns, 1.0, 1e-9) << arch;
    const nlohmann::json& nodes = r.reference.at("mnsim_schedule");
    ASSERT_EQ(nodes.size(), want.layer_latency_ns.size()) << arch;
    for (size_t k = 0; k < nodes.size(); ++k) {
      EXPECT_NEAR(nodes[k]["layer_latency_s"].get<double>() * 1e9 / want.layer_latency_ns[k], 1.0, 5e-6) << arch << " node " << k;
    }
    // The weight layers' schedule: each starts when its first window is in, ends with its last
    // pixel; the output layer ends the inference.
    for (size_t i = 1; i < r.layers.size(); ++i) {
      EXPECT_GT(r.layers[i].start_s, r.layers[i - 1].start_s) << arch << " " << r.layers[i].name;
      EXPECT_GT(r.layers[i].finish_s, r.layers[i - 1].finish_s) << arch << " " << r.layers[i].name;
    }
    EXPECT_DOUBLE_EQ(r.layers.back().finish_s, r.totals.latency_s) << arch;
    EXPECT_GE(r.totals.interval_s, r.layers[0].latency_s) << arch;
  }
}

TEST(MnsimSchedule, ResidualsDuplicationAndSequentialRuns) {
  const CostModel m = mnsim_default();
  // resnet18: the element sums are scheduled (no tiles), the output layer ends the inference.
  const CostReport r = m.evaluate(net_of("resnet18"));
  int adds = 0;
  for (const auto& n : r.reference.at("mnsim_schedule")) {
    if (n["kind"] == "add") {
      ++adds;
      EXPECT_EQ(n["tiles"].get<int64_t>(), 0);
      EXPECT_GT(n["busy_s"].get<double>(), 0.0);
    }
  }
  EXPECT_EQ(adds, 8);
  EXPECT_DOUBLE_EQ(r.layers.back().finish_s, r.totals.latency_s);
  // Two copies of vgg8's second conv (its bottleneck, 4.3 ms busy) split its rows: each copy is
  // busy about half as long (a little more: a segment's first pixel refills its window, and the
  // shifted placement adds a hop), and the network finishes earlier (4.61 instead of 5.15 ms).
  CostOptions o;
  o.layers["conv2"].duplication = 2;
  const CostReport one = m.evaluate(net_of("vgg8"));
  const CostReport two = CostModel(m.architecture(), m.chip(), o).evaluate(net_of("vgg8"));
  EXPECT_GT(two.layers[1].latency_s / one.layers[1].latency_s, 0.5);
  EXPECT_LT(two.layers[1].latency_s / one.layers[1].latency_s, 0.55);
  EXPECT_LT(two.totals.latency_s, 0.92 * one.totals.latency_s);
  // A network without a node graph (a traced zoo model) is scheduled as the chain of its weight
  // layers, a shrunk map read as a pool between them would: close to the graph's schedule
  // (vgg8 +2.7 %: no pool tiles in the placement, no pool time; resnet18 -3.8 %: no adds).
  for (const char* name : {"vgg8", "resnet18"}) {
    mapping::NetworkShape chain = net_of(name);
    const double graph = m.evaluate(chain).totals.latency_s;
    chain.nodes.clear();
    EXPECT_NEAR(m.evaluate(chain).totals.latency_s / graph, 1.0, 0.05) << name;
  }
  // Without pipelining the layers run one after another for their busy time.
  ConfigNode seq = load_yaml_string("preset: mnsim\ntiming: {pipeline: false}\n", "arch.yaml");
  const CostReport s = CostModel(Architecture::from_config(seq, "arch"), m.chip()).evaluate(net_of("vgg8"));
  double busy = 0;
  for (const auto& l : s.layers) busy += l.latency_s;
  EXPECT_NEAR(s.totals.latency_s / busy, 1.0, 1e-12);
  EXPECT_GT(s.totals.latency_s, one.totals.latency_s);
}

}  // namespace
}  // namespace cimkit::cost
