// Paper 003's ADC-LoRA (§3.4, eq. 11-12, App. E): low-rank adaptors A·B on the frozen weights of
// chosen layers, initialised by a warm-up that minimises, for τ steps, the layers' mean squared
// difference between the ADC-quantised output with the adaptors, Q_A(Q_x(X)·Q_w(W + A·B)), and
// the output without the ADC, Q_x(X)·Q_w(W) (eq. 12), through the quantisers' straight-through
// estimators; then the stage trains A, B (and everything not frozen) against the labels.
#pragma once
#include <string>
#include <vector>

#include "data/loader.hpp"
#include "nn/analog.hpp"

namespace cimkit::train {

struct LoraOptions {
  int64_t rank = 4;
  std::vector<std::string> layers;  // module paths; empty: every layer on the arrays
  int64_t warmup_steps = 50;        // τ
  double warmup_lr = 1e-2;          // Adam on A and B during the warm-up (W moves by about lr·σ_W per step)
};

// Adds the adaptors (A ~ N(0, σ_W²/rank) with σ_W the layer's weight std, B = 0;
// AnalogLayer::enable_lora) and freezes those layers'
// weights; returns the layers' names. Error naming an unknown or digital layer (listing the
// allowed names) or a rank too large for a layer.
std::vector<std::string> enable_adc_lora(nn::Network& net, const LoraOptions& options);

// Eq. 12's warm-up on the training batches, the network in analog mode with the ADC in the loop
// (its training surrogate): only A and B move (Adam), and the network's buffers (BatchNorm
// statistics) are restored afterwards. Returns the summed per-layer MSE of each step.
std::vector<double> lora_warmup(nn::Network& net, data::DataLoader& train, const LoraOptions& options);

// Parameters with requires_grad, and all parameters, of a module (quantiser steps included).
int64_t trainable_parameters(torch::nn::Module& module);
int64_t all_parameters(torch::nn::Module& module);

}  // namespace cimkit::train
