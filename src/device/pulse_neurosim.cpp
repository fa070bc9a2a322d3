// NeuroSim's nonlinear pulse-update cell (MLP+NeuroSim V3.0 C++ semantics,
// ../shared/reference/neurosim_crosssim.md §1.1-1.2; curve and sign conventions in
// pulse_device.hpp).
//
//   D2D  each device gets NL + N(0, d2d_nl_std) for LTP and, in a separate draw, for LTD; its
//        A = a(NL) Pmax ("paramA = getParamA(NL + N(0, sigmaDtoD)) * maxNumLevel").
//   pulse  the state P = G^-1(g) of the curve of the pulse direction moves by n, saturating at
//        0 and Pmax (Cell.cpp RealDevice::Write: xPulse = InvNonlinearWeight(G),
//        Gnew = NonlinearWeight(xPulse + numPulse)).
//   C2C  Gnew += N(0, c2c_std (G_max - G_min)) sqrt(|n|): a random walk of one draw per pulse
//        (sigmaCtoC = 0.035 (Gmax - Gmin) in V3.0), then clamp to [G_min, G_max].
// Numerically the curve is written with expm1/log1p so that nearly linear devices (|A| >> Pmax)
// keep float32 precision:
//     G(P) = G_min + (G_max - G_min) expm1(-P/A) / expm1(-Pmax/A)
//     P(G) = -A log1p(u expm1(-Pmax/A)),   u = (G - G_min) / (G_max - G_min).
#include "device/device_model.hpp"
#include "device/pulse_device.hpp"

namespace cimkit {
namespace {

class NeurosimPulseDevice final : public PulseDevice {
 public:
  explicit NeurosimPulseDevice(const Params& p)
      : g_max_s_(1.0 / (p.get_real("r_on_kohm") * 1e3)),
        g_min_s_(g_max_s_ / p.get_real("on_off_ratio")),
        p_max_(p.get_int("max_pulses")),
        nl_ltp_(p.get_real("nl_ltp")),
        nl_ltd_(p.get_real("nl_ltd")),
        c2c_(p.get_real("c2c_std")),
        d2d_nl_(p.get_real("d2d_nl_std")),
        v_ltp_(p.get_real("write_voltage_ltp_v")),
        pw_ltp_s_(p.get_real("write_pulse_ltp_ns") * 1e-9),
        v_ltd_(p.get_real("write_voltage_ltd_v")),
        pw_ltd_s_(p.get_real("write_pulse_ltd_ns") * 1e-9) {}

  // Defaults: the TaOx/HfOx row (Wu, VLSI'18) of MLP+NeuroSim V3.0 Table II
  // (neurosim_crosssim.md §1.3), the device paper 002 trains on; its Ron and on/off also match
  // DNN_NeuroSim_V2.0 Param.cpp (100 kOhm, 10) and its pulse width writePulseWidth = 50 ns.
  static Schema schema() {
    Schema s("pulse_device.neurosim", "NeuroSim nonlinear pulse-update cell: exponential LTP/LTD curves set by nonlinearity labels, D2D on the labels, C2C per pulse.");
    s.real("r_on_kohm", "LRS resistance, G_max = 1/Ron (Table II TaOx/HfOx: 100 kOhm)").with_unit("kOhm").above(0).def(100.0);
    s.real("on_off_ratio", "G_max / G_min (Table II TaOx/HfOx: 10)").above(1).def(10.0);
    s.integer("max_pulses", "Pulses Pmax from G_min to G_max, Table II '# states' (TaOx/HfOx: 128)").range(1, 1000000).def(int64_t{128});
    s.real("nl_ltp", "Nonlinearity label of potentiation; > 0 concave (Table II TaOx/HfOx: 0.04)").range(-kMaxNonlinearity, kMaxNonlinearity).def(0.04);
    s.real("nl_ltd", "Nonlinearity label of depression; < 0 for the usual asymmetric device (Table II TaOx/HfOx: -0.63)").range(-kMaxNonlinearity, kMaxNonlinearity).def(-0.63);
    s.real("c2c_std", "Cycle-to-cycle sigma per pulse as a fraction of G_max - G_min (Table II TaOx/HfOx: 3.7 %)").range(0, 1).def(0.037);
    // DNN+NeuroSim V2.x train.py d2dVari = 0.0.
    s.real("d2d_nl_std", "Device-to-device sigma of the nonlinearity labels, in NL units (NeuroSim default 0)").range(0, kMaxNonlinearity).def(0.0);
    s.real("write_voltage_ltp_v", "Potentiation pulse amplitude (Table II TaOx/HfOx: 1.6 V)").with_unit("V").range(-20, 20).def(1.6);
    s.real("write_pulse_ltp_ns", "Potentiation pulse width (Table II TaOx/HfOx: 50 ns)").with_unit("ns").above(0).def(50.0);
    s.real("write_voltage_ltd_v", "Depression pulse amplitude (Table II TaOx/HfOx: 1.6 V as listed)").with_unit("V").range(-20, 20).def(1.6);
    s.real("write_pulse_ltd_ns", "Depression pulse width (Table II TaOx/HfOx: 50 ns)").with_unit("ns").above(0).def(50.0);
    return s;
  }

