#include "nn/shape_trace.hpp"

#include <cmath>

namespace cimkit::nn {

mapping::NetworkShape trace_network(nn::Network& net, const std::string& name, const mapping::TensorShape& input) {
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
