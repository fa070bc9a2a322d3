#include "nn/quantizer.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit::nn {
namespace {

const char* mode_name(QuantMode m) {
  switch (m) {
    case QuantMode::none: return "none";
    case QuantMode::minmax: return "minmax";
    case QuantMode::lsq: return "lsq";
    case QuantMode::lsqplus: return "lsqplus";
    case QuantMode::ema: return "ema";
  }
  return "?";
}

}  // namespace

QuantizerImpl::QuantizerImpl(QuantizerOptions options_) : options(std::move(options_)) {
  reset();
}

QuantRange QuantizerImpl::range_for(int bits) const {
  QuantRange r = lsq_range(bits, options.is_signed(), "quantizer.bits");
  if (options.is_signed() && options.symmetric()) r.q_n = r.q_p;
  return r;
}

void QuantizerImpl::reset() {
  range_ = range_for(options.bits());
  if (options.channels() < 0) {
    throw Error(fmt::format("quantizer.channels = {}; allowed: 0 (per tensor) or > 0 (per output "
                            "channel of a weight)", options.channels()));
  }
  if (options.channels() > 0 && options.role() != QuantRole::weight) {
    throw Error("quantizer.channels > 0 is only allowed for role = weight (per-channel steps run "
                "over dim 0, the output channels of a weight)");
  }
  step = offset = torch::Tensor();
  const bool learned = options.mode() == QuantMode::lsq || options.mode() == QuantMode::lsqplus;
  if (learned) {
    const int64_t n = options.channels() > 0 ? options.channels() : 1;
    step = register_parameter("step", torch::ones({n}));
    if (options.mode() == QuantMode::lsqplus && options.role() == QuantRole::activation) {
      offset = register_parameter("offset", torch::zeros({1}));
    }
  }
  if (options.mode() == QuantMode::ema && options.role() == QuantRole::activation) {
    if (!(options.ema_momentum() >= 0 && options.ema_momentum() < 1)) {
      throw Error(fmt::format("quantizer.ema_momentum = {}; allowed: [0, 1)", options.ema_momentum()));
    }
    step = register_buffer("step", torch::ones({1}));
  }
  initialized_ = register_buffer("initialized", torch::tensor(false));
  n_elements_ = 0;
}

namespace {
// μ + 3σ of a batch (eq. 5's activation scale), at least 1e-12.
double mu_3sigma(const torch::Tensor& x) {
  const torch::Tensor f = x.detach().to(torch::kFloat64);
  return std::max(1e-12, (f.mean() + 3.0 * (f.numel() > 1 ? f.std() : torch::zeros({}, f.options()))).item<double>());
}
}  // namespace

void QuantizerImpl::set_bits(int bits) {
  const QuantRange old = range_;
  range_ = range_for(bits);  // throws before changing
  options.bits(bits);
  // ema: the clipping range α (eq. 6's state) is what was learned, the step α/q_p follows the bits
  // (a mixed-precision supernet switches them every step, paper 004 §3.3).
  if (options.mode() == QuantMode::ema && step.defined() && initialized() && old.q_p > 0 && range_.q_p > 0) {
    torch::NoGradGuard no_grad;
    step.mul_(old.q_p / range_.q_p);
  }
}

double QuantizerImpl::grad_scale() const {
  return n_elements_ > 0 ? lsq_grad_scale(n_elements_, range_.q_p) : 1.0;
}

torch::Tensor QuantizerImpl::scaled_step() const {
  const torch::Tensor s = effective_step();
  if (!s.defined()) return s;
  const double g = grad_scale();
  return (s - s * g).detach() + s * g;
}

int64_t QuantizerImpl::per_step_elements(const torch::Tensor& x) const {
  if (options.role() == QuantRole::activation) {
    return x.dim() >= 2 ? x.numel() / x.size(0) : x.numel();
  }
  return options.channels() > 0 ? x.numel() / options.channels() : x.numel();
}

void QuantizerImpl::init_from(const torch::Tensor& x) {
  if (!step.defined()) {
    initialized_.fill_(true);  // nothing learned to initialise
    return;
  }
  const int64_t dim = options.channels() > 0 ? 0 : -1;
  if (dim == 0 && (x.dim() == 0 || x.size(0) != options.channels())) {
    throw ShapeError(fmt::format("Quantizer: per-channel weight must have size {} in dim 0 "
                                 "(quantizer.channels); got shape [{}]",
                                 options.channels(), fmt::join(x.sizes(), "x")));
  }
  torch::NoGradGuard no_grad;
  // copy_ keeps the registered tensors (and their data_ptr) alive: optimizers stay valid.
  if (options.mode() == QuantMode::ema) {
    step.fill_(mu_3sigma(x) / range_.q_p);
  } else if (options.mode() == QuantMode::lsq) {
    step.copy_(lsq_init_step(x, range_.q_p, dim));
  } else if (options.role() == QuantRole::weight) {
    step.copy_(lsqplus_init_weight_step(x, options.bits(), dim));
  } else {
    auto [s, beta] = lsqplus_init_minmax(x, range_.q_n, range_.q_p);
    step.copy_(s);
    offset.copy_(beta);
  }
  initialized_.fill_(true);
}

torch::Tensor QuantizerImpl::effective_step() const {
  if (!step.defined()) return step;
  return step.abs().clamp_min(1e-12);
}

void QuantizerImpl::request_init() { initialized_.fill_(false); }

torch::Tensor QuantizerImpl::forward(const torch::Tensor& x) {
  switch (options.mode()) {
    case QuantMode::none:
      return x;
    case QuantMode::minmax:
      return fake_quant_minmax(x, options.bits(), options.is_signed(),
                               options.channels() > 0 ? 0 : -1);
    case QuantMode::ema:
      if (!step.defined()) {  // weights: α = max|w|, as minmax
        return fake_quant_minmax(x, options.bits(), options.is_signed(), options.channels() > 0 ? 0 : -1);
      }
      if (!initialized()) {
        init_from(x);
      } else if (is_training()) {  // eq. 6
        torch::NoGradGuard no_grad;
        const double m = options.ema_momentum();
        const double alpha = step.item<double>() * range_.q_p;
        step.fill_((m * alpha + (1.0 - m) * mu_3sigma(x)) / range_.q_p);
      }
      return lsq_quantize(x, effective_step().detach(), range_.q_n, range_.q_p, 1.0);
    case QuantMode::lsq:
    case QuantMode::lsqplus:
      break;
  }
  if (options.lazy_init() && !initialized()) init_from(x);
  n_elements_ = per_step_elements(x);
  const double g = grad_scale();
  // Per-tensor step is stored as [1]; per-channel as [C], which lsq_quantize broadcasts over dim 0.
  const torch::Tensor s = effective_step();
  if (offset.defined()) return lsqplus_quantize(x, s, offset, range_.q_n, range_.q_p, g);
  return lsq_quantize(x, s, range_.q_n, range_.q_p, g);
}

void QuantizerImpl::pretty_print(std::ostream& stream) const {
  stream << "cimkit::nn::Quantizer(mode=" << mode_name(options.mode()) << ", bits=" << options.bits()
         << ", signed=" << (options.is_signed() ? "true" : "false")
         << ", channels=" << options.channels()
         << ", role=" << (options.role() == QuantRole::weight ? "weight" : "activation") << ")";
}

}  // namespace cimkit::nn
