#include "search/bits.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace cimkit::search {

void BitRange::check(const std::string& key) const {
  if (min < 1 || max > 16 || min > max) {
    throw Error(fmt::format("{}: bit range [{}, {}] must satisfy 1 <= min <= max <= 16", key, min, max));
  }
}

int action_to_bits(double action, const BitRange& range) {
  range.check("bit range");
  if (std::isnan(action)) throw Error("action_to_bits: the action is NaN");
  const double a = std::clamp(action, 0.0, 1.0);
  const int stride = static_cast<int>(std::floor(a * range.count()));
  return std::min(range.min + stride, range.max);
}

double bits_to_action(int bits, const BitRange& range) {
  range.check("bit range");
  if (bits < range.min || bits > range.max) {
    throw Error(fmt::format("bits_to_action: {} bits is outside [{}, {}]", bits, range.min, range.max));
  }
  return (bits - range.min + 0.5) / range.count();
}

int refine_weight_bits(const torch::Tensor& codes, int bits, double max_fraction, int min_bits) {
  if (bits < 2 || bits > 16) throw Error(fmt::format("refine_weight_bits: {} bits; allowed 2..16", bits));
  if (!(max_fraction >= 0.0 && max_fraction < 1.0)) {
    throw Error(fmt::format("refine_weight_bits: the fraction {} must be in [0, 1)", max_fraction));
  }
  if (min_bits < 2 || min_bits > bits) {
    throw Error(fmt::format("refine_weight_bits: min_bits {} must be in [2, {}]", min_bits, bits));
  }
  if (codes.numel() == 0) throw Error("refine_weight_bits: no weights");
  const torch::Tensor mag = codes.detach().to(torch::kCPU, torch::kInt64).abs();
  const int64_t top = (int64_t{1} << (bits - 1)) - 1;
  if (mag.max().item<int64_t>() > top || !torch::equal(codes.detach().to(torch::kCPU, torch::kFloat64),
                                                       codes.detach().to(torch::kCPU, torch::kFloat64).round())) {
    throw Error(fmt::format("refine_weight_bits: codes must be integers with |code| <= {} for {} bits", top, bits));
  }
  const double n = static_cast<double>(mag.numel());
  int refined = bits;
  // Magnitude plane p (0 = least significant) of a `refined`-bit code is p = refined − 2 at the top.
  while (refined > min_bits) {
    const int plane = refined - 2;
    const double ones = mag.bitwise_right_shift(plane).bitwise_and(1).sum().item<double>();
    const bool redundant = ones == 0.0 || ones / n < max_fraction;
    if (!redundant) break;
    --refined;
  }
  return refined;
}

double count_one_bits(const torch::Tensor& codes) {
  torch::Tensor mag = codes.detach().to(torch::kCPU, torch::kInt64).abs();
  double ones = 0.0;
  while (mag.numel() > 0 && mag.max().item<int64_t>() > 0) {
    ones += mag.bitwise_and(1).sum().item<double>();
    mag = mag.bitwise_right_shift(1);
  }
  return ones;
}

}  // namespace cimkit::search
