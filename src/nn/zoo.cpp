#include "nn/zoo.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::nn {
namespace {

const std::vector<std::string> kNames = {"mlp",   "lenet5",   "vgg8",     "vgg11",
                                         "vgg16", "resnet18", "resnet20", "resnet34"};

const std::vector<std::string> kQuantNames = {"none", "minmax", "lsq", "lsqplus", "ema"};

int64_t scaled(int64_t channels, double width) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(channels) * width));
}

}  // namespace

// ---- LayerFactory ------------------------------------------------------------------------------

Precision LayerFactory::edge() const {
  Precision p = o.precision;
  if (o.first_last_bits > 0) p.weight_bits = p.act_bits = o.first_last_bits;
  return p;
}

AnalogConv2d LayerFactory::conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, bool bias,
                                bool first) const {
  return AnalogConv2d(AnalogConv2dOptions(in, out, k)
                          .stride(stride)
                          .padding(padding)
                          .bias(bias)
                          .precision(first ? edge() : o.precision)
                          .quant(o.quant)
                          .per_channel(o.per_channel)
                          .signed_input(first && !o.folds_normalisation()));
}

AnalogLinear LayerFactory::linear(int64_t in, int64_t out, bool first, bool last) const {
  return AnalogLinear(AnalogLinearOptions(in, out)
                          .precision(first || last ? edge() : o.precision)
                          .quant(o.quant)
                          .per_channel(o.per_channel)
                          .signed_input(first && !o.folds_normalisation()));
}

