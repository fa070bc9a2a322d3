// AnalogLinear / AnalogConv2d: modes, per-layer precision, programming, mapping and counts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "nn/analog.hpp"

namespace cimkit::nn {
namespace {

std::shared_ptr<const Chip> chip_from(const std::string& yaml) {
  return Chip::from_config(load_yaml_string(yaml, "test_chip.yaml"), "chip");
}

std::shared_ptr<const Chip> ideal_chip(int rows = 128) {
  return chip_from("{crossbar: {rows: " + std::to_string(rows) + ", cols: 128, cell_bits: 1}, device: {impl: ideal}, "
                   "dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 8, range: full_scale}}");
}

// A network of one conv and one linear layer, for Network-level tests.
struct TwoLayer : Network {
  AnalogConv2d conv{nullptr};
  AnalogLinear fc{nullptr};
  explicit TwoLayer(QuantMode q = QuantMode::lsq) {
    conv = register_module("conv", AnalogConv2d(AnalogConv2dOptions(1, 4, 3).padding(1).quant(q).signed_input(true)));
    fc = register_module("fc", AnalogLinear(AnalogLinearOptions(4 * 6 * 6, 5).quant(q)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return fc->forward(torch::relu(conv->forward(x)).flatten(1));
  }
};

TEST(AnalogLayers, FloatModeMatchesTorch) {
  torch::manual_seed(1);
  AnalogLinear lin(AnalogLinearOptions(20, 7));
  auto x = torch::randn({5, 20});
  EXPECT_TRUE(torch::allclose(lin->forward(x), torch::nn::functional::linear(x, lin->weight, lin->bias)));
  AnalogConv2d conv(AnalogConv2dOptions(3, 4, 3).stride(2).padding(1));
  auto img = torch::randn({2, 3, 9, 9});
  auto ref = torch::nn::functional::conv2d(
      img, conv->weight, torch::nn::functional::Conv2dFuncOptions().bias(conv->bias).stride(2).padding(1));
  EXPECT_TRUE(torch::allclose(conv->forward(img), ref, 1e-5, 1e-5));
}

TEST(AnalogLayers, QuantisedModeUsesSymmetricWeightCodes) {
  torch::manual_seed(2);
  AnalogLinear lin(AnalogLinearOptions(16, 3).precision({4, 4, 8}));
  lin->set_mode(LayerMode::Quantised);
  auto x = torch::rand({8, 16});
  auto y = lin->forward(x);
  ASSERT_TRUE(lin->wq->initialized());
  const double s = lin->wq->step.item<double>();
  auto codes = torch::round(lin->weight.detach() / s).clamp(-7, 7);  // never -8 (symmetric)
  auto w_hat = lin->wq->forward(lin->weight).detach();
  EXPECT_TRUE(torch::allclose(w_hat, codes * s, 1e-6, 1e-6));
  EXPECT_GE((w_hat / s).min().item<double>(), -7.0 - 1e-6);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{8, 3}));
}

// On an ideal chip with a lossless ADC the analog read equals the fake-quantised product exactly
// (up to float rounding of the dequantisation): linear, conv, signed inputs, per-channel weights,
// LSQ+ input offsets, several row tiles.
struct ExactCase {
  QuantMode quant;
  bool per_channel, signed_input;
  int weight_bits, act_bits;
};
class AnalogExact : public ::testing::TestWithParam<ExactCase> {};

TEST_P(AnalogExact, IdealChipEqualsQuantisedMode) {
  const ExactCase c = GetParam();
  torch::manual_seed(3);
  auto ctx = std::make_shared<AnalogContext>(ideal_chip(32), 7);
  AnalogLinear lin(AnalogLinearOptions(100, 9)
                       .quant(c.quant)
                       .per_channel(c.per_channel)
                       .signed_input(c.signed_input)
                       .precision({c.weight_bits, c.act_bits, 8}));
  lin->set_context(ctx);
  lin->eval();
  auto x = c.signed_input ? torch::randn({13, 100}) : torch::rand({13, 100});
  lin->set_mode(LayerMode::Quantised);
  auto yq = lin->forward(x).detach();
  if (c.quant == QuantMode::none) {  // the chip's own quantisation: min-max of weights and inputs
    yq = torch::nn::functional::linear(fake_quant_minmax(x, c.act_bits, c.signed_input),
                                       fake_quant_minmax(lin->weight.detach(), c.weight_bits, true),
                                       lin->bias.detach());
  }
  lin->set_mode(LayerMode::Analog);
  auto ya = lin->forward(x);
  EXPECT_EQ(lin->mapping().row_tiles, 4);  // ceil(100 / 32)
  EXPECT_TRUE(torch::allclose(ya, yq, 1e-4, 1e-4)) << (ya - yq).abs().max().item<double>();
  EXPECT_GT(lin->counts().adc_conversions, 0);
}

INSTANTIATE_TEST_SUITE_P(Cases, AnalogExact,
                         ::testing::Values(ExactCase{QuantMode::lsq, false, false, 8, 8},
                                           ExactCase{QuantMode::lsq, true, true, 4, 4},
                                           ExactCase{QuantMode::lsqplus, false, false, 6, 5},
                                           ExactCase{QuantMode::minmax, true, true, 5, 3},
                                           ExactCase{QuantMode::none, false, false, 8, 8}));

TEST(AnalogLayers, ConvAnalogMatchesQuantisedOnIdealChip) {
  torch::manual_seed(4);
  TwoLayer net;
  net.set_context(std::make_shared<AnalogContext>(ideal_chip(), 1));
  net.eval();
  auto x = torch::randn({3, 1, 6, 6});
  net.set_mode(LayerMode::Quantised);
  auto yq = net.forward(x).detach();
  net.set_mode(LayerMode::Analog);
  auto ya = net.forward(x);
  EXPECT_TRUE(torch::allclose(ya, yq, 1e-4, 1e-4)) << (ya - yq).abs().max().item<double>();
  auto layers = net.analog_layers();
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].name, "conv");
  EXPECT_EQ(layers[0].layer->mapping().in_features, 9);
  EXPECT_EQ(layers[1].layer->mapping().in_features, 144);
  // conv: one input vector per output pixel.
  EXPECT_EQ(layers[0].layer->counts().n_inputs, 3 * 36);
  EXPECT_EQ(net.total_counts().activations_per_array.numel(),
            layers[0].layer->mapping().n_arrays + layers[1].layer->mapping().n_arrays);
}

