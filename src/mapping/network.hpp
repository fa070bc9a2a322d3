// Networks as the chip sees them: the weight layers (conv / linear) with the matrix each one
// programs ([out, in·k·k]) and how many input vectors it reads per inference, plus the shapes
// in between. Built from a YAML layer list (any network, no code) or traced from a zoo model.
//
// Layer-list files (networks/mnsim/*.yaml are examples):
//   name: vgg8
//   input: {channels: 3, height: 32, width: 32}
//   layers:
//     - {type: conv, in_channels: 3, out_channels: 128, kernel_size: 3, padding: 1, stride: 1}
//     - {type: relu}
//     - {type: pool, mode: max, kernel_size: 2, stride: 2}
//     - {type: flatten}
//     - {type: linear, in_features: 8192, out_features: 10}
//     - {type: add, input: [-1, -4]}
// Types: conv, linear, pool (max | avg; stride defaults to kernel_size), flatten, add (element
// sum of its inputs, all the same shape), and shape-preserving relu, bn, dropout. `input` lists
// the layers a layer reads, relative to its own position (-1, the default, is the previous
// layer; before the first layer it is the network input), as in MNSIM 2.0's layer lists.
// Shapes are inferred and checked; every error names the file, the line and the layer.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config_tree.hpp"

namespace cimkit::mapping {

struct TensorShape {
  int64_t channels = 0, height = 1, width = 1;
  int64_t numel() const { return channels * height * width; }
  std::string str() const;  // "3x32x32"
};

struct WeightLayer {
  std::string name;          // "conv3" (layer list: type + 1-based count) or the module path
  std::string kind;          // "conv2d" or "linear"
  int64_t in_features = 0;   // rows of the programmed matrix: in_channels·k·k, or in_features
  int64_t out_features = 0;  // its columns before slicing
  int64_t vectors = 1;       // input vectors read per inference (output pixels of a conv)
  int64_t kernel = 1, stride = 1, padding = 0;
  TensorShape input, output;
  // Mixed precision (not given: the chip's widths); traced zoo models carry their layers' precision.
  std::optional<int> weight_bits, input_bits, adc_bits;
  int64_t macs() const { return in_features * out_features * vectors; }
};

// A node of the network's dataflow graph as MNSIM 2.0 schedules it (Interface/interface.py
// get_structure): the weight layers, pools and element-wise adds in list order, each with the
// nodes it reads; relu, bn, dropout and flatten are folded into the node they read.
struct NetworkNode {
  enum class Kind { Weight, Pool, Add };
  Kind kind = Kind::Weight;
  std::string name;             // the weight layer's name, "pool2", "add1"
  int64_t layer = -1;           // Weight: index in NetworkShape::layers; Pool: in pools
  std::vector<int64_t> inputs;  // node indices it reads, in its `input` order (-1: the network input)
  TensorShape input, output;    // Add: its inputs' shape (input = output)
  int64_t kernel = 1, stride = 1, padding = 0;
};

struct NetworkShape {
  std::string name, source;  // source: the file, or "zoo:<name>"
  TensorShape input;
  std::vector<WeightLayer> layers;
  struct Pool {
    int64_t channels = 0, out_pixels = 0, kernel = 1;
  };
  std::vector<Pool> pools;  // pooling layers (layer lists; traced zoo models list none)
  std::vector<NetworkNode> nodes;  // the graph (layer lists; traced zoo models list none)
  int64_t pool_ops() const;  // Σ outputs x window
  int64_t macs() const;
  int64_t weights() const;  // Σ in·out
};

// Reads and checks a layer-list file (DataError / ConfigError naming file, line and layer).
NetworkShape load_layer_list(const std::string& path);
// The same from a parsed tree (`file` names it in errors).
NetworkShape parse_layer_list(const ConfigNode& root, const std::string& file);

}  // namespace cimkit::mapping
