#include "nas/spos.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit::nas {

Arch sample_arch(const ArchSpace& space, at::Generator& gen, int64_t max_tries) {
  auto pick = [&](int64_t n) { return at::randint(n, {1}, gen, torch::kInt64).item<int64_t>(); };
  for (int64_t t = 0; t < max_tries; ++t) {
    Arch a;
    const int64_t depth = 1 + pick(space.max_depth);
    for (int64_t d = 0; d < depth; ++d) {
      a.blocks.push_back({space.types[static_cast<size_t>(pick(static_cast<int64_t>(space.types.size())))],
                          space.channels[static_cast<size_t>(pick(static_cast<int64_t>(space.channels.size())))]});
    }
    if (space.valid(a)) return a;
  }
  throw Error(fmt::format("nas: no valid architecture in {} draws (does the input size allow the blocks?)", max_tries));
}

std::vector<ParamSlice> used_slices(SupernetImpl& net, const Arch& arch) {
  std::vector<ParamSlice> out;
  const auto& types = net.space().types;
  int64_t c_in = net.space().in_channels;
  auto conv_bn = [&](const SupernetImpl::ConvBn& p, int64_t in, int64_t c) {
    out.push_back({p.weight, {c, in}, true});
    out.push_back({p.bn_weight, {c}, false});
    out.push_back({p.bn_bias, {c}, false});
  };
  for (size_t d = 0; d < arch.blocks.size(); ++d) {
    const Block& b = arch.blocks[d];
    const size_t t = static_cast<size_t>(std::find(types.begin(), types.end(), b.type) - types.begin());
    const SupernetImpl::Choice& ch = net.slots().at(d).at(t);
    conv_bn(ch.conv1, c_in, b.channels);
    conv_bn(ch.conv2, b.channels, b.channels);
    if (b.type == BlockType::Res) conv_bn(ch.proj, c_in, b.channels);
    c_in = b.channels;
  }
  const int64_t h1 = net.fc1_w.size(0);
  out.push_back({net.fc1_w, {h1, 4 * c_in}, true});
  out.push_back({net.fc1_b, {}, false});
  out.push_back({net.fc2_w, {}, true});
  out.push_back({net.fc2_b, {}, false});
  out.push_back({net.fc3_w, {}, true});
  out.push_back({net.fc3_b, {}, false});
  return out;
}

namespace {
torch::Tensor leading(const torch::Tensor& t, const std::vector<int64_t>& lengths) {
  torch::Tensor v = t;
  for (size_t d = 0; d < lengths.size(); ++d) v = v.narrow(static_cast<int64_t>(d), 0, lengths[d]);
  return v;
}
}  // namespace

SliceSgd::SliceSgd(Supernet net, SliceSgdOptions options) : net_(std::move(net)), opt_(options) {
  if (!(opt_.lr > 0) || !(opt_.momentum >= 0 && opt_.momentum < 1) || !(opt_.weight_decay >= 0)) {
    throw Error(fmt::format("nas: SGD needs lr > 0, momentum in [0, 1), weight_decay >= 0 (got {}, {}, {})", opt_.lr,
                            opt_.momentum, opt_.weight_decay));
  }
  for (const auto& p : net_->named_parameters()) {
    names_[p.value().unsafeGetTensorImpl()] = p.key();
    buf_[p.key()] = torch::zeros_like(p.value());
  }
}

void SliceSgd::step(const Arch& arch) {
  torch::NoGradGuard no_grad;
  for (const ParamSlice& s : used_slices(*net_, arch)) {
    if (!s.param.grad().defined()) continue;  // e.g. a loss that did not reach it
    const torch::Tensor w = leading(s.param, s.lengths);
    torch::Tensor g = leading(s.param.grad(), s.lengths);
    if (s.decay && opt_.weight_decay > 0) g = g + w * opt_.weight_decay;
    torch::Tensor b = leading(buf_.at(names_.at(s.param.unsafeGetTensorImpl())), s.lengths);
    if (opt_.momentum > 0) {
      b.mul_(opt_.momentum).add_(g);
      w.sub_(b * opt_.lr);
    } else {
      w.sub_(g * opt_.lr);
    }
  }
  for (auto& p : net_->parameters()) p.mutable_grad() = torch::Tensor();
}

void SliceSgd::save(torch::serialize::OutputArchive& a) const {
  for (const auto& [name, b] : buf_) a.write("sgd_momentum." + name, b);
}

void SliceSgd::load(torch::serialize::InputArchive& a) {
  for (auto& [name, b] : buf_) {
    torch::Tensor t;
    a.read("sgd_momentum." + name, t);
    if (t.sizes() != b.sizes()) throw Error("nas: the checkpoint's momentum for " + name + " has another shape");
    b.copy_(t);
  }
}

}  // namespace cimkit::nas