namespace {

using Layers = LayerFactory;

// ---- spatial sizes -----------------------------------------------------------------------------

// One size-changing step of a model (conv or max-pool on a square map), in forward order.
struct SpatialOp {
  std::string module;  // where it happens, for error messages
  int64_t kernel = 1, stride = 1, padding = 0;
  bool ceil_mode = false;  // pooling rounds up (PyTorch ceil_mode)
};

// Output size of `op` on an s x s map (PyTorch's pooling_output_shape), < 1 when the op cannot
// run. In ceil mode a window may hang over the edge as long as it starts inside the map.
int64_t apply(const SpatialOp& op, int64_t s) {
  const int64_t num = s + 2 * op.padding - op.kernel + (op.ceil_mode ? op.stride - 1 : 0);
  if (num < 0) return 0;
  int64_t out = num / op.stride + 1;
  if (op.ceil_mode && (out - 1) * op.stride >= s + op.padding) --out;
  return out;
}

// The plan of the models whose sizes can fail (the others end in adaptive pooling and use
// padded 3x3 convs or ceil-mode pools, which run on any map of at least 1x1).
std::vector<SpatialOp> lenet5_plan(int64_t image_size) {
  return {{"conv1", 5, 1, image_size == 28 ? 2 : 0, false},
          {"pool after conv1", 2, 2, 0, false},
          {"conv2", 5, 1, 0, false},
          {"pool after conv2", 2, 2, 0, false}};
}

// VGG feature configurations: channels of each 3x3 conv, 0 = 2x2 max-pool.
struct ConvCfg {
  int64_t channels;
  int64_t padding = 1;
};
using VggCfg = std::vector<ConvCfg>;
// MNSIM 2.0's vgg8 (shared/reference/mnsim_networks.md §vgg8): the seventh conv has no padding.
const VggCfg kVgg8 = {{128}, {128}, {0}, {256}, {256}, {0}, {512}, {512}, {0}, {1024, 0}, {0}};
// Simonyan & Zisserman 2015, configurations A (VGG-11) and D (VGG-16).
const VggCfg kVgg11 = {{64},  {0},   {128}, {0},   {256}, {256}, {0},
                       {512}, {512}, {0},   {512}, {512}, {0}};
const VggCfg kVgg16 = {{64}, {64},  {0},   {128}, {128}, {0},   {256}, {256}, {256},
                       {0},  {512}, {512}, {512}, {0},   {512}, {512}, {512}, {0}};

// features.<i> index of each entry: conv -> conv, bn, relu (3 modules); pool -> 1 module.
std::vector<SpatialOp> vgg_plan(const VggCfg& cfg) {
  std::vector<SpatialOp> ops;
  int64_t index = 0;
  for (const auto& c : cfg) {
    const std::string where = fmt::format("features.{}", index);
    if (c.channels == 0) {
      ops.push_back({where + " (max-pool)", 2, 2, 0, true});
      index += 1;
    } else {
      ops.push_back({where + " (3x3 conv)", 3, 1, c.padding, false});
      index += 3;
    }
  }
  return ops;
}

// Final map size, or throws naming the module where the map vanishes and the smallest
// image_size that works (found by trying larger sizes with the same plan).
int64_t final_size(const ZooOptions& o,
                   const std::function<std::vector<SpatialOp>(int64_t)>& plan) {
  auto run = [&](int64_t s, std::string* failed_at) {
    for (const auto& op : plan(s)) {
      s = apply(op, s);
      if (s < 1) {
        if (failed_at) *failed_at = op.module;
        return int64_t{0};
      }
    }
    return s;
  };
  std::string failed_at;
  const int64_t s = run(o.image_size, &failed_at);
  if (s > 0) return s;
  int64_t smallest = o.image_size + 1;
  while (smallest < 4096 && run(smallest, nullptr) == 0) ++smallest;
  throw Error(
      fmt::format("model.name = {}: image_size {} is too small (the feature map is empty "
                  "at {}); {} needs image_size >= {}",
                  o.name, o.image_size, failed_at, o.name, smallest));
}

// ---- models ------------------------------------------------------------------------------------

// flatten -> 256 -> 128 -> n_classes, ReLU between.
class Mlp : public Network {
 public:
  explicit Mlp(const ZooOptions& o) {
    const Layers L{o};
    const int64_t h1 = scaled(256, o.width), h2 = scaled(128, o.width);
    fc1 = register_module("fc1",
                          L.linear(o.in_channels * o.image_size * o.image_size, h1, true, false));
    fc2 = register_module("fc2", L.linear(h1, h2, false, false));
    fc3 = register_module("fc3", L.linear(h2, o.n_classes, false, true));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = torch::relu(fc1(x.flatten(1)));
    h = torch::relu(fc2(h));
    return fc3(h);
  }
  AnalogLinear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

// LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling: conv 6@5x5 -> pool -> conv 16@5x5 ->
// pool -> fc 120 -> fc 84 -> fc n_classes. 28x28 inputs are padded by 2 so both MNIST and
// CIFAR reach the classic 16@5x5 map.
class LeNet5 : public Network {
 public:
  explicit LeNet5(const ZooOptions& o) : padding_(o.image_size == 28 ? 2 : 0) {
    const Layers L{o};
    const int64_t s = final_size(o, lenet5_plan);
    const int64_t c1 = scaled(6, o.width), c2 = scaled(16, o.width);
    const int64_t f1 = scaled(120, o.width), f2 = scaled(84, o.width);
    conv1 = register_module("conv1", L.conv(o.in_channels, c1, 5, 1, padding_, true, true));
    conv2 = register_module("conv2", L.conv(c1, c2, 5, 1, 0, true));
    fc1 = register_module("fc1", L.linear(c2 * s * s, f1, false, false));
    fc2 = register_module("fc2", L.linear(f1, f2, false, false));
    fc3 = register_module("fc3", L.linear(f2, o.n_classes, false, true));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = torch::max_pool2d(torch::relu(conv1(x)), 2);
    h = torch::max_pool2d(torch::relu(conv2(h)), 2);
    h = torch::relu(fc1(h.flatten(1)));
    h = torch::relu(fc2(h));
    return fc3(h);
  }
  AnalogConv2d conv1{nullptr}, conv2{nullptr};
  AnalogLinear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};

 private:
  int64_t padding_;
};

// VGG: `features` (conv3x3 -> BN -> ReLU blocks and 2x2 max-pools, ceil mode so 28x28 inputs
// reach 1x1 like 32x32 ones), then `classifier`, one linear layer. vgg11/vgg16 average the
// final map globally (CIFAR-style); vgg8 flattens it (MNSIM's `view`; 1x1 for 28 and 32).
class Vgg : public Network {
 public:
  Vgg(const ZooOptions& o, const VggCfg& cfg, bool global_pool) : global_pool_(global_pool) {
    const Layers L{o};
    const auto plan = vgg_plan(cfg);
    const int64_t s = global_pool ? 1 : final_size(o, [&](int64_t) { return plan; });
    features = register_module("features", torch::nn::Sequential());
    int64_t in = o.in_channels;
    bool first = true;
    for (const auto& c : cfg) {
      if (c.channels == 0) {
        features->push_back(
            torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2).ceil_mode(true)));
        continue;
      }
      const int64_t out = scaled(c.channels, o.width);
      features->push_back(L.conv(in, out, 3, 1, c.padding, false, first));
      features->push_back(torch::nn::BatchNorm2d(out));
      features->push_back(torch::nn::ReLU());
      in = out;
      first = false;
    }
    if (global_pool_) avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    classifier = register_module("classifier", L.linear(in * s * s, o.n_classes, false, true));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = features->forward(x);
    if (global_pool_) h = avgpool(h);
    return classifier(h.flatten(1));
  }
  torch::nn::Sequential features{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  AnalogLinear classifier{nullptr};

 private:
  bool global_pool_;
};

