#include "nn/analog.hpp"

#include <ATen/record_function.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"

namespace cimkit::nn {

// ---- AnalogLayer -----------------------------------------------------------------------------

void AnalogLayer::set_precision(const Precision& p) {
  p.check();
  precision_ = p;
  apply_precision();
}

void AnalogLayer::apply_precision() {
  weight_quantizer()->set_bits(precision_.weight_bits);
  input_quantizer()->set_bits(precision_.act_bits);
}

void AnalogLayer::set_context(std::shared_ptr<AnalogContext> ctx) {
  ctx_ = std::move(ctx);
  drop_engines();
}

void AnalogLayer::set_time_since_program(double seconds) {
  time_since_program_s_ = seconds;
  if (engine_) engine_->set_time_since_program(seconds);
}

void AnalogLayer::set_temperature(double kelvin) {
  temperature_k_ = kelvin;
  temperature_per_array_ = torch::Tensor();
  if (engine_) engine_->set_temperature(kelvin);
}

void AnalogLayer::set_temperature(const torch::Tensor& per_array_k) {
  temperature_per_array_ = per_array_k;
  temperature_k_.reset();
  if (engine_) engine_->set_temperature(per_array_k);
}

std::pair<torch::Tensor, torch::Tensor> AnalogLayer::weight_codes() {
  torch::NoGradGuard no_grad;
  const torch::Tensor w = weight_matrix().detach();
  Quantizer& q = weight_quantizer();
  const QuantRange r = q->range();  // symmetric: q_n = q_p
  torch::Tensor scale;              // [out] or [1]
  if (q->step.defined()) {          // learned step (lsq / lsqplus weights)
    if (!q->initialized()) q->init_from(q->options.channels() > 0 ? weight_matrix().detach() : w);
    scale = q->effective_step().detach().to(torch::kFloat64).reshape({-1});
  } else {  // min-max (also the chip's own quantisation when the layer has none)
    scale = minmax_scale(w.to(torch::kFloat64), precision_.weight_bits, true,
                         q->options.channels() > 0 ? 0 : -1)
                .reshape({-1});
  }
  if (scale.numel() == 1) scale = scale.expand({w.size(0)}).contiguous();
  torch::Tensor codes =
      torch::round(w.to(torch::kFloat64) / scale.unsqueeze(1)).clamp(-r.q_p, r.q_p);
  return {codes, scale};
}

AnalogLayer::InputCodes AnalogLayer::input_codes(const torch::Tensor& x_rows) {
  torch::NoGradGuard no_grad;
  Quantizer& q = input_quantizer();
  const QuantRange r = q->range();
  InputCodes ic;
  const torch::Tensor x = x_rows.detach();
  if (q->step.defined()) {
    if (!q->initialized()) q->init_from(x);
    ic.scale = q->effective_step().item<double>();
    if (q->offset.defined()) ic.offset = q->offset.item<double>();
    ic.codes = torch::round(((x - ic.offset) / ic.scale).clamp(-r.q_n, r.q_p));
  } else {
    const double lo = signed_input() ? -(std::ldexp(1.0, precision_.act_bits - 1) - 1) : 0.0;
    const double hi = signed_input() ? std::ldexp(1.0, precision_.act_bits - 1) - 1
                                     : std::ldexp(1.0, precision_.act_bits) - 1;
    ic.scale = minmax_scale(x, precision_.act_bits, signed_input()).item<double>();
    ic.codes = torch::round((x / ic.scale).clamp(lo, hi));
  }
  return ic;
}

bool AnalogLayer::surrogate_active() const {
  if (mode_ != LayerMode::Analog || !torch::GradMode::is_enabled()) return false;
  const auto* module = dynamic_cast<const torch::nn::Module*>(this);
  return module && module->is_training();
}

torch::Tensor AnalogLayer::weight_matrix() const {
  if (!has_lora()) return base_matrix();
  torch::Tensor w = raw_matrix() + lora_delta();
  if (!fold_mean_.defined()) return w;
  const int64_t per = w.size(1) / fold_std_.size(0);
  return w / fold_std_.to(w.device(), w.scalar_type()).repeat_interleave(per).unsqueeze(0);
}

torch::Tensor AnalogLayer::base_matrix() const {
  const torch::Tensor w = raw_matrix();
  if (!fold_mean_.defined()) return w;
  const int64_t per = w.size(1) / fold_std_.size(0);  // matrix rows are channel-major
  return w / fold_std_.to(w.device(), w.scalar_type()).repeat_interleave(per).unsqueeze(0);
}

void AnalogLayer::set_input_normalisation(const std::vector<double>& mean, const std::vector<double>& std) {
  const int64_t c = input_channels(), n = static_cast<int64_t>(mean.size()), in = raw_matrix().size(1);
  const bool fits = c > 0 ? n == c : n > 0 && in % n == 0;
  if (!fits || std.size() != mean.size()) {
    throw ShapeError(fmt::format("input normalisation: {} means and {} stds for a layer with {}", mean.size(),
                                 std.size(), c > 0 ? fmt::format("{} input channels", c)
                                                   : fmt::format("{} input features (channel-major)", in)));
  }
  if (signed_input()) {
    throw Error("input normalisation folded into a layer whose inputs are signed: the folded layer reads "
                "unsigned pixels (build it with signed_input false)");
  }
  for (double v : std) {
    if (!(v > 0) || !std::isfinite(v)) throw Error(fmt::format("input normalisation: std {} is not positive", v));
  }
  fold_mean_ = torch::tensor(mean, torch::kFloat64).to(torch::kFloat32);
  fold_std_ = torch::tensor(std, torch::kFloat64).to(torch::kFloat32);
  drop_engines();
}

torch::Tensor AnalogLayer::to_pixels(const torch::Tensor& x) const {
  const torch::Tensor mean = fold_mean_.to(x.device(), x.scalar_type()), std = fold_std_.to(x.device(), x.scalar_type());  // x's device
  if (x.dim() == 2) {  // rows of a linear layer: features channel-major
    const int64_t per = x.size(1) / std.size(0);
    return x * std.repeat_interleave(per).unsqueeze(0) + mean.repeat_interleave(per).unsqueeze(0);
  }
  return x * std.view({1, -1, 1, 1}) + mean.view({1, -1, 1, 1});
}

torch::Tensor AnalogLayer::fold_correction() {
  const torch::Tensor w_hat = weight_quantizer()->forward(weight_matrix());  // [out, in]
  const int64_t per = w_hat.size(1) / fold_mean_.size(0);
  return torch::mv(w_hat, fold_mean_.to(w_hat.device(), w_hat.scalar_type()).repeat_interleave(per));
}

bool AnalogLayer::holds_current_cells(const Programmed& p) const {
  if (p.precision.weight_bits != precision_.weight_bits || p.generation != ctx_->generation()) return false;
  auto* self = const_cast<AnalogLayer*>(this);
  if (p.weight_version != static_cast<uint32_t>(self->raw_matrix()._version())) return false;
  if (p.lora_version != lora_version()) return false;
  const torch::Tensor& step = self->weight_quantizer()->step;
  return !step.defined() || p.step_version == static_cast<uint32_t>(step._version());
}

bool AnalogLayer::cells_stale() const {
  if (!engine_) return true;
  return !holds_current_cells(programmed_) || programmed_.device_seed != ctx_->device_seed();
}

void AnalogLayer::drop_engines() {
  engine_.reset();
  spares_.clear();
}

bool AnalogLayer::swap_in_spare() {
  if (!ctx_) return false;
  const size_t keep = static_cast<size_t>(std::max<int64_t>(1, ctx_->keep_instances));
  if (engine_ && keep > 1 && holds_current_cells(programmed_) && programmed_.device_seed != ctx_->device_seed()) {
    spares_.push_back({engine_, programmed_, calibrated_});
  }
  spares_.erase(std::remove_if(spares_.begin(), spares_.end(),
                               [&](const Spare& s) { return !holds_current_cells(s.programmed); }),
                spares_.end());
  auto it = std::find_if(spares_.begin(), spares_.end(),
                         [&](const Spare& s) { return s.programmed.device_seed == ctx_->device_seed(); });
  const bool found = it != spares_.end();
  if (found) {
    engine_ = it->engine;
    programmed_ = it->programmed;
    calibrated_ = it->calibrated;
    spares_.erase(it);
  }
  // With the current engine, `keep` in all (a new one is built next when none was found).
  while (spares_.size() > keep - 1) spares_.erase(spares_.begin());  // the oldest first
  if (!found) return false;
  // The read conditions of now, and reads that repeat a fresh engine's.
  if (time_since_program_s_) engine_->set_time_since_program(*time_since_program_s_);
  if (temperature_per_array_.defined()) {
    engine_->set_temperature(temperature_per_array_);
  } else if (temperature_k_) {
    engine_->set_temperature(*temperature_k_);
  }
  engine_->restart_reads();
  retarget_engine();
  return true;
}

void AnalogLayer::retarget_engine() {
  if (programmed_.precision == precision_) return;
  engine_->retarget(ctx_->chip_for(precision_, signed_input()));
  programmed_.precision = precision_;
  calibrated_ = false;
}

void AnalogLayer::program() {
  if (cells_stale() && !swap_in_spare()) {
    build_engine();  // programs the cells
    return;
  }
  retarget_engine();
  engine_->program();
}

void AnalogLayer::build_engine() {
  if (!ctx_) {
    throw Error(
        "analog layer has no chip: call Network::set_context (or AnalogLayer::set_context) "
        "before analog mode");
  }
  auto [codes, scale] = weight_codes();
  CrossbarLayer::Options o;
  o.integer_codes = true;
  o.rounded_inputs = true;  // input_codes() rounds and clamps them
  o.seed = derive_seed(ctx_->seed(), "device_instance", ctx_->device_seed());
  o.layer_id = layer_id_;
  o.operating = ctx_->operating();
  if (time_since_program_s_) o.operating.time_since_program_s = *time_since_program_s_;
  if (temperature_k_) o.operating.temperature_k = *temperature_k_;
  engine_ = std::make_shared<CrossbarLayer>(ctx_->chip_for(precision_, signed_input()), codes, o);
  // Counts per array belong to one placement: a new one (other weight bits) starts them afresh.
  if (counts_.activations_per_array.defined() &&
      counts_.activations_per_array.numel() != engine_->mapping().n_arrays) {
    reset_counts();
  }
  if (temperature_per_array_.defined()) engine_->set_temperature(temperature_per_array_);
  programmed_.precision = precision_;
  programmed_.generation = ctx_->generation();
  programmed_.device_seed = ctx_->device_seed();
  programmed_.weight_version = static_cast<uint32_t>(raw_matrix()._version());
  programmed_.lora_version = lora_version();
  const torch::Tensor& step = weight_quantizer()->step;
  programmed_.step_version = step.defined() ? static_cast<uint32_t>(step._version()) : 0;
  programmed_.codes = codes;
  programmed_.scale = scale;
  calibrated_ = false;
}

CrossbarLayer& AnalogLayer::engine() {
  if (cells_stale()) {
    if (!swap_in_spare()) build_engine();
  } else {
    retarget_engine();
  }
  return *engine_;
}

torch::Tensor AnalogLayer::analog_read(const torch::Tensor& x_rows) {
  torch::NoGradGuard no_grad;
  RECORD_FUNCTION("cimkit::analog_read", std::vector<c10::IValue>());
  return read_codes(input_codes(x_rows), x_rows.scalar_type());
}

bool AnalogLayer::codes_before_unfold() {
  if (mode_ != LayerMode::Analog || probe_on_ || surrogate_active()) return false;
  const Quantizer& q = input_quantizer();
  return q->step.defined() && q->initialized();
}

bool AnalogLayer::reads_folded() const { return ctx_ && ctx_->fidelity != Fidelity::BitExact; }

torch::Tensor AnalogLayer::read_codes(const InputCodes& ic, c10::ScalarType out_type,
                                      const CrossbarLayer::Windows* windows) {
  torch::NoGradGuard no_grad;
  CrossbarLayer& eng = engine();
  if (!calibrated_) {  // no-op unless the chip's ADC has a calibrated range
    if (windows) {
      const int64_t k = windows->kernel, p = windows->padding, s = windows->stride;
      const torch::Tensor cols = torch::im2col(ic.codes, {k, k}, {1, 1}, {p, p}, {s, s});
      eng.calibrate(cols.transpose(1, 2).reshape({-1, cols.size(1)}));
    } else {
      eng.calibrate(ic.codes);
    }
    calibrated_ = true;
  }
  eng.set_fidelity(ctx_->fidelity);
  eng.set_read_energy(ctx_->read_energy);
  MvmResult r = windows ? eng.forward_windows(ic.codes, *windows) : eng.forward(ic.codes);
  counts_.add(r.counts);
  const torch::Tensor& s_w = programmed_.scale;  // [out] float64
  torch::Tensor y = r.y_int * (s_w * ic.scale).unsqueeze(0);
  if (ic.offset != 0.0)
    y = y + ic.offset * (programmed_.codes * s_w.unsqueeze(1)).sum(1).unsqueeze(0);
  return y.to(out_type);
}

torch::Tensor AnalogLayer::float_weight(const torch::Tensor& parameter) const {
  if (!weight_source_) return has_lora() ? parameter + lora_delta().view_as(parameter) : parameter;
  if (mode_ != LayerMode::Float) {
    throw Error(fmt::format("a {} layer with a weight reparametrisation runs in float mode only (it is in {} mode)",
                            kind(), to_string(mode_)));
  }
  torch::Tensor w = weight_source_();
  if (!w.sizes().equals(parameter.sizes())) {
    throw ShapeError(fmt::format("weight source: shape [{}], the layer's weight is [{}]", fmt::join(w.sizes(), ", "),
                                 fmt::join(parameter.sizes(), ", ")));
  }
  return w;
}

torch::Tensor AnalogLayer::matmul_rows(const torch::Tensor& x_rows) {
  if (weight_source_ && mode_ != LayerMode::Float) float_weight(raw_matrix());  // the error
  switch (mode_) {
    case LayerMode::Float:
      return torch::matmul(x_rows, float_weight(raw_matrix()).t());
    case LayerMode::Quantised:
      return torch::matmul(input_quantizer()->forward(x_rows),
                           weight_quantizer()->forward(weight_matrix()).t());
    case LayerMode::Analog:
      break;
  }
  if (surrogate_active()) return analog_surrogate(input_quantizer()->forward(x_rows));
  torch::Tensor y = analog_read(x_rows);
  if (probe_on_) {
    torch::NoGradGuard no_grad;
    const torch::Tensor yd = torch::matmul(input_quantizer()->forward(x_rows),
                                           weight_quantizer()->forward(weight_matrix()).t())
                                 .to(torch::kFloat64);
    const torch::Tensor ya = y.to(torch::kFloat64);
    // The analog read folds an LSQ+ offset digitally; min-max layers are compared with min-max.
    torch::Tensor ref = yd;
    if (!weight_quantizer()->step.defined() || !input_quantizer()->step.defined()) {
      ref = torch::matmul(fake_quant_minmax(x_rows, precision_.act_bits, signed_input()),
                          fake_quant_minmax(weight_matrix(), precision_.weight_bits, true,
                                            weight_quantizer()->options.channels() > 0 ? 0 : -1)
                              .t())
                .to(torch::kFloat64);
    }
    probe_signal_ += ref.square().sum().item<double>();
    probe_noise_ += (ya - ref).square().sum().item<double>();
  }
  return y;
}

double AnalogLayer::sqnr_db() const {
  if (probe_signal_ == 0.0 && probe_noise_ == 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (probe_noise_ == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(probe_signal_ / probe_noise_);
}

}  // namespace cimkit::nn
