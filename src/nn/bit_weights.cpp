#include "nn/bit_weights.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"

namespace cimkit::nn {

namespace {

double levels(int bits) { return std::ldexp(1.0, bits) - 1.0; }

// round(x) forward, identity backward.
torch::Tensor ste_round_(const torch::Tensor& x) { return x + (torch::round(x) - x).detach(); }

}  // namespace

BitWeightsImpl::BitWeightsImpl(const torch::Tensor& weight, const torch::Tensor& step, int bits)
    : shape_(weight.sizes().vec()), bits_(bits) {
  if (bits < 1 || bits > 16) throw Error(fmt::format("bit representation: {} magnitude bits (allowed 1..16)", bits));
  const torch::Tensor st = step.detach().to(torch::kFloat32).flatten().abs().clamp_min(1e-12);
  if (st.numel() != 1 && st.numel() != weight.size(0)) {
    throw ShapeError(fmt::format("bit representation: {} steps for a weight with {} output channels", st.numel(),
                                 weight.size(0)));
  }
  scale_ = register_parameter("scale", st * static_cast<float>(levels(bits)));
  const torch::Tensor w = weight.detach().to(torch::kFloat32).flatten();
  pweight = register_parameter("pweight", torch::zeros({w.numel(), bits}));
  nweight = register_parameter("nweight", torch::zeros({w.numel(), bits}));
  const torch::Tensor m = torch::round(w.abs() / per_weight(st)).clamp_max(levels(bits));
  set_planes(m, torch::sign(w));
}

torch::Tensor BitWeightsImpl::per_weight(const torch::Tensor& per_channel) const {
  if (per_channel.numel() == 1) return per_channel.expand({pweight.size(0)});
  const int64_t per = pweight.size(0) / per_channel.numel();
  return per_channel.repeat_interleave(per);
}

void BitWeightsImpl::set_planes(const torch::Tensor& magnitude, const torch::Tensor& sign) {
  torch::NoGradGuard no_grad;
  const torch::Tensor m = magnitude.to(torch::kInt64);
  std::vector<torch::Tensor> planes;
  for (int b = 0; b < bits_; ++b) planes.push_back(m.bitwise_right_shift(bits_ - 1 - b).bitwise_and(1).to(torch::kFloat32));
  const torch::Tensor p = torch::stack(planes, 1);
  pweight.set_data(p * (sign > 0).to(torch::kFloat32).unsqueeze(1));
  nweight.set_data(p * (sign < 0).to(torch::kFloat32).unsqueeze(1));
  // Gradients of the old planes (maybe of another width) are dropped with them.
  for (torch::Tensor* t : {&pweight, &nweight}) {
    if (t->grad().defined()) t->mutable_grad() = torch::Tensor();
  }
}

torch::Tensor BitWeightsImpl::forward() {
  const double n = levels(bits_);
  torch::Tensor exps = torch::empty({bits_});
  for (int b = 0; b < bits_; ++b) exps[b] = std::ldexp(1.0, bits_ - 1 - b) / n;
  const torch::Tensor wc = torch::matmul(pweight - nweight, exps.to(pweight.device()));
  const torch::Tensor clipped = torch::clamp(wc, -1.0, 1.0);
  const torch::Tensor q = torch::sign(clipped).detach() * ste_round_(clipped.abs() * n) / n;
  return (q * per_weight(scale_.abs().clamp_min(1e-12))).view(shape_);
}

torch::Tensor BitWeightsImpl::codes() {
  torch::NoGradGuard no_grad;
  return torch::round(forward().flatten() / per_weight(step()));
}

torch::Tensor BitWeightsImpl::step() const { return scale_.abs().clamp_min(1e-12) / static_cast<float>(levels(bits_)); }

torch::Tensor BitWeightsImpl::group_lasso() {
  return torch::sqrt(1e-8 + pweight.pow(2).sum(0) + nweight.pow(2).sum(0)).sum();
}

double BitWeightsImpl::ones() {
  const torch::Tensor m = codes().abs().to(torch::kInt64);
  double total = 0.0;
  for (int b = 0; b < bits_; ++b) total += m.bitwise_right_shift(b).bitwise_and(1).sum().item<double>();
  return total;
}

void BitWeightsImpl::clamp_planes() {
  torch::NoGradGuard no_grad;
  pweight.clamp_(0.0, 2.0);
  nweight.clamp_(0.0, 2.0);
}

void BitWeightsImpl::requantize(int max_bits) {
  torch::NoGradGuard no_grad;
  const double n = levels(bits_);
  torch::Tensor exps = torch::empty({bits_});
  for (int b = 0; b < bits_; ++b) exps[b] = std::ldexp(1.0, bits_ - 1 - b) / n;
  const torch::Tensor wc = torch::matmul(pweight - nweight, exps.to(pweight.device()));
  torch::Tensor m = torch::round(wc.abs() * n);
  const torch::Tensor sign = torch::sign(wc);
  if (m.max().item<double>() > n && bits_ < max_bits) {
    // One more bit: the integers keep their values in the finer range, s keeps the step.
    const torch::Tensor st = step();
    ++bits_;
    scale_.set_data(st * static_cast<float>(levels(bits_)));
  }
  m = m.clamp_max(levels(bits_));
  set_planes(m, sign);
}

int BitWeightsImpl::adjust_precision(double threshold) {
  torch::NoGradGuard no_grad;
  const torch::Tensor m = codes().abs().to(torch::kInt64);
  const double count = static_cast<double>(m.numel());
  auto plane_ones = [&](int from_lsb) { return m.bitwise_right_shift(from_lsb).bitwise_and(1).sum().item<double>(); };
  // Most significant planes with at most `threshold` of the weights set: dropped (their weights
  // saturate at the new top), the step kept.
  int top = bits_;
  while (top > 1 && plane_ones(top - 1) <= threshold * count) --top;
  // Least significant planes that are all zero: dropped, each doubling the step.
  int low = 0;
  while (top - low > 1 && plane_ones(low) == 0.0) ++low;
  const int bits = top - low;
  if (bits == bits_) return bits_;
  const torch::Tensor st = step() * static_cast<float>(std::ldexp(1.0, low));
  const torch::Tensor mag = m.bitwise_right_shift(low).clamp_max(static_cast<int64_t>(levels(bits)));
  const torch::Tensor sign = torch::sign(codes());
  bits_ = bits;
  scale_.set_data(st * static_cast<float>(levels(bits_)));
  set_planes(mag, sign);
  return bits_;
}

}  // namespace cimkit::nn
