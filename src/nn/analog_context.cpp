#include "nn/analog.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::nn {

// ---- names ---------------------------------------------------------------------

LayerMode parse_layer_mode(const std::string& name, const std::string& key) {
  if (name == "float") return LayerMode::Float;
  if (name == "quantised" || name == "quantized" || name == "qat") return LayerMode::Quantised;
  if (name == "analog") return LayerMode::Analog;
  const std::vector<std::string> allowed = {"float", "quantised", "analog"};
  throw Error(
      fmt::format("{} = '{}' is not a layer mode; allowed: float, quantised (or quantized, "
                  "qat), analog{}",
                  key, name, did_you_mean_hint(name, allowed)));
}

std::string to_string(LayerMode mode) {
  switch (mode) {
    case LayerMode::Float:
      return "float";
    case LayerMode::Quantised:
      return "quantised";
    case LayerMode::Analog:
      return "analog";
  }
  return "?";
}

// ---- context ---------------------------------------------------------------------------------

AnalogContext::AnalogContext(std::shared_ptr<const Chip> chip, uint64_t seed)
    : chip_(std::move(chip)), seed_(seed) {
  if (!chip_) throw Error("AnalogContext needs a chip");
}

std::shared_ptr<const Chip> AnalogContext::chip_for(const Precision& p, bool signed_input,
                                                    bool ideal_cells) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto key =
      std::make_tuple(p.weight_bits, p.act_bits, p.adc_bits, signed_input, ideal_cells);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  std::shared_ptr<const Chip> chip = chip_->with_precision(p, signed_input);
  if (ideal_cells) chip = chip->with_ideal_cells();
  cache_.emplace(key, chip);
  return chip;
}

void AnalogContext::set_device_seed(uint64_t s) { device_seed_ = s; }

void AnalogContext::set_operating(const OperatingConditions& op) {
  operating_ = op;
  ++generation_;
}

}  // namespace cimkit::nn
