#include "nas/subnet.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit::nas {

ChoiceBlockImpl::ChoiceBlockImpl(const nn::LayerFactory& L, const Block& b, int64_t in, bool first) : block(b) {
  const int64_t c = b.channels;
  conv1 = register_module("conv1", L.conv(in, c, 3, 1, 1, false, first));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(c));
  conv2 = register_module("conv2", L.conv(c, c, 3, 1, 1, false));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(c));
  if (b.type == BlockType::Res) {
    // The projection reads the block's input: the image for the first block (signed unless the
    // normalisation is folded into it, as into conv1), a ReLU output otherwise.
    proj = register_module("proj", L.conv(in, c, 1, 1, 0, false, first));
    bnp = register_module("bnp", torch::nn::BatchNorm2d(c));
  }
}

torch::Tensor ChoiceBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::relu(bn1(conv1(x)));
  if (block.type == BlockType::Res) return torch::relu(bn2(conv2(y)) + bnp(proj(x)));
  y = torch::relu(bn2(conv2(y)));
  return block.type == BlockType::Vgg ? torch::max_pool2d(y, 2, 2) : y;
}

Subnet::Subnet(const ArchSpace& space, const Arch& arch, const nn::ZooOptions& options) : arch_(arch) {
  std::string why;
  if (!space.valid(arch, &why)) throw Error("subnet: " + arch.key() + " is not in the search space: " + why);
  const nn::LayerFactory L{options};
  int64_t in = space.in_channels;
  torch::nn::ModuleList list;
  for (size_t d = 0; d < arch.blocks.size(); ++d) {
    blocks_.push_back(ChoiceBlock(L, arch.blocks[d], in, d == 0));
    list->push_back(blocks_.back());
    in = arch.blocks[d].channels;
  }
  register_module("blocks", list);
  fc1 = register_module("fc1", L.linear(4 * in, space.head_hidden1, false, false));
  fc2 = register_module("fc2", L.linear(space.head_hidden1, space.head_hidden2, false, false));
  fc3 = register_module("fc3", L.linear(space.head_hidden2, space.n_classes, false, true));
  if (options.folds_normalisation()) {
    blocks_.front()->conv1->set_input_normalisation(options.input_mean, options.input_std);
    if (blocks_.front()->proj) blocks_.front()->proj->set_input_normalisation(options.input_mean, options.input_std);
  }
}

torch::Tensor Subnet::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (auto& b : blocks_) h = b->forward(h);
  h = torch::adaptive_avg_pool2d(h, {2, 2}).flatten(1);
  h = torch::relu(fc1(h));
  h = torch::dropout(h, 0.2, is_training());
  h = torch::relu(fc2(h));
  return fc3(h);
}

namespace {

void copy_conv_bn(const SupernetImpl::ConvBn& from, nn::AnalogConv2d& conv, torch::nn::BatchNorm2d& bn) {
  const int64_t out = conv->weight.size(0), in = conv->weight.size(1);
  conv->weight.copy_(from.weight.narrow(0, 0, out).narrow(1, 0, in));
  bn->weight.copy_(from.bn_weight.narrow(0, 0, out));
  bn->bias.copy_(from.bn_bias.narrow(0, 0, out));
  bn->running_mean.copy_(from.bn_mean.narrow(0, 0, out));
  bn->running_var.copy_(from.bn_var.narrow(0, 0, out));
}

}  // namespace

void Subnet::inherit(Supernet& supernet) {
  torch::NoGradGuard no_grad;
  const auto& types = supernet->space().types;
  for (size_t d = 0; d < blocks_.size(); ++d) {
    ChoiceBlockImpl& b = *blocks_[d];
    const size_t t = static_cast<size_t>(std::find(types.begin(), types.end(), b.block.type) - types.begin());
    const SupernetImpl::Choice& c = supernet->slots().at(d).at(t);
    copy_conv_bn(c.conv1, b.conv1, b.bn1);
    copy_conv_bn(c.conv2, b.conv2, b.bn2);
    if (b.proj) copy_conv_bn(c.proj, b.proj, b.bnp);
  }
  fc1->weight.copy_(supernet->fc1_w.narrow(1, 0, fc1->weight.size(1)));
  fc1->bias.copy_(supernet->fc1_b);
  fc2->weight.copy_(supernet->fc2_w);
  fc2->bias.copy_(supernet->fc2_b);
  fc3->weight.copy_(supernet->fc3_w);
  fc3->bias.copy_(supernet->fc3_b);
}

}  // namespace cimkit::nas
