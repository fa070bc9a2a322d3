#include "crossbar/slicing.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace cimkit {

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

WeightLayout weight_layout(const CrossbarSpec& spec) {
  WeightLayout l;
  const int b = spec.weight_bits, c = spec.cell_bits;
  const int64_t half = int64_t{1} << (b - 1);
  switch (spec.weight_scheme) {
    case WeightScheme::Differential:
      l.n_slices = ceil_div(b - 1, c);
      l.n_polarities = 2;
      l.code_min = -(half - 1);
      l.code_max = half - 1;
      for (int64_t k = 0; k < l.n_slices; ++k)
        for (int p = 0; p < 2; ++p) l.coef.push_back((p == 0 ? 1.0 : -1.0) * std::ldexp(1.0, k * c));
      break;
    case WeightScheme::Offset:
      l.n_slices = ceil_div(b, c);
      l.n_polarities = 1;
      l.code_min = -half;
      l.code_max = half - 1;
      l.stored_offset = half;
      for (int64_t k = 0; k < l.n_slices; ++k) l.coef.push_back(std::ldexp(1.0, k * c));
      break;
    case WeightScheme::TwosComplement:
      l.n_slices = ceil_div(b - 1, c) + 1;
      l.n_polarities = 1;
      l.code_min = -half;
      l.code_max = half - 1;
      for (int64_t k = 0; k + 1 < l.n_slices; ++k) l.coef.push_back(std::ldexp(1.0, k * c));
      l.coef.push_back(-std::ldexp(1.0, b - 1));
      break;
  }
  l.n_groups = l.n_slices * l.n_polarities;
  l.analog_subtraction = spec.weight_scheme == WeightScheme::Differential && spec.subtract == Subtraction::Analog;
  if (l.analog_subtraction) {
    l.n_adc_groups = l.n_slices;
    for (int64_t k = 0; k < l.n_slices; ++k) l.adc_coef.push_back(std::ldexp(1.0, k * c));
  } else {
    l.n_adc_groups = l.n_groups;
    l.adc_coef = l.coef;
  }
  return l;
}

InputLayout input_layout(const CrossbarSpec& spec, int dac_bits) {
  InputLayout l;
  l.dac_bits = dac_bits;
  const int b = spec.input_bits;
  const int64_t full = int64_t{1} << b;
  switch (spec.input_encoding) {
    case InputEncoding::Unsigned:
      l.slices_per_phase = ceil_div(b, dac_bits);
      l.code_min = 0;
      l.code_max = full - 1;
      break;
    case InputEncoding::Offset:
      l.slices_per_phase = ceil_div(b, dac_bits);
      l.code_min = -(full / 2);
      l.code_max = full / 2 - 1;
      l.stored_offset = full / 2;
      break;
    case InputEncoding::TwoPhase:
    case InputEncoding::Bipolar:
      // Sign and magnitude: b - 1 magnitude bits (at least one).
      l.slices_per_phase = ceil_div(std::max(1, b - 1), dac_bits);
      l.code_min = -(full / 2 - 1);
      l.code_max = full / 2 - 1;
      l.two_phase = spec.input_encoding == InputEncoding::TwoPhase;
      l.signed_levels = !l.two_phase;
      break;
    case InputEncoding::Shifted:
      l.slices_per_phase = ceil_div(b, dac_bits);
      l.code_min = 0;
      l.code_max = full - 1;
      l.stored_offset = -(full / 2);
      l.signed_levels = true;
      l.twos_complement = true;
      break;
  }
  l.max_digit = l.twos_complement && l.slices_per_phase == 1 ? int64_t{1} << (dac_bits - 1)
                                                             : (int64_t{1} << dac_bits) - 1;
  const int64_t phases = l.two_phase ? 2 : 1;
  l.n_slices = phases * l.slices_per_phase;
  for (int64_t ph = 0; ph < phases; ++ph)
    for (int64_t s = 0; s < l.slices_per_phase; ++s)
      l.slice_coef.push_back((ph == 0 ? 1.0 : -1.0) * std::ldexp(1.0, static_cast<int>(s) * dac_bits));
  return l;
}

