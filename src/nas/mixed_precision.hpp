// Paper 004 §3.3, the second stage of CrossNAS: the chosen architecture trained as a
// mixed-precision supernet, then searched jointly with the chip.
//
// MixedPrecisionNet wraps a network (the chosen Subnet with the eq. 5-6 quantiser, `model.quant:
// ema`): in training mode every forward first draws each analog layer's weight and activation
// bits uniformly from `bits` (paper: {5, 7, 9}), from a stream of the seed and the wrapper's step
// counter, a buffer saved with the model, so a resumed training draws what the uninterrupted one
// would. In eval mode it leaves the layers' precisions as they are (the candidate's).
//
// QuantChipSpace is the joint genome: per analog layer a weight-bits and an activation-bits gene
// (mutation_scale quant_scale), then the crossbar size, the ADC bits and the DAC bits (chip_scale;
// the paper's intent, a chip gene mutating more often than a bit width).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "nn/analog.hpp"
#include "search/evolution.hpp"

namespace cimkit::nas {

class MixedPrecisionNet : public nn::Network {
 public:
  // adc_bits: the ADC bits every drawn precision carries (0: ideal).
  MixedPrecisionNet(std::shared_ptr<nn::Network> inner, std::vector<int> bits, int adc_bits, uint64_t seed);
  torch::Tensor forward(const torch::Tensor& x) override;
  const std::shared_ptr<nn::Network>& inner() const { return inner_; }
  int64_t steps() const { return step_.item<int64_t>(); }

 private:
  std::shared_ptr<nn::Network> inner_;
  std::vector<int> bits_;
  int adc_bits_;
  uint64_t seed_;
  torch::Tensor step_;  // buffer: training forwards so far
};

struct QuantChipChoice {
  std::vector<nn::Precision> precisions;  // one per analog layer
  int64_t xbar = 128;
  int adc_bits = 8, dac_bits = 1;
  std::string key() const;  // "w5a7-w9a9-... x128 adc8 dac1"
};

struct QuantChipSpace {
  std::vector<std::string> layers;  // analog layer names, in order
  std::vector<int> bits;
  std::vector<int64_t> xbar;
  std::vector<int> adc, dac;
  double quant_scale = 0.5, chip_scale = 2.0;

  std::vector<search::Gene> genes() const;
  QuantChipChoice decode(const search::Genome& g) const;
};

}  // namespace cimkit::nas
