// `cimkit mvm`: one matrix-vector product on the chip, tensors in and out in PyTorch's format.
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <memory>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/run_config.hpp"
#include "cli/tensor_io.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "crossbar/engine.hpp"

namespace cimkit::cli {
namespace {

struct MvmArgs {
  std::string config, weights, inputs, out, calibration, resolved;
  std::vector<std::string> sets;
  bool integer = false;
  double input_scale = 0.0;
  bool input_scale_given = false;
};

// `<out>` without `.pt`: the stem its companion files are named after.
std::string output_stem(const std::string& out) {
  return out.size() > 3 && out.substr(out.size() - 3) == ".pt" ? out.substr(0, out.size() - 3) : out;
}

int run_mvm(const MvmArgs& a) {
  if (a.input_scale_given && !(std::isfinite(a.input_scale) && a.input_scale > 0)) {
    throw Error("--input-scale " + format_double(a.input_scale) +
                ": the input quantisation step must be a positive finite number (leave it out for max(inputs) / top code)");
  }
  // Every output is checked before any work: a device file, FIFO, socket or directory is refused.
  // The companions are named after --out, so runs sharing a folder do not overwrite each other's.
  const std::string stem = output_stem(a.out);
  const std::string counts_path = stem + ".counts.pt";
  const std::string resolved = !a.resolved.empty() ? a.resolved : stem + ".resolved_config.yaml";
  for (const std::string& o : {a.out, counts_path, resolved}) resolve_output_path(o);
  if (a.out == a.weights || a.out == a.inputs) throw Error("--out " + a.out + " would overwrite an input file; choose another path");
  RunConfig rc = RunConfig::load(a.config, a.sets);
  set_threads(rc.threads);
  if (!a.calibration.empty() && !rc.chip->adc().needs_calibration()) {
    throw Error("--calibrate " + a.calibration + ": the chip's ADC is not calibrated (chip.adc.range is not "
                "'calibrated'), so a calibration batch would be ignored; leave --calibrate out, or set "
                "--set chip.adc.range=calibrated");
  }
  torch::Tensor w = load_tensor_file(a.weights);
  torch::Tensor x = load_tensor_file(a.inputs);
  if (w.dim() != 2) throw DataError(a.weights, "weights must be a 2-D tensor [out, in], got shape " + std::string(c10::str(w.sizes())));
  if (x.dim() != 1 && x.dim() != 2) throw DataError(a.inputs, "inputs must be [in] or [n, in], got shape " + std::string(c10::str(x.sizes())));
  if (!a.integer) {
    w = w.to(torch::kFloat32);
    x = x.to(torch::kFloat32);
    // Unsigned input codes cannot carry a negative value: the DAC would clip it to 0.
    if ((rc.chip->spec().input_encoding == InputEncoding::Unsigned || rc.chip->spec().input_encoding == InputEncoding::Shifted) && x.numel() > 0 && x.min().item<double>() < 0) {
      const int64_t n_neg = (x < 0).sum().item<int64_t>();
      throw DataError(a.inputs, fmt::format(
          "{} of {} inputs are negative (min {}), but the chip's inputs are unsigned codes "
          "(chip.crossbar.input_encoding: unsigned), which would clip them to 0; carry signed inputs with "
          "--set chip.crossbar.input_encoding=offset, or shift the inputs to be non-negative",
          n_neg, x.numel(), format_double(x.min().item<double>())));
    }
  }
  CrossbarLayer::Options opt;
  opt.integer_codes = a.integer;
  opt.seed = rc.seed;
  opt.operating = rc.operating;
  // Errors about a tensor's values or shape name the file it came from.
  auto blame = [](const std::string& file, const std::function<void()>& f) {
    try {
      f();
    } catch (const ShapeError& e) {
      throw DataError(file, e.what());
    }
  };
  std::unique_ptr<CrossbarLayer> layer_ptr;
  blame(a.weights, [&] { layer_ptr = std::make_unique<CrossbarLayer>(rc.chip, w, opt); });
  CrossbarLayer& layer = *layer_ptr;
  std::optional<double> scale;
  if (a.input_scale_given) scale = a.input_scale;
  if (rc.chip->adc().needs_calibration()) {
    if (a.calibration.empty()) throw Error("chip.adc.range is 'calibrated': pass --calibrate FILE.pt with a calibration batch");
    torch::Tensor cx = load_tensor_file(a.calibration);
    blame(a.calibration, [&] { layer.calibrate(a.integer ? cx : cx.to(torch::kFloat32), scale); });
  }
  MvmResult r;
  blame(a.inputs, [&] { r = layer.forward(x, scale); });
  save_tensor_file(a.out, a.integer ? r.y_int : r.y);

  const ActionCounts& c = r.counts;
  const LayerMapping& m = layer.mapping();
  auto scalar = [](double v) { return torch::tensor(v, torch::kFloat64); };
  auto count = [](int64_t v) { return torch::tensor(v, torch::kInt64); };
  save_tensor_dict(counts_path,
                   {{"n_inputs", count(c.n_inputs)},
                    {"dac_conversions", count(c.dac_conversions)},
                    {"array_activations", count(c.array_activations)},
                    {"adc_conversions", count(c.adc_conversions)},
                    {"shift_adds", count(c.shift_adds)},
                    {"activations_per_array", c.activations_per_array},
                    {"read_energy_j_per_array", c.read_energy_j_per_array},
                    {"read_energy_j", scalar(c.read_energy_j())},
                    {"n_arrays", count(m.n_arrays)},
                    {"row_tiles", count(m.row_tiles)},
                    {"input_slices", count(m.input_slices)},
                    {"weight_slices", count(m.weight_slices)},
                    {"polarities", count(m.polarities)},
                    {"adc_step", scalar(m.adc.quantises() ? m.adc.step : 0.0)}});
  write_text_file(resolved, to_yaml(rc.resolved));

  std::cout << "cimkit mvm: [" << r.y.size(0) << ", " << m.in_features << "] x [" << m.out_features << ", "
            << m.in_features << "]^T on " << m.n_arrays << " arrays (" << m.row_tiles << " row tiles x "
            << m.arrays_per_tile << "), " << m.input_slices << " input slices, " << m.weight_slices
            << " weight slices x " << m.polarities << " polarities, "
            << (layer.shortcut_active() ? "lossless shortcut" : layer.integer_path() ? "integer path" : "conductance path")
            << "\n  DAC conversions " << c.dac_conversions << ", array activations " << c.array_activations
            << ", ADC conversions " << c.adc_conversions << ", shift-adds " << c.shift_adds
            << ", read energy " << c.read_energy_j() << " J\n  wrote " << a.out << ", " << counts_path << ", "
            << resolved << "\n";
  return 0;
}

}  // namespace

void add_mvm(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("mvm", "Multiply tensors from Python's torch.save on the chip");
  auto a = std::make_shared<MvmArgs>();
  cmd->add_option("--config,-c", a->config, "Run config (YAML); default: the default chip preset");
  cmd->add_option("--weights,-w", a->weights, "Weight matrix [out, in] (.pt from torch.save)")->required();
  cmd->add_option("--inputs,-x", a->inputs, "Inputs [n, in] or [in] (.pt)")->required();
  cmd->add_option("--out,-o", a->out, "Output file (.pt); action counts go to <out>.counts.pt, the resolved config to <out>.resolved_config.yaml")->required();
  cmd->add_option("--set", a->sets, "Override a config key: path.to.key=value (repeatable)");
  cmd->add_flag("--integer", a->integer, "Use the input and weight values as integer codes (no quantisation); output is x_q . w_q as float64");
  auto* scale = cmd->add_option("--input-scale", a->input_scale, "Input quantisation step, positive (default: max of the inputs / top code)");
  cmd->add_option("--calibrate", a->calibration, "Calibration batch (.pt) for a calibrated ADC");
  cmd->add_option("--resolved", a->resolved, "Where to write the resolved config (default: <out>.resolved_config.yaml)");
  cmd->callback([&action, a, scale] {
    a->input_scale_given = scale->count() > 0;
    action = [a] { return run_mvm(*a); };
  });
}

}  // namespace cimkit::cli
