// Linear DAC: slice code c drives c/(2^bits-1) of the read voltage (ISAAC-style bit-serial
// input with bits = 1; multi-bit DACs as in paper 004's DAC search range of 1-2 bits).
#include "circuit/dac.hpp"

namespace cimkit {
namespace {

class LinearDac final : public Dac {
 public:
  explicit LinearDac(const Params& p)
      : bits_(static_cast<int>(p.get_int("bits"))),
        read_voltage_v_(p.get_real("read_voltage_v")),
        t_read_s_(p.get_real("t_read_ns") * 1e-9) {}

  static Schema schema() {
    Schema s("dac.linear", "Linear bit-serial DAC: each input slice of `bits` bits drives its row with code/(2^bits-1) of the read voltage.");
    s.integer("bits", "Input bits per slice (one DAC conversion per row per slice)").range(1, 8).def(int64_t{1});
    // MNSIM 2.0 SimConfig Read_Voltage = 0,0.15 V (../shared/reference/mnsim.md).
    s.real("read_voltage_v", "Full-scale row read voltage (MNSIM 2.0 default 0.15 V)").with_unit("V").above(0).at_most(5).def(0.15);
    // ISAAC: the crossbar read cycle is 100 ns (10 MHz) (../shared/reference/algorithms.md).
    s.real("t_read_ns", "Read pulse width per input slice (ISAAC crossbar cycle 100 ns)").with_unit("ns").above(0).def(100.0);
    return s;
  }

  int bits() const override { return bits_; }
  double read_voltage_v() const override { return read_voltage_v_; }
  double t_read_s() const override { return t_read_s_; }
  bool is_linear() const override { return true; }
  torch::Tensor level(const torch::Tensor& codes) const override {
    return codes.to(torch::kFloat32);
  }

 private:
  int bits_;
  double read_voltage_v_, t_read_s_;
};

}  // namespace
}  // namespace cimkit

CIMKIT_REGISTER(cimkit::Dac, cimkit::LinearDac, "linear",
                "Linear bit-serial DAC (code c drives c/(2^bits-1) of the read voltage)")
