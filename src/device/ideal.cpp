// Ideal two-terminal cell: every level code programs exactly its nominal conductance, and the
// conductance never changes with time or temperature and reads without noise. The reference
// every non-ideal model is compared against, and the one that enables the integer path.
#include <sstream>

#include "device/device_model.hpp"

namespace cimkit {
namespace {

class IdealDevice final : public DeviceModel {
 public:
  explicit IdealDevice(const Params& p)
      : g_on_s_(p.get_real("g_on_us") * 1e-6), g_off_s_(p.get_real("g_off_us") * 1e-6) {
    if (g_off_s_ >= g_on_s_) {
      std::ostringstream m;
      m << "g_off_us (" << p.get_real("g_off_us") << ") must be below g_on_us ("
        << p.get_real("g_on_us") << "): HRS is the low-conductance state";
      p.fail("g_off_us", m.str());
    }
  }

  static Schema schema() {
    Schema s("device.ideal", "Ideal cell: exact nominal conductance levels, no variation, noise, drift, temperature dependence or faults.");
    // MNSIM 2.0 SimConfig Device_Resistance = 1e6, 1e4 ohm (HRS, LRS): G_on = 1/1e4 ohm = 100 uS
    // (../shared/reference/mnsim.md §1.1).
    s.real("g_on_us", "LRS (highest) conductance; MNSIM 2.0 default 1e4 ohm").with_unit("uS").above(0).def(100.0);
    // Same source: G_off = 1/1e6 ohm = 1 uS.
    s.real("g_off_us", "HRS (lowest) conductance, below g_on_us; MNSIM 2.0 default 1e6 ohm").with_unit("uS").at_least(0).def(1.0);
    return s;
  }

  double g_on_siemens() const override { return g_on_s_; }
  double g_off_siemens() const override { return g_off_s_; }
  bool is_ideal() const override { return true; }
  bool has_read_noise() const override { return false; }

  CellTraits draw_traits(at::IntArrayRef, at::Generator&,
                         const torch::TensorOptions&) const override {
    return {};
  }
  torch::Tensor program(const torch::Tensor& levels, int64_t n_levels, const CellTraits&,
                        at::Generator&, const torch::Tensor& = {}) const override {
    return nominal(levels, n_levels);
  }
  torch::Tensor at_conditions(const torch::Tensor& g_programmed, const CellTraits&,
                              const ReadConditions&) const override {
    return g_programmed;
  }
  torch::Tensor read_noise_std(const torch::Tensor&) const override { return {}; }

 private:
  double g_on_s_, g_off_s_;
};

}  // namespace
}  // namespace cimkit

CIMKIT_REGISTER(cimkit::DeviceModel, cimkit::IdealDevice, "ideal",
                "Ideal cell: exact nominal conductance levels (MNSIM 2.0 default 100 uS / 1 uS)")