  double g_min_siemens() const override { return g_min_s_; }
  double g_max_siemens() const override { return g_max_s_; }
  int64_t max_pulses() const override { return p_max_; }
  double write_voltage_ltp_v() const override { return v_ltp_; }
  double write_pulse_ltp_s() const override { return pw_ltp_s_; }
  double write_voltage_ltd_v() const override { return v_ltd_; }
  double write_pulse_ltd_s() const override { return pw_ltd_s_; }

  PulseTraits draw_traits(at::IntArrayRef shape, at::Generator& gen,
                          const torch::TensorOptions& options) const override {
    const auto opt = float_options(options);
    const double p_max = static_cast<double>(p_max_);
    auto a_of = [&](double nl) {
      if (d2d_nl_ == 0.0) return torch::full(shape, norm_a_from_nonlinearity(nl) * p_max, opt);
      const torch::Tensor labels = at::randn(shape, gen, opt.dtype(torch::kFloat64)) * d2d_nl_ + nl;
      return (norm_a_from_nonlinearity(labels) * p_max).to(opt.dtype());
    };
    PulseTraits t;
    t.a_ltp = a_of(nl_ltp_);
    t.a_ltd = a_of(nl_ltd_);
    return t;
  }

  torch::Tensor apply_pulses(const torch::Tensor& g, const torch::Tensor& n_pulses,
                             const PulseTraits& traits, at::Generator& gen) const override {
    const double p_max = static_cast<double>(p_max_);
    const double span = g_max_s_ - g_min_s_;
    const torch::Tensor n = n_pulses.to(g.options());
    const torch::Tensor a = torch::where(n >= 0, traits.a_ltp, traits.a_ltd).to(g.options());
    const torch::Tensor em = torch::expm1(-p_max / a);
    const torch::Tensor u = ((g - g_min_s_) / span).clamp(0.0, 1.0);
    const torch::Tensor state = -a * torch::log1p(u * em);
    const torch::Tensor state_new = (state + n).clamp(0.0, p_max);
    torch::Tensor g_new = torch::expm1(-state_new / a) / em * span + g_min_s_;
    if (c2c_ > 0.0) {
      const torch::Tensor z = at::randn(g_new.sizes(), gen, g_new.options());
      g_new = g_new + z * (c2c_ * span) * n.abs().sqrt();
    }
    // Cells given no pulse keep their conductance exactly (no curve round trip).
    return torch::where(n == 0, g, g_new.clamp(g_min_s_, g_max_s_));
  }

  // NeuroSim V2.1 write-cost count (ProcessingUnit.cpp GetWriteUpdateEstimation): linear,
  // ceil(|dG| / ((G_max - G_min) / Pmax)), ignoring the curve. 1e-3 pulse of slack keeps a
  // change of exactly k steps from rounding up to k + 1 in float32.
  torch::Tensor pulses_needed(const torch::Tensor& g_from,
                              const torch::Tensor& g_to) const override {
    const double step = (g_max_s_ - g_min_s_) / static_cast<double>(p_max_);
    return torch::ceil((g_to - g_from).abs() / step - 1e-3).clamp_min(0.0).to(torch::kInt64);
  }

 private:
  double g_max_s_, g_min_s_;
  int64_t p_max_;
  double nl_ltp_, nl_ltd_, c2c_, d2d_nl_;
  double v_ltp_, pw_ltp_s_, v_ltd_, pw_ltd_s_;
};

}  // namespace
}  // namespace cimkit

CIMKIT_REGISTER(cimkit::PulseDevice, cimkit::NeurosimPulseDevice, "neurosim",
                "NeuroSim nonlinear LTP/LTD pulse-update cell (MLP+NeuroSim V3.0 model)")
