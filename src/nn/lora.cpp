// ADC-LoRA (paper 003 §3.4, eq. 11-12) on an analog layer: the low-rank term A·B, the frozen
// weight, and the warm-up's mean squared error against the layer without the ADC.
#include <fmt/format.h>

#include "core/error.hpp"
#include "nn/analog.hpp"

namespace cimkit::nn {

void AnalogLayer::enable_lora(int64_t rank, double a_std) {
  if (has_lora()) throw Error(fmt::format("ADC-LoRA is already enabled on this {} layer", kind()));
  const torch::Tensor w = raw_matrix();
  const int64_t out = w.size(0), in = w.size(1);
  if (rank < 1 || rank > std::min(out, in)) {
    throw Error(fmt::format("ADC-LoRA rank {} on a {} layer of [{}, {}]; allowed: 1 .. {}", rank, kind(), out, in,
                            std::min(out, in)));
  }
  if (!(a_std > 0)) throw Error(fmt::format("ADC-LoRA: the std of A must be positive, got {}", a_std));
  torch::nn::Module& m = as_module();
  const auto opts = w.options().requires_grad(false);
  // Eq. 11's A [m, r] Gaussian and B [r, n] zero (LoRA's initialisation, Hu et al. 2021).
  lora_a_ = m.register_parameter("lora_a", torch::randn({out, rank}, opts) * a_std);
  lora_b_ = m.register_parameter("lora_b", torch::zeros({rank, in}, opts));
  for (auto& p : m.named_parameters(/*recurse=*/false)) {
    if (p.key() == "weight") p.value().requires_grad_(false);
  }
}

torch::Tensor AnalogLayer::lora_delta() const {
  if (!has_lora()) return torch::Tensor();
  return torch::matmul(lora_a_, lora_b_);
}

uint32_t AnalogLayer::lora_version() const {
  if (!has_lora()) return 0;
  return static_cast<uint32_t>(lora_a_._version() + lora_b_._version());
}

torch::Tensor AnalogLayer::take_lora_mse() {
  torch::Tensor v = lora_mse_;
  lora_mse_ = torch::Tensor();
  return v;
}

}  // namespace cimkit::nn
