// Per-layer precision as a typed route (issue 11): Chip::with_precision in code, the ADC's
// resolution through Adc::with_bits, precision changes that keep the programmed cells, one source
// of truth for the model's ADC bits, and the dataset normalisation folded into the first layer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "nn/analog.hpp"
#include "nn/zoo.hpp"

namespace cimkit::nn {
namespace {

std::shared_ptr<const Chip> chip_from(const std::string& yaml) {
  return Chip::from_config(load_yaml_string(yaml, "test_chip.yaml"), "chip");
}

// Variation without read noise: two reads of the same cells are identical.
const char* kVariedChip =
    "{crossbar: {rows: 128, cols: 128}, device: {impl: reram, d2d_std: 0.1, c2c_std: 0.02, read_noise_std: 0}, "
    "adc: {impl: linear, bits: 8}}";

TEST(PrecisionRoute, ChipWithPrecisionIsTyped) {
  const auto base = chip_from(kVariedChip);
  const auto c = base->with_precision({4, 6, 5}, /*signed_input=*/false);
  EXPECT_EQ(c->spec().weight_bits, 4);
  EXPECT_EQ(c->spec().input_bits, 6);
  EXPECT_EQ(c->adc().bits(), 5);
  EXPECT_EQ(c->spec().input_encoding, InputEncoding::Unsigned);
  EXPECT_EQ(&c->device(), &base->device());  // the same cells model, shared
  EXPECT_EQ(base->adc().bits(), 8);           // the base is untouched
  // What it writes back says the truth.
  EXPECT_EQ(c->resolved().find("adc")->find("bits")->value(), "5");
  EXPECT_EQ(c->resolved().find("crossbar")->find("weight_bits")->value(), "4");
  // Signed inputs take the chip's signed encoding; `unsigned` chips fall back to offset.
  EXPECT_EQ(base->with_precision({8, 8, 8}, true)->spec().input_encoding, InputEncoding::Offset);
  const auto bip = chip_from("{crossbar: {input_encoding: bipolar}, device: {impl: ideal}}");
  EXPECT_EQ(bip->with_precision({8, 8, 8}, true)->spec().input_encoding, InputEncoding::Bipolar);
  EXPECT_EQ(bip->with_precision({8, 8, 8}, false)->spec().input_encoding, InputEncoding::Unsigned);
  // An ADC without a resolution takes none; disagreement is an error, not ignored.
  const auto ideal_adc = chip_from("{device: {impl: ideal}, adc: {impl: ideal}}");
  EXPECT_EQ(ideal_adc->default_precision().adc_bits, 0);
  EXPECT_NO_THROW(ideal_adc->with_precision({8, 8, 0}, false));
  EXPECT_THROW(ideal_adc->with_precision({8, 8, 6}, false), Error);
  EXPECT_THROW(base->with_precision({8, 8, 0}, false), Error);
}

TEST(PrecisionRoute, AdcAndActivationChangesKeepTheProgrammedCells) {
  torch::manual_seed(3);
  auto ctx = std::make_shared<AnalogContext>(chip_from(kVariedChip), 7);
  AnalogLinear lin(AnalogLinearOptions(300, 20).quant(QuantMode::minmax));
  lin->set_context(ctx);
  lin->eval();
  lin->set_mode(LayerMode::Analog);
  const auto x = torch::rand({8, 300});
  torch::NoGradGuard no_grad;
  lin->forward(x);
  const CrossbarLayer* engine = &lin->engine();
  const void* cells = lin->engine().programmed_conductance().data_ptr();
  lin->set_precision({8, 6, 5});
  const torch::Tensor y_retargeted = lin->forward(x);
  EXPECT_EQ(&lin->engine(), engine);                                   // not rebuilt
  EXPECT_EQ(lin->engine().programmed_conductance().data_ptr(), cells);  // not reprogrammed
  EXPECT_EQ(lin->engine().chip()->adc().bits(), 5);
  EXPECT_EQ(lin->mapping().input_slices, 6);
  // The same as building the layer at that precision from scratch (same seeds, same cells).
  AnalogLinear fresh(AnalogLinearOptions(300, 20).quant(QuantMode::minmax).precision({8, 6, 5}));
  fresh->weight.copy_(lin->weight);
  fresh->bias.copy_(lin->bias);
  fresh->set_context(ctx);
  fresh->eval();
  fresh->set_mode(LayerMode::Analog);
  EXPECT_TRUE(torch::equal(fresh->forward(x), y_retargeted));
  // A weight-bits change reprograms.
  lin->set_precision({6, 6, 5});
  lin->forward(x);
  EXPECT_EQ(lin->mapping().weight_slices, 5);
}

TEST(PrecisionRoute, ModelAdcBitsDefaultToTheChipsOrDisagreeLoudly) {
  ZooOptions o;
  o.precision.adc_bits = 0;  // model.adc_bits not given
  o.resolve_adc_bits(*chip_from("{adc: {impl: linear, bits: 6}}"));
  EXPECT_EQ(o.precision.adc_bits, 6);
  ZooOptions ideal;
  ideal.precision.adc_bits = 0;
  ideal.resolve_adc_bits(*chip_from("{adc: {impl: ideal}}"));
  EXPECT_EQ(ideal.precision.adc_bits, 0);
  EXPECT_EQ(ideal.precision.str(), "w8a8adc-");
  ZooOptions asks;
  asks.precision.adc_bits = 7;
  EXPECT_THROW(asks.resolve_adc_bits(*chip_from("{adc: {impl: ideal}}")), Error);
  asks.resolve_adc_bits(*chip_from("{adc: {impl: linear, bits: 8}}"));
  EXPECT_EQ(asks.precision.adc_bits, 7);  // the model's explicit value per layer
}

// The first layer reads unsigned pixel codes: normalisation folded in, same function.
TEST(PrecisionRoute, FoldedNormalisationIsTheSameFunctionOnPixels) {
  torch::manual_seed(11);
  const std::vector<double> mean = {0.3, 0.5}, std = {0.25, 0.4};
  AnalogConv2d plain(AnalogConv2dOptions(2, 6, 3).padding(1).quant(QuantMode::minmax).signed_input(true));
  AnalogConv2d folded(AnalogConv2dOptions(2, 6, 3).padding(1).quant(QuantMode::minmax));
  {
    torch::NoGradGuard no_grad;
    folded->weight.copy_(plain->weight);
    folded->bias.copy_(plain->bias);
  }
  folded->set_input_normalisation(mean, std);
  const torch::Tensor pixels = torch::round(torch::rand({3, 2, 7, 7}) * 255) / 255;
  const torch::Tensor x = (pixels - torch::tensor(mean).view({1, 2, 1, 1}).to(torch::kFloat32)) /
                          torch::tensor(std).view({1, 2, 1, 1}).to(torch::kFloat32);
  // Float mode is untouched; with 16-bit codes the folded quantised layer is the float function.
  EXPECT_TRUE(torch::equal(folded->forward(x), plain->forward(x)));
  folded->set_precision({16, 16, 8});
  folded->set_mode(LayerMode::Quantised);
  const torch::Tensor yf = plain->forward(x);
  EXPECT_TRUE(torch::allclose(folded->forward(x), yf, 1e-3, 1e-3)) << (folded->forward(x) - yf).abs().max();
  // On an ideal chip with a lossless ADC the chip equals the quantised layer, and it is fed
  // unsigned codes: 8-bit min-max codes of pixels are the pixels' own 8-bit values.
  folded->set_precision({8, 8, 9});
  const torch::Tensor yq = folded->forward(x).detach();
  folded->set_context(std::make_shared<AnalogContext>(
      chip_from("{crossbar: {rows: 32, cols: 64}, device: {impl: ideal}, adc: {impl: linear, bits: 9}}"), 1));
  folded->set_mode(LayerMode::Analog);
  folded->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(folded->forward(x), yq, 1e-4, 1e-4));
  EXPECT_EQ(folded->engine().chip()->spec().input_encoding, InputEncoding::Unsigned);
  EXPECT_THROW(plain->set_input_normalisation(mean, std), Error);  // signed inputs cannot fold
  EXPECT_THROW(folded->set_input_normalisation({0.1}, {0.2}), ShapeError);
}


// Signed inputs get symmetric codes, which every signed encoding holds: the same layer on an
// offset, a two-phase and a bipolar chip reads the same integers (ideal cells, lossless ADC).
TEST(PrecisionRoute, SignedInputsRunOnEverySignedEncoding) {
  torch::manual_seed(12);
  AnalogLinear lin(AnalogLinearOptions(40, 6).quant(QuantMode::lsq).signed_input(true));
  lin->eval();
  const torch::Tensor x = torch::randn({5, 40});
  lin->set_mode(LayerMode::Quantised);
  const torch::Tensor yq = lin->forward(x).detach();
  EXPECT_EQ(lin->xq->range().q_n, lin->xq->range().q_p);  // no code -2^(b-1)
  lin->set_mode(LayerMode::Analog);
  torch::NoGradGuard no_grad;
  for (const std::string enc : {"offset", "two_phase", "bipolar"}) {
    lin->set_context(std::make_shared<AnalogContext>(
        chip_from("{crossbar: {rows: 64, input_encoding: " + enc + "}, device: {impl: ideal}, adc: {impl: ideal}}"), 1));
    lin->set_precision({8, 8, 0});
    EXPECT_TRUE(torch::allclose(lin->forward(x), yq, 1e-4, 1e-4)) << enc;
  }
}

}  // namespace
}  // namespace cimkit::nn
