// `cimkit demo` (what `make demo` runs until the main job lands): a real layer on the default
// chip. A 784 -> 256 fully connected layer (He-initialised, seeded) reads real Fashion-MNIST
// test images; the chip's output is compared with the digital result, and the action counts are
// printed. Conditions: the same chip with ideal cells and a lossless ADC (the exactness
// reference), the chip as configured, the chip one day after programming at 330 K, and the chip
// with each group of device effects (faults, variation, read noise) switched off in turn.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <sstream>

#include "circuit/adc.hpp"
#include "cli/commands.hpp"
#include "cli/run_config.hpp"
#include "core/rng.hpp"
#include "crossbar/engine.hpp"
#include "data/dataset.hpp"

namespace cimkit::cli {
namespace {

struct DemoArgs {
  std::string config, out_dir = "runs/demo";
  std::vector<std::string> sets;
  int64_t images = 1000;
};

struct Row {
  std::string label;
  double rel_err_float, sqnr_db, rel_err_digital;
};

Row compare(const std::string& label, const torch::Tensor& y, const torch::Tensor& ref_float,
            const torch::Tensor& ref_digital) {
  const double noise = (y - ref_float).pow(2).sum().item<double>();
  const double signal = ref_float.pow(2).sum().item<double>();
  return {label, std::sqrt(noise / signal), 10 * std::log10(signal / std::max(noise, 1e-300)),
          ((y - ref_digital).norm() / ref_digital.norm()).item<double>()};
}

int run_demo(const DemoArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  RunConfig rc = RunConfig::load(a.config, a.sets);
  const int threads = set_threads(rc.threads);
  std::filesystem::create_directories(a.out_dir);  // before the work: an unwritable folder fails at once
  std::ostringstream out;

  const std::string images = data::default_data_dir("fashion_mnist");
  torch::Tensor x;
  std::string data_note;
  if (std::filesystem::exists(images)) {
    const data::Dataset test = data::load_mnist_like(images, false, "fashion_mnist");
    const int64_t n = std::min(a.images, test.size());
    x = test.images.slice(0, 0, n).reshape({n, 784}).to(torch::kFloat32) / 255.0f;  // [n, 784] in [0, 1]
    data_note = std::to_string(x.size(0)) + " Fashion-MNIST test images";
  } else {
    auto g = make_generator(derive_seed(rc.seed, "demo_inputs"));
    x = at::rand({a.images, 784}, g);
    data_note = std::to_string(a.images) + " uniform random inputs (Fashion-MNIST not found at " + images + ")";
  }
  auto g = make_generator(derive_seed(rc.seed, "demo_weights"));
  const torch::Tensor w = at::randn({256, 784}, g) * std::sqrt(2.0 / 784.0);  // He initialisation

  const CrossbarSpec& s = rc.chip->spec();
  out << "cimkit demo: a 784 -> 256 fully connected layer (He-initialised, seed " << rc.seed << ") on " << data_note << "\n";
  out << fmt::format("chip: {}x{} arrays, {}-bit cells, {}-bit weights, {}-bit inputs, {}-bit DAC, {}-bit ADC, device '{}'\n",
                     s.rows, s.cols, s.cell_bits, s.weight_bits, s.input_bits, rc.chip->dac().bits(),
                     rc.chip->adc().bits(), rc.chip->resolved().find("device")->find("impl")->value());

  // The exactness reference: same geometry, ideal cells, the lossless ADC of paper 001.
  ConfigNode ideal = rc.chip->resolved();
  ideal.set("device", load_yaml_string("impl: ideal", "<demo>"));
  const bool signed_sums = plan_mapping(s, rc.chip->dac().bits(), 1, 1).signed_partials;  // a sign bit more
  ideal.set("adc", load_yaml_string("impl: linear\nbits: " + std::to_string(lossless_adc_bits(static_cast<int>(s.rows), rc.chip->dac().bits(), s.cell_bits, signed_sums)), "<demo>"));
  auto ideal_chip = Chip::from_config(ideal, "chip");

  CrossbarLayer::Options opt;
  opt.seed = rc.seed;
  opt.operating = rc.operating;
  CrossbarLayer exact(ideal_chip, w, opt);
  CrossbarLayer layer(rc.chip, w, opt);
  if (rc.chip->adc().needs_calibration()) layer.calibrate(x.narrow(0, 0, std::min<int64_t>(128, x.size(0))));
  const LayerMapping& m = layer.mapping();
  out << fmt::format("mapping: {} row tiles x {} arrays = {} arrays, {} input slices, {} weight slices x {} polarities, utilisation {:.3f}\n\n",
                     m.row_tiles, m.arrays_per_tile, m.n_arrays, m.input_slices, m.weight_slices, m.polarities, m.utilisation);

  const torch::Tensor ref_float = torch::mm(x, w.t());
  const MvmResult r_exact = exact.forward(x);
  const torch::Tensor ref_digital = r_exact.y;  // quantised digital result (the lossless chip)
  std::vector<Row> rows;
  rows.push_back(compare("ideal cells, lossless ADC", r_exact.y, ref_float, ref_digital));
  const MvmResult r = layer.forward(x);
  rows.push_back(compare(fmt::format("this chip, t={:g} s, {:g} K", rc.operating.time_since_program_s, rc.operating.temperature_k), r.y, ref_float, ref_digital));
  layer.set_time_since_program(86400.0);
  layer.set_temperature(330.0);
  rows.push_back(compare("this chip, 1 day after programming, 330 K", layer.forward(x).y, ref_float, ref_digital));

  // What each effect costs: the chip as configured with one group of device effects switched off.
  const ConfigNode resolved = rc.chip->resolved();
  const ConfigNode& device = *resolved.find("device");
  const std::vector<std::pair<std::string, std::vector<std::string>>> ablations = {
      {"  without stuck-at faults", {"stuck_off_rate", "stuck_on_rate"}},
      {"  without D2D and C2C variation", {"d2d_std", "c2c_std"}},
      {"  without read noise", {"read_noise_std"}}};
  for (const auto& [label, keys] : ablations) {
    bool active = false;
    ConfigNode changed = resolved;
    ConfigNode dev = device;
    for (const auto& k : keys) {
      const ConfigNode* v = device.find(k);
      if (v && v->is_scalar() && std::stod(v->value()) != 0.0) active = true;
      if (v) dev.set(k, ConfigNode::scalar("0"));
    }
    if (!active) continue;
    changed.set("device", dev);
    CrossbarLayer ablated(Chip::from_config(changed, "chip"), w, opt);
    if (rc.chip->adc().needs_calibration()) ablated.calibrate(x.narrow(0, 0, std::min<int64_t>(128, x.size(0))));
    rows.push_back(compare(label, ablated.forward(x).y, ref_float, ref_digital));
  }

  out << fmt::format("{:<44} {:>14} {:>10} {:>16}\n", "condition", "error vs float", "SQNR dB", "error vs digital");
  for (const Row& row : rows) {
    out << fmt::format("{:<44} {:>14.5f} {:>10.2f} {:>16.5f}\n", row.label, row.rel_err_float, row.sqnr_db, row.rel_err_digital);
  }
  out << fmt::format("(errors are relative L2 norms; 'digital' is the {}-bit x {}-bit quantised product computed exactly)\n\n",
                     s.weight_bits, s.input_bits);
  const ActionCounts& c = r.counts;
  out << fmt::format("action counts for {} inputs: DAC conversions {}, array activations {}, ADC conversions {}, shift-adds {}\n",
                     c.n_inputs, c.dac_conversions, c.array_activations, c.adc_conversions, c.shift_adds);
  out << fmt::format("array read energy (sum of V^2 G t): {:.4g} J in total, {:.4g} J per input\n", c.read_energy_j(), c.read_energy_j() / c.n_inputs);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out << fmt::format("time: {:.2f} s on {} threads\n", secs, threads);

  write_text_file(a.out_dir + "/summary.txt", out.str());
  write_text_file(a.out_dir + "/resolved_config.yaml", to_yaml(rc.resolved));
  std::cout << out.str() << "wrote " << a.out_dir << "/summary.txt and " << a.out_dir << "/resolved_config.yaml\n";
  return 0;
}

}  // namespace

void add_demo(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("demo", "Simulate a real layer on the default chip and report its error and action counts");
  auto a = std::make_shared<DemoArgs>();
  cmd->add_option("--config,-c", a->config, "Run config (YAML); default: the default chip preset");
  cmd->add_option("--set", a->sets, "Override a config key: path.to.key=value (repeatable)");
  cmd->add_option("--images", a->images, "Number of test images (default 1000)")->check(CLI::Range(1, 10000));
  cmd->add_option("--out-dir", a->out_dir, "Run folder (default: runs/demo)");
  cmd->callback([&action, a] { action = [a] { return run_demo(*a); }; });
}

}  // namespace cimkit::cli
