// The shapes a zoo network presents to the chip (mapping/network.hpp), traced with one forward
// pass.
#pragma once
#include <string>

#include "mapping/network.hpp"
#include "nn/analog.hpp"

namespace cimkit::nn {

// One float forward pass of a zero image [1, channels, height, width] through `net` (eval mode,
// no grad; layer modes and the train/eval state are restored), recording each analog layer's
// matrix, input vectors per inference and shapes.
mapping::NetworkShape trace_network(Network& net, const std::string& name, const mapping::TensorShape& input);

}  // namespace cimkit::nn
