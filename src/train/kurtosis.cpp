#include "train/kurtosis.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"

namespace cimkit::train {

torch::Tensor kurtosis(const torch::Tensor& w) {
  if (w.numel() < 2) throw ShapeError(fmt::format("kurtosis of {} element(s): at least 2 are needed", w.numel()));
  const torch::Tensor x = w.flatten();
  const torch::Tensor d = x - x.mean();
  const torch::Tensor var = d.square().mean();
  return d.pow(4).mean() / var.square();
}

WReshape::WReshape(nn::Network& net, KurtosisOptions o) {
  if (!(o.late_weight >= 0) || !(o.late_from >= 0 && o.late_from <= 1)) {
    throw Error(fmt::format("W-reshape: late_weight {} must be >= 0 and late_from {} in [0, 1]", o.late_weight, o.late_from));
  }
  for (auto& l : net.analog_layers()) {
    if (!l.layer->digital()) layers_.push_back(l);
  }
  if (layers_.empty()) throw Error("W-reshape: the network has no layer on the arrays");
  const auto n = static_cast<int64_t>(layers_.size());
  const auto late = static_cast<int64_t>(std::ceil(o.late_from * static_cast<double>(n)));
  for (int64_t i = 0; i < n; ++i) coef_.push_back(i >= late ? o.late_weight : 1.0);
}

torch::Tensor WReshape::loss() const {
  torch::Tensor sum;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (coef_[i] == 0.0) continue;
    nn::AnalogLayer& l = *layers_[i].layer;
    const torch::Tensor k = coef_[i] * kurtosis(l.weight_quantizer()->forward(l.weight_matrix()));
    sum = sum.defined() ? sum + k : k;
  }
  return sum.defined() ? sum : torch::zeros({});
}

std::vector<WeightShape> WReshape::stats() const {
  torch::NoGradGuard no_grad;
  std::vector<WeightShape> out;
  for (const auto& nl : layers_) {
    nn::AnalogLayer& l = *nl.layer;
    const torch::Tensor codes = l.weight_codes().first;  // the chip's integer codes W̄
    out.push_back({nl.name, kurtosis(codes).item<double>(), codes.var(/*unbiased=*/false).item<double>()});
  }
  return out;
}

}  // namespace cimkit::train
