// The analog layers as LibTorch modules (AnalogLinear, AnalogConv2d) and the Network base that
// walks them; the layer logic they share (precision, codes, the engine, the surrogate) is
// AnalogLayer in analog.cpp.
#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "core/text.hpp"
#include "nn/analog.hpp"

namespace cimkit::nn {
namespace F = torch::nn::functional;

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
      "xq", make_quantizer(options.quant(), precision_.act_bits, options.signed_input(), /*symmetric=*/true, 0,
                           QuantRole::activation));
  reset_parameters();
  drop_engines();
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
  torch::Tensor rows = vec ? x.unsqueeze(0) : x;
  last_vectors_ = 1;
  last_input_shape_ = {options.in_features()};
  const bool fold = folds_normalisation() && mode_ != LayerMode::Float;
  if (fold) rows = to_pixels(rows);
  torch::Tensor y = matmul_rows(rows);
  if (fold) y = y - fold_correction().unsqueeze(0);
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
  xq = register_module("xq", make_quantizer(o.quant(), precision_.act_bits, o.signed_input(),
                                            /*symmetric=*/true, 0, QuantRole::activation));
  reset_parameters();
  drop_engines();
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
  // A folded normalisation (set_input_normalisation): the image back in pixels, zero padding of
  // the normalised image made explicit as padding with the mean pixel.
  const bool fold = folds_normalisation() && mode_ != LayerMode::Float;
  int64_t pad = o.padding();
  torch::Tensor src = x;
  if (fold) {
    src = to_pixels(pad > 0 ? F::pad(x, F::PadFuncOptions({pad, pad, pad, pad})) : x);
    pad = 0;
  }
  auto conv = [&](const torch::Tensor& in, const torch::Tensor& w) {
    return F::conv2d(in, w, F::Conv2dFuncOptions().bias(bias).stride(o.stride()).padding(pad));
  };
  if (has_weight_source() && mode_ != LayerMode::Float) float_weight(weight);  // the error
  switch (mode_) {
    case LayerMode::Float:
      return conv(x, float_weight(weight));
    case LayerMode::Quantised:
      if (fold) {
        return conv(xq->forward(src), wq->forward(weight_matrix()).view_as(weight)) -
               fold_correction().reshape({1, -1, 1, 1});
      }
      return conv(xq->forward(x), wq->forward(has_lora() ? weight + lora_delta().view_as(weight) : weight));
    case LayerMode::Analog:
      break;
  }
  // im2col: rows [n·L, C·k·k] in the order of weight.reshape({out, C·k·k}).
  const int64_t n = x.size(0);
  auto unfold = [&](const torch::Tensor& img) {
    const torch::Tensor cols = F::unfold(img, F::UnfoldFuncOptions({k, k}).padding(pad).stride(o.stride()));
    return cols.transpose(1, 2).reshape({-1, cols.size(1)});
  };
  torch::Tensor y;  // rows [n·L, out], or already [n, out, h_out, w_out]
  if (codes_before_unfold()) {
    // The chip's input codes of the image, then unfolded: the same codes as unfolding first
    // (an elementwise quantiser commutes with im2col's gather) at 1/k² of the work. Padding
    // reads code(0), which is 0 unless an LSQ+ offset moves it: then the image is padded first.
    if (pad > 0 && input_codes(torch::zeros({1}, src.options())).codes.item<double>() != 0.0) {
      src = F::pad(src, F::PadFuncOptions({pad, pad, pad, pad}));
      pad = 0;
    }
    InputCodes ic = input_codes(src);
    if (reads_folded()) {  // convolutions over the image's windows: the rows are never built
      const CrossbarLayer::Windows windows{k, o.stride(), pad};
      y = read_codes(ic, x.scalar_type(), &windows).permute({0, 3, 1, 2});
    } else {
      ic.codes = unfold(ic.codes);
      y = read_codes(ic, x.scalar_type());
    }
  } else if (surrogate_active()) {
    // In training the surrogate quantises the image before unfolding (k² fewer elements;
    // padding stays exactly 0, as in quantised mode).
    y = analog_surrogate(unfold(xq->forward(src)));
  } else {
    y = matmul_rows(unfold(src));
  }
  if (y.dim() == 2) {  // rows [n·L, out]
    y = y.reshape({n, h_out * w_out, o.out_channels()}).transpose(1, 2).reshape({n, o.out_channels(), h_out, w_out});
  }
  if (fold) y = y - fold_correction().reshape({1, -1, 1, 1});
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
