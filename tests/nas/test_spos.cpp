// Single-path training of the supernet (issue 16 §1): uniform architecture sampling, and the
// slice-restricted SGD: what an architecture did not use keeps its value and its momentum, and
// what it used moves as torch's SGD moves the same architecture built on its own.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "core/rng.hpp"
#include "nas/spos.hpp"
#include "nas/subnet.hpp"
#include "nas/toy_space.hpp"

using namespace cimkit;
using namespace cimkit::nas;

namespace {

ArchSpace space() { return cimkit::nas::testing::toy_space(3, {4, 8}, 8); }

std::map<std::string, torch::Tensor> snapshot(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

double loss_step(Supernet& net, const Arch& a, uint64_t seed) {
  auto g = make_generator(seed);
  const torch::Tensor x = at::randn({6, 1, 8, 8}, g), y = at::randint(10, {6}, g, torch::kInt64);
  torch::manual_seed(seed);  // the head's dropout draws from the global generator
  const torch::Tensor loss = torch::cross_entropy_loss(net->forward(x, a), y);
  loss.backward();
  return loss.item<double>();
}

}  // namespace

TEST(Spos, SamplesValidArchitecturesUniformlyOverDepth) {
  ArchSpace s = space();
  s.image_size = 4;  // at most one pooling block
  auto gen = make_generator(1);
  std::map<size_t, int> depth;
  for (int i = 0; i < 3000; ++i) {
    const Arch a = sample_arch(s, gen);
    ASSERT_TRUE(s.valid(a)) << a.key();
    ++depth[a.blocks.size()];
  }
  // Depth 1 is never refused; deeper draws with two or more VGG blocks are drawn again, so
  // the depths are not exactly uniform, but every depth appears.
  EXPECT_EQ(depth.size(), 3u);
  auto g1 = make_generator(9), g2 = make_generator(9);
  EXPECT_EQ(sample_arch(s, g1), sample_arch(s, g2));
}

TEST(Spos, UnusedSlicesKeepTheirValueAndMomentum) {
  Supernet net(space(), 2);
  SliceSgd sgd(net, {0.1, 0.9, 1e-3});
  const Arch a = space().parse("VGG8-RES4", "t"), b = space().parse("MVGG4", "t");
  loss_step(net, a, 1);
  sgd.step(a);
  const auto after_a = snapshot(*net);
  loss_step(net, b, 2);
  sgd.step(b);
  const auto after_b = snapshot(*net);
  // b used slot 0's MVGG block and the head only: slot 0's VGG and slot 1's RES did not move
  // (no momentum carried over from a's step), and the unused rows of MVGG's conv1 neither.
  for (const auto& [name, value] : after_a) {
    const bool b_touches = name.rfind("slot0_MVGG", 0) == 0 || name.rfind("fc", 0) == 0;
    if (!b_touches) {
      EXPECT_TRUE(torch::equal(value, after_b.at(name))) << name;
    }
  }
  const auto& w = after_b.at("slot0_MVGG_conv1_weight");
  EXPECT_TRUE(torch::equal(w.narrow(0, 4, 4), after_a.at("slot0_MVGG_conv1_weight").narrow(0, 4, 4)));
  EXPECT_FALSE(torch::equal(w.narrow(0, 0, 4), after_a.at("slot0_MVGG_conv1_weight").narrow(0, 0, 4)));
  // The gradients are cleared.
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Spos, UsedSlicesMoveAsTorchSgdMovesTheStandaloneSubnet) {
  const ArchSpace s = space();
  const Arch a = s.parse("RES8-VGG4", "t");
  Supernet net(s, 3);
  nn::ZooOptions o;
  o.first_last_bits = 0;
  Subnet sub(s, a, o);
  sub.inherit(net);
  net->train();
  sub.train();
  const double lr = 0.05, mu = 0.9, wd = 1e-3;
  SliceSgd sgd(net, {lr, mu, wd});
  // torch's SGD with weight decay on convolution and FC weights only (two groups).
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : sub.named_parameters()) {
    const bool is_weight = p.value().dim() > 1;
    (is_weight ? decay : no_decay).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(lr).momentum(mu).weight_decay(wd)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(lr).momentum(mu)));
  torch::optim::SGD torch_sgd(groups, torch::optim::SGDOptions(lr));
  for (uint64_t step = 0; step < 3; ++step) {
    auto g = make_generator(10 + step);
    const torch::Tensor x = at::randn({6, 1, 8, 8}, g), y = at::randint(10, {6}, g, torch::kInt64);
    torch::manual_seed(step);
    torch::cross_entropy_loss(net->forward(x, a), y).backward();
    sgd.step(a);
    torch::manual_seed(step);
    torch_sgd.zero_grad();
    torch::cross_entropy_loss(sub.forward(x), y).backward();
    torch_sgd.step();
  }
  Subnet check(s, a, o);
  check.inherit(net);
  const auto want = snapshot(sub), got = snapshot(check);
  for (const auto& [name, value] : want) {
    EXPECT_TRUE(torch::allclose(got.at(name), value, 1e-5, 1e-6)) << name << " max diff "
                                                                  << (got.at(name) - value).abs().max().item<double>();
  }
}
