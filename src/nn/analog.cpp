#include "nn/analog.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"

namespace cimkit::nn {
namespace F = torch::nn::functional;

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

namespace {

// Kaiming-uniform weights and uniform bias, as torch::nn::Linear / Conv2d initialise them.
void init_like_torch(torch::Tensor& weight, torch::Tensor& bias, int64_t fan_in) {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

Quantizer make_quantizer(QuantMode mode, int bits, bool is_signed, bool symmetric, int64_t channels,
                         QuantRole role) {
  QuantizerOptions o(mode, bits);
  o.is_signed(is_signed).symmetric(symmetric).channels(channels).role(role);
  return Quantizer(o);
}

}  // namespace

// ---- AnalogLinear ----------------------------------------------------------------------------

AnalogLinearImpl::AnalogLinearImpl(AnalogLinearOptions options_) : options(std::move(options_)) {
  reset();
}

void AnalogLinearImpl::reset() {
  if (options.in_features() < 1 || options.out_features() < 1) {
    throw ShapeError(
        fmt::format("AnalogLinear: in_features = {} and out_features = {} must be >= 1",
                    options.in_features(), options.out_features()));
  }
  options.precision().check("precision");
  precision_ = options.precision();
  weight =
      register_parameter("weight", torch::empty({options.out_features(), options.in_features()}));
  bias = options.bias() ? register_parameter("bias", torch::empty({options.out_features()}))
                        : torch::Tensor();
  wq = register_module(
      "wq", make_quantizer(options.quant(), precision_.weight_bits, true, true,
                           options.per_channel() ? options.out_features() : 0, QuantRole::weight));
  xq = register_module(
      "xq", make_quantizer(options.quant(), precision_.act_bits, options.signed_input(), false, 0,
                           QuantRole::activation));
  reset_parameters();
  engine_.reset();
}

void AnalogLinearImpl::reset_parameters() {
  init_like_torch(weight, bias, options.in_features());
}

torch::Tensor AnalogLinearImpl::forward(const torch::Tensor& x) {
  const bool vec = x.dim() == 1;
  if ((x.dim() != 1 && x.dim() != 2) || x.size(-1) != options.in_features()) {
    throw ShapeError(fmt::format("AnalogLinear: input must be [n, {}] (or [{}]), got [{}]",
                                 options.in_features(), options.in_features(),
                                 fmt::join(x.sizes(), ", ")));
  }
  const torch::Tensor rows = vec ? x.unsqueeze(0) : x;
  last_vectors_ = 1;
  last_input_shape_ = {options.in_features()};
  torch::Tensor y = matmul_rows(rows);
  if (bias.defined()) y = y + bias;
  return vec ? y.squeeze(0) : y;
}

void AnalogLinearImpl::pretty_print(std::ostream& stream) const {
  stream << "cimkit::nn::AnalogLinear(in_features=" << options.in_features()
         << ", out_features=" << options.out_features()
         << ", bias=" << (options.bias() ? "true" : "false") << ", mode=" << to_string(mode_)
         << ", precision=" << precision_.str() << ")";
}

// ---- AnalogConv2d ----------------------------------------------------------------------------

AnalogConv2dImpl::AnalogConv2dImpl(AnalogConv2dOptions options_) : options(std::move(options_)) {
  reset();
}

void AnalogConv2dImpl::reset() {
  const auto& o = options;
  if (o.in_channels() < 1 || o.out_channels() < 1 || o.kernel_size() < 1 || o.stride() < 1 ||
      o.padding() < 0) {
    throw ShapeError(
        fmt::format("AnalogConv2d: in_channels = {}, out_channels = {}, kernel_size = {} and "
                    "stride = {} must be >= 1, padding = {} >= 0",
                    o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(), o.padding()));
  }
  o.precision().check("precision");
  precision_ = o.precision();
  weight = register_parameter("weight", torch::empty({o.out_channels(), o.in_channels(),
                                                      o.kernel_size(), o.kernel_size()}));
  bias = o.bias() ? register_parameter("bias", torch::empty({o.out_channels()})) : torch::Tensor();
  wq = register_module("wq",
                       make_quantizer(o.quant(), precision_.weight_bits, true, true,
                                      o.per_channel() ? o.out_channels() : 0, QuantRole::weight));
  xq = register_module("xq", make_quantizer(o.quant(), precision_.act_bits, o.signed_input(), false,
                                            0, QuantRole::activation));
  reset_parameters();
  engine_.reset();
}

void AnalogConv2dImpl::reset_parameters() {
  init_like_torch(weight, bias,
                  options.in_channels() * options.kernel_size() * options.kernel_size());
}

torch::Tensor AnalogConv2dImpl::forward(const torch::Tensor& x) {
  const auto& o = options;
  if (x.dim() != 4 || x.size(1) != o.in_channels()) {
    throw ShapeError(fmt::format("AnalogConv2d: input must be [n, {}, H, W], got [{}]",
                                 o.in_channels(), fmt::join(x.sizes(), ", ")));
  }
  const int64_t k = o.kernel_size();
  const int64_t h_out = (x.size(2) + 2 * o.padding() - k) / o.stride() + 1;
  const int64_t w_out = (x.size(3) + 2 * o.padding() - k) / o.stride() + 1;
  if (h_out < 1 || w_out < 1) {
    throw ShapeError(
        fmt::format("AnalogConv2d: a {}x{} input is smaller than the {}x{} kernel with padding {}",
                    x.size(2), x.size(3), k, k, o.padding()));
  }
  last_vectors_ = h_out * w_out;
  last_input_shape_ = {x.size(1), x.size(2), x.size(3)};
  auto conv = [&](const torch::Tensor& in, const torch::Tensor& w) {
    return F::conv2d(in, w,
                     F::Conv2dFuncOptions().bias(bias).stride(o.stride()).padding(o.padding()));
  };
  switch (mode_) {
    case LayerMode::Float:
      return conv(x, weight);
    case LayerMode::Quantised:
      return conv(xq->forward(x), wq->forward(weight));
    case LayerMode::Analog:
      break;
  }
  // im2col: rows [n·L, C·k·k] in the order of weight.reshape({out, C·k·k}). In training the
  // surrogate quantises the image before unfolding (k² fewer elements; padding stays exactly 0,
  // as in quantised mode).
  const int64_t n = x.size(0);
  const bool surrogate = surrogate_active();
  const torch::Tensor src = surrogate ? xq->forward(x) : x;
  torch::Tensor cols =
      F::unfold(src, F::UnfoldFuncOptions({k, k}).padding(o.padding()).stride(o.stride()));
  torch::Tensor rows = cols.transpose(1, 2).reshape({-1, cols.size(1)});
  torch::Tensor y = surrogate ? analog_surrogate(rows) : matmul_rows(rows);  // [n·L, out]
  y = y.reshape({n, h_out * w_out, o.out_channels()})
          .transpose(1, 2)
          .reshape({n, o.out_channels(), h_out, w_out});
  if (bias.defined()) y = y + bias.reshape({1, -1, 1, 1});
  return y;
}

void AnalogConv2dImpl::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "cimkit::nn::AnalogConv2d(" << o.in_channels() << ", " << o.out_channels()
         << ", kernel_size=" << o.kernel_size() << ", stride=" << o.stride()
         << ", padding=" << o.padding() << ", bias=" << (o.bias() ? "true" : "false")
         << ", mode=" << to_string(mode_) << ", precision=" << precision_.str() << ")";
}

// ---- Network ---------------------------------------------------------------------------------

std::vector<Network::NamedLayer> Network::analog_layers() {
  std::vector<NamedLayer> out;
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    if (auto* a = dynamic_cast<AnalogLayer*>(item.value().get())) out.push_back({item.key(), a});
  }
  return out;
}