// He et al. 2016 BasicBlock: conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus the shortcut (identity,
// or a 1x1 conv + BN projection when the stride or the width changes), then ReLU.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(const Layers& L, int64_t in, int64_t out, int64_t stride) {
    conv1 = register_module("conv1", L.conv(in, out, 3, stride, 1, false));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(out));
    conv2 = register_module("conv2", L.conv(out, out, 3, 1, 1, false));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {
      // Input of the projection = the block input, a ReLU output: unsigned.
      downsample = register_module(
          "downsample",
          torch::nn::Sequential(L.conv(in, out, 1, stride, 0, false), torch::nn::BatchNorm2d(out)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(bn1(conv1(x)));
    h = bn2(conv2(h));
    return torch::relu(h + (downsample ? downsample->forward(x) : x));
  }
  AnalogConv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};

// CIFAR-style ResNet: 3x3 stem (stride 1, no max-pool) -> BN -> ReLU, stages `layer1..` of
// BasicBlocks (the first block of every stage after the first has stride 2), adaptive average
// pool, fc. Names as torchvision's ResNet (conv1, bn1, layerN.i.*, downsample.{0,1}, fc).
class ResNet : public Network {
 public:
  ResNet(const ZooOptions& o, const std::vector<int64_t>& blocks,
         const std::vector<int64_t>& widths) {
    const Layers L{o};
    const int64_t stem = scaled(widths.front(), o.width);
    conv1 = register_module("conv1", L.conv(o.in_channels, stem, 3, 1, 1, false, true));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(stem));
    int64_t in = stem;
    for (size_t stage = 0; stage < blocks.size(); ++stage) {
      torch::nn::Sequential layer;
      const int64_t out = scaled(widths[stage], o.width);
      for (int64_t b = 0; b < blocks[stage]; ++b) {
        const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
        layer->push_back(std::make_shared<BasicBlockImpl>(L, in, out, stride));
        in = out;
      }
      layers_.push_back(register_module(fmt::format("layer{}", stage + 1), layer));
    }
    avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
    fc = register_module("fc", L.linear(in, o.n_classes, false, true));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto h = torch::relu(bn1(conv1(x)));
    for (auto& layer : layers_) h = layer->forward(h);
    return fc(avgpool(h).flatten(1));
  }
  AnalogConv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  AnalogLinear fc{nullptr};

 private:
  std::vector<torch::nn::Sequential> layers_;
};

void check_options(const ZooOptions& o) {
  if (std::find(kNames.begin(), kNames.end(), o.name) == kNames.end()) {
    const std::string hint = did_you_mean(o.name, kNames);
    throw Error(fmt::format("model.name: unknown model '{}'{}; allowed: {}", o.name,
                            hint.empty() ? "" : " (did you mean '" + hint + "'?)", join(kNames)));
  }
  if (o.in_channels < 1 || o.image_size < 1 || o.n_classes < 1) {
    throw Error(
        fmt::format("model.name = {}: in_channels = {}, image_size = {}, n_classes = {}; "
                    "allowed: each >= 1",
                    o.name, o.in_channels, o.image_size, o.n_classes));
  }
  if (!(std::isfinite(o.width) && o.width > 0.0)) {
    throw Error(
        fmt::format("model.width = {}; allowed: a real number > 0", format_double(o.width)));
  }
  if (o.first_last_bits != 0 && (o.first_last_bits < 2 || o.first_last_bits > 16)) {
    throw Error(
        fmt::format("model.first_last_bits = {}; allowed: 0 (same as the other layers) or "
                    "an integer in [2, 16]",
                    o.first_last_bits));
  }
  o.precision.check("model");
  const int first_act_bits = o.first_last_bits > 0 ? o.first_last_bits : o.precision.act_bits;
  if (first_act_bits < 2 && !o.folds_normalisation()) {
    throw Error(
        fmt::format("model.act_bits = {}: the first layer's inputs are signed (normalised "
                    "images) and need at least 2 bits; set model.first_last_bits >= 2",
                    first_act_bits));
  }
}

}  // namespace

