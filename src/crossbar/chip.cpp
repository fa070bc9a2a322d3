#include "crossbar/chip.hpp"

#include <cmath>

#include "core/paths.hpp"

namespace cimkit {

Schema CrossbarSpec::schema() {
  Schema s("crossbar", "Array geometry, number formats and engine options.");
  // ISAAC and paper 000 use 128x128 arrays; paper 003 uses 512x512; paper 004 searches 32-256.
  s.integer("rows", "Rows per array (inputs summed on one column)").range(2, 4096).def(int64_t{128});
  s.integer("cols", "Columns per array").range(2, 4096).def(int64_t{128});
  s.integer("cell_bits", "Bits stored per cell (2^cell_bits conductance levels)").range(1, 8).def(int64_t{1});
  s.integer("weight_bits", "Signed weight width, sign included").range(2, 16).def(int64_t{8});
  s.integer("input_bits", "Input (activation) width").range(1, 16).def(int64_t{8});
  s.choice("weight_scheme", {"differential", "offset", "twos_complement"},
           "Signed weights: differential pair of arrays, offset (stored w + 2^(b-1), corrected digitally), or two's complement (negative sign slice)")
      .def(std::string("differential"));
  s.choice("weight_quant", {"per_tensor", "per_channel"}, "Weight scale: one per matrix or one per output row").def(std::string("per_tensor"));
  s.choice("input_encoding", {"unsigned", "offset", "two_phase", "bipolar"},
           "Inputs: unsigned codes (negative values clip to 0; a network layer with signed inputs then uses offset), or signed: offset (stored x + 2^(b-1), corrected digitally), two_phase (positive and negative parts in two passes, subtracted after the ADC), bipolar (a DAC with +-V levels: signed slices, signed partial sums)")
      .def(std::string("unsigned"));
  s.boolean("a_shift",
            "Paper 003 A-shift (eq. 4-5): unsigned input codes x are driven as x - 2^(b-1), in two's-complement slices on a DAC "
            "with +-V levels (signed partial sums: a signed ADC), and 2^(b-1)·Σw is added back digitally; signed inputs then use "
            "bipolar when input_encoding is unsigned")
      .def(false);
  s.choice("subtract", {"digital", "analog"},
           "Differential weights: each polarity column converted by its own ADC and subtracted after it (digital), or the two columns' currents subtracted before one signed ADC (analog; MNSIM 2.0 polarity 2, paper 003 eq. 2): half the conversions")
      .def(std::string("digital"));
  s.choice("baseline", {"cancelled", "digital", "reference_column"},
           "How the HRS current (G_off of every cell) is removed: `cancelled` exactly before the ADC (ideal periphery), `digital` after the ADC from the input sum (the ADC range must hold it), or by a `reference_column` of HRS cells per array subtracted before the ADC (costs one column, carries its own variation and noise)")
      .def(std::string("cancelled"));
  s.choice("path", {"auto", "integer", "conductance"}, "Engine path: integer (ideal cells and linear DAC only), conductance, or auto (integer when allowed)")
      .def(std::string("auto"));
  s.choice("read_noise_mode", {"output", "per_cell"}, "Read noise: `output` draws the exact column-sum distribution (one Gaussian per partial sum), `per_cell` draws every cell on every read (slow; for verification)")
      .def(std::string("output"));
  s.boolean("lossless_shortcut", "Use one exact GEMM when the chip provably loses nothing (ideal cells, lossless ADC)").def(true);
  // Interconnect parasitics (IR drop; circuit/ir_drop.hpp for the network and its conventions).
  // Typical values: MNSIM 2.0's default wire resistance 2.82 Ω per cell (shared/reference/mnsim.md);
  // aihwkit's IRDropT 0.15 Ω per segment (shared/reference/aihwkit.md); or from a node's wire
  // (circuit::segment_resistance_ohm: ρ · pitch / (width · thickness)).
  s.choice("ir_drop", {"none", "circuit", "fast"},
           "Wire resistance of the arrays: none, circuit (the resistive network solved exactly per programmed array "
           "and read condition), fast (first order in the wire resistances; docs/results/ir_drop.md for its error)")
      .def(std::string("none"));
  s.real("r_wire_row_ohm", "Word-line resistance per cell segment (with ir_drop)").with_unit("ohm").at_least(0).def(0.0);
  s.real("r_wire_col_ohm", "Bit-line resistance per cell segment (with ir_drop)").with_unit("ohm").at_least(0).def(0.0);
  s.real("r_driver_ohm", "Row driver output resistance (with ir_drop)").with_unit("ohm").at_least(0).def(0.0);
  s.real("r_sense_ohm", "Sense amplifier input resistance to its virtual ground (with ir_drop)").with_unit("ohm").at_least(0).def(0.0);
  s.integer("chunk_mb", "Bound on the engine's working memory per call: input rows are processed in chunks (larger is not faster: 32 MiB keeps partial sums near the caches)").range(1, 1 << 20).def(int64_t{32});
  return s;
}

CrossbarSpec CrossbarSpec::from_params(const Params& p) {
  CrossbarSpec s;
  s.rows = p.get_int("rows");
  s.cols = p.get_int("cols");
  s.cell_bits = static_cast<int>(p.get_int("cell_bits"));
  s.weight_bits = static_cast<int>(p.get_int("weight_bits"));
  s.input_bits = static_cast<int>(p.get_int("input_bits"));
  const std::string& ws = p.get_string("weight_scheme");
  s.weight_scheme = ws == "differential" ? WeightScheme::Differential
                    : ws == "offset"     ? WeightScheme::Offset
                                         : WeightScheme::TwosComplement;
  s.per_channel_weights = p.get_string("weight_quant") == "per_channel";
  const std::string& enc = p.get_string("input_encoding");
  s.input_encoding = enc == "offset"      ? InputEncoding::Offset
                     : enc == "two_phase" ? InputEncoding::TwoPhase
                     : enc == "bipolar"   ? InputEncoding::Bipolar
                                          : InputEncoding::Unsigned;
  s.a_shift = p.get_bool("a_shift");
  if (s.a_shift && s.input_encoding == InputEncoding::Unsigned) s.input_encoding = InputEncoding::Shifted;
  s.subtract = p.get_string("subtract") == "analog" ? Subtraction::Analog : Subtraction::Digital;
  const std::string& b = p.get_string("baseline");
  s.baseline = b == "cancelled" ? Baseline::Cancelled : b == "digital" ? Baseline::Digital : Baseline::ReferenceColumn;
  const std::string& path = p.get_string("path");
  s.path = path == "auto" ? EnginePath::Auto : path == "integer" ? EnginePath::Integer : EnginePath::Conductance;
  s.read_noise_mode = p.get_string("read_noise_mode") == "output" ? ReadNoiseMode::Output : ReadNoiseMode::PerCell;
  s.lossless_shortcut = p.get_bool("lossless_shortcut");
  s.chunk_bytes = p.get_int("chunk_mb") << 20;
  s.ir_drop = circuit::parse_ir_drop_mode(p.get_string("ir_drop"));
  s.wires.r_row_ohm = p.get_real("r_wire_row_ohm");
  s.wires.r_col_ohm = p.get_real("r_wire_col_ohm");
  s.wires.r_driver_ohm = p.get_real("r_driver_ohm");
  s.wires.r_sense_ohm = p.get_real("r_sense_ohm");
  if (s.ir_drop != circuit::IrDropMode::None && s.path == EnginePath::Integer) {
    p.fail("path", "the integer path has no wires; with ir_drop '" + p.get_string("ir_drop") + "' use 'conductance' or 'auto'");
  }
  if (s.baseline == Baseline::ReferenceColumn && s.cols < 2) p.fail("cols", "a reference column needs at least 2 columns");
  if (s.subtract == Subtraction::Analog && s.weight_scheme != WeightScheme::Differential) {
    p.fail("subtract", "'analog' subtracts the two columns of a differential pair; weight_scheme '" +
                           p.get_string("weight_scheme") + "' has one polarity (use subtract: digital, or weight_scheme: differential)");
  }
  if (s.subtract == Subtraction::Analog && s.baseline != Baseline::Cancelled) {
    p.fail("baseline", "with subtract: analog the HRS currents of a pair cancel in the subtraction, so there is no baseline "
                       "to remove; baseline '" + p.get_string("baseline") + "' would count a correction that does not happen (use baseline: cancelled)");
  }
  return s;
}

Schema OperatingConditions::schema() {
  Schema s("operating", "When and how hot the chip is read.");
  s.real("time_since_program_s", "Time between programming and reading (drift)").with_unit("s").at_least(0).def(0.0);
  s.real("temperature_k", "Chip temperature when no thermal map is given (every array)").with_unit("K").range(1, 1000).def(300.0);
  return s;
}

OperatingConditions OperatingConditions::from_params(const Params& p) {
  return {p.get_real("time_since_program_s"), p.get_real("temperature_k")};
}

std::shared_ptr<const Chip> Chip::from_config(const ConfigNode& section, const std::string& path) {
  const ConfigNode chip = expand_preset(section, "chip", path);
  if (!chip.is_map() && !chip.is_null()) {
    throw ConfigError(chip.loc(), path, std::string("expected a map of keys, found a ") + chip.kind_name());
  }
  const std::vector<std::string> allowed = {"crossbar", "device", "dac", "adc", "sources"};
  for (const auto& [key, value] : chip.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail_unknown_key(key, value, path, allowed);
    }
  }
  auto section_of = [&](const std::string& key) {
    const ConfigNode* n = chip.find(key);
    return n ? *n : ConfigNode();
  };
  auto c = std::make_shared<Chip>();
  c->xbar_params_ = parse_params(section_of("crossbar"), CrossbarSpec::schema(), path + ".crossbar");
  c->spec_ = CrossbarSpec::from_params(c->xbar_params_);
  c->device_ = Registry<DeviceModel>::instance().create(
      expand_preset(section_of("device"), "device", path + ".device"), path + ".device");
  c->dac_ = Registry<Dac>::instance().create(expand_preset(section_of("dac"), "dac", path + ".dac"), path + ".dac");
  c->adc_ = Registry<Adc>::instance().create(expand_preset(section_of("adc"), "adc", path + ".adc"), path + ".adc");

