// Multi-level ReRAM cell with every non-ideality configurable and off by default (the defaults
// behave exactly like `ideal`). Effects, in the order the lifecycle of device_model.hpp meets them:
//
//   programming   G = G_t (1 + d2d z_cell + c2c z_prog)                variation_reference = target
//                 G = G_t + (d2d z_cell + c2c z_prog)(G_on - G_off)     variation_reference = range
//                 `target` is the relative-to-target form of MNSIM 2.0 (Device_Variation, sigma as
//                 % of R) and NeuroSim V1.3 inference (G (1 + N(0, vari))); `range` is NeuroSim
//                 V2.x training, sigma as a fraction of the whole conductance range
//                 (../shared/reference/neurosim_crosssim.md §1.2). z_cell is drawn once per cell
//                 (D2D), z_prog at every program() (C2C). G is clamped at 0.
//   stuck-at      one uniform u per cell: u < off -> stuck at G_off, u < off + on -> stuck at
//                 G_on (MNSIM 2.0 Weight_update.py SAF, ../shared/reference/mnsim.md §4.3).
//                 Stuck cells ignore programming; drift and temperature still act on them.
//   drift         G(t) = G (t / t0)^-nu for t > t0, per-cell nu ~ N(drift_nu, drift_nu_std)
//                 clamped at 0: the power law of aihwkit's PCM model (aihwkit.md §2.5).
//   temperature   g^ = clamp((G_prog - G_off) / (G_on - G_off), 0, 1) places a level between HRS
//                 and LRS; G(T) = G max(0, 1 + [a_hrs + (a_lrs - a_hrs) g^](T - T0)
//                                          + g^ a_knee max(0, T - T_knee)).
//                 The linear-alpha surrogate of ../shared/reference/algorithms.md §5.3 with the
//                 coefficient interpolated between HRS and LRS, plus a knee: paper 000 §I and
//                 Fig. 3a report LRS conductance "drops rapidly as temperature increases
//                 especially after 330K, while HRS increases slowly".
//   read noise    sigma_read = read_noise_std |G|, fresh Gaussian at every read.
//   endurance     each cell survives N writes intact, ln N ~ N(ln endurance_cycles,
//                 endurance_spread) per cell (a log-normal lifetime; spread 0: every cell the
//                 median). Paper 001 §II: current ReRAM "endurance reaches up to 10^6 cycles".
//                 Written for the n-th time with n > N, the cell wears (endurance_failure):
//                   stuck_lrs  it stays at G_on: the RESET failure of HfOx 1T1R cells cycled
//                              with a SET stronger than the RESET (Chen et al., IEEE TED 59(12),
//                              2012, "Balancing SET/RESET pulse for >10^10 endurance");
//                   stuck_hrs  it stays at G_off: the SET failure of the opposite imbalance
//                              (same source);
//                   narrow     the window closes towards HRS: G = G_off + (G - G_off) w with
//                              w = max(0, 1 - endurance_window_loss_per_decade log10(n / N)),
//                              the gradual degradation in which the LRS resistance rises as
//                              the filament shrinks ("Statistical assessment of endurance
//                              degradation in high and low resistive states of the HfO2-based
//                              RRAM", 2013, on 1T1R cycling, reports this as the main one); the
//                              loss per decade is illustrative (no fit in ../shared/reference):
//                              set it from your device's cycling data.
//                 Worn cells still drift, heat and read noisily like the others.
//                 endurance_prior_writes: writes every cell has had before first use.
#include <cmath>
#include <sstream>

#include "core/rng.hpp"
#include "device/device_model.hpp"