void Network::set_mode(LayerMode m) {
  for (auto& l : analog_layers()) l.layer->set_mode(m);
}

void Network::set_context(std::shared_ptr<AnalogContext> ctx) {
  uint64_t id = 0;
  for (auto& l : analog_layers()) {
    l.layer->set_context(ctx);
    l.layer->set_layer_id(id++);
  }
}

void Network::set_precisions(const std::vector<Precision>& p) {
  auto layers = analog_layers();
  if (p.size() != layers.size()) {
    throw Error(fmt::format("set_precisions: {} precisions given for a network of {} analog layers",
                            p.size(), layers.size()));
  }
  for (size_t i = 0; i < p.size(); ++i)
    p[i].check(fmt::format("precision of layer {} ({})", i, layers[i].name));
  for (size_t i = 0; i < p.size(); ++i) layers[i].layer->set_precision(p[i]);
}

std::vector<Precision> Network::precisions() {
  std::vector<Precision> out;
  for (auto& l : analog_layers()) out.push_back(l.layer->precision());
  return out;
}

void Network::reset_counts() {
  for (auto& l : analog_layers()) l.layer->reset_counts();
}

ActionCounts Network::total_counts() {
  ActionCounts total;
  std::vector<torch::Tensor> act, energy;
  for (auto& l : analog_layers()) {
    const ActionCounts& c = l.layer->counts();
    total.n_inputs += c.n_inputs;
    total.dac_conversions += c.dac_conversions;
    total.array_activations += c.array_activations;
    total.adc_conversions += c.adc_conversions;
    total.shift_adds += c.shift_adds;
    if (c.activations_per_array.defined()) act.push_back(c.activations_per_array);
    if (c.read_energy_j_per_array.defined()) energy.push_back(c.read_energy_j_per_array);
  }
  // Arrays of the network in layer order (each layer's own arrays concatenated).
  if (!act.empty()) total.activations_per_array = torch::cat(act);
  if (!energy.empty()) total.read_energy_j_per_array = torch::cat(energy);
  return total;
}

}  // namespace cimkit::nn
