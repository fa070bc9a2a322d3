// Paper 003's ADC model in training (the `tile` surrogate, eq. 2-3) against the bit-exact chip:
// on an ideal chip whose slicing does not split a column (one weight slice, one input slice,
// analog subtraction, one signed ADC per column) the two are the same function.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config_tree.hpp"
#include "nn/analog.hpp"

namespace cimkit::nn {
namespace {

std::shared_ptr<const Chip> chip_from(const std::string& yaml) {
  return Chip::from_config(load_yaml_string(yaml, "test_chip.yaml"), "chip");
}

// rows 16, 4-bit weights in 3-bit cells (differential magnitudes: one slice), `dac_bits` DAC.
std::shared_ptr<const Chip> one_slice_chip(bool a_shift, int dac_bits, const std::string& encoding = "unsigned",
                                           int adc_bits = 6) {
  return chip_from("{crossbar: {rows: 16, cols: 64, cell_bits: 3, weight_bits: 4, input_bits: 4, subtract: analog, "
                   "input_encoding: " + encoding + ", a_shift: " + (a_shift ? "true" : "false") +
                   "}, device: {impl: ideal}, dac: {impl: linear, bits: " + std::to_string(dac_bits) +
                   "}, adc: {impl: linear, bits: " + std::to_string(adc_bits) +
                   ", range: clipped, clip_k: 4, rounding: floor}}");
}

// The layer's output in training (surrogate) and at evaluation (the chip), same weights and steps.
std::pair<torch::Tensor, torch::Tensor> both(const std::shared_ptr<const Chip>& chip, bool signed_input, int adc_bits,
                                             uint64_t seed, QuantMode quant = QuantMode::lsq) {
  torch::manual_seed(seed);
  auto ctx = std::make_shared<AnalogContext>(chip, 1);
  ctx->training.adc_model = SurrogateAdc::Tile;
  AnalogLinear lin(
      AnalogLinearOptions(40, 6).precision({4, 4, adc_bits}).signed_input(signed_input).bias(false).quant(quant));
  lin->set_context(ctx);
  const torch::Tensor x = signed_input ? torch::randn({24, 40}) : torch::rand({24, 40}) * 2;
  lin->set_mode(LayerMode::Quantised);
  lin->forward(x);  // initialises the learned steps
  if (lin->xq->offset.defined()) {
    torch::NoGradGuard ng;
    lin->xq->offset.fill_(-0.3);
  }
  lin->set_mode(LayerMode::Analog);
  lin->train();
  const torch::Tensor trained = lin->forward(x).detach();
  lin->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor chip_out = lin->forward(x);
  return {trained, chip_out};
}

void expect_same(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  const double scale = b.abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6 * scale)) << what << ": largest difference "
                                                          << (a - b).abs().max().item<double>() << " of " << scale;
}

TEST(TileSurrogate, EqualsTheBitExactChipWhenNoColumnIsSplit) {
  for (int bits : {4, 6, 8}) {
    auto [t, c] = both(one_slice_chip(false, 4, "unsigned", bits), false, bits, 1);
    expect_same(t, c, "unsigned inputs, " + std::to_string(bits) + "-bit ADC");
    auto [ts, cs] = both(one_slice_chip(true, 4, "unsigned", bits), false, bits, 2);
    expect_same(ts, cs, "A-shift, " + std::to_string(bits) + "-bit ADC");
    // Signed inputs on a bipolar DAC with b−1 magnitude bits: eq. 3's signed variant.
    auto [tb, cb] = both(one_slice_chip(false, 3, "bipolar", bits), true, bits, 3);
    expect_same(tb, cb, "bipolar inputs, " + std::to_string(bits) + "-bit ADC");
  }
  // LSQ+ (a learned activation offset, folded digitally).
  auto [tp, cp] = both(one_slice_chip(false, 4, "unsigned", 6), false, 6, 5, QuantMode::lsqplus);
  expect_same(tp, cp, "LSQ+, unsigned inputs");
  auto [tq, cq] = both(one_slice_chip(true, 4, "unsigned", 6), false, 6, 6, QuantMode::lsqplus);
  expect_same(tq, cq, "LSQ+, A-shift");
  // Cells wider than the weight's magnitude: the chip's ADC is ranged for its cells, and so is
  // the surrogate's (4-bit cells for 3 magnitude bits).
  {
    auto wide = chip_from("{crossbar: {rows: 16, cols: 64, cell_bits: 4, weight_bits: 4, input_bits: 4, subtract: analog, "
                          "a_shift: true}, device: {impl: ideal}, dac: {impl: linear, bits: 4}, adc: {impl: linear, bits: 6, "
                          "range: clipped, clip_k: 4, rounding: floor}}");
    auto [tw, cw] = both(wide, false, 6, 7);
    expect_same(tw, cw, "4-bit cells");
  }
  // The ADC loses something here (else the comparison would be empty).
  auto [lossy, exact] = both(one_slice_chip(true, 4, "unsigned", 4), false, 4, 2);
  auto [ideal, unused] = both(one_slice_chip(true, 4, "unsigned", 16), false, 16, 2);
  EXPECT_GT((lossy - ideal).abs().max().item<double>(), 0.0);
}

// Inputs sliced over 1-bit DACs: the chip converts every slice on its own, the model converts
// the whole code, so the two differ (their SQNR is compared in docs/results/raoq.md).
TEST(TileSurrogate, DiffersFromTheChipWhenTheInputsAreSliced) {
  auto [t, c] = both(one_slice_chip(true, 1, "unsigned", 6), false, 6, 4);
  EXPECT_GT((t - c).abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace cimkit::nn

namespace cimkit::nn {
namespace {

// The same for a convolution (its image quantised before unfolding in both paths). Zero padding
// is not compared: with an LSQ+ offset the chip pads with the code of 0 and the surrogate (like
// quantised mode) with the value 0.
TEST(TileSurrogate, ConvolutionEqualsTheBitExactChip) {
  for (bool a_shift : {false, true}) {
    torch::manual_seed(11);
    auto ctx = std::make_shared<AnalogContext>(one_slice_chip(a_shift, 4, "unsigned", 6), 1);
    ctx->training.adc_model = SurrogateAdc::Tile;
    AnalogConv2d conv(AnalogConv2dOptions(3, 5, 3).precision({4, 4, 6}).quant(QuantMode::lsqplus));
    conv->set_context(ctx);
    const torch::Tensor x = torch::rand({2, 3, 6, 6}) * 2;
    conv->set_mode(LayerMode::Quantised);
    conv->forward(x);
    conv->set_mode(LayerMode::Analog);
    conv->train();
    const torch::Tensor trained = conv->forward(x).detach();
    conv->eval();
    torch::NoGradGuard no_grad;
    expect_same(trained, conv->forward(x), a_shift ? "conv, A-shift" : "conv");
  }
}

}  // namespace
}  // namespace cimkit::nn
