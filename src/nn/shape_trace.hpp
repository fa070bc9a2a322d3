// The shapes a zoo network presents to the chip (mapping/network.hpp), traced with one forward
// pass.
#pragma once
#include <string>

#include "mapping/network.hpp"
#include "nn/analog.hpp"

namespace cimkit::nn {

struct ZooOptions;

// Bytes the zoo model of `options` and its shape trace need, estimated from two builds at 32 and
// 64 pixels (parameters grow as a + b · size²) plus the widest convolution's input and output
// feature maps at full size; 0 for images of 64 pixels or fewer. Callers check
// it with require_memory before make_model at a user's image size.
double estimate_zoo_model_bytes(const ZooOptions& options);

// One float forward pass of a zero image [1, channels, height, width] through `net` (eval mode,
// no grad; layer modes and the train/eval state are restored), recording each analog layer's
// matrix, input vectors per inference and shapes.
// (Refuses, before the forward pass, a trace whose working set exceeds available_memory_bytes().)
mapping::NetworkShape trace_network(Network& net, const std::string& name, const mapping::TensorShape& input);

}  // namespace cimkit::nn
