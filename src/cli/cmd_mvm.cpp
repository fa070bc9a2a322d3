// `cimkit mvm`: one matrix-vector product on the chip, tensors in and out in PyTorch's format.
#include <filesystem>
#include <functional>
#include <memory>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/run_config.hpp"
#include "cli/tensor_io.hpp"
#include "core/rng.hpp"
#include "crossbar/engine.hpp"

namespace cimkit::cli {
namespace {

struct MvmArgs {
  std::string config, weights, inputs, out, calibration, resolved;
  std::vector<std::string> sets;
  bool integer = false;
  double input_scale = 0.0;
};

int run_mvm(const MvmArgs& a) {
  RunConfig rc = RunConfig::load(a.config, a.sets);
  set_threads(rc.threads);
  torch::Tensor w = load_tensor_file(a.weights);
  torch::Tensor x = load_tensor_file(a.inputs);
  if (w.dim() != 2) throw DataError(a.weights, "weights must be a 2-D tensor [out, in], got shape " + std::string(c10::str(w.sizes())));
  if (x.dim() != 1 && x.dim() != 2) throw DataError(a.inputs, "inputs must be [in] or [n, in], got shape " + std::string(c10::str(x.sizes())));
  if (!a.integer) {
    w = w.to(torch::kFloat32);
    x = x.to(torch::kFloat32);
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
  if (a.input_scale > 0) scale = a.input_scale;
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
  const std::string stem = a.out.size() > 3 && a.out.substr(a.out.size() - 3) == ".pt" ? a.out.substr(0, a.out.size() - 3) : a.out;
  save_tensor_dict(stem + ".counts.pt",
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
  const std::string resolved = !a.resolved.empty() ? a.resolved
      : (std::filesystem::path(a.out).parent_path() / "resolved_config.yaml").string();
  write_text_file(resolved, to_yaml(rc.resolved));

  std::cout << "cimkit mvm: [" << r.y.size(0) << ", " << m.in_features << "] x [" << m.out_features << ", "
            << m.in_features << "]^T on " << m.n_arrays << " arrays (" << m.row_tiles << " row tiles x "
            << m.arrays_per_tile << "), " << m.input_slices << " input slices, " << m.weight_slices
            << " weight slices x " << m.polarities << " polarities, "
            << (layer.shortcut_active() ? "lossless shortcut" : layer.integer_path() ? "integer path" : "conductance path")
            << "\n  DAC conversions " << c.dac_conversions << ", array activations " << c.array_activations
            << ", ADC conversions " << c.adc_conversions << ", shift-adds " << c.shift_adds
            << ", read energy " << c.read_energy_j() << " J\n  wrote " << a.out << ", " << stem << ".counts.pt, "
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
  cmd->add_option("--out,-o", a->out, "Output file (.pt); action counts go to <out>.counts.pt")->required();
  cmd->add_option("--set", a->sets, "Override a config key: path.to.key=value (repeatable)");
  cmd->add_flag("--integer", a->integer, "Use the input and weight values as integer codes (no quantisation); output is x_q . w_q as float64");
  cmd->add_option("--input-scale", a->input_scale, "Input quantisation step (default: max of the inputs / top code)");
  cmd->add_option("--calibrate", a->calibration, "Calibration batch (.pt) for a calibrated ADC");
  cmd->add_option("--resolved", a->resolved, "Where to write resolved_config.yaml (default: beside --out)");
  cmd->callback([&action, a] { action = [a] { return run_mvm(*a); }; });
}

}  // namespace cimkit::cli
