// The MNSIM conventions against MNSIM 2.0 itself on all five networks of networks/mnsim/, under
// its shipped default config (arch preset `mnsim`) and the ISAAC-like one
// (configs/examples/mnsim_isaac.yaml). Reference: MNSIM 2.0 at ca39ccb, run as
// `python3 main.py -NN <net> -DisAccu [-HWdes SimConfig_isaac.ini]` with random weights (the
// hardware model reads only the structure); the ISAAC-like SimConfig is the shipped one with
// Device_Tech and Transistor_Tech 40, Device_Resistance 2e8 / 2.5974e7, Xbar_Size 128x128,
// Subarray_Size 128 and ADC_Choice 2 (issue 16 §4). Latency (pipelined, MNSIM's mode 1), area
// and energy are MNSIM's to 1e-9 (energy with the line buffer's per-position traffic and the
// pooling layers' buffer energy, as MNSIM counts them; docs/cost.md).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/config_tree.hpp"
#include "cost/cost_model.hpp"
#include "mapping/network.hpp"

namespace cimkit::cost {
namespace {

const std::string kNets = CIMKIT_NETWORKS_DIR;

struct MnsimTotals {
  const char* net;
  bool isaac;
  double energy_nj, latency_ns, area_um2;  // as MNSIM printed them
};

// MNSIM 2.0's printout ("Hardware energy", "Entire latency", "Hardware area").
const MnsimTotals kMnsim[] = {
    {"vgg8", false, 4448843.521209403, 5151851.44571189, 1390330993.5429137},
    {"lenet", false, 6879.476691975574, 341472.4792755227, 60449173.6323006},
    {"alexnet", false, 365333.1252443424, 778465.3017112851, 462004398.47544026},
    {"vgg16", false, 2225907.0456319437, 3575988.0877751987, 2219348231.9287505},
    {"resnet18", false, 1057524.4402433375, 2912177.6479249303, 2128674471.4802997},
    {"vgg8", true, 8073271.565391489, 5288665.312627485, 2806091813.310294},
    {"lenet", true, 14556.005515384695, 355442.3454698944, 46846274.01185799},
    {"alexnet", true, 579714.4181952293, 750571.7460168244, 864313755.51878},
    {"vgg16", true, 4046149.1355126123, 3379487.1931276857, 4455080658.527696},
    {"resnet18", true, 2064906.4392028444, 3037753.8613598137, 4120129799.342911},
};

CostModel model(bool isaac) {
  if (isaac) {
    const ConfigNode cfg = load_yaml_file(kNets + "/../configs/examples/mnsim_isaac.yaml");
    return CostModel::from_config(cfg.find("arch"), cfg.find("chip"), {});
  }
  ConfigNode arch = ConfigNode::map({"t", 0});
  arch.set("preset", ConfigNode::scalar("mnsim", {"t", 0}));
  return CostModel::from_config(&arch, nullptr, {});
}

}  // namespace

TEST(MnsimNetworks, LatencyAreaAndEnergyAreMnsims) {
  for (const MnsimTotals& m : kMnsim) {
    const std::string what = std::string(m.net) + (m.isaac ? " (ISAAC-like)" : " (default)");
    const CostReport r = model(m.isaac).evaluate(mapping::load_layer_list(kNets + "/mnsim/" + m.net + ".yaml"));
    EXPECT_NEAR(r.totals.latency_s * 1e9 / m.latency_ns, 1.0, 1e-9) << what;
    EXPECT_NEAR(r.totals.area_m2 * 1e12 / m.area_um2, 1.0, 1e-9) << what;
    EXPECT_NEAR(r.totals.energy_j * 1e9 / m.energy_nj, 1.0, 1e-9) << what;
  }
}

}  // namespace cimkit::cost
