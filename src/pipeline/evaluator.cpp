#include "pipeline/evaluator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/error.hpp"
#include "nn/shape_trace.hpp"

namespace cimkit::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The step of symmetric codes ±q_p minimising ‖clamp(round(w/s), −q_p, q_p)·s − w‖², per row of
// w [out, in] (per_row) or over all of it: a grid of 64 clipping levels from 5 % to 100 % of
// max |w|, then 64 more within ±2 % around the best.
torch::Tensor mse_weight_step(const torch::Tensor& w_in, double q_p, bool per_row) {
  const torch::Tensor w = (per_row ? w_in : w_in.reshape({1, -1})).to(torch::kFloat64).unsqueeze(2);  // [rows, in, 1]
  const torch::Tensor unit = w.abs().amax(1, true).clamp_min(1e-12) / q_p;                      // [rows, 1, 1]
  auto best_of = [&](const torch::Tensor& ratios) {  // [rows, 1, k] -> the best per row, [rows, 1, 1]
    const torch::Tensor s = unit * ratios;
    const torch::Tensor err = ((w / s).round().clamp(-q_p, q_p) * s - w).square().sum(1, true);  // [rows, 1, k]
    return ratios.expand_as(err).gather(2, err.argmin(2, true));
  };
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor coarse = best_of(torch::linspace(0.05, 1.0, 64, f64).view({1, 1, -1}));
  const torch::Tensor fine = best_of((coarse + torch::linspace(-0.02, 0.02, 64, f64).view({1, 1, -1})).clamp(0.01, 1.0));
  return (unit * fine).view({-1});
}

// The engine's read energy per array per inference of every layer of the cost report, matched by
// name (empty when not measured, e.g. a digital layer, which the chip evaluation skips).
std::vector<std::vector<double>> per_array_read_energy(const ChipEvalResult& ce, const cost::CostReport& cost) {
  std::vector<std::vector<double>> out;
  for (const auto& c : cost.layers) {
    std::vector<double> e;
    const auto it = std::find_if(ce.layers.begin(), ce.layers.end(), [&](const LayerEval& l) { return l.name == c.name; });
    if (it != ce.layers.end() && it->counts.read_energy_j_per_array.defined()) {
      const LayerEval& l = *it;
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
  trained_.resize(net_->analog_layers().size());
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
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < p.size(); ++i) {
    if (layers[i].layer->precision() == p[i]) continue;
    nn::Quantizer* q[2] = {&layers[i].layer->weight_quantizer(), &layers[i].layer->input_quantizer()};
    for (int k = 0; k < 2; ++k) {  // the trained step, before the first change
      TrainedStep& t = trained_[i][k];
      if (!t.step.defined() && (*q[k])->step.defined() && (*q[k])->initialized()) {
        t.step = (*q[k])->step.detach().clone();
        t.q_p = (*q[k])->range().q_p;
      }
    }
    layers[i].layer->set_precision(p[i]);
    if (!opt_.keep_quantiser_ranges) continue;
    for (int k = 0; k < 2; ++k) {
      const TrainedStep& t = trained_[i][k];
      if (!t.step.defined()) continue;
      const double q_p = (*q[k])->range().q_p;
      if (k == 0 && q_p < t.q_p) {  // fewer weight bits than trained: the least-error step
        const torch::Tensor s = mse_weight_step(layers[i].layer->weight_matrix().detach(), q_p, t.step.numel() > 1);
        (*q[k])->step.copy_(s.to((*q[k])->step.scalar_type()).view_as((*q[k])->step));
      } else {
        (*q[k])->step.copy_(t.step * (t.q_p / q_p));
      }
    }
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

cost::CostReport ChipEvaluator::price(const std::vector<nn::Precision>& p) {
  if (!opt_.arch) throw Error("ChipEvaluator::price: no architecture to price with (cost disabled)");
  mapping::NetworkShape s = shape();
  if (p.size() != s.layers.size()) {
    throw Error(fmt::format("ChipEvaluator::price: {} precisions for {} layers", p.size(), s.layers.size()));
  }
  for (size_t i = 0; i < p.size(); ++i) {
    s.layers[i].weight_bits = p[i].weight_bits;
    s.layers[i].input_bits = p[i].act_bits;
    s.layers[i].adc_bits = p[i].adc_bits;
  }
  return cost::CostModel(*opt_.arch, cost::ChipParams::from_chip(*ctx_->base_chip()), opt_.cost).evaluate(s);
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

  ChipEvalOptions eval = opt_.eval;
  if (request.fidelity) eval.fidelity = *request.fidelity;
  Evaluation r;
  r.chip = evaluate_on_chip(*net_, test_, ctx, eval);
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
    r.thermal = solve_chip_thermal(chip_floorplan(*r.cost, per_array_read_energy(r.chip, *r.cost)), opt_.thermal);
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
      ChipEvalOptions hot = eval;
      hot.sqnr = false;
      r.hot = evaluate_on_chip(*net_, test_, ctx, hot);
      r.seconds.hot_eval = seconds_since(th);
    }
  }
  r.seconds.total = seconds_since(t0);
  return r;
}

}  // namespace cimkit::pipeline
