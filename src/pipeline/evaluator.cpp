#include "pipeline/evaluator.hpp"

#include <fmt/format.h>

#include <chrono>

#include "core/error.hpp"
#include "nn/shape_trace.hpp"

namespace cimkit::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The engine's read energy per array per inference of every layer (empty when not measured).
std::vector<std::vector<double>> per_array_read_energy(const ChipEvalResult& ce) {
  std::vector<std::vector<double>> out;
  for (const auto& l : ce.layers) {
    std::vector<double> e;
    if (l.counts.read_energy_j_per_array.defined()) {
      const torch::Tensor t = l.counts.read_energy_j_per_array.to(torch::kFloat64).contiguous();
      e.assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

ChipEvaluator::ChipEvaluator(std::shared_ptr<nn::Network> net, std::shared_ptr<nn::AnalogContext> ctx,
                             data::DataLoader test, std::string name, mapping::TensorShape input,
                             EvaluatorOptions options)
    : net_(std::move(net)), ctx_(std::move(ctx)), test_(std::move(test)), name_(std::move(name)), input_(input),
      opt_(std::move(options)) {
  if (!net_) throw Error("ChipEvaluator needs a network");
  if (!ctx_) throw Error("ChipEvaluator needs an analog context");
  opt_.eval.keep_programmed = true;
  net_->set_context(ctx_);
}

std::shared_ptr<nn::AnalogContext> ChipEvaluator::context_for(const std::shared_ptr<const Chip>& chip) {
  if (!chip || chip == ctx_->base_chip()) return ctx_;
  if (override_ctx_ && override_ctx_->base_chip() == chip) return override_ctx_;
  override_ctx_ = std::make_shared<nn::AnalogContext>(chip, ctx_->seed());
  override_ctx_->set_operating(ctx_->operating());
  override_ctx_->training = ctx_->training;
  return override_ctx_;
}

void ChipEvaluator::apply_precisions(const std::vector<nn::Precision>& p) {
  auto layers = net_->analog_layers();
  if (p.size() != layers.size()) {
    throw Error(fmt::format("evaluate: {} precisions given for a network of {} analog layers", p.size(),
                            layers.size()));
  }
  for (size_t i = 0; i < p.size(); ++i) p[i].check(fmt::format("precision of layer {} ({})", i, layers[i].name));
  // Only the layers whose precision changes: their engines go stale, the others stay programmed.
  for (size_t i = 0; i < p.size(); ++i) {
    if (layers[i].layer->precision() != p[i]) layers[i].layer->set_precision(p[i]);
  }
}

void ChipEvaluator::cool_down() {
  if (!heated_) return;
  const double kelvin = ctx_->operating().temperature_k;  // every context shares the operating conditions
  for (auto& l : net_->analog_layers()) l.layer->set_temperature(kelvin);
  heated_ = false;
}

const mapping::NetworkShape& ChipEvaluator::shape() {
  if (!shape_) {
    shape_ = nn::trace_network(*net_, name_, input_);
    ++traces_;
  }
  auto layers = net_->analog_layers();
  if (shape_->layers.size() != layers.size()) {
    throw Error(fmt::format("the traced shape of {} has {} layers, the network {} analog layers", name_,
                            shape_->layers.size(), layers.size()));
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const nn::Precision& p = layers[i].layer->precision();
    mapping::WeightLayer& wl = shape_->layers[i];
    wl.weight_bits = p.weight_bits;
    wl.input_bits = p.act_bits;
    wl.adc_bits = p.adc_bits;
  }
  return *shape_;
}

double ChipEvaluator::float_accuracy() {
  auto layers = net_->analog_layers();
  std::vector<nn::LayerMode> modes;
  for (auto& l : layers) modes.push_back(l.layer->mode());
  net_->set_mode(nn::LayerMode::Float);
  const double acc = accuracy(*net_, test_, opt_.eval.max_batches);
  for (size_t i = 0; i < layers.size(); ++i) layers[i].layer->set_mode(modes[i]);
  return acc;
}

Evaluation ChipEvaluator::evaluate(const EvalRequest& request) {
  const auto t0 = Clock::now();
  const std::shared_ptr<nn::AnalogContext> ctx = context_for(request.chip);
  cool_down();  // before a layer reprograms: per-array temperatures belong to its old mapping
  bool on_ctx = true;
  for (auto& l : net_->analog_layers()) on_ctx = on_ctx && l.layer->context() == ctx;
  if (!on_ctx) net_->set_context(ctx);  // another chip: every layer reprograms
  if (request.precisions) apply_precisions(*request.precisions);

  Evaluation r;
  r.chip = evaluate_on_chip(*net_, test_, ctx, opt_.eval);
  r.seconds.chip_eval = seconds_since(t0);

  // Hardware cost, with the array read energy the engine measured (per inference, first device
  // instance).
  if (opt_.arch) {
    const auto tc = Clock::now();
    cost::CostOptions copt = opt_.cost;
    for (const auto& l : r.chip.layers) copt.layers[l.name].read_energy_j = l.counts.read_energy_j();
    r.cost = cost::CostModel(*opt_.arch, cost::ChipParams::from_chip(*ctx->base_chip()), copt).evaluate(shape());
    r.seconds.cost = seconds_since(tc);
  }

  // Temperature from the power map, and the accuracy with every array read at its temperature.
  if (r.cost && opt_.thermal.enabled) {
    const auto tt = Clock::now();
    r.thermal = solve_chip_thermal(chip_floorplan(*r.cost, per_array_read_energy(r.chip)), opt_.thermal);
    r.seconds.thermal = seconds_since(tt);
    if (opt_.thermal.feedback) {
      const auto th = Clock::now();
      auto layers = net_->analog_layers();
      for (size_t i = 0; i < layers.size() && i < r.thermal->array_temperature_k.size(); ++i) {
        const int64_t n = layers[i].layer->mapping().n_arrays;  // the first copy of duplicated layers
        const auto& t = r.thermal->array_temperature_k[i];
        layers[i].layer->set_temperature(
            torch::tensor(std::vector<double>(t.begin(), t.begin() + n), torch::kFloat64));
      }
      heated_ = true;
      ChipEvalOptions hot = opt_.eval;
      hot.sqnr = false;
      r.hot = evaluate_on_chip(*net_, test_, ctx, hot);
      r.seconds.hot_eval = seconds_since(th);
    }
  }
  r.seconds.total = seconds_since(t0);
  return r;
}

}  // namespace cimkit::pipeline
