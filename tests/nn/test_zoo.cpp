// The model zoo (nn/zoo.hpp): every model on MNIST- and CIFAR-shaped inputs, parameter counts
// against closed-form counts of the architectures, width, first/last-layer bits, input
// signedness, PyTorch module names, config parsing, errors, and quantised / analog forwards.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "crossbar/chip.hpp"
#include "nn/interop.hpp"
#include "nn/zoo.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
using namespace cimkit::nn;

namespace {

ZooOptions opts(const std::string& name, int64_t channels = 3, int64_t size = 32,
                double width = 1.0) {
  ZooOptions o;
  o.name = name;
  o.in_channels = channels;
  o.image_size = size;
  o.width = width;
  return o;
}

using cimkit::testing::error_of;

// Closed-form parameter counts (weights + biases + BN affine), written from the architecture
// definitions independently of the model code.
int64_t conv(int64_t in, int64_t out, int64_t k, bool bias) {
  return in * out * k * k + (bias ? out : 0);
}
int64_t bn(int64_t c) {
  return 2 * c;
}
int64_t fc(int64_t in, int64_t out) {
  return in * out + out;
}

int64_t resnet_count(int64_t in_ch, const std::vector<int64_t>& blocks,
                     const std::vector<int64_t>& widths, int64_t classes) {
  int64_t n = conv(in_ch, widths[0], 3, false) + bn(widths[0]);
  int64_t c = widths[0];
  for (size_t s = 0; s < blocks.size(); ++s) {
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const int64_t w = widths[s];
      n += conv(c, w, 3, false) + bn(w) + conv(w, w, 3, false) + bn(w);
      if (c != w || (s > 0 && b == 0)) n += conv(c, w, 1, false) + bn(w);  // projection
      c = w;
    }
  }
  return n + fc(c, classes);
}

int64_t lenet5_count(int64_t in_ch, int64_t classes) {
  // 16 maps of 5x5 reach fc1 for both 28x28 (padded by 2) and 32x32 inputs.
  return conv(in_ch, 6, 5, true) + conv(6, 16, 5, true) + fc(16 * 5 * 5, 120) + fc(120, 84) +
         fc(84, classes);
}

// ---- every model, both input shapes ------------------------------------------------------------

struct ShapeCase {
  std::string name;
  int64_t channels, size;
};

std::vector<ShapeCase> all_cases() {
  std::vector<ShapeCase> out;
  for (const auto& n : zoo_names()) {
    out.push_back({n, 1, 28});
    out.push_back({n, 3, 32});
  }
  return out;
}

class ZooShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(ZooShapes, FloatForwardGivesLogits) {
  const auto c = GetParam();
  torch::manual_seed(0);
  auto o = opts(c.name, c.channels, c.size);
  o.n_classes = 7;
  auto net = make_model(o);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto y = net->forward(torch::randn({2, c.channels, c.size, c.size}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 7}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(All, ZooShapes, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<ShapeCase>& i) {
                           return i.param.name + "_" + std::to_string(i.param.size) + "x" +
                                  std::to_string(i.param.size) + "x" +
                                  std::to_string(i.param.channels);
                         });

// Quantised mode (LSQ, lazily initialised from the batch) at half width: finite logits, and
// different from float mode (quantisation happened).
class ZooQuantised : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooQuantised, QuantisedForwardGivesLogits) {
  torch::manual_seed(1);
  auto net = make_model(opts(GetParam(), 3, 32, 0.5));
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 32, 32});
  const auto yf = net->forward(x);
  net->set_mode(LayerMode::Quantised);
  const auto yq = net->forward(x);
  EXPECT_EQ(yq.sizes(), (std::vector<int64_t>{2, 10}));
  EXPECT_TRUE(torch::isfinite(yq).all().item<bool>());
  EXPECT_FALSE(torch::equal(yf, yq));
  for (const auto& l : net->analog_layers()) {
    EXPECT_TRUE(l.layer->weight_quantizer()->initialized()) << l.name;
    EXPECT_TRUE(l.layer->input_quantizer()->initialized()) << l.name;
  }
}

