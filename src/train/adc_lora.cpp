#include "train/adc_lora.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::train {

std::vector<std::string> enable_adc_lora(nn::Network& net, const LoraOptions& o) {
  std::vector<std::string> on_arrays, chosen;
  for (auto& l : net.analog_layers()) {
    if (!l.layer->digital()) on_arrays.push_back(l.name);
  }
  for (const std::string& name : o.layers) {
    if (std::find(on_arrays.begin(), on_arrays.end(), name) == on_arrays.end()) {
      throw Error(fmt::format("ADC-LoRA: layer '{}' is not a layer on the arrays; allowed: {}", name, join(on_arrays)));
    }
  }
  for (auto& l : net.analog_layers()) {
    if (l.layer->digital()) continue;
    if (!o.layers.empty() && std::find(o.layers.begin(), o.layers.end(), l.name) == o.layers.end()) continue;
    try {
      // A's scale follows the weight's spread, so that Adam's steps on B (about lr each) move
      // W + A·B by about lr·σ_W, whatever the layer's scale.
      const double sw = l.layer->raw_matrix().detach().std().item<double>();
      l.layer->enable_lora(o.rank, (sw > 0 ? sw : 1.0) / std::sqrt(static_cast<double>(o.rank)));
    } catch (const Error& e) {
      throw Error("layer '" + l.name + "': " + e.what());
    }
    chosen.push_back(l.name);
  }
  if (chosen.empty()) throw Error("ADC-LoRA: no layer on the arrays to adapt");
  return chosen;
}

std::vector<double> lora_warmup(nn::Network& net, data::DataLoader& train, const LoraOptions& o) {
  std::vector<torch::Tensor> params;
  std::vector<nn::AnalogLayer*> layers;
  for (auto& l : net.analog_layers()) {
    if (!l.layer->has_lora()) continue;
    layers.push_back(l.layer);
    auto named = dynamic_cast<torch::nn::Module&>(*l.layer).named_parameters(/*recurse=*/false);
    params.push_back(named["lora_a"]);
    params.push_back(named["lora_b"]);
  }
  if (layers.empty()) throw Error("ADC-LoRA warm-up: no layer has adaptors (enable_adc_lora first)");
  if (train.n_batches() == 0) throw Error("ADC-LoRA warm-up: the training set has no batch");
  // Only A and B move: the rest keeps its gradient flags, and its gradients are discarded.
  torch::optim::Adam opt(params, torch::optim::AdamOptions(o.warmup_lr));
  std::vector<std::pair<torch::Tensor, torch::Tensor>> saved;
  for (auto& b : net.buffers()) saved.emplace_back(b, b.clone());
  const bool was_training = net.is_training();
  net.train();
  net.set_mode(nn::LayerMode::Analog);
  for (nn::AnalogLayer* l : layers) l->set_lora_warmup(true);
  std::vector<double> mse;
  train.set_epoch(0);
  const auto device = params.front().device();
  for (int64_t s = 0; s < o.warmup_steps; ++s) {
    const data::Batch b = train.batch(s % train.n_batches());
    net.zero_grad();
    net.forward(b.images.to(device));
    torch::Tensor sum;
    for (nn::AnalogLayer* l : layers) {
      const torch::Tensor v = l->take_lora_mse();
      if (v.defined()) sum = sum.defined() ? sum + v : v;
    }
    if (!sum.defined()) throw Error("ADC-LoRA warm-up: no adapted layer ran its training surrogate");
    mse.push_back(sum.item<double>());
    if (!std::isfinite(mse.back())) throw Error(fmt::format("ADC-LoRA warm-up diverged at step {} (MSE {}); lower lora.warmup_lr", s + 1, mse.back()));
    sum.backward();
    opt.step();
  }
  for (nn::AnalogLayer* l : layers) l->set_lora_warmup(false);
  net.zero_grad();
  {
    torch::NoGradGuard no_grad;
    for (auto& [buf, copy] : saved) buf.copy_(copy);
  }
  net.train(was_training);
  return mse;
}

int64_t trainable_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.requires_grad() ? p.numel() : 0;
  return n;
}

int64_t all_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace cimkit::train