  // Partial sums of one slice must stay exact in float32 (< 2^24).
  const double max_sum = static_cast<double>(c->spec_.rows) *
                         (std::ldexp(1.0, c->dac_.object->bits()) - 1) *
                         (std::ldexp(1.0, c->spec_.cell_bits) - 1);
  if (max_sum >= std::ldexp(1.0, 24)) {
    c->xbar_params_.fail("rows", "rows x (2^dac_bits-1) x (2^cell_bits-1) = " +
                                     std::to_string(static_cast<int64_t>(max_sum)) +
                                     " exceeds 2^24, the exact range of the engine's float32 partial sums");
  }
  if (c->spec_.path == EnginePath::Integer && !(c->device_.object->is_ideal() && c->dac_.object->is_linear())) {
    c->xbar_params_.fail("path", "the integer path needs ideal cells and a linear DAC; use 'conductance' or 'auto' with chip.device.impl '" + c->device_.impl + "'");
  }
  if (c->spec_.path == EnginePath::Integer && c->spec_.baseline == Baseline::Digital) {
    c->xbar_params_.fail("path", "the integer path cannot model a digital baseline (the ADC converts the HRS current too); use 'conductance' or 'auto'");
  }
  return c;
}

std::shared_ptr<const Chip> Chip::default_chip() {
  ConfigNode n = ConfigNode::map({"<default>", 0});
  n.set("preset", ConfigNode::scalar("default", {"<default>", 0}));
  return from_config(n, "chip");
}

