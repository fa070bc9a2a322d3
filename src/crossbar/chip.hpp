// A chip as the crossbar engine sees it: array geometry and number formats (`chip.crossbar`),
// the cell model (`chip.device`), the row DACs (`chip.dac`) and the column ADCs (`chip.adc`),
// plus the operating conditions a read happens under (`operating`).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "circuit/adc.hpp"
#include "circuit/dac.hpp"
#include "circuit/ir_drop.hpp"
#include "core/registry.hpp"
#include "crossbar/precision.hpp"
#include "device/device_model.hpp"

namespace cimkit {

enum class WeightScheme { Differential, Offset, TwosComplement };
// Shifted: paper 003's A-shift of unsigned codes (crossbar.a_shift), never named by input_encoding.
enum class InputEncoding { Unsigned, Offset, TwoPhase, Bipolar, Shifted };
// How a differential pair's two polarity columns are combined: converted one by one and
// subtracted after the ADC (digital), or their currents subtracted before one signed ADC (analog).
enum class Subtraction { Digital, Analog };
enum class Baseline { Cancelled, Digital, ReferenceColumn };
enum class EnginePath { Auto, Integer, Conductance };
enum class ReadNoiseMode { Output, PerCell };

// `chip.crossbar`: geometry and number formats (see docs/config.md for every key).
struct CrossbarSpec {
  int64_t rows = 128;
  int64_t cols = 128;
  int cell_bits = 1;
  int weight_bits = 8;  // signed weight width, sign included
  int input_bits = 8;
  WeightScheme weight_scheme = WeightScheme::Differential;
  bool per_channel_weights = false;
  InputEncoding input_encoding = InputEncoding::Unsigned;
  // Paper 003 A-shift (eq. 4-5): unsigned input codes are driven as x - 2^(b-1), two's-complement
  // slices on a DAC with +-V levels; the digital shift-add adds 2^(b-1)·Σw back.
  bool a_shift = false;
  Subtraction subtract = Subtraction::Digital;
  Baseline baseline = Baseline::Cancelled;
  EnginePath path = EnginePath::Auto;
  ReadNoiseMode read_noise_mode = ReadNoiseMode::Output;
  bool lossless_shortcut = true;
  int64_t chunk_bytes = int64_t{32} << 20;
  circuit::IrDropMode ir_drop = circuit::IrDropMode::None;
  circuit::WireParasitics wires;
  // True when reads go through the wires' network (a mode and a resistance).
  bool has_ir_drop() const { return ir_drop != circuit::IrDropMode::None && !wires.none(); }

  static Schema schema();
  static CrossbarSpec from_params(const Params& p);
};

// `operating`: when and how hot the chip is read.
struct OperatingConditions {
  double time_since_program_s = 0.0;
  double temperature_k = 300.0;
  static Schema schema();
  static OperatingConditions from_params(const Params& p);
};

class Chip {
 public:
  // Builds from a `chip:` section (after `preset:` expansion against configs/presets/chip/).
  static std::shared_ptr<const Chip> from_config(const ConfigNode& chip_section,
                                                 const std::string& path = "chip");
  // The default chip: configs/presets/chip/default.yaml.
  static std::shared_ptr<const Chip> default_chip();

  const CrossbarSpec& spec() const { return spec_; }
  const DeviceModel& device() const { return *device_.object; }
  const Dac& dac() const { return *dac_.object; }
  const Adc& adc() const { return *adc_.object; }
  // Every key with its value, defaults filled in: writes back as the `chip:` section.
  ConfigNode resolved() const;

  // This chip at a layer's precision: crossbar.weight_bits and input_bits from `p`, the ADC at
  // p.adc_bits (Adc::with_bits), and the input encoding a layer with `signed_input` needs (the
  // chip's signed encoding; `offset` when the chip says `unsigned`, `bipolar` when it shifts
  // unsigned inputs; unsigned codes, or the A-shift with crossbar.a_shift, for a layer whose
  // inputs are not signed). The device, DAC and every other setting are shared.
  // An ADC without a resolution (ideal) takes adc_bits 0 only; anything else is an Error.
  std::shared_ptr<const Chip> with_precision(const Precision& p, bool signed_input) const;
  // This chip with ideal cells (the training surrogate's replica: same slicing and ADC).
  std::shared_ptr<const Chip> with_ideal_cells() const;
  // The precision a layer gets from this chip when the model sets none.
  Precision default_precision() const;

 private:
  Params xbar_params_;
  CrossbarSpec spec_;
  Built<DeviceModel> device_;
  Built<Dac> dac_;
  Built<Adc> adc_;
};

}  // namespace cimkit
