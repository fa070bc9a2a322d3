#include "nn/analog.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"

namespace cimkit::nn {

// ---- names and precision ---------------------------------------------------------------------

LayerMode parse_layer_mode(const std::string& name, const std::string& key) {
  if (name == "float") return LayerMode::Float;
  if (name == "quantised" || name == "quantized" || name == "qat") return LayerMode::Quantised;
  if (name == "analog") return LayerMode::Analog;
  const std::vector<std::string> allowed = {"float", "quantised", "analog"};
  throw Error(
      fmt::format("{} = '{}' is not a layer mode; allowed: float, quantised (or quantized, "
                  "qat), analog{}",
                  key, name, did_you_mean_hint(name, allowed)));
}

std::string to_string(LayerMode mode) {
  switch (mode) {
    case LayerMode::Float:
      return "float";
    case LayerMode::Quantised:
      return "quantised";
    case LayerMode::Analog:
      return "analog";
  }
  return "?";
}

void Precision::check(const std::string& key) const {
  auto bad = [&](const char* what, int v, const char* allowed) {
    throw Error(fmt::format("{}.{} = {}; allowed: {}", key, what, v, allowed));
  };
  if (weight_bits < 2 || weight_bits > 16)
    bad("weight_bits", weight_bits, "2..16 (signed, sign included)");
  if (act_bits < 1 || act_bits > 16) bad("act_bits", act_bits, "1..16");
  if (adc_bits < 1 || adc_bits > 16) bad("adc_bits", adc_bits, "1..16");
}

std::string Precision::str() const {
  return fmt::format("w{}a{}adc{}", weight_bits, act_bits, adc_bits);
}

// ---- context ---------------------------------------------------------------------------------

AnalogContext::AnalogContext(std::shared_ptr<const Chip> chip, uint64_t seed)
    : chip_(std::move(chip)), seed_(seed) {
  if (!chip_) throw Error("AnalogContext needs a chip");
  const ConfigNode resolved = chip_->resolved();
  const ConfigNode* adc = resolved.find("adc");
  if (adc && adc->has("range") && adc->find("range")->value() == "clipped" && adc->has("clip_k")) {
    adc_clip_k_ = std::stod(adc->find("clip_k")->value());
  }
}

std::shared_ptr<const Chip> AnalogContext::chip_for(const Precision& p, bool signed_input,
                                                    bool ideal_cells) const {
  p.check();
  std::lock_guard<std::mutex> lock(mu_);
  const auto key =
      std::make_tuple(p.weight_bits, p.act_bits, p.adc_bits, signed_input, ideal_cells);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  ConfigNode node = chip_->resolved();
  const SourceLoc loc{"<layer precision>", 0};
  ConfigNode* xbar = node.find("crossbar");
  xbar->set("weight_bits", ConfigNode::scalar(std::to_string(p.weight_bits), loc));
  xbar->set("input_bits", ConfigNode::scalar(std::to_string(p.act_bits), loc));
  xbar->set("input_encoding", ConfigNode::scalar(signed_input ? "offset" : "unsigned", loc));
  // An ideal ADC has no resolution to set; a real one takes the layer's ADC bits.
  ConfigNode* adc = node.find("adc");
  if (adc && adc->has("bits"))
    adc->set("bits", ConfigNode::scalar(std::to_string(p.adc_bits), loc));
  if (ideal_cells) {
    ConfigNode dev = ConfigNode::map(loc);
    dev.set("impl", ConfigNode::scalar("ideal", loc));
    node.set("device", dev);
  }
  auto chip = Chip::from_config(node, "chip");
  cache_.emplace(key, chip);
  return chip;
}

void AnalogContext::set_device_seed(uint64_t s) {
  device_seed_ = s;
  ++generation_;
}

void AnalogContext::set_operating(const OperatingConditions& op) {
  operating_ = op;
  ++generation_;
}

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
  engine_.reset();
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

bool AnalogLayer::engine_stale() const {
  if (!engine_) return true;
  const Programmed& p = programmed_;
  if (p.precision != precision_ || p.generation != ctx_->generation()) return true;
  auto* self = const_cast<AnalogLayer*>(this);
  if (p.weight_version != static_cast<uint32_t>(self->weight_matrix()._version())) return true;
  const torch::Tensor& step = self->weight_quantizer()->step;
  if (step.defined() && p.step_version != static_cast<uint32_t>(step._version())) return true;
  return false;
}

void AnalogLayer::program() {
  if (engine_ && !engine_stale()) {
    engine_->program();
    return;
  }
  build_engine();
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
  o.seed = derive_seed(ctx_->seed(), "device_instance", ctx_->device_seed());
  o.layer_id = layer_id_;
  o.operating = ctx_->operating();
  if (time_since_program_s_) o.operating.time_since_program_s = *time_since_program_s_;
  if (temperature_k_) o.operating.temperature_k = *temperature_k_;
  engine_ = std::make_shared<CrossbarLayer>(ctx_->chip_for(precision_, signed_input()), codes, o);
  if (temperature_per_array_.defined()) engine_->set_temperature(temperature_per_array_);
  programmed_.precision = precision_;
  programmed_.generation = ctx_->generation();
  programmed_.weight_version = static_cast<uint32_t>(weight_matrix()._version());
  const torch::Tensor& step = weight_quantizer()->step;
  programmed_.step_version = step.defined() ? static_cast<uint32_t>(step._version()) : 0;
  programmed_.codes = codes;
  programmed_.scale = scale;
  calibrated_ = false;
}

CrossbarLayer& AnalogLayer::engine() {
  if (engine_stale()) build_engine();
  return *engine_;
}

torch::Tensor AnalogLayer::analog_read(const torch::Tensor& x_rows) {
  torch::NoGradGuard no_grad;
  CrossbarLayer& eng = engine();
  const InputCodes ic = input_codes(x_rows);
  if (!calibrated_) {
    eng.calibrate(ic.codes);  // no-op unless the chip's ADC has a calibrated range
    calibrated_ = true;
  }
  MvmResult r = eng.forward(ic.codes);
  counts_.add(r.counts);
  const torch::Tensor& s_w = programmed_.scale;  // [out] float64
  torch::Tensor y = r.y_int * (s_w * ic.scale).unsqueeze(0);
  if (ic.offset != 0.0)
    y = y + ic.offset * (programmed_.codes * s_w.unsqueeze(1)).sum(1).unsqueeze(0);
  return y.to(x_rows.scalar_type());
}

// The chip in training, differentiable through the quantisers' straight-through estimators:
// either the chip's own digital result with a straight-through backward (SurrogateAdc::Chip), or
// paper 003 eq. 2–3 on every row tile of `rows` inputs with the ADC's straight-through floor
// (SurrogateAdc::Tile). x_hat: fake-quantised input rows [n, in] (code · s_x + β).
torch::Tensor AnalogLayer::analog_surrogate(const torch::Tensor& x_hat) {
  if (!ctx_) throw Error("analog layer has no chip: call Network::set_context before analog mode");
  Quantizer& wq = weight_quantizer();
  Quantizer& xq = input_quantizer();
  const torch::Tensor w = weight_matrix();
  torch::Tensor w_hat = wq->forward(w);  // code · s_w
  // Scales (differentiable for learned steps) that turn fake-quantised values into codes.
  torch::Tensor s_w, s_x, beta;
  if (wq->step.defined()) {
    s_w = wq->effective_step().reshape({-1, 1});
  } else {
    s_w =
        minmax_scale(w.detach(), precision_.weight_bits, true, wq->options.channels() > 0 ? 0 : -1)
            .reshape({-1, 1});
  }
  if (xq->step.defined()) {
    s_x = xq->effective_step().reshape({1});
    if (xq->offset.defined()) beta = xq->offset;
  } else {  // min-max: the largest |x̂| is the largest |x| (the top code is exact)
    s_x = minmax_scale(x_hat.detach(), precision_.act_bits, signed_input()).reshape({1});
  }
  torch::Tensor w_code = w_hat / s_w;                                    // [out, in]
  torch::Tensor x_code = (beta.defined() ? x_hat - beta : x_hat) / s_x;  // [n, in]
  const AnalogTraining& tr = ctx_->training;
  const double wmax = std::ldexp(1.0, precision_.weight_bits - 1) - 1;
  if (tr.weight_noise > 0) {
    w_code = w_code + torch::randn_like(w_code) * (tr.weight_noise * wmax);
  }
  torch::Tensor acc;  // [n, out] in code units
  if (tr.adc_model == SurrogateAdc::Chip) {
    const torch::Tensor y_lin = torch::matmul(x_code, w_code.t());
    acc = y_lin;
    if (tr.adc_in_loop) {
      torch::Tensor y_chip;
      {
        torch::NoGradGuard no_grad;
        const QuantRange xr = xq->range();
        const double x_lo =
            xq->step.defined()
                ? -xr.q_n
                : (signed_input() ? -(std::ldexp(1.0, precision_.act_bits - 1) - 1) : 0.0);
        const double x_hi = xq->step.defined()
                                ? xr.q_p
                                : (signed_input() ? std::ldexp(1.0, precision_.act_bits - 1) - 1
                                                  : std::ldexp(1.0, precision_.act_bits) - 1);
        CrossbarLayer::Options o;
        o.integer_codes = true;
        CrossbarLayer replica(ctx_->chip_for(precision_, signed_input(), /*ideal_cells=*/true),
                              torch::round(w_code.detach()).clamp(-wmax, wmax), o);
        const torch::Tensor xi = torch::round(x_code.detach()).clamp(x_lo, x_hi);
        replica.calibrate(xi);  // no-op unless the ADC range is calibrated
        y_chip = replica.forward(xi).y_int.to(y_lin.scalar_type());
      }
      acc = y_chip + (y_lin - y_lin.detach());  // chip value forward, straight-through backward
    }
    if (tr.output_noise > 0) acc = acc + torch::randn_like(acc) * tr.output_noise;
    torch::Tensor y = acc * (s_x * s_w.reshape({1, -1}));
    if (beta.defined()) y = y + beta * w_hat.sum(1).reshape({1, -1});
    return y;
  }
  const int64_t M = ctx_->base_chip()->spec().rows;
  double step = 0;
  if (tr.adc_in_loop && ctx_->base_chip()->adc().bits() > 0) {
    const double x_top = signed_input() ? std::ldexp(1.0, precision_.act_bits - 1)
                                        : std::ldexp(1.0, precision_.act_bits) - 1;
    step = 2.0 * static_cast<double>(M) * x_top * wmax /
           (std::ldexp(1.0, precision_.adc_bits) * ctx_->adc_clip_k());
  }
  const double n_a = -std::ldexp(1.0, precision_.adc_bits - 1),
               p_a = std::ldexp(1.0, precision_.adc_bits - 1) - 1;
  // Row tiles as views (split's backward concatenates the tiles' gradients into one tensor).
  const auto x_tiles = x_code.split(M, 1);
  const auto w_tiles = w_code.split(M, 1);
  for (size_t t = 0; t < x_tiles.size(); ++t) {
    torch::Tensor partial = torch::matmul(x_tiles[t], w_tiles[t].t());  // [n, out]
    if (tr.output_noise > 0) {
      partial = partial + torch::randn_like(partial) * (tr.output_noise * (step > 0 ? step : 1.0));
    }
    if (step > 0) partial = ste_floor(torch::clamp(partial / step, n_a, p_a)) * step;
    acc = acc.defined() ? acc + partial : partial;
  }
  torch::Tensor y = acc * (s_x * s_w.reshape({1, -1}));
  if (beta.defined()) y = y + beta * w_hat.sum(1).reshape({1, -1});
  return y;
}

torch::Tensor AnalogLayer::matmul_rows(const torch::Tensor& x_rows) {
  switch (mode_) {
    case LayerMode::Float:
      return torch::matmul(x_rows, weight_matrix().t());
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
