#include "train/bitaug.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace cimkit::train {
namespace F = torch::nn::functional;

double bitaug_weight(int64_t step, int64_t total) {
  if (total <= 0) return 0.0;
  const double t = std::clamp(static_cast<double>(step) / static_cast<double>(total), 0.0, 1.0);
  return 0.5 * (1.0 + std::cos(M_PI * t));
}

int bitaug_offset(uint64_t seed, int64_t step, const std::vector<int>& offsets) {
  if (offsets.empty()) throw Error("BitAug: the candidate set is empty");
  const uint64_t r = derive_seed(seed, "bitaug", static_cast<uint64_t>(step));
  return offsets[r % offsets.size()];
}

Trainer::ExtraPass bitaug_pass(std::shared_ptr<nn::Network> net, BitAugOptions o) {
  std::vector<int> sorted = o.offsets;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.empty() || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() ||
      std::find(sorted.begin(), sorted.end(), 0) != sorted.end()) {
    throw Error(fmt::format("BitAug: offsets [{}] must be distinct and non-zero (the target resolution is the first pass)",
                            fmt::join(o.offsets, ", ")));
  }
  std::vector<nn::AnalogLayer*> layers;
  for (auto& l : net->analog_layers()) {
    if (l.layer->digital()) continue;
    const int b = l.layer->precision().adc_bits;
    if (b <= 0) throw Error("BitAug: layer '" + l.name + "' has no ADC resolution (an ideal ADC) to augment");
    for (int off : o.offsets) {
      if (b + off < 1 || b + off > 24) {
        throw Error(fmt::format("BitAug: layer '{}' at {} ADC bits with offset {:+d} gives {} bits; allowed: 1 .. 24",
                                l.name, b, off, b + off));
      }
    }
    layers.push_back(l.layer);
  }
  if (layers.empty()) throw Error("BitAug: the network has no layer on the arrays");
  return [net, o, layers](const torch::Tensor& x, const torch::Tensor& y, const BatchInfo& info) -> double {
    const double lambda = bitaug_weight(info.step, o.epochs * info.n_batches);
    const int off = bitaug_offset(o.seed, info.step, o.offsets);
    // The running statistics belong to the target resolution: kept aside, put back after.
    std::vector<std::pair<torch::Tensor, torch::Tensor>> saved;
    for (auto& b : net->buffers()) saved.emplace_back(b, b.clone());
    std::vector<Precision> target;
    for (nn::AnalogLayer* l : layers) {
      target.push_back(l->precision());
      Precision p = l->precision();
      p.adc_bits += off;
      l->set_precision(p);
    }
    const torch::Tensor ce =
        F::cross_entropy(net->forward(x), y, F::CrossEntropyFuncOptions().label_smoothing(o.label_smoothing));
    if (lambda > 0) (lambda * ce).backward();
    for (size_t i = 0; i < layers.size(); ++i) layers[i]->set_precision(target[i]);
    {
      torch::NoGradGuard no_grad;
      for (auto& [buf, copy] : saved) buf.copy_(copy);
    }
    return ce.item<double>();
  };
}

}  // namespace cimkit::train
