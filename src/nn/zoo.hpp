// The model zoo: image classifiers built from AnalogConv2d / AnalogLinear (every conv and linear
// layer is analog; BatchNorm, pooling and ReLU stay digital, in float).
//
// Contract of every model (docs/models.md lists layers and state_dict keys per model):
//   * forward(x): x [n, in_channels, image_size, image_size] -> logits [n, n_classes].
//   * Modules are registered in forward order, so Network::analog_layers() lists the analog
//     layers in the order the data meets them.
//   * Module names follow the usual PyTorch naming (torchvision ResNet/VGG, `conv1`/`fc1` for the
//     small nets), so a Python model of the same structure has the same state_dict keys; the
//     analog layers add their quantisers' keys (`<layer>.wq.step`, `<layer>.xq.step`,
//     `<layer>.xq.offset` for LSQ+, `<layer>.{wq,xq}.initialized`).
//   * The first analog layer takes signed inputs (normalised images); every other analog layer is
//     fed by ReLU outputs (directly, through pooling or a residual block input) and takes
//     unsigned inputs.
//   * The first and last analog layers use first_last_bits for weight and activation bits (the
//     papers keep them at 8 bits); the ADC bits are those of the rest.
//   * width multiplies every hidden channel / feature count (rounded, at least 1); the input
//     channels and n_classes are never scaled.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "nn/analog.hpp"

namespace cimkit::nn {

struct ZooOptions {
  std::string name;                  // one of zoo_names()
  int64_t in_channels = 1;           // from the dataset (1 for MNIST, 3 for CIFAR)
  int64_t image_size = 28;           // square images, from the dataset
  int64_t n_classes = 10;            // from the dataset
  double width = 1.0;                // multiplies every hidden channel / feature count
  Precision precision{8, 8, 8};      // of every analog layer (first/last: see first_last_bits)
  int first_last_bits = 8;           // weight and activation bits of the first and last analog
                                     // layers; 0 = same as `precision`
  bool first_last_digital = false;   // the first and last layers off the arrays (AnalogLayer::set_digital)
  QuantMode quant = QuantMode::lsq;  // quantiser of weights and activations
  bool per_channel = false;          // one weight step per output channel
  // The first layer reads unsigned pixels: the dataset normalisation (input_mean / input_std per
  // channel, from the dataset like in_channels) folded into it (AnalogLayer::set_input_normalisation).
  // Without statistics, or when false, the first layer reads the normalised image, signed.
  bool fold_normalisation = true;
  std::vector<double> input_mean, input_std;
  bool folds_normalisation() const { return fold_normalisation && !input_mean.empty(); }
  // precision.adc_bits 0 (model.adc_bits not given) becomes the chip's ADC resolution; a model
  // that asks for bits on a chip whose ADC has none is an error (pointing at model.adc_bits in
  // `model_params` when given). One source of truth: the layers then carry their real bits.
  void resolve_adc_bits(const Chip& chip, const Params* model_params = nullptr);

  // The `model:` section of a run config (name, width, weight_bits, act_bits, adc_bits,
  // first_last_bits, quant, per_channel). in_channels / image_size / n_classes are not config
  // keys: the caller fills them from the dataset.
  static Schema schema();
  static ZooOptions from_params(const Params& p);
};

// Builds the analog layers of one model as the zoo does: precision (first and last layers at
// first_last_bits), quantiser kind and input signedness (only the first analog layer sees signed
// inputs, the normalised image, unless the normalisation is folded; every other one is fed by
// ReLU outputs). Other model builders (the CrossNAS subnets, nas/subnet.hpp) use it too.
struct LayerFactory {
  const ZooOptions& o;
  Precision edge() const;  // the first and last layers' precision
  AnalogConv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, bool bias,
                    bool first = false) const;
  AnalogLinear linear(int64_t in, int64_t out, bool first, bool last) const;
};

// Every model name, in the order docs/models.md describes them.
const std::vector<std::string>& zoo_names();

// Builds a model in float mode with freshly initialised weights. Errors (cimkit::Error): an
// unknown name (with did-you-mean and the allowed names), sizes that cannot work (naming
// model.name, image_size and the smallest image_size that works), width <= 0, bad precision.
std::shared_ptr<Network> make_model(const ZooOptions& options);

// Learned parameters of the network itself: every parameter except those of the quantisers
// (LSQ steps and offsets). BatchNorm running statistics are buffers, not counted.
int64_t count_parameters(torch::nn::Module& module);

// A table of the analog layers: name, kind, weight shape, matrix in x out (rows x columns the
// arrays hold), parameters (weight + bias) and precision, one line each, with a total line.
std::string model_summary(Network& network);

}  // namespace cimkit::nn