namespace cimkit {
namespace {

void check_trait(const torch::Tensor& trait, const char* name, const torch::Tensor& levels) {
  if (trait.defined() && trait.sizes() != levels.sizes()) {
    std::ostringstream m;
    m << "device.reram: traits." << name << " has shape " << trait.sizes()
      << " but the levels have shape " << levels.sizes() << " (draw traits with the array shape)";
    throw ShapeError(m.str());
  }
}

class ReramDevice final : public DeviceModel {
 public:
  explicit ReramDevice(const Params& p)
      : g_on_s_(p.get_real("g_on_us") * 1e-6),
        g_off_s_(p.get_real("g_off_us") * 1e-6),
        d2d_(p.get_real("d2d_std")),
        c2c_(p.get_real("c2c_std")),
        range_relative_(p.get_string("variation_reference") == "range"),
        read_std_(p.get_real("read_noise_std")),
        stuck_off_(p.get_real("stuck_off_rate")),
        stuck_on_(p.get_real("stuck_on_rate")),
        nu_(p.get_real("drift_nu")),
        nu_std_(p.get_real("drift_nu_std")),
        t0_s_(p.get_real("drift_t0_s")),
        t_ref_k_(p.get_real("reference_temperature_k")),
        a_lrs_(p.get_real("temp_coeff_lrs_per_k")),
        a_hrs_(p.get_real("temp_coeff_hrs_per_k")),
        knee_k_(p.get_real("temp_knee_k")),
        a_knee_(p.get_real("temp_coeff_lrs_above_knee_per_k")),
        endurance_(p.get_real("endurance_cycles")),
        endurance_spread_(p.get_real("endurance_spread")),
        wear_(p.get_string("endurance_failure")),
        window_loss_(p.get_real("endurance_window_loss_per_decade")),
        prior_writes_(p.get_int("endurance_prior_writes")) {
    if (g_off_s_ >= g_on_s_) {
      std::ostringstream m;
      m << "g_off_us (" << p.get_real("g_off_us") << ") must be below g_on_us ("
        << p.get_real("g_on_us") << "): HRS is the low-conductance state";
      p.fail("g_off_us", m.str());
    }
    if (stuck_off_ + stuck_on_ > 1.0) {
      std::ostringstream m;
      m << "stuck_off_rate + stuck_on_rate = " << stuck_off_ + stuck_on_
        << " exceeds 1 (they are fractions of the same cells)";
      p.fail("stuck_on_rate", m.str());
    }
  }

  static Schema schema() {
    Schema s("device.reram", "Multi-level ReRAM cell: D2D/C2C programming variation, read noise, stuck-at faults, power-law drift and temperature dependence; every effect off by default.");
    // MNSIM 2.0 SimConfig Device_Resistance = 1e6, 1e4 ohm (HRS, LRS) -> 100 uS / 1 uS
    // (../shared/reference/mnsim.md §1.1).
    s.real("g_on_us", "LRS (highest) conductance; MNSIM 2.0 default 1e4 ohm").with_unit("uS").above(0).def(100.0);
    s.real("g_off_us", "HRS (lowest) conductance, below g_on_us; MNSIM 2.0 default 1e6 ohm").with_unit("uS").at_least(0).def(1.0);
    s.real("d2d_std", "Device-to-device sigma (relative, see variation_reference), fixed per cell").range(0, 1).def(0.0);
    s.real("c2c_std", "Cycle-to-cycle sigma (relative, see variation_reference), redrawn at every programming").range(0, 1).def(0.0);
    s.choice("variation_reference", {"target", "range"}, "What D2D/C2C sigma is relative to: the target conductance (MNSIM, NeuroSim inference) or G_on - G_off (NeuroSim training)").def(std::string("target"));
    s.real("read_noise_std", "Read-noise sigma relative to the read conductance, fresh at every read").range(0, 1).def(0.0);
    s.real("stuck_off_rate", "Fraction of cells stuck at G_off (MNSIM 2.0 Device_SAF, there 0.1 %)").range(0, 1).def(0.0);
    s.real("stuck_on_rate", "Fraction of cells stuck at G_on (MNSIM 2.0 Device_SAF, there 0.1 %)").range(0, 1).def(0.0);
    s.real("drift_nu", "Mean drift exponent nu of G(t) = G (t/t0)^-nu").range(0, 1).def(0.0);
    s.real("drift_nu_std", "Per-cell sigma of the drift exponent (nu clamped at 0)").range(0, 1).def(0.0);
    // aihwkit PCMLikeNoiseModel t_0 = 20 s (../shared/reference/aihwkit.md §1.6, §2.5).
    s.real("drift_t0_s", "Drift reference time t0 (no drift before it); aihwkit PCM model 20 s").with_unit("s").above(0).def(20.0);
    // Room temperature, the low end of the ambient range (300-318 K) of the thermal models in
    // ../shared/reference/algorithms.md §5.2.
    s.real("reference_temperature_k", "Temperature T0 at which the nominal conductances hold").with_unit("K").above(0).at_most(1000).def(300.0);
    s.real("temp_coeff_lrs_per_k", "Relative conductance change per kelvin of an LRS cell (negative: LRS falls, paper 000 Fig. 3a)").with_unit("1/K").range(-0.1, 0.1).def(0.0);
    s.real("temp_coeff_hrs_per_k", "Relative conductance change per kelvin of an HRS cell (positive: HRS rises, paper 000 Fig. 3a)").with_unit("1/K").range(-0.1, 0.1).def(0.0);
    // Paper 000 §I: LRS conductance "drops rapidly ... especially after 330K".
    s.real("temp_knee_k", "Temperature above which the extra LRS coefficient applies (paper 000: 330 K)").with_unit("K").above(0).at_most(1000).def(330.0);
    s.real("temp_coeff_lrs_above_knee_per_k", "Extra relative LRS change per kelvin above temp_knee_k").with_unit("1/K").range(-0.1, 0.1).def(0.0);
    // Paper 001 §II: "the endurance reaches up to 10^6 cycles" for current devices.
    s.real("endurance_cycles", "Median writes a cell survives intact (0: unlimited; paper 001: up to 1e6 for current ReRAM)").with_unit("cycles").at_least(0).def(0.0);
    s.real("endurance_spread", "Sigma of ln(endurance) across cells (log-normal; 0: every cell the median)").at_least(0).at_most(10).def(0.0);
    s.choice("endurance_failure", {"narrow", "stuck_lrs", "stuck_hrs"}, "A cell written past its endurance: its window closes towards HRS by endurance_window_loss_per_decade, or it sticks at G_on (RESET failure) or G_off (SET failure); Chen et al., IEEE TED 2012").def(std::string("narrow"));
    s.real("endurance_window_loss_per_decade", "narrow: fraction of the window lost per decade of writes past the cell's endurance (illustrative default; fit it to your cycling data)").range(0, 100).def(1.0);
    s.integer("endurance_prior_writes", "Writes every cell has had before the chip's first programming (an aged chip)").range(0, int64_t{1} << 50).def(int64_t{0});
    return s;
  }

