#include "dist/all_reduce.hpp"

#include <cstdint>

namespace cimkit::dist {
namespace {

// The group travels through the autograd context as an integer (IValue holds no raw pointers).
int64_t as_int(ProcessGroup* g) { return static_cast<int64_t>(reinterpret_cast<intptr_t>(g)); }
ProcessGroup* as_group(int64_t v) { return reinterpret_cast<ProcessGroup*>(static_cast<intptr_t>(v)); }

struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t group) {
    ctx->saved_data["group"] = group;
    torch::Tensor y = x.detach().clone().contiguous();
    as_group(group)->allreduce_sum(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    torch::Tensor g = grads[0].contiguous().clone();
    as_group(ctx->saved_data["group"].toInt())->allreduce_sum(g);
    return {g, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor all_reduce_sum(ProcessGroup& group, const torch::Tensor& x) { return AllReduceSum::apply(x, as_int(&group)); }

}  // namespace cimkit::dist