std::shared_ptr<const Chip> Chip::with_precision(const Precision& p, bool signed_input) const {
  p.check();
  auto c = std::make_shared<Chip>(*this);
  c->spec_.weight_bits = p.weight_bits;
  c->spec_.input_bits = p.act_bits;
  if (!signed_input) {
    c->spec_.input_encoding = spec_.a_shift ? InputEncoding::Shifted : InputEncoding::Unsigned;
  } else if (spec_.input_encoding == InputEncoding::Unsigned) {
    c->spec_.input_encoding = InputEncoding::Offset;
  } else if (spec_.input_encoding == InputEncoding::Shifted) {
    c->spec_.input_encoding = InputEncoding::Bipolar;  // the A-shift chip's DAC has +-V levels
  }
  // `shifted` is not a value of input_encoding: a_shift says it.
  static const char* const kEncodings[] = {"unsigned", "offset", "two_phase", "bipolar", "unsigned"};
  c->xbar_params_.set("weight_bits", int64_t{p.weight_bits});
  c->xbar_params_.set("input_bits", int64_t{p.act_bits});
  c->xbar_params_.set("input_encoding", std::string(kEncodings[static_cast<int>(c->spec_.input_encoding)]));
  if (!adc().has_resolution()) {
    if (p.adc_bits != 0) {
      throw Error("a layer asks for a " + std::to_string(p.adc_bits) + "-bit ADC, but chip.adc.impl '" + adc_.impl +
                  "' has no resolution to set; use chip.adc.impl: linear, or leave the model's adc_bits unset");
    }
  } else if (p.adc_bits != adc().bits()) {
    if (p.adc_bits == 0) {
      throw Error("a layer asks for an ideal ADC (adc_bits 0), but chip.adc.impl '" + adc_.impl + "' has " +
                  std::to_string(adc().bits()) + " bits; use chip.adc.impl: ideal for no quantisation");
    }
    c->adc_.object = std::const_pointer_cast<Adc>(adc().with_bits(p.adc_bits));
    c->adc_.params.set("bits", int64_t{p.adc_bits});
  }
  return c;
}

std::shared_ptr<const Chip> Chip::with_ideal_cells() const {
  auto c = std::make_shared<Chip>(*this);
  ConfigNode dev = ConfigNode::map({"<ideal cells>", 0});
  dev.set("impl", ConfigNode::scalar("ideal", {"<ideal cells>", 0}));
  c->device_ = Registry<DeviceModel>::instance().create(dev, "chip.device");
  return c;
}

Precision Chip::default_precision() const {
  return {spec_.weight_bits, spec_.input_bits, adc().bits()};
}

ConfigNode Chip::resolved() const {
  ConfigNode n = ConfigNode::map();
  n.set("crossbar", xbar_params_.to_node());
  n.set("device", device_.resolved());
  n.set("dac", dac_.resolved());
  n.set("adc", adc_.resolved());
  return n;
}

}  // namespace cimkit