  int64_t initial_writes() const override { return prior_writes_; }

  double g_on_siemens() const override { return g_on_s_; }
  double g_off_siemens() const override { return g_off_s_; }
  double reference_temperature_k() const override { return t_ref_k_; }
  bool has_read_noise() const override { return read_std_ > 0.0; }
  bool is_ideal() const override {
    return d2d_ == 0.0 && c2c_ == 0.0 && read_std_ == 0.0 && !has_faults() && !drifts() &&
           !thermal() && !wears();
  }

  // Each per-cell trait draws from its own stream, derived from the generator's seed and the
  // effect's name, so switching one effect on or off (an ablation) leaves the others' draws
  // unchanged. C2C in program() is the only draw there and consumes the caller's generator.
  static at::Generator stream(const at::Generator& gen, const char* effect, const torch::Device& device) {
    return make_generator(derive_seed(gen.current_seed(), effect), device);
  }

  CellTraits draw_traits(at::IntArrayRef shape, at::Generator& gen,
                         const torch::TensorOptions& options) const override {
    const auto opt = float_options(options);
    CellTraits t;
    if (d2d_ > 0.0) {
      at::Generator g = stream(gen, "d2d", opt.device());
      t.d2d = cimkit::randn(shape, g, opt) * d2d_;
    }
    if (has_faults()) {
      at::Generator g = stream(gen, "stuck", opt.device());
      const torch::Tensor u = cimkit::rand(shape, g, opt);
      t.stuck = torch::zeros(shape, opt.dtype(torch::kInt8));
      t.stuck.masked_fill_(u < stuck_off_ + stuck_on_, 2);
      t.stuck.masked_fill_(u < stuck_off_, 1);
    }
    if (drifts()) {
      at::Generator g = stream(gen, "drift_nu", opt.device());
      t.drift_nu = nu_std_ > 0.0 ? (cimkit::randn(shape, g, opt) * nu_std_ + nu_).clamp_min(0.0)
                                 : torch::full(shape, nu_, opt);
    }
    if (wears()) {
      at::Generator g = stream(gen, "endurance", opt.device());
      const auto f64 = opt.dtype(torch::kFloat64);
      t.endurance = endurance_spread_ > 0.0 ? torch::exp(cimkit::randn(shape, g, f64) * endurance_spread_ + std::log(endurance_))
                                            : torch::full(shape, endurance_, f64);
    }
    return t;
  }

