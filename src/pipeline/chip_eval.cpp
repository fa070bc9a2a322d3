#include "pipeline/chip_eval.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace cimkit::pipeline {
namespace {

nlohmann::json number_or_string(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}

ActionCounts scaled(const ActionCounts& c, double per) {
  // Per-inference counts: integer totals divided by the number of images, rounded.
  ActionCounts r;
  auto d = [&](int64_t v) { return static_cast<int64_t>(std::llround(static_cast<double>(v) / per)); };
  r.n_inputs = d(c.n_inputs);
  r.dac_conversions = d(c.dac_conversions);
  r.array_activations = d(c.array_activations);
  r.adc_conversions = d(c.adc_conversions);
  r.shift_adds = d(c.shift_adds);
  if (c.activations_per_array.defined()) {
    r.activations_per_array = torch::round(c.activations_per_array.to(torch::kFloat64) / per).to(torch::kInt64);
  }
  if (c.read_energy_j_per_array.defined()) r.read_energy_j_per_array = c.read_energy_j_per_array / per;
  return r;
}

}  // namespace

Schema ChipEvalOptions::schema() {
  Schema s("eval", "Evaluation on the chip after training.");
  s.integer("device_seeds", "Device instances (Monte-Carlo over D2D variation, faults, drift draws); "
                            "analog accuracy is reported as mean +- std over them")
      .range(1, 1000).def(int64_t{3});
  s.boolean("sqnr", "Measure each layer's SQNR (analog vs digital output on the same input)").def(true);
  s.choice("fidelity", {"bit_exact", "tile", "weight"},
           "How faithfully the analog reads follow the chip: bit_exact (every slice partial sum through the ADC), tile "
           "(the cells folded across slices, with a model per row tile of what the sliced ADCs do, fitted against the "
           "bit-exact read of that tile on a sample of the first inputs; 26x faster than bit_exact per lenet5 "
           "candidate, programming and fits included), weight (the folded cells with their read noise, no ADC); every "
           "rung reads the same cells (docs/results/fidelity.md)")
      .def(std::string("bit_exact"));
  return s;
}

ChipEvalOptions ChipEvalOptions::from_params(const Params& p) {
  ChipEvalOptions o;
  o.device_seeds = p.get_int("device_seeds");
  o.sqnr = p.get_bool("sqnr");
  o.fidelity = parse_fidelity(p.get_string("fidelity"), "eval.fidelity");
  return o;
}

nlohmann::json LayerEval::to_json() const {
  nlohmann::json j;
  j["name"] = name;
  j["kind"] = kind;
  j["precision"] = {{"weight_bits", precision.weight_bits}, {"act_bits", precision.act_bits},
                    {"adc_bits", precision.adc_bits}};
  j["mapping"] = mapping.to_json();
  nlohmann::json c = counts.to_json();
  c.erase("activations_per_array");
  c.erase("read_energy_j_per_array");
  j["counts_per_inference"] = c;
  j["sqnr_db"] = number_or_string(sqnr_db);
  return j;
}

nlohmann::json ChipEvalResult::to_json() const {
  nlohmann::json j;
  j["fidelity"] = to_string(fidelity);
  j["digital_accuracy"] = digital_accuracy;
  j["analog_accuracy"] = analog_accuracy;
  j["analog_accuracy_mean"] = analog_mean;
  j["analog_accuracy_std"] = analog_std;
  j["n_samples"] = n_samples;
  j["n_arrays"] = n_arrays;
  nlohmann::json c = counts_per_inference.to_json();
  c.erase("activations_per_array");
  c.erase("read_energy_j_per_array");
  j["counts_per_inference"] = c;
  j["worst_layer"] = worst_layer;
  j["seconds"] = seconds;
  j["digital_seconds"] = digital_seconds;
  j["analog_seconds"] = analog_seconds;
  for (const auto& l : layers) j["layers"].push_back(l.to_json());
  return j;
}

double accuracy(nn::Network& net, data::DataLoader& test, int64_t max_batches, int64_t* n_samples) {
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  net.eval();
  int64_t correct = 0, seen = 0;
  const int64_t nb = max_batches < 0 ? test.n_batches() : std::min(max_batches, test.n_batches());
  for (int64_t i = 0; i < nb; ++i) {
    data::Batch b = test.batch(i);
    torch::Tensor logits = net.forward(b.images);
    correct += logits.argmax(1).eq(b.labels).sum().item<int64_t>();
    seen += b.labels.size(0);
  }
  net.train(was_training);
  if (n_samples) *n_samples = seen;
  if (seen == 0) throw Error("evaluation saw no samples (empty test set or max_batches = 0)");
  return static_cast<double>(correct) / static_cast<double>(seen);
}

