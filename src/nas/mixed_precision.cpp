#include "nas/mixed_precision.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace cimkit::nas {

MixedPrecisionNet::MixedPrecisionNet(std::shared_ptr<nn::Network> inner, std::vector<int> bits, int adc_bits, uint64_t seed)
    : inner_(std::move(inner)), bits_(std::move(bits)), adc_bits_(adc_bits), seed_(seed) {
  if (!inner_) throw Error("nas: MixedPrecisionNet needs a network");
  if (bits_.empty()) throw Error("nas: MixedPrecisionNet needs at least one bit width to draw from");
  register_module("net", inner_);
  step_ = register_buffer("mp_step", torch::zeros({1}, torch::kInt64));
}

torch::Tensor MixedPrecisionNet::forward(const torch::Tensor& x) {
  if (is_training()) {
    const int64_t step = step_.item<int64_t>();
    at::Generator gen = make_generator(derive_seed(seed_, "mixed_precision", static_cast<uint64_t>(step)));
    std::vector<nn::Precision> p = inner_->precisions();
    const int64_t n = static_cast<int64_t>(bits_.size());
    for (auto& q : p) {
      q.weight_bits = bits_[static_cast<size_t>(torch::randint(n, {1}, gen).item<int64_t>())];
      q.act_bits = bits_[static_cast<size_t>(torch::randint(n, {1}, gen).item<int64_t>())];
      q.adc_bits = adc_bits_;
    }
    inner_->set_precisions(p);
    step_.add_(1);
  }
  return inner_->forward(x);
}

std::string QuantChipChoice::key() const {
  std::vector<std::string> parts;
  for (const auto& p : precisions) parts.push_back(fmt::format("w{}a{}", p.weight_bits, p.act_bits));
  return fmt::format("{} x{} adc{} dac{}", fmt::join(parts, "-"), xbar, adc_bits, dac_bits);
}

std::vector<search::Gene> QuantChipSpace::genes() const {
  std::vector<search::Gene> g;
  const int64_t nb = static_cast<int64_t>(bits.size());
  for (const auto& l : layers) {
    g.push_back({l + ".weight_bits", nb, quant_scale});
    g.push_back({l + ".act_bits", nb, quant_scale});
  }
  g.push_back({"xbar", static_cast<int64_t>(xbar.size()), chip_scale});
  g.push_back({"adc_bits", static_cast<int64_t>(adc.size()), chip_scale});
  g.push_back({"dac_bits", static_cast<int64_t>(dac.size()), chip_scale});
  return g;
}

QuantChipChoice QuantChipSpace::decode(const search::Genome& g) const {
  const size_t n = layers.size();
  if (g.size() != 2 * n + 3) throw Error(fmt::format("nas: a genome of {} genes for {} layers (needs {})", g.size(), n, 2 * n + 3));
  auto at = [&](size_t i, size_t size) {
    if (g[i] < 0 || static_cast<size_t>(g[i]) >= size) throw Error(fmt::format("nas: gene {} = {} is out of range", i, g[i]));
    return static_cast<size_t>(g[i]);
  };
  QuantChipChoice c;
  c.xbar = xbar[at(2 * n, xbar.size())];
  c.adc_bits = adc[at(2 * n + 1, adc.size())];
  c.dac_bits = dac[at(2 * n + 2, dac.size())];
  for (size_t l = 0; l < n; ++l) {
    nn::Precision p;
    p.weight_bits = bits[at(2 * l, bits.size())];
    p.act_bits = bits[at(2 * l + 1, bits.size())];
    p.adc_bits = c.adc_bits;
    c.precisions.push_back(p);
  }
  return c;
}

}  // namespace cimkit::nas