TEST(AnalogLayers, PrecisionChangesAtRunTimeAndReprograms) {
  torch::manual_seed(5);
  auto ctx = std::make_shared<AnalogContext>(ideal_chip(), 1);
  AnalogLinear lin(AnalogLinearOptions(64, 8));
  lin->set_context(ctx);
  lin->eval();
  lin->set_mode(LayerMode::Analog);
  auto x = torch::rand({4, 64});
  auto y8 = lin->forward(x);
  const auto params_before = lin->parameters().size();
  const void* step_ptr = lin->wq->step.data_ptr();
  lin->set_precision({4, 8, 8});
  EXPECT_EQ(lin->wq->bits(), 4);
  EXPECT_EQ(lin->parameters().size(), params_before);
  EXPECT_EQ(lin->wq->step.data_ptr(), step_ptr);  // no re-registration
  lin->wq->request_init();
  auto y4 = lin->forward(x);
  EXPECT_FALSE(torch::allclose(y4, y8));
  EXPECT_EQ(lin->engine().weight_codes().abs().max().item<int64_t>() <= 7, true);
  // Slices follow the precision: 4-bit weights in 1-bit cells -> 3 magnitude slices.
  EXPECT_EQ(lin->mapping().weight_slices, 3);
  EXPECT_THROW(lin->set_precision({1, 8, 8}), Error);
  EXPECT_THROW(lin->set_precision({8, 0, 8}), Error);
  EXPECT_EQ(lin->precision().weight_bits, 4);  // unchanged after a rejected change
}

