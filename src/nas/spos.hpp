// Single-path one-shot training of the supernet (paper 004 eq. 2, SPOS §3.1): every step draws
// one architecture uniformly (the depth uniform in 1..max_depth, then each block's type and
// channel count uniform; architectures the space refuses, too many pooling blocks, are drawn
// again), runs the batch through it and updates only what it used.
//
// "Only what it used" is exact here: SliceSgd updates the leading slices the architecture read
// (SupernetImpl's slicing rule) and nothing else, so the unused part of a shared tensor keeps
// its value and its momentum, and weight decay touches it only when a step uses it (SPOS sets
// the gradient of unused parameters to None for the same reason). SGD with momentum as
// torch.optim.SGD (buf = μ·buf + g + λ·w; w -= lr·buf; buffers start at zero, which gives
// torch's first-step buf = g + λ·w element by element, whenever an element is first used); weight
// decay on convolution and FC weights only (SPOS: none on BatchNorm parameters and biases).
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "nas/supernet.hpp"

namespace cimkit::nas {

// A uniformly drawn architecture of `space` (Error after `max_tries` refused draws).
Arch sample_arch(const ArchSpace& space, at::Generator& gen, int64_t max_tries = 1000);

// The parameters an architecture reads and the leading slice of each: (tensor, slice lengths
// per dimension; a dimension not listed is taken whole).
struct ParamSlice {
  torch::Tensor param;
  std::vector<int64_t> lengths;
  bool decay = false;  // weight decay applies (weights, not BN parameters or biases)
};
std::vector<ParamSlice> used_slices(SupernetImpl& net, const Arch& arch);

struct SliceSgdOptions {
  double lr = 0.1, momentum = 0.9, weight_decay = 4e-5;  // SPOS's ImageNet recipe (algorithms.md §3.1)
};

class SliceSgd {
 public:
  SliceSgd(Supernet net, SliceSgdOptions options);
  // Applies the update to the slices `arch` used (their gradients from the last backward), then
  // clears every gradient of the supernet.
  void step(const Arch& arch);
  void set_lr(double lr) { opt_.lr = lr; }
  double lr() const { return opt_.lr; }
  // Momentum buffers, for checkpoints (by parameter name).
  void save(torch::serialize::OutputArchive& a) const;
  void load(torch::serialize::InputArchive& a);

 private:
  Supernet net_;
  SliceSgdOptions opt_;
  std::map<const void*, std::string> names_;  // parameter (TensorImpl) -> registered name
  std::map<std::string, torch::Tensor> buf_;   // per parameter name, its full shape
};

}  // namespace cimkit::nas