ChipEvalResult evaluate_on_chip(nn::Network& net, data::DataLoader& test,
                                const std::shared_ptr<nn::AnalogContext>& ctx, const ChipEvalOptions& opt) {
  if (opt.device_seeds < 1) throw Error("eval.device_seeds must be >= 1");
  const auto t0 = std::chrono::steady_clock::now();
  auto layers = net.analog_layers();
  if (layers.empty()) throw Error("the network has no analog layers to put on the chip");
  std::vector<nn::LayerMode> modes;
  for (auto& l : layers) modes.push_back(l.layer->mode());

  ChipEvalResult r;
  net.set_mode(opt.digital_mode);
  r.digital_accuracy = accuracy(net, test, opt.max_batches, &r.n_samples);
  const auto t_analog = std::chrono::steady_clock::now();
  r.digital_seconds = std::chrono::duration<double>(t_analog - t0).count();

  bool on_ctx = opt.keep_programmed;
  for (auto& l : layers) on_ctx = on_ctx && l.layer->context() == ctx;
  if (!on_ctx) net.set_context(ctx);  // every layer reprograms (set_context drops its engines)
  net.set_mode(nn::LayerMode::Analog);
  ctx->fidelity = opt.fidelity;  // the same cells at every rung: no layer reprograms for it
  r.fidelity = opt.fidelity;
  // Kept programmed: every device instance stays programmed, so a second evaluation (the same
  // candidate with heat) reads the same cells again without programming them.
  if (opt.keep_programmed) ctx->keep_instances = std::max(ctx->keep_instances, opt.device_seeds);
  for (int64_t s = 0; s < opt.device_seeds; ++s) {
    // A new device seed: every layer reads its cells for that seed (programs them, or swaps in
    // the engine it kept); without keep_programmed every layer reprograms.
    ctx->set_device_seed(static_cast<uint64_t>(s));
    const bool first = s == 0;
    ctx->read_energy = first;  // only the first instance's counts are reported
    net.reset_counts();
    for (auto& l : layers) {
      l.layer->reset_sqnr_probe();
      l.layer->enable_sqnr_probe(first && opt.sqnr);
      l.layer->restart_reads();  // a kept engine reads the same noise as a fresh one: repeatable
    }
    r.analog_accuracy.push_back(accuracy(net, test, opt.max_batches));
    if (!first) continue;
    const double n = static_cast<double>(r.n_samples);
    r.counts_per_inference = scaled(net.total_counts(), n);
    double worst = std::numeric_limits<double>::infinity();
    for (auto& l : layers) {
      if (l.layer->digital()) continue;  // off the arrays
      LayerEval e;
      e.name = l.name;
      e.kind = l.layer->kind();
      e.precision = l.layer->precision();
      e.mapping = l.layer->mapping();
      e.counts = scaled(l.layer->counts(), n);
      e.sqnr_db = opt.sqnr ? l.layer->sqnr_db() : std::numeric_limits<double>::quiet_NaN();
      r.n_arrays += e.mapping.n_arrays;
      if (opt.sqnr && e.sqnr_db < worst) {
        worst = e.sqnr_db;
        r.worst_layer = e.name;
      }
      r.layers.push_back(std::move(e));
    }
  }
  for (auto& l : layers) l.layer->enable_sqnr_probe(false);
  ctx->read_energy = true;
  r.analog_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_analog).count();
  double sum = 0;
  for (double a : r.analog_accuracy) sum += a;
  r.analog_mean = sum / static_cast<double>(r.analog_accuracy.size());
  double ss = 0;
  for (double a : r.analog_accuracy) ss += (a - r.analog_mean) * (a - r.analog_mean);
  r.analog_std = r.analog_accuracy.size() > 1 ? std::sqrt(ss / static_cast<double>(r.analog_accuracy.size() - 1)) : 0.0;
  for (size_t i = 0; i < layers.size(); ++i) layers[i].layer->set_mode(modes[i]);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace cimkit::pipeline
