// The one-shot supernet of paper 004 §3.1-3.2 (Fig. 4): every architecture of an ArchSpace in one
// set of weights. Each depth slot holds the three choice blocks side by side (VGG, MVGG, RES, each
// with its own weights) at the widest channel count; an architecture uses the first `depth`
// slots, one block in each, and the leading sub-tensors of its weights: W[:c_out, :c_in] for a
// convolution (c_in the previous block's c_out, the image's channels for the first), the first
// c_out entries of its BatchNorms (affine parameters and running statistics alike), and the first
// 4·c_out input columns of the head's first FC layer (the 2x2-pooled map flattened channel by
// channel). Single-path training (eq. 2) runs one architecture per step; only the slices it used
// receive gradient (the rest of every tensor gets zero, and the rest of the supernet none).
//
// BatchNorm: in training mode the batch statistics normalise and the sliced running statistics
// are updated (momentum 0.1). A subnet's own statistics are then recalibrated (SPOS §3.2;
// recalibrate()): reset to mean 0, variance 1, and set to the exact average over the given
// training batches of the batch means and unbiased batch variances.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "dist/process_group.hpp"
#include "nas/arch.hpp"

namespace cimkit::nas {

class SupernetImpl : public torch::nn::Module {
 public:
  // Weights drawn as torch::nn::Conv2d / Linear would (Kaiming-uniform bounds of the widest
  // slice's fan-in) from a stream of `seed`.
  SupernetImpl(ArchSpace space, uint64_t seed);

  // x: [n, in_channels, image_size, image_size] -> logits [n, n_classes], through `arch`
  // (Error when the space refuses it).
  torch::Tensor forward(const torch::Tensor& x, const Arch& arch);

  // Recalibrates the BatchNorm statistics `arch` uses on `batches` (training-mode forwards, no
  // gradient); leaves the module in eval mode. `batches` yields the next input batch or an
  // undefined tensor when done.
  void recalibrate(const Arch& arch, const std::function<torch::Tensor()>& batches);

  const ArchSpace& space() const { return space_; }

  // Data-parallel training (spos_trainer.hpp): in training mode the BatchNorms normalise by the
  // statistics of every rank's share of the batch together (synchronised BatchNorm: sums
  // all-reduced, their gradients too), as one process with the whole batch would. Null: this
  // process's batch alone.
  void set_group(dist::ProcessGroup* group) { group_ = group; }
  // The head's dropout mask in the following training forwards: drawn for `global_rows` rows
  // from a stream of `seed`, of which rows [row_offset, row_offset + n) are used, so a batch split
  // across ranks drops what the whole batch drops in one process. Until set: LibTorch's global
  // generator.
  void set_dropout_stream(uint64_t seed, int64_t row_offset, int64_t global_rows);
  void clear_dropout_stream() { dropout_set_ = false; }

  // One convolution-BN pair of a choice block: weight [C_max, C_in_max, k, k] and the BN's
  // weight, bias, running_mean, running_var [C_max].
  struct ConvBn {
    torch::Tensor weight, bn_weight, bn_bias, bn_mean, bn_var;
  };
  struct Choice {
    ConvBn conv1, conv2, proj;  // proj: RES only (1x1)
  };
  // slots[d][t]: depth slot d, block type index t (the order of space().types).
  const std::vector<std::vector<Choice>>& slots() const { return slots_; }
  // Head: fc{1,2,3} weight [out, in] and bias [out].
  torch::Tensor fc1_w, fc1_b, fc2_w, fc2_b, fc3_w, fc3_b;

 private:
  ConvBn conv_bn(const std::string& name, int64_t in, int64_t out, int64_t k);
  torch::Tensor apply(const ConvBn& p, const torch::Tensor& x, int64_t c_in, int64_t c_out, int64_t padding);
  const Choice& choice(size_t slot, BlockType t) const;

  ArchSpace space_;
  std::vector<std::vector<Choice>> slots_;
  at::Generator gen_;
  torch::Tensor batch_norm(const ConvBn& p, const torch::Tensor& y, int64_t c_out);
  torch::Tensor dropout(const torch::Tensor& h);
  dist::ProcessGroup* group_ = nullptr;
  bool dropout_set_ = false;
  uint64_t dropout_seed_ = 0;
  int64_t dropout_offset_ = 0, dropout_rows_ = 0;
  double bn_momentum_ = 0.1;  // recalibrate() sets 1/(k+1) for its k-th batch: an exact average
};
TORCH_MODULE(Supernet);

}  // namespace cimkit::nas
