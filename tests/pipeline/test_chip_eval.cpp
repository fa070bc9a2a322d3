// Evaluation on the chip: digital vs analog accuracy, Monte-Carlo over device instances, SQNR.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config_tree.hpp"
#include "pipeline/chip_eval.hpp"
#include "pipeline/synthetic.hpp"

namespace cimkit::pipeline {
namespace {

struct Tiny : nn::Network {
  nn::AnalogConv2d conv{nullptr};
  nn::AnalogLinear fc{nullptr};
  Tiny() {
    conv = register_module("conv", nn::AnalogConv2d(nn::AnalogConv2dOptions(1, 4, 3).padding(1).signed_input(true)));
    fc = register_module("fc", nn::AnalogLinear(nn::AnalogLinearOptions(4 * 8 * 8, 3)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return fc->forward(torch::relu(conv->forward(x)).flatten(1));
  }
};

using testing::synthetic;

std::shared_ptr<const Chip> chip_from(const std::string& yaml) {
  return Chip::from_config(load_yaml_string(yaml, "test_chip.yaml"), "chip");
}

TEST(ChipEval, IdealChipMatchesDigitalExactly) {
  torch::manual_seed(1);
  Tiny net;
  data::DataLoader test(synthetic(40), 16, false, 0);
  auto ctx = std::make_shared<nn::AnalogContext>(
      chip_from("{crossbar: {rows: 64, cols: 64}, device: {impl: ideal}, dac: {impl: linear, bits: 1}, "
                "adc: {impl: linear, bits: 7, range: full_scale}}"), 3);
  ChipEvalOptions opt;
  opt.device_seeds = 2;
  ChipEvalResult r = evaluate_on_chip(net, test, ctx, opt);
  EXPECT_EQ(r.n_samples, 40);
  ASSERT_EQ(r.analog_accuracy.size(), 2u);
  EXPECT_DOUBLE_EQ(r.analog_accuracy[0], r.digital_accuracy);
  EXPECT_DOUBLE_EQ(r.analog_std, 0.0);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_GT(r.layers[0].sqnr_db, 60.0);
  EXPECT_EQ(r.n_arrays, r.layers[0].mapping.n_arrays + r.layers[1].mapping.n_arrays);
  // Per image: the conv reads 64 input vectors, the linear layer one.
  EXPECT_EQ(r.layers[0].counts.n_inputs, 64);
  EXPECT_EQ(r.layers[1].counts.n_inputs, 1);
  EXPECT_EQ(net.conv->mode(), nn::LayerMode::Float);  // modes restored
  EXPECT_TRUE(r.to_json().contains("layers"));
}

TEST(ChipEval, NoisyChipVariesOverDeviceSeedsAndNamesTheWorstLayer) {
  torch::manual_seed(2);
  Tiny net;
  data::DataLoader test(synthetic(60), 32, false, 0);
  auto ctx = std::make_shared<nn::AnalogContext>(
      chip_from("{crossbar: {rows: 64, cols: 64, baseline: cancelled}, "
                "device: {impl: reram, g_on_us: 40, g_off_us: 4, d2d_std: 0.3, c2c_std: 0.1}, "
                "dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 5, range: full_scale}}"), 3);
  ChipEvalOptions opt;
  opt.device_seeds = 3;
  ChipEvalResult r = evaluate_on_chip(net, test, ctx, opt);
  ASSERT_EQ(r.analog_accuracy.size(), 3u);
  EXPECT_LT(r.layers[0].sqnr_db, 40.0);
  EXPECT_FALSE(r.worst_layer.empty());
  ChipEvalResult again = evaluate_on_chip(net, test, ctx, opt);
  EXPECT_EQ(r.analog_accuracy, again.analog_accuracy);  // deterministic per seed
}

}  // namespace
}  // namespace cimkit::pipeline
