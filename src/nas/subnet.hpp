// One architecture of the CrossNAS space built on its own, as a zoo-style Network of analog
// layers (nn::LayerFactory: first and last layers at first_last_bits, the first one reading the
// image), so it trains, quantises and deploys on the chip like any zoo model. Module names:
// blocks.<d>.{conv1, bn1, conv2, bn2, proj, bnp}, then fc1, fc2, fc3.
//
// inherit() copies the supernet's slices for this architecture (convolutions, BatchNorm affine
// parameters and running statistics, the head) into it: in float mode and eval mode its output
// then equals the supernet's forward through the same architecture (tested).
#pragma once
#include <memory>

#include "nas/arch.hpp"
#include "nas/supernet.hpp"
#include "nn/zoo.hpp"

namespace cimkit::nas {

class ChoiceBlockImpl : public torch::nn::Module {
 public:
  ChoiceBlockImpl(const nn::LayerFactory& L, const Block& b, int64_t in, bool first);
  torch::Tensor forward(const torch::Tensor& x);
  Block block;
  nn::AnalogConv2d conv1{nullptr}, conv2{nullptr}, proj{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bnp{nullptr};
};
TORCH_MODULE(ChoiceBlock);

class Subnet : public nn::Network {
 public:
  // options: precision, quantiser, first_last_bits, normalisation folding (its name, width and
  // shape fields are ignored: the space gives the shape).
  Subnet(const ArchSpace& space, const Arch& arch, const nn::ZooOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;
  void inherit(Supernet& supernet);

  const Arch& arch() const { return arch_; }

 private:
  Arch arch_;
  std::vector<ChoiceBlock> blocks_;
  nn::AnalogLinear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

}  // namespace cimkit::nas