// ---- ZooOptions ------------------------------------------------------------------------------

Schema ZooOptions::schema() {
  Schema s("model",
           "Network from the model zoo (docs/models.md); input channels, image size and "
           "classes come from the dataset");
  s.choice("name", kNames, "Model architecture").require();
  s.real("width", "Multiplies every hidden channel / feature count (rounded, at least 1)")
      .above(0.0)
      .at_most(16.0)
      .def(1.0);
  s.integer("weight_bits", "Signed weight width of the analog layers, sign included")
      .range(2, 16)
      .def(int64_t{8});
  s.integer("act_bits", "Input (activation) code width of the analog layers")
      .range(1, 16)
      .def(int64_t{8});
  s.integer("adc_bits", "ADC resolution of every analog layer; 0: the chip's (chip.adc.bits). A chip whose ADC has no "
            "resolution (adc.ideal) takes 0 only").range(0, 16).def(int64_t{0});
  s.integer("first_last_bits",
            "Weight and activation bits of the first and last analog layers (the papers keep them "
            "at 8); 0 = same as weight_bits / act_bits. ADC bits are adc_bits")
      .range(0, 16)
      .def(int64_t{8});
  s.boolean("first_last_digital",
            "Keep the first and last layers off the arrays: digital at first_last_bits, their codes' exact product "
            "(no chip, no ADC) also when the network runs in analog mode (paper 003 App. J)")
      .def(false);
  s.choice("quant", kQuantNames,
           "Quantiser of weights and activations in quantised and analog modes: none, symmetric "
           "min-max, LSQ, LSQ+, or ema (paper 004 eq. 5-6: weights by max|w|, activations by mu + 3 sigma "
           "smoothed across batches)")
      .def(std::string("lsq"));
  s.boolean("per_channel", "One weight step per output channel (else one per layer)").def(false);
  s.choice("first_layer_input", {"pixels", "normalised"},
           "What the first layer's arrays are fed outside float mode: pixels = unsigned pixel codes, as a real chip "
           "sees them (the dataset normalisation folded into the first layer's weights and a digital correction); "
           "normalised = the signed normalised image through the chip's signed input encoding (crossbar.input_encoding)")
      .def(std::string("pixels"));
  return s;
}

ZooOptions ZooOptions::from_params(const Params& p) {
  ZooOptions o;
  o.name = p.get_string("name");
  o.width = p.get_real("width");
  o.precision.weight_bits = static_cast<int>(p.get_int("weight_bits"));
  o.precision.act_bits = static_cast<int>(p.get_int("act_bits"));
  o.precision.adc_bits = static_cast<int>(p.get_int("adc_bits"));
  o.first_last_bits = static_cast<int>(p.get_int("first_last_bits"));
  o.first_last_digital = p.get_bool("first_last_digital");
  if (o.first_last_bits == 1) {
    p.fail("first_last_bits",
           "1 is not allowed (signed weights need at least 2 bits); allowed: 0 "
           "(same as the other layers) or an integer in [2, 16]");
  }
  if (o.first_last_bits == 0 && o.precision.act_bits < 2 && p.get_string("first_layer_input") == "normalised") {
    p.fail("act_bits",
           "the first layer's inputs are signed (normalised images) and need at least "
           "2 bits; raise act_bits or set first_last_bits >= 2");
  }
  const std::string& q = p.get_string("quant");
  o.quant = q == "none"     ? QuantMode::none
            : q == "minmax" ? QuantMode::minmax
            : q == "lsq"    ? QuantMode::lsq
            : q == "ema"    ? QuantMode::ema
                            : QuantMode::lsqplus;
  o.per_channel = p.get_bool("per_channel");
  o.fold_normalisation = p.get_string("first_layer_input") == "pixels";
  return o;
}

// ---- factory -----------------------------------------------------------------------------------

const std::vector<std::string>& zoo_names() {
  return kNames;
}

static std::shared_ptr<Network> build_model(const ZooOptions& o);

