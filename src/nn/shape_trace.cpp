#include "nn/shape_trace.hpp"

#include <cmath>

#include "core/memory.hpp"
#include "nn/zoo.hpp"

namespace cimkit::nn {
namespace {

// The most channels a convolution holds at once (input + output, float mode runs F::conv2d on
// the image, no unfolding), or the input's channels.
double widest_conv(Network& net, int64_t in_channels) {
  double widest = double(in_channels);
  for (const auto& l : net.analog_layers()) {
    if (const auto* c = dynamic_cast<const AnalogConv2dImpl*>(l.layer))
      widest = std::max(widest, double(c->options.in_channels() + c->options.out_channels()));
  }
  return widest;
}

}  // namespace

double estimate_zoo_model_bytes(const ZooOptions& options) {
  // Built at two small sizes: parameters grow as a + b · size² (the linear layers after a
  // flatten see the spatial area; convolutions do not), and the trace's largest working set is a
  // convolution's unfolded input and output at the full image size.
  const int64_t s0 = 32, s1 = 64;
  if (options.image_size <= s1) return 0.0;
  auto built = [&](int64_t size) {
    ZooOptions o = options;
    o.image_size = size;
    return make_model(o);
  };
  const auto m0 = built(s0), m1 = built(s1);
  const double p0 = double(count_parameters(*m0)), p1 = double(count_parameters(*m1));
  const double b = (p1 - p0) / double(s1 * s1 - s0 * s0), a = p0 - b * double(s0 * s0);
  const double area = double(options.image_size) * double(options.image_size);
  const double params = a + b * area;
  const double widest = widest_conv(*m0, options.in_channels);
  // The float weights, and a convolution's input and output feature maps at the full image size;
  // +25 % for the allocator and LibTorch's temporaries (measured: lenet5 at 1x1024x1024 peaks at
  // ~550 MB above the process's base, this gives 560 MB; vgg8 at 3x512x512, whose linear fit
  // overshoots, ~450 MB against 1.95 GB).
  return 1.25 * (4.0 * params + 4.0 * widest * area);
}


mapping::NetworkShape trace_network(nn::Network& net, const std::string& name, const mapping::TensorShape& input) {
  const double widest = widest_conv(net, input.channels);
  require_memory(4.0 * widest * double(input.height) * double(input.width),
                 "tracing " + name + " at " + std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
                     std::to_string(input.width),
                 "use a smaller input shape");
  torch::NoGradGuard no_grad;
  auto layers = net.analog_layers();
  std::vector<LayerMode> modes;
  for (auto& l : layers) modes.push_back(l.layer->mode());
  const bool was_training = net.is_training();
  net.eval();
  net.set_mode(LayerMode::Float);
  net.forward(torch::zeros({1, input.channels, input.height, input.width}));
  net.train(was_training);
  mapping::NetworkShape shape;
  shape.name = name;
  shape.source = "zoo:" + name;
  shape.input = input;
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i].layer->set_mode(modes[i]);
    const AnalogLayer& a = *layers[i].layer;
    const torch::Tensor w = a.weight_matrix();
    mapping::WeightLayer wl;
    wl.name = layers[i].name;
    wl.kind = a.kind();
    wl.in_features = w.size(1);
    wl.out_features = w.size(0);
    wl.vectors = a.last_vectors_per_sample();
    wl.weight_bits = a.precision().weight_bits;
    wl.input_bits = a.precision().act_bits;
    wl.adc_bits = a.precision().adc_bits;
    const auto& s = a.last_input_shape();
    wl.input = s.size() == 3 ? mapping::TensorShape{s[0], s[1], s[2]} : mapping::TensorShape{s.empty() ? 0 : s[0], 1, 1};
    if (auto* conv = dynamic_cast<const AnalogConv2dImpl*>(&a)) {
      wl.kernel = conv->options.kernel_size();
      wl.stride = conv->options.stride();
      wl.padding = conv->options.padding();
      wl.output = {wl.out_features, (wl.input.height + 2 * wl.padding - wl.kernel) / wl.stride + 1,
                   (wl.input.width + 2 * wl.padding - wl.kernel) / wl.stride + 1};
    } else {
      wl.output = {wl.out_features, 1, 1};
    }
    shape.layers.push_back(wl);
  }
  return shape;
}

}  // namespace cimkit::nn
