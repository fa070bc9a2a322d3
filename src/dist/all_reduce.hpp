// A differentiable sum over the ranks of a process group: forward, every rank's tensor summed
// (a c10d all-reduce); backward, the incoming gradients summed over the ranks the same way (the
// adjoint of a sum that every rank receives). What synchronised BatchNorm needs: each rank's loss
// depends on every rank's activations through the shared batch statistics.
//
// Every rank must call it in the same order with tensors of the same shape (collectives), in the
// forward and, when gradients flow, in the backward.
#pragma once
#include <torch/torch.h>

#include "dist/process_group.hpp"

namespace cimkit::dist {

torch::Tensor all_reduce_sum(ProcessGroup& group, const torch::Tensor& x);

}  // namespace cimkit::dist