void ZooOptions::resolve_adc_bits(const Chip& chip, const Params* model_params) {
  const int chip_bits = chip.adc().bits();
  if (precision.adc_bits == 0) {
    precision.adc_bits = chip_bits;
  } else if (!chip.adc().has_resolution()) {
    const std::string msg = fmt::format("{} bits asked for, but the chip's ADC ({}) has no resolution to set; leave "
                                        "model.adc_bits at 0 (the chip's) or use chip.adc.impl: linear",
                                        precision.adc_bits, "adc.ideal");
    if (model_params) model_params->fail("adc_bits", msg);
    throw Error("model.adc_bits: " + msg);
  }
}

std::shared_ptr<Network> make_model(const ZooOptions& o) {
  std::shared_ptr<Network> net = build_model(o);
  if (o.folds_normalisation()) net->analog_layers().front().layer->set_input_normalisation(o.input_mean, o.input_std);
  if (o.first_last_digital) {
    auto layers = net->analog_layers();
    if (layers.size() < 3) {
      throw Error(fmt::format("model.first_last_digital: {} has {} analog layers; keeping the first and last off "
                              "the arrays needs at least 3", o.name, layers.size()));
    }
    layers.front().layer->set_digital(true);
    layers.back().layer->set_digital(true);
  }
  return net;
}

static std::shared_ptr<Network> build_model(const ZooOptions& o) {
  check_options(o);
  const std::string& n = o.name;
  if (n == "mlp") return std::make_shared<Mlp>(o);
  if (n == "lenet5") return std::make_shared<LeNet5>(o);
  if (n == "vgg8") return std::make_shared<Vgg>(o, kVgg8, false);
  if (n == "vgg11") return std::make_shared<Vgg>(o, kVgg11, true);
  if (n == "vgg16") return std::make_shared<Vgg>(o, kVgg16, true);
  if (n == "resnet18")
    return std::make_shared<ResNet>(o, std::vector<int64_t>{2, 2, 2, 2},
                                    std::vector<int64_t>{64, 128, 256, 512});
  if (n == "resnet34")
    return std::make_shared<ResNet>(o, std::vector<int64_t>{3, 4, 6, 3},
                                    std::vector<int64_t>{64, 128, 256, 512});
  // He et al. 2016 §4.2: 6n+2 layers with n = 3, widths 16/32/64. The paper's CIFAR nets use
  // zero-padding shortcuts (option A); ours use 1x1 projections (option B) wherever the shape
  // changes, like the ImageNet ResNets, so every weight lives on the crossbars.
  return std::make_shared<ResNet>(o, std::vector<int64_t>{3, 3, 3},
                                  std::vector<int64_t>{16, 32, 64});
}

int64_t count_parameters(torch::nn::Module& module) {
  // include_self=false: modules(true) needs the module to be owned by a shared_ptr.
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/false)) n += p.numel();
  for (const auto& m : module.modules(/*include_self=*/false)) {
    if (dynamic_cast<QuantizerImpl*>(m.get())) continue;
    for (const auto& p : m->parameters(/*recurse=*/false)) n += p.numel();
  }
  return n;
}

std::string model_summary(Network& net) {
  std::string out = fmt::format("{:<24} {:<7} {:<16} {:>18} {:>11}  {}\n", "layer", "kind",
                                "weight", "matrix in x out", "params", "precision");
  int64_t total = 0;
  const auto layers = net.analog_layers();
  for (const auto& [name, layer] : layers) {
    auto* module = dynamic_cast<torch::nn::Module*>(layer);
    int64_t params = 0;
    std::vector<int64_t> shape;
    for (const auto& p : module->named_parameters(/*recurse=*/false)) {
      params += p.value().numel();
      if (p.key() == "weight") shape = p.value().sizes().vec();
    }
    const auto m = layer->weight_matrix();
    total += params;
    out +=
        fmt::format("{:<24} {:<7} {:<16} {:>18} {:>11}  {}\n", name, layer->kind(),
                    fmt::format("{}", fmt::join(shape, "x")),
                    fmt::format("{} x {}", m.size(1), m.size(0)), params, layer->precision().str());
  }
  out += fmt::format("{} analog layers, {} parameters in analog layers, {} in the network\n",
                     layers.size(), total, count_parameters(net));
  return out;
}

}  // namespace cimkit::nn