INSTANTIATE_TEST_SUITE_P(All, ZooQuantised, ::testing::ValuesIn(zoo_names()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// ---- parameter counts --------------------------------------------------------------------------

TEST(ZooParams, ResNet18CifarHasTheStandardCount) {
  auto net = make_model(opts("resnet18"));
  const int64_t formula = resnet_count(3, {2, 2, 2, 2}, {64, 128, 256, 512}, 10);
  EXPECT_EQ(formula, 11173962);  // the usual CIFAR ResNet-18 with BN
  EXPECT_EQ(count_parameters(*net), formula);
}

TEST(ZooParams, ResNet20AndResNet34MatchTheirFormulas) {
  EXPECT_EQ(count_parameters(*make_model(opts("resnet20"))),
            resnet_count(3, {3, 3, 3}, {16, 32, 64}, 10));
  EXPECT_EQ(count_parameters(*make_model(opts("resnet34", 1, 28))),
            resnet_count(1, {3, 4, 6, 3}, {64, 128, 256, 512}, 10));
}

TEST(ZooParams, LeNet5) {
  EXPECT_EQ(lenet5_count(1, 10), 61706);
  EXPECT_EQ(count_parameters(*make_model(opts("lenet5", 1, 28))), 61706);
  EXPECT_EQ(count_parameters(*make_model(opts("lenet5", 3, 32))), lenet5_count(3, 10));
}

TEST(ZooParams, Vgg8FollowsMnsim) {
  // MNSIM 2.0 vgg8 (shared/reference/mnsim_networks.md) + BN after every conv.
  const int64_t convs = conv(3, 128, 3, false) + conv(128, 128, 3, false) +
                        conv(128, 256, 3, false) + conv(256, 256, 3, false) +
                        conv(256, 512, 3, false) + conv(512, 512, 3, false) +
                        conv(512, 1024, 3, false);
  const int64_t bns = bn(128) * 2 + bn(256) * 2 + bn(512) * 2 + bn(1024);
  EXPECT_EQ(count_parameters(*make_model(opts("vgg8"))), convs + bns + fc(1024, 10));
}

TEST(ZooParams, HalfWidthReducesParameters) {
  for (const auto& name : zoo_names()) {
    const int64_t full = count_parameters(*make_model(opts(name, 1, 28, 1.0)));
    const int64_t half = count_parameters(*make_model(opts(name, 1, 28, 0.5)));
    EXPECT_LT(half, full) << name;
  }
  // Hidden widths scale; the input and the classes do not.
  auto net = make_model(opts("mlp", 1, 28, 0.5));
  auto layers = net->analog_layers();
  EXPECT_EQ(layers[0].layer->weight_matrix().sizes(), (std::vector<int64_t>{128, 784}));
  EXPECT_EQ(layers[2].layer->weight_matrix().sizes(), (std::vector<int64_t>{10, 64}));
  // Rounded, at least 1.
  auto tiny = make_model(opts("lenet5", 1, 28, 0.01));
  EXPECT_EQ(tiny->analog_layers()[0].layer->weight_matrix().size(0), 1);
}

TEST(ZooParams, QuantiserParametersAreNotCounted) {
  auto o = opts("lenet5", 1, 28);
  o.quant = QuantMode::lsqplus;
  auto net = make_model(o);
  int64_t all = 0;
  for (const auto& p : net->parameters()) all += p.numel();
  // Each of the 5 layers has a weight step [1], an input step [1] and an input offset [1].
  EXPECT_EQ(all, 61706 + 5 * 3);
  EXPECT_EQ(count_parameters(*net), 61706);
}

// ---- precision and signedness
// --------------------------------------------------------------------

TEST(ZooPrecision, FirstAndLastLayersUseFirstLastBits) {
  auto o = opts("resnet20");
  o.precision = {4, 3, 6};
  o.first_last_bits = 8;
  auto net = make_model(o);
  const auto p = net->precisions();
  ASSERT_EQ(p.size(), 22u);  // stem, 18 block convs, 2 projections, fc
  EXPECT_EQ(p.front(), (Precision{8, 8, 6}));
  EXPECT_EQ(p.back(), (Precision{8, 8, 6}));
  for (size_t i = 1; i + 1 < p.size(); ++i) EXPECT_EQ(p[i], (Precision{4, 3, 6})) << i;

  o.first_last_bits = 0;  // same as the rest
  for (const auto& q : make_model(o)->precisions()) EXPECT_EQ(q, (Precision{4, 3, 6}));
}

TEST(ZooPrecision, OnlyTheFirstLayerTakesSignedInputs) {
  for (const auto& name : zoo_names()) {
    auto net = make_model(opts(name, 1, 28, 0.25));
    auto layers = net->analog_layers();
    ASSERT_GE(layers.size(), 3u) << name;
    EXPECT_TRUE(layers[0].layer->signed_input()) << name;
    for (size_t i = 1; i < layers.size(); ++i)
      EXPECT_FALSE(layers[i].layer->signed_input()) << name << " " << layers[i].name;
  }
}

TEST(ZooPrecision, QuantiserKindAndPerChannelReachEveryLayer) {
  auto o = opts("vgg11", 3, 32, 0.25);
  o.quant = QuantMode::lsqplus;
  o.per_channel = true;
  auto net = make_model(o);
  for (const auto& l : net->analog_layers()) {
    auto& wq = l.layer->weight_quantizer();
    EXPECT_EQ(wq->options.mode(), QuantMode::lsqplus) << l.name;
    EXPECT_EQ(wq->step.numel(), l.layer->weight_matrix().size(0)) << l.name;
    EXPECT_TRUE(l.layer->input_quantizer()->offset.defined()) << l.name;
  }
}

// ---- names -------------------------------------------------------------------------------------

std::vector<std::string> analog_names(Network& net) {
  std::vector<std::string> out;
  for (const auto& l : net.analog_layers()) out.push_back(l.name);
  return out;
}

TEST(ZooNames, FollowPyTorchConventions) {
  auto resnet = make_model(opts("resnet18", 3, 32, 0.25));
  const auto r = analog_names(*resnet);
  ASSERT_EQ(r.size(), 21u);  // stem + 16 block convs + 3 projections + fc
  EXPECT_EQ(r[0], "conv1");
  EXPECT_EQ(r[1], "layer1.0.conv1");
  EXPECT_EQ(r[2], "layer1.0.conv2");
  EXPECT_EQ(r[7], "layer2.0.downsample.0");
  EXPECT_EQ(r.back(), "fc");
  std::set<std::string> keys;
  for (const auto& [k, t] : state_dict(*resnet)) keys.insert(k);
  for (const char* k :
       {"conv1.weight", "bn1.running_mean", "layer1.0.bn1.running_mean",
        "layer1.0.bn1.num_batches_tracked", "layer2.0.downsample.1.weight", "layer4.1.conv2.weight",
        "fc.weight", "fc.bias", "conv1.wq.step", "conv1.xq.step", "conv1.wq.initialized"}) {
    EXPECT_TRUE(keys.count(k)) << k;
  }
  EXPECT_FALSE(keys.count("conv1.bias"));  // conv followed by BN: no bias

  EXPECT_EQ(analog_names(*make_model(opts("vgg8", 3, 32, 0.25))),
            (std::vector<std::string>{"features.0", "features.3", "features.7", "features.10",
                                      "features.14", "features.17", "features.21", "classifier"}));
  EXPECT_EQ(analog_names(*make_model(opts("lenet5", 1, 28))),
            (std::vector<std::string>{"conv1", "conv2", "fc1", "fc2", "fc3"}));
  EXPECT_EQ(analog_names(*make_model(opts("mlp", 1, 28))),
            (std::vector<std::string>{"fc1", "fc2", "fc3"}));
  EXPECT_EQ(analog_names(*make_model(opts("vgg16", 3, 32, 0.25))).size(), 14u);
  EXPECT_EQ(analog_names(*make_model(opts("resnet34", 3, 32, 0.25))).size(), 37u);
}

TEST(ZooSummary, ListsEveryAnalogLayer) {
  auto o = opts("lenet5", 1, 28);
  o.precision = {4, 4, 6};
  const std::string s = model_summary(*make_model(o));
  EXPECT_HAS(s, "conv1");
  EXPECT_HAS(s, "6x1x5x5");
  EXPECT_HAS(s, "25 x 6");
  EXPECT_HAS(s, "400 x 120");
  EXPECT_HAS(s, "48120");
  EXPECT_HAS(s, "w8a8adc6");
  EXPECT_HAS(s, "w4a4adc6");
  EXPECT_HAS(s, "5 analog layers, 61706 parameters in analog layers, 61706 in the network");
}

// ---- config ------------------------------------------------------------------------------------

Params parse(const std::string& yaml) {
  return parse_params(load_yaml_string(yaml, "run.yaml"), ZooOptions::schema(), "model");
}

TEST(ZooConfig, ParsesTheModelSection) {
  const auto o = ZooOptions::from_params(parse(
      "{name: resnet20, width: 0.5, weight_bits: 4, act_bits: 5, adc_bits: 6, first_last_bits: 0, "
      "quant: lsqplus, per_channel: true}"));
  EXPECT_EQ(o.name, "resnet20");
  EXPECT_DOUBLE_EQ(o.width, 0.5);
  EXPECT_EQ(o.precision, (Precision{4, 5, 6}));
  EXPECT_EQ(o.first_last_bits, 0);
  EXPECT_EQ(o.quant, QuantMode::lsqplus);
  EXPECT_TRUE(o.per_channel);

  const auto d = ZooOptions::from_params(parse("{name: lenet5}"));
  EXPECT_EQ(d.precision, (Precision{8, 8, 0}));  // adc_bits 0: the chip's, set by resolve_adc_bits
  EXPECT_TRUE(d.fold_normalisation);              // the first layer reads pixels
  EXPECT_FALSE(ZooOptions::from_params(parse("{name: lenet5, first_layer_input: normalised}")).fold_normalisation);
  EXPECT_EQ(d.first_last_bits, 8);
  EXPECT_EQ(d.quant, QuantMode::lsq);
  EXPECT_DOUBLE_EQ(d.width, 1.0);
}

TEST(ZooConfig, RejectsBadValues) {
  EXPECT_HAS(error_of([] { parse("{name: resnet19}"); }), "did you mean 'resnet18'");
  EXPECT_HAS(error_of([] { parse("{width: 1}"); }), "name");
  EXPECT_HAS(error_of([] { parse("{name: mlp, widht: 2}"); }), "did you mean 'width'");
  EXPECT_HAS(error_of([] { parse("{name: mlp, width: 0}"); }), "model.width");
  EXPECT_HAS(error_of([] { parse("{name: mlp, weight_bits: 1}"); }), "model.weight_bits");
  EXPECT_HAS(error_of([] { parse("{name: mlp, adc_bits: 17}"); }), "model.adc_bits");
  EXPECT_HAS(error_of([] { ZooOptions::from_params(parse("{name: mlp, first_last_bits: 1}")); }),
             "run.yaml:1: model.first_last_bits: 1 is not allowed");
  EXPECT_HAS(error_of([] {
               ZooOptions::from_params(parse("{name: mlp, first_last_bits: 0, act_bits: 1, first_layer_input: normalised}"));
             }),
             "model.act_bits");
  // Unsigned pixels need no sign bit: 1-bit activations are allowed when the first layer folds.
  EXPECT_NO_THROW(ZooOptions::from_params(parse("{name: mlp, first_last_bits: 0, act_bits: 1}")));
  EXPECT_HAS(error_of([] { parse("{name: mlp, first_layer_input: signed}"); }), "model.first_layer_input");
  const Schema schema = ZooOptions::schema();
  for (const auto& spec : schema.specs()) EXPECT_FALSE(spec.description.empty()) << spec.name;
}

// ---- errors ------------------------------------------------------------------------------------

TEST(ZooErrors, UnknownNameListsTheAllowedOnes) {
  const std::string e = error_of([] { make_model(opts("resnet19")); });
  EXPECT_HAS(e, "model.name: unknown model 'resnet19' (did you mean 'resnet18'?)");
  EXPECT_HAS(e, "allowed: mlp, lenet5, vgg8, vgg11, vgg16, resnet18, resnet20, resnet34");
}

TEST(ZooErrors, ImagesTooSmallForThePools) {
  EXPECT_HAS(error_of([] { make_model(opts("lenet5", 1, 12)); }),
             "model.name = lenet5: image_size 12 is too small (the feature map is empty at conv2); "
             "lenet5 needs image_size >= 16");
  EXPECT_HAS(error_of([] { make_model(opts("vgg8", 3, 16)); }), "vgg8 needs image_size >= 17");
  EXPECT_NO_THROW(make_model(opts("vgg8", 3, 17, 0.125)));
  EXPECT_NO_THROW(make_model(opts("lenet5", 1, 16)));
}

TEST(ZooErrors, BadOptions) {
  auto o = opts("mlp");
  o.width = 0;
  EXPECT_HAS(error_of([&] { make_model(o); }), "model.width = 0; allowed: a real number > 0");
  o = opts("mlp");
  o.first_last_bits = 1;
  EXPECT_HAS(error_of([&] { make_model(o); }), "model.first_last_bits = 1");
  o = opts("mlp");
  o.precision.weight_bits = 1;
  EXPECT_HAS(error_of([&] { make_model(o); }), "model.weight_bits = 1");
  o = opts("mlp");
  o.image_size = 0;
  EXPECT_HAS(error_of([&] { make_model(o); }), "image_size = 0");
}

// ---- analog mode
// ---------------------------------------------------------------------------------

// lenet5 at half width, 4-bit middle layers and 8-bit first/last layers, on the ideal chip
// (configs/presets/chip/ideal.yaml: exact cells, 1-bit DACs, 1-bit cells, 128 rows and an 8-bit
// full-scale ADC, lossless by paper 001's rule). Every layer's analog read then equals its
// quantised product up to float rounding of the dequantisation; such a difference could move a
// later layer's input across a rounding boundary, which does not happen for this seed (measured
// max |difference| 1.5e-8 with logits spanning 0.3). Tolerance as in test_analog: 1e-4.
TEST(ZooAnalog, LeNet5OnTheIdealChipMatchesQuantisedMode) {
  torch::manual_seed(2);
  auto o = opts("lenet5", 1, 28, 0.5);
  o.precision = {4, 4, 8};
  auto net = make_model(o);
  net->set_context(std::make_shared<AnalogContext>(
      Chip::from_config(load_yaml_string("{preset: ideal}", "test"), "chip"), 1));
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 1, 28, 28});
  net->set_mode(LayerMode::Quantised);
  const auto yq = net->forward(x);
  net->set_mode(LayerMode::Analog);
  const auto ya = net->forward(x);
  ASSERT_EQ(ya.sizes(), (std::vector<int64_t>{2, 10}));
  EXPECT_TRUE(torch::allclose(ya, yq, 1e-4, 1e-4)) << "analog " << ya << "\nquantised " << yq;
  for (const auto& l : net->analog_layers())
    EXPECT_GT(l.layer->counts().adc_conversions, 0) << l.name;
  EXPECT_EQ(net->analog_layers()[1].layer->mapping().in_features, 3 * 5 * 5);
}

}  // namespace