  torch::Tensor program(const torch::Tensor& levels, int64_t n_levels, const CellTraits& traits,
                        at::Generator& gen, const torch::Tensor& writes) const override {
    check_trait(traits.d2d, "d2d", levels);
    check_trait(traits.stuck, "stuck", levels);
    check_trait(traits.endurance, "endurance", levels);
    check_trait(writes, "writes (write counts)", levels);
    torch::Tensor g = nominal(levels, n_levels);
    if (traits.d2d.defined() || c2c_ > 0.0) {
      torch::Tensor dev = traits.d2d.defined() ? traits.d2d : torch::zeros_like(g);
      if (c2c_ > 0.0) {  // fresh at every programming: consume from the caller's generator
        dev = dev + cimkit::randn(g.sizes(), gen, g.options()) * c2c_;
      }
      g = range_relative_ ? g + dev * (g_on_s_ - g_off_s_) : g * (dev + 1.0);
      g = g.clamp_min(0.0);
    }
    // Wear first: a cell with a stuck-at fault does not switch, so it has nothing to wear.
    if (traits.endurance.defined() && writes.defined()) g = wear(g, writes.to(torch::kFloat64), traits.endurance);
    if (traits.stuck.defined()) {
      g = g.masked_fill(traits.stuck == 1, g_off_s_).masked_fill(traits.stuck == 2, g_on_s_);
    }
    return g;
  }

  torch::Tensor at_conditions(const torch::Tensor& g_programmed, const CellTraits& traits,
                              const ReadConditions& c) const override {
    torch::Tensor g = g_programmed;
    const double t_s = c.time_since_program_s;
    if (drifts() && t_s > t0_s_) {
      const double log_ratio = std::log(t_s / t0_s_);
      g = traits.drift_nu.defined() ? g * torch::exp(traits.drift_nu * -log_ratio)
                                    : g * std::exp(-nu_ * log_ratio);
    }
    if (thermal() && c.temperature_k.defined()) {
      const torch::Tensor temp_k = c.temperature_k.to(g.options());
      const torch::Tensor pos =
          ((g_programmed - g_off_s_) / (g_on_s_ - g_off_s_)).clamp(0.0, 1.0);
      const torch::Tensor factor = (pos * (a_lrs_ - a_hrs_) + a_hrs_) * (temp_k - t_ref_k_) +
                                   pos * a_knee_ * (temp_k - knee_k_).clamp_min(0.0) + 1.0;
      g = g * factor.clamp_min(0.0);
    }
    return g;
  }

  torch::Tensor read_noise_std(const torch::Tensor& g_read) const override {
    if (read_std_ == 0.0) return {};
    return g_read.abs() * read_std_;
  }

 private:
  torch::Tensor wear(const torch::Tensor& g, const torch::Tensor& n, const torch::Tensor& endurance) const {
    const torch::Tensor past = n > endurance;
    if (wear_ == "stuck_lrs") return g.masked_fill(past, g_on_s_);
    if (wear_ == "stuck_hrs") return g.masked_fill(past, g_off_s_);
    const torch::Tensor decades = torch::log10(n / endurance).clamp_min(0.0).to(g.scalar_type());
    const torch::Tensor w = (1.0 - window_loss_ * decades).clamp(0.0, 1.0);
    return torch::where(past, (g - g_off_s_) * w + g_off_s_, g);
  }
  bool wears() const { return endurance_ > 0.0; }
  bool has_faults() const { return stuck_off_ + stuck_on_ > 0.0; }
  bool drifts() const { return nu_ > 0.0 || nu_std_ > 0.0; }
  bool thermal() const { return a_lrs_ != 0.0 || a_hrs_ != 0.0 || a_knee_ != 0.0; }

  double g_on_s_, g_off_s_;
  double d2d_, c2c_;
  bool range_relative_;
  double read_std_;
  double stuck_off_, stuck_on_;
  double nu_, nu_std_, t0_s_;
  double t_ref_k_, a_lrs_, a_hrs_, knee_k_, a_knee_;
  double endurance_, endurance_spread_;
  std::string wear_;
  double window_loss_;
  int64_t prior_writes_;
};

}  // namespace
}  // namespace cimkit

CIMKIT_REGISTER(cimkit::DeviceModel, cimkit::ReramDevice, "reram",
                "Multi-level ReRAM cell: variation, read noise, faults, drift, temperature (off by default)")
