// The CrossNAS search space and supernet (issue 16 §1): architectures and their genes, the
// validity rule, weight sharing by slicing (a subnet built on its own with the supernet's slices
// gives the supernet's outputs), gradients only on the sampled slices, BN recalibration.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "nas/subnet.hpp"

using namespace cimkit;
using namespace cimkit::nas;

namespace {

ArchSpace small_space() {
  ArchSpace s;
  s.max_depth = 4;
  s.channels = {4, 8, 16};
  s.in_channels = 1;
  s.image_size = 16;
  s.n_classes = 10;
  s.head_hidden1 = 24;
  s.head_hidden2 = 12;
  return s;
}

torch::Tensor images(int64_t n, uint64_t seed) {
  auto g = make_generator(seed);
  return at::randn({n, 1, 16, 16}, g);
}

}  // namespace

TEST(NasArch, KeysGenesAndValidity) {
  const ArchSpace s = small_space();
  const Arch a = s.parse("VGG8-RES16-MVGG4", "test");
  EXPECT_EQ(a.key(), "VGG8-RES16-MVGG4");
  EXPECT_EQ(a.pools(), 1);
  EXPECT_EQ(s.decode(s.encode(a)), a);
  EXPECT_EQ(s.genes().size(), 9u);  // depth + 2 per slot
  EXPECT_EQ(s.max_pools(), 3);      // 16 -> 8 -> 4 -> 2
  std::string why;
  EXPECT_FALSE(s.valid(Arch{{{BlockType::Vgg, 4}, {BlockType::Vgg, 4}, {BlockType::Vgg, 4}, {BlockType::Vgg, 4}}}, &why));
  EXPECT_NE(why.find("at most 3"), std::string::npos) << why;
  EXPECT_FALSE(s.valid(Arch{{{BlockType::Res, 5}}}, &why));
  EXPECT_FALSE(s.valid(Arch{}, &why));
  EXPECT_THROW(s.parse("VGG8-CONV8", "nas.arch"), Error);
  EXPECT_THROW(s.parse("VGG", "nas.arch"), Error);
  try {
    s.parse("VGG8-VGG8-VGG8-VGG8", "nas.arch");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nas.arch"), std::string::npos) << e.what();
  }
}

TEST(Supernet, SlicedSubnetEqualsTheStandaloneSubnetWithCopiedWeights) {
  const ArchSpace s = small_space();
  Supernet net(s, 3);
  // Train-mode forwards on a few architectures move the running statistics off their initial
  // values (so the copy of the statistics is tested too).
  for (const char* k : {"RES16-VGG8-MVGG16", "MVGG8-VGG4", "VGG16-RES8-RES16-MVGG4"}) net->forward(images(8, 1), s.parse(k, "t"));
  net->eval();
  nn::ZooOptions o;
  o.first_last_bits = 0;
  for (const char* k : {"RES16-VGG8-MVGG16", "MVGG8-VGG4", "VGG16-RES8-RES16-MVGG4", "RES4"}) {
    const Arch a = s.parse(k, "t");
    Subnet sub(s, a, o);
    sub.inherit(net);
    sub.eval();
    const torch::Tensor x = images(5, 2);
    const torch::Tensor y_super = net->forward(x, a), y_sub = sub.forward(x);
    EXPECT_TRUE(torch::allclose(y_super, y_sub, 1e-5, 1e-6)) << k << " max diff " << (y_super - y_sub).abs().max().item<double>();
    EXPECT_EQ(sub.analog_layers().size(), 2 * a.blocks.size() + static_cast<size_t>(std::count_if(a.blocks.begin(), a.blocks.end(), [](const Block& b) { return b.type == BlockType::Res; })) + 3);
  }
}

TEST(Supernet, OnlyTheSampledSlicesReceiveGradient) {
  const ArchSpace s = small_space();
  Supernet net(s, 4);
  const Arch a = s.parse("MVGG8-RES4", "t");
  net->forward(images(4, 3), a).sum().backward();
  const auto& slot0 = net->slots()[0];
  const auto& slot1 = net->slots()[1];
  // Slot 0, MVGG (type index 1): conv1 [8, 1] used; the rest of the tensor zero.
  const torch::Tensor g = slot0[1].conv1.weight.grad();
  ASSERT_TRUE(g.defined());
  EXPECT_GT(g.narrow(0, 0, 8).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(g.narrow(0, 8, 8).abs().sum().item<double>(), 0.0);
  // Unused choices and slots: no gradient at all.
  EXPECT_FALSE(slot0[0].conv1.weight.grad().defined());
  EXPECT_FALSE(slot1[0].conv1.weight.grad().defined());
  EXPECT_FALSE(net->slots()[2][2].conv1.weight.grad().defined());
  // Slot 1, RES with 8 input channels: conv1 [4, 8] of [16, 16].
  const torch::Tensor r = slot1[2].conv1.weight.grad();
  EXPECT_GT(r.narrow(0, 0, 4).narrow(1, 0, 8).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(r.narrow(1, 8, 8).abs().sum().item<double>(), 0.0);
  // Head: fc1's first 4·4 columns only.
  EXPECT_EQ(net->fc1_w.grad().narrow(1, 16, 48).abs().sum().item<double>(), 0.0);
  EXPECT_GT(net->fc1_w.grad().narrow(1, 0, 16).abs().sum().item<double>(), 0.0);
}

TEST(Supernet, RecalibrationAveragesTheBatchStatistics) {
  const ArchSpace s = small_space();
  Supernet net(s, 5);
  const Arch a = s.parse("MVGG4", "t");
  std::vector<torch::Tensor> batches = {images(6, 10), images(6, 11), images(6, 12)};
  size_t i = 0;
  net->recalibrate(a, [&] { return i < batches.size() ? batches[i++] : torch::Tensor(); });
  EXPECT_FALSE(net->is_training());
  // conv1's BN sees conv1's output; its running mean is the average of the three batch means.
  const auto& c = net->slots()[0][1].conv1;
  torch::Tensor expected = torch::zeros({4});
  for (const auto& x : batches) {
    expected += torch::conv2d(x, c.weight.narrow(0, 0, 4), {}, 1, 1).mean({0, 2, 3}) / 3.0;
  }
  EXPECT_TRUE(torch::allclose(c.bn_mean.narrow(0, 0, 4), expected, 1e-5, 1e-6));
  // The slices beyond 4 channels keep their (initial) statistics.
  EXPECT_TRUE(torch::equal(c.bn_mean.narrow(0, 4, 12), torch::zeros({12})));
}