TEST(AnalogLayers, WeightUpdateTriggersReprogramming) {
  torch::manual_seed(6);
  AnalogLinear lin(AnalogLinearOptions(32, 4).quant(QuantMode::minmax));
  lin->set_context(std::make_shared<AnalogContext>(ideal_chip(), 1));
  lin->eval();
  lin->set_mode(LayerMode::Analog);
  auto x = torch::rand({2, 32});
  auto y1 = lin->forward(x);
  {
    torch::NoGradGuard g;
    lin->weight.mul_(-1.0);  // what an optimizer step does: in place
  }
  auto y2 = lin->forward(x);
  const auto b = lin->bias.detach();
  EXPECT_TRUE(torch::allclose(y2 - b, -(y1 - b), 1e-4, 1e-4));
}

TEST(AnalogLayers, DeviceSeedsGiveDifferentInstancesReproducibly) {
  torch::manual_seed(7);
  auto chip = chip_from(
      "{crossbar: {rows: 64, cols: 64, cell_bits: 1, baseline: cancelled}, "
      "device: {impl: reram, g_on_us: 40, g_off_us: 4, d2d_std: 0.05, c2c_std: 0.02}, "
      "dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 7, range: full_scale}}");
  auto ctx = std::make_shared<AnalogContext>(chip, 11);
  AnalogLinear lin(AnalogLinearOptions(64, 6));
  lin->set_context(ctx);
  lin->eval();
  lin->set_mode(LayerMode::Analog);
  auto x = torch::rand({3, 64});
  ctx->set_device_seed(1);
  auto a1 = lin->forward(x);
  ctx->set_device_seed(2);
  auto a2 = lin->forward(x);
  ctx->set_device_seed(1);
  auto a1b = lin->forward(x);
  EXPECT_FALSE(torch::equal(a1, a2));
  EXPECT_TRUE(torch::equal(a1, a1b));
}

TEST(AnalogLayers, SurrogateWithoutAdcEqualsQuantisedAndHasGradients) {
  torch::manual_seed(8);
  auto ctx = std::make_shared<AnalogContext>(ideal_chip(16), 1);
  ctx->training.adc_in_loop = false;
  AnalogLinear lin(AnalogLinearOptions(40, 5).precision({6, 6, 8}));
  lin->set_context(ctx);
  lin->train();
  auto x = torch::rand({7, 40});
  lin->set_mode(LayerMode::Quantised);
  auto yq = lin->forward(x).detach();
  lin->set_mode(LayerMode::Analog);
  auto ys = lin->forward(x);
  EXPECT_TRUE(torch::allclose(ys.detach(), yq, 1e-4, 1e-4));
  ys.sum().backward();
  EXPECT_GT(lin->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(lin->wq->step.grad().defined());
  EXPECT_TRUE(lin->xq->step.grad().defined());
}

TEST(AnalogLayers, SurrogateAdcInTheLoopQuantisesPartialSums) {
  torch::manual_seed(9);
  // The surrogate asks the chip's ADC for its transfer: a clipped range with k = 1 and floor
  // rounding is paper 003 eq. 2-3 exactly.
  auto ctx = std::make_shared<AnalogContext>(
      chip_from("{crossbar: {rows: 16, cols: 128}, device: {impl: ideal}, adc: {impl: linear, bits: 8, range: clipped, "
                "clip_k: 1, rounding: floor}}"),
      1);
  ctx->training.adc_model = SurrogateAdc::Tile;
  AnalogLinear lin(AnalogLinearOptions(48, 5).precision({4, 4, 3}).bias(false));
  lin->set_context(ctx);
  lin->train();
  lin->set_mode(LayerMode::Analog);
  auto x = torch::rand({6, 48}, torch::requires_grad());
  auto y = lin->forward(x);
  // Each output is a sum over 3 row tiles of step * integer (paper 003 eq. 2-3, k = 1).
  const double step = 2.0 * 16 * 15 * 7 / (8.0 * 1.0);
  const double scale = lin->wq->step.item<double>() * lin->xq->step.item<double>();
  auto units = y.detach().to(torch::kFloat64) / (scale * step);
  EXPECT_TRUE(torch::allclose(units, torch::round(units), 0, 1e-3));
  y.sum().backward();
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);  // straight-through floor
  // Noise injection changes the output, and is drawn from the global generator (seeded).
  ctx->training.weight_noise = 0.05;
  torch::manual_seed(1);
  auto n1 = lin->forward(x.detach());
  torch::manual_seed(1);
  auto n2 = lin->forward(x.detach());
  EXPECT_TRUE(torch::equal(n1, n2));
  EXPECT_FALSE(torch::allclose(n1, y.detach()));
}

