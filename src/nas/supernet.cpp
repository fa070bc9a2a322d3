#include "nas/supernet.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "dist/all_reduce.hpp"

namespace cimkit::nas {

namespace {
constexpr double kBnEps = 1e-5;  // torch::nn::BatchNorm2d's default, as the standalone subnet's

// Kaiming-uniform initialisation as torch::nn::Conv2d / Linear reset_parameters (a = sqrt(5)):
// bound 1/sqrt(fan_in) for the weight (the fan-in of the widest slice) and the bias.
torch::Tensor uniform_init(std::vector<int64_t> shape, int64_t fan_in, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return torch::empty(shape).uniform_(-bound, bound, gen);
}
}  // namespace

SupernetImpl::SupernetImpl(ArchSpace space, uint64_t seed)
    : space_(std::move(space)), gen_(make_generator(derive_seed(seed, "supernet_init"))) {
  space_.check("nas.space");
  const int64_t cmax = space_.max_channels();
  for (int64_t d = 0; d < space_.max_depth; ++d) {
    const int64_t in = d == 0 ? space_.in_channels : cmax;
    std::vector<Choice> slot;
    for (BlockType t : space_.types) {
      const std::string name = fmt::format("slot{}_{}", d, to_string(t));  // no dots: flat parameter names
      Choice c;
      c.conv1 = conv_bn(name + "_conv1", in, cmax, 3);
      c.conv2 = conv_bn(name + "_conv2", cmax, cmax, 3);
      if (t == BlockType::Res) c.proj = conv_bn(name + "_proj", in, cmax, 1);
      slot.push_back(c);
    }
    slots_.push_back(slot);
  }
  const int64_t h1 = space_.head_hidden1, h2 = space_.head_hidden2;
  fc1_w = register_parameter("fc1_weight", uniform_init({h1, 4 * cmax}, 4 * cmax, gen_));
  fc1_b = register_parameter("fc1_bias", uniform_init({h1}, 4 * cmax, gen_));
  fc2_w = register_parameter("fc2_weight", uniform_init({h2, h1}, h1, gen_));
  fc2_b = register_parameter("fc2_bias", uniform_init({h2}, h1, gen_));
  fc3_w = register_parameter("fc3_weight", uniform_init({space_.n_classes, h2}, h2, gen_));
  fc3_b = register_parameter("fc3_bias", uniform_init({space_.n_classes}, h2, gen_));
}

SupernetImpl::ConvBn SupernetImpl::conv_bn(const std::string& name, int64_t in, int64_t out, int64_t k) {
  ConvBn p;
  p.weight = register_parameter(name + "_weight", uniform_init({out, in, k, k}, in * k * k, gen_));
  p.bn_weight = register_parameter(name + "_bn_weight", torch::ones({out}));
  p.bn_bias = register_parameter(name + "_bn_bias", torch::zeros({out}));
  p.bn_mean = register_buffer(name + "_bn_running_mean", torch::zeros({out}));
  p.bn_var = register_buffer(name + "_bn_running_var", torch::ones({out}));
  return p;
}

const SupernetImpl::Choice& SupernetImpl::choice(size_t slot, BlockType t) const {
  const auto& types = space_.types;
  const size_t i = static_cast<size_t>(std::find(types.begin(), types.end(), t) - types.begin());
  return slots_.at(slot).at(i);
}

torch::Tensor SupernetImpl::apply(const ConvBn& p, const torch::Tensor& x, int64_t c_in, int64_t c_out, int64_t padding) {
  const torch::Tensor w = p.weight.narrow(0, 0, c_out).narrow(1, 0, c_in);
  return batch_norm(p, torch::conv2d(x, w, {}, 1, padding), c_out);
}

torch::Tensor SupernetImpl::batch_norm(const ConvBn& p, const torch::Tensor& y, int64_t c_out) {
  const torch::Tensor gamma = p.bn_weight.narrow(0, 0, c_out), beta = p.bn_bias.narrow(0, 0, c_out);
  torch::Tensor mean = p.bn_mean.narrow(0, 0, c_out), var = p.bn_var.narrow(0, 0, c_out);
  if (!is_training() || !group_ || group_->size() == 1) {
    return torch::batch_norm(y, gamma, beta, mean, var, is_training(), bn_momentum_, kBnEps, false);
  }
  // Synchronised: per-channel sums of y and y² and the element count, summed over the ranks.
  const torch::Tensor count = torch::full({1}, static_cast<double>(y.size(0) * y.size(2) * y.size(3)), y.options());
  const torch::Tensor local = torch::cat({y.sum({0, 2, 3}), (y * y).sum({0, 2, 3}), count});
  const torch::Tensor all = dist::all_reduce_sum(*group_, local);
  const torch::Tensor n = all.narrow(0, 2 * c_out, 1);
  const torch::Tensor mu = all.narrow(0, 0, c_out) / n;
  const torch::Tensor v = all.narrow(0, c_out, c_out) / n - mu * mu;  // biased, as BN normalises
  {
    torch::NoGradGuard no_grad;
    const double nn = n.item<double>();
    mean.mul_(1 - bn_momentum_).add_(mu.detach(), bn_momentum_);
    var.mul_(1 - bn_momentum_).add_(v.detach() * (nn / std::max(nn - 1, 1.0)), bn_momentum_);  // unbiased, as torch
  }
  const auto shape = std::vector<int64_t>{1, c_out, 1, 1};
  return (y - mu.view(shape)) * torch::rsqrt(v.view(shape) + kBnEps) * gamma.view(shape) + beta.view(shape);
}

void SupernetImpl::set_dropout_stream(uint64_t seed, int64_t row_offset, int64_t global_rows) {
  dropout_set_ = true;
  dropout_seed_ = seed;
  dropout_offset_ = row_offset;
  dropout_rows_ = global_rows;
}

torch::Tensor SupernetImpl::dropout(const torch::Tensor& h) {
  constexpr double kP = 0.2;  // the CrossNAS code's head
  if (!is_training()) return h;
  if (!dropout_set_) return torch::dropout(h, kP, true);
  if (dropout_offset_ + h.size(0) > dropout_rows_) {
    throw Error(fmt::format("supernet: rows {}..{} of a dropout mask of {} rows", dropout_offset_, dropout_offset_ + h.size(0),
                            dropout_rows_));
  }
  at::Generator gen = make_generator(dropout_seed_);
  const torch::Tensor keep = torch::empty({dropout_rows_, h.size(1)}, h.options()).bernoulli_(1.0 - kP, gen);
  return h * keep.narrow(0, dropout_offset_, h.size(0)) / (1.0 - kP);
}

torch::Tensor SupernetImpl::forward(const torch::Tensor& x, const Arch& arch) {
  std::string why;
  if (!space_.valid(arch, &why)) throw Error("supernet: " + arch.key() + " is not in the search space: " + why);
  if (x.dim() != 4 || x.size(1) != space_.in_channels || x.size(2) != space_.image_size || x.size(3) != space_.image_size) {
    throw ShapeError(fmt::format("supernet: input must be [n, {}, {}, {}], got [{}]", space_.in_channels, space_.image_size,
                                 space_.image_size, fmt::join(x.sizes(), ", ")));
  }
  torch::Tensor h = x;
  int64_t c_in = space_.in_channels;
  for (size_t d = 0; d < arch.blocks.size(); ++d) {
    const Block& b = arch.blocks[d];
    const Choice& c = choice(d, b.type);
    torch::Tensor y = torch::relu(apply(c.conv1, h, c_in, b.channels, 1));
    if (b.type == BlockType::Res) {
      y = torch::relu(apply(c.conv2, y, b.channels, b.channels, 1) + apply(c.proj, h, c_in, b.channels, 0));
    } else {
      y = torch::relu(apply(c.conv2, y, b.channels, b.channels, 1));
      if (b.type == BlockType::Vgg) y = torch::max_pool2d(y, 2, 2);
    }
    h = y;
    c_in = b.channels;
  }
  h = torch::adaptive_avg_pool2d(h, {2, 2}).flatten(1);  // [n, 4·c]: channel-major
  h = torch::relu(torch::linear(h, fc1_w.narrow(1, 0, 4 * c_in), fc1_b));
  h = dropout(h);
  h = torch::relu(torch::linear(h, fc2_w, fc2_b));
  return torch::linear(h, fc3_w, fc3_b);
}

void SupernetImpl::recalibrate(const Arch& arch, const std::function<torch::Tensor()>& batches) {
  torch::NoGradGuard no_grad;
  for (size_t d = 0; d < arch.blocks.size(); ++d) {
    const Choice& c = choice(d, arch.blocks[d].type);
    for (const ConvBn* p : {&c.conv1, &c.conv2, &c.proj}) {
      if (!p->bn_mean.defined()) continue;
      p->bn_mean.narrow(0, 0, arch.blocks[d].channels).zero_();
      p->bn_var.narrow(0, 0, arch.blocks[d].channels).fill_(1.0);
    }
  }
  train();
  const double saved = bn_momentum_;
  int64_t k = 0;
  for (torch::Tensor x = batches(); x.defined(); x = batches()) {
    bn_momentum_ = 1.0 / static_cast<double>(k + 1);  // running = running + (batch - running)/(k+1)
    forward(x, arch);
    ++k;
  }
  bn_momentum_ = saved;
  eval();
}

}  // namespace cimkit::nas