QuantisedWeights quantise_weights(const torch::Tensor& w, const CrossbarSpec& spec) {
  const double qmax = std::ldexp(1.0, spec.weight_bits - 1) - 1.0;
  torch::Tensor absmax = spec.per_channel_weights
                             ? w.abs().amax(1).to(torch::kFloat64)
                             : w.abs().max().to(torch::kFloat64).expand({w.size(0)}).clone();
  torch::Tensor scales = torch::where(absmax > 0, absmax / qmax, torch::ones_like(absmax));
  torch::Tensor codes = torch::round(w.to(torch::kFloat64) / scales.unsqueeze(1)).clamp(-qmax, qmax).to(torch::kInt64);
  return {codes, scales};
}

void check_codes(const torch::Tensor& t, int64_t lo, int64_t hi, const std::string& what) {
  const torch::Tensor d = t.to(torch::kFloat64);
  const torch::Tensor bad = (d != torch::round(d)) | (d < static_cast<double>(lo)) | (d > static_cast<double>(hi)) | torch::isnan(d);
  const int64_t n_bad = bad.sum().item<int64_t>();
  if (n_bad > 0) {
    const double first = d.flatten().index({bad.flatten()}).index({0}).item<double>();
    throw ShapeError(what + ": " + std::to_string(n_bad) + " value(s) are not integer codes in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "] (first: " +
                     std::to_string(first) + ")");
  }
}

torch::Tensor weight_digits(const torch::Tensor& codes, const CrossbarSpec& spec,
                            const WeightLayout& layout) {
  const int c = spec.cell_bits;
  const int64_t base = int64_t{1} << c;
  std::vector<torch::Tensor> groups;
  groups.reserve(layout.n_groups);
  // Every stored value here is non-negative, so digits are shifts and masks (integer division
  // does not vectorise).
  auto digit = [&](const torch::Tensor& v, int64_t k) {
    return torch::bitwise_and(torch::bitwise_right_shift(v, k * c), base - 1);
  };
  switch (spec.weight_scheme) {
    case WeightScheme::Differential: {
      const torch::Tensor pos = codes.clamp_min(0), neg = (-codes).clamp_min(0);
      for (int64_t k = 0; k < layout.n_slices; ++k) {
        groups.push_back(digit(pos, k));
        groups.push_back(digit(neg, k));
      }
      break;
    }
    case WeightScheme::Offset: {
      const torch::Tensor u = codes + layout.stored_offset;
      for (int64_t k = 0; k < layout.n_slices; ++k) groups.push_back(digit(u, k));
      break;
    }
    case WeightScheme::TwosComplement: {
      const int64_t half = int64_t{1} << (spec.weight_bits - 1);
      const torch::Tensor sign = (codes < 0).to(torch::kInt64);
      const torch::Tensor low = codes + sign * half;  // low bits of the two's complement code
      for (int64_t k = 0; k + 1 < layout.n_slices; ++k) groups.push_back(digit(low, k));
      groups.push_back(sign);
      break;
    }
  }
  return torch::stack(groups).to(torch::kFloat32);
}

torch::Tensor input_digits(const torch::Tensor& stored, const InputLayout& layout) {
  const int64_t mask = (int64_t{1} << layout.dac_bits) - 1;
  const torch::Tensor v = stored.to(torch::kInt32);  // codes are < 2^16
  std::vector<torch::Tensor> slices;
  auto add_slices = [&](const torch::Tensor& u, const torch::Tensor* sign) {
    for (int64_t s = 0; s < layout.slices_per_phase; ++s) {
      torch::Tensor d = torch::bitwise_and(torch::bitwise_right_shift(u, s * layout.dac_bits), mask).to(torch::kFloat32);
      slices.push_back(sign ? d * *sign : d);
    }
  };
  if (layout.twos_complement) {
    // Lower slices: bits of the two's complement (arithmetic shift, mask); the top slice: the
    // arithmetic shift alone, a signed digit.
    const int64_t top = layout.slices_per_phase - 1;
    for (int64_t s = 0; s < top; ++s)
      slices.push_back(torch::bitwise_and(torch::bitwise_right_shift(v, s * layout.dac_bits), mask).to(torch::kFloat32));
    slices.push_back(torch::bitwise_right_shift(v, top * layout.dac_bits).to(torch::kFloat32));
  } else if (layout.two_phase) {
    add_slices(v.clamp_min(0), nullptr);
    add_slices((-v).clamp_min(0), nullptr);
  } else if (layout.signed_levels) {
    const torch::Tensor sign = torch::sign(v).to(torch::kFloat32);
    add_slices(v.abs(), &sign);
  } else {
    add_slices(v, nullptr);
  }
  return torch::stack(slices);
}

}  // namespace cimkit