TEST(AnalogLayers, AnalogModeWithoutChipIsAClearError) {
  AnalogLinear lin(AnalogLinearOptions(4, 2));
  lin->eval();
  lin->set_mode(LayerMode::Analog);
  try {
    lin->forward(torch::rand({1, 4}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("set_context"), std::string::npos);
  }
  EXPECT_THROW(lin->forward(torch::rand({1, 5})), ShapeError);
  EXPECT_THROW(parse_layer_mode("analogue"), Error);
  EXPECT_EQ(parse_layer_mode("qat"), LayerMode::Quantised);
}

TEST(AnalogLayers, NetworkPrecisionsAndClone) {
  TwoLayer net;
  EXPECT_EQ(net.precisions().size(), 2u);
  net.set_precisions({{8, 8, 8}, {4, 4, 6}});
  EXPECT_EQ(net.fc->precision().adc_bits, 6);
  EXPECT_EQ(net.fc->xq->bits(), 4);
  EXPECT_THROW(net.set_precisions({{8, 8, 8}}), Error);
  auto copy = std::dynamic_pointer_cast<AnalogLinearImpl>(net.fc->clone());
  ASSERT_TRUE(copy);
  EXPECT_FALSE(copy->programmed());
  EXPECT_TRUE(torch::equal(copy->weight, net.fc->weight));
}

}  // namespace
}  // namespace cimkit::nn

namespace cimkit::nn {
namespace {

TEST(AnalogLayers, SqnrProbeMeasuresTheLayersOwnError) {
  torch::manual_seed(10);
  AnalogLinear lin(AnalogLinearOptions(256, 16).precision({8, 8, 8}));
  lin->set_context(std::make_shared<AnalogContext>(ideal_chip(), 1));
  lin->eval();
  lin->set_mode(LayerMode::Analog);
  lin->enable_sqnr_probe(true);
  EXPECT_TRUE(std::isnan(lin->sqnr_db()));
  auto x = torch::rand({32, 256});
  lin->forward(x);
  const double lossless = lin->sqnr_db();
  EXPECT_GT(lossless, 80.0);  // float rounding only
  lin->reset_sqnr_probe();
  lin->set_precision({8, 8, 4});  // 4-bit ADC on 128-row partial sums: coarse
  lin->forward(x);
  const double coarse = lin->sqnr_db();
  EXPECT_LT(coarse, 40.0);
  EXPECT_TRUE(std::isfinite(coarse));  // about -0.7 dB: a 4-bit full-scale ADC on 1-bit slices
}

}  // namespace
}  // namespace cimkit::nn

