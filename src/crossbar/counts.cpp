#include "crossbar/counts.hpp"

namespace cimkit {

double ActionCounts::read_energy_j() const {
  return read_energy_j_per_array.defined() ? read_energy_j_per_array.sum().item<double>() : 0.0;
}

void ActionCounts::add(const ActionCounts& o) {
  n_inputs += o.n_inputs;
  dac_conversions += o.dac_conversions;
  array_activations += o.array_activations;
  adc_conversions += o.adc_conversions;
  shift_adds += o.shift_adds;
  auto sum = [](const torch::Tensor& a, const torch::Tensor& b) {
    if (!a.defined()) return b.clone();
    if (!b.defined()) return a;
    return a + b;
  };
  activations_per_array = sum(activations_per_array, o.activations_per_array);
  read_energy_j_per_array = sum(read_energy_j_per_array, o.read_energy_j_per_array);
}

nlohmann::json ActionCounts::to_json() const {
  nlohmann::json j;
  j["n_inputs"] = n_inputs;
  j["dac_conversions"] = dac_conversions;
  j["array_activations"] = array_activations;
  j["adc_conversions"] = adc_conversions;
  j["shift_adds"] = shift_adds;
  j["read_energy_j"] = read_energy_j();
  if (activations_per_array.defined()) {
    const auto a = activations_per_array.contiguous();
    j["activations_per_array"] = std::vector<int64_t>(a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + a.numel());
  }
  if (read_energy_j_per_array.defined()) {
    const auto e = read_energy_j_per_array.contiguous();
    j["read_energy_j_per_array"] = std::vector<double>(e.data_ptr<double>(), e.data_ptr<double>() + e.numel());
  }
  return j;
}

}  // namespace cimkit