namespace cimkit::nn {
namespace {

// The default surrogate's forward value is the chip's own digital result: on an ideal-cell chip
// with a lossy 3-bit ADC it equals the exact chip read bit for bit, and gradients pass through.
TEST(AnalogLayers, ChipSurrogateForwardEqualsTheChipRead) {
  torch::manual_seed(11);
  auto chip = Chip::from_config(
      load_yaml_string("{crossbar: {rows: 32, cols: 64, cell_bits: 1}, device: {impl: ideal}, "
                       "dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 3, range: full_scale}}", "t.yaml"),
      "chip");
  auto ctx = std::make_shared<AnalogContext>(chip, 1);
  AnalogConv2d conv(AnalogConv2dOptions(2, 5, 3).padding(1).precision({6, 5, 3}).signed_input(true));
  conv->set_context(ctx);
  conv->set_mode(LayerMode::Analog);
  auto x = torch::randn({2, 2, 7, 7}, torch::requires_grad());
  conv->train();
  auto ys = conv->forward(x);
  conv->eval();
  auto ya = conv->forward(x.detach());
  EXPECT_TRUE(torch::allclose(ys.detach(), ya, 1e-4, 1e-4)) << (ys.detach() - ya).abs().max().item<double>();
  conv->set_mode(LayerMode::Quantised);
  auto yq = conv->forward(x.detach());
  EXPECT_GT((ya - yq).abs().max().item<double>(), 1e-2);  // the 3-bit ADC loses something
  ys.sum().backward();
  ASSERT_TRUE(x.grad().defined());
  ASSERT_TRUE(conv->weight.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(conv->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(conv->xq->step.grad().defined());
}

TEST(AnalogLayers, ProgramRedrawsCycleToCycleOnly) {
  torch::manual_seed(12);
  auto chip = Chip::from_config(
      load_yaml_string("{crossbar: {rows: 64, cols: 64, baseline: cancelled}, "
                       "device: {impl: reram, g_on_us: 40, g_off_us: 4, c2c_std: 0.05}, "
                       "dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 7, range: full_scale}}", "t.yaml"),
      "chip");
  AnalogLinear lin(AnalogLinearOptions(64, 6));
  lin->set_context(std::make_shared<AnalogContext>(chip, 2));
  lin->eval();
  lin->set_mode(LayerMode::Analog);
  auto x = torch::rand({3, 64});
  auto a = lin->forward(x);
  auto b = lin->forward(x);
  EXPECT_TRUE(torch::equal(a, b));  // programmed once: reads repeat
  lin->program();                   // fresh cycle-to-cycle draws
  auto c = lin->forward(x);
  EXPECT_FALSE(torch::equal(a, c));
}

}  // namespace
}  // namespace cimkit::nn

namespace cimkit::nn {
namespace {

// A convolution in analog mode quantises its image before unfolding it and, at the folded rungs,
// reads the image's windows as convolutions (CrossbarLayer::forward_windows). The SQNR probe
// keeps the unfolded rows path, so the two are compared: bit for bit at bit_exact, to float32
// rounding at tile and weight. An LSQ+ offset moves code(0) off 0, so the padding is explicit.
TEST(AnalogLayers, ConvReadsItsImageAsItsRows) {
  auto chip = chip_from("{crossbar: {rows: 32, cols: 64, cell_bits: 1}, "
                        "device: {impl: reram, d2d_std: 0.05, c2c_std: 0.03, read_noise_std: 0.02}, "
                        "dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 5, range: clipped, clip_k: 4}}");
  torch::manual_seed(3);
  const auto x = torch::randn({2, 3, 8, 7});
  for (const Fidelity f : {Fidelity::BitExact, Fidelity::Tile, Fidelity::Weight}) {
    std::vector<torch::Tensor> y;
    for (const bool probe : {false, true}) {
      torch::manual_seed(4);
      AnalogConv2d conv(AnalogConv2dOptions(3, 6, 3).stride(2).padding(1).quant(QuantMode::lsqplus).precision({6, 5, 5}));
      conv->eval();
      conv->set_mode(LayerMode::Quantised);
      conv->forward(x);  // initialises the quantisers
      {
        torch::NoGradGuard no_grad;
        conv->xq->offset.fill_(-0.4);  // code(0) = round(0.4 / step) > 0
      }
      auto ctx = std::make_shared<AnalogContext>(chip, 2);
      ctx->fidelity = f;
      conv->set_context(ctx);
      conv->set_mode(LayerMode::Analog);
      conv->enable_sqnr_probe(probe);
      y.push_back(conv->forward(x));
    }
    if (f == Fidelity::BitExact) {
      EXPECT_TRUE(torch::equal(y[0], y[1])) << (y[0] - y[1]).abs().max().item<double>();
    } else {
      EXPECT_TRUE(torch::allclose(y[0], y[1], 1e-4, 1e-5)) << to_string(f) << ": " << (y[0] - y[1]).abs().max().item<double>();
    }
    EXPECT_GT((y[0] - y[0].mean()).abs().max().item<double>(), 0.0);
  }
}

}  // namespace
}  // namespace cimkit::nn
