// HAQ's short fine-tune of a search candidate (issue 13 §2; ../shared/reference/algorithms.md
// §1.8): once the candidate's bits are set on the layers, `steps` SGD steps of quantisation-aware
// training (the layers quantised at those bits, straight-through gradients) on the first
// steps × batch images of a fixed training order, so every candidate sees the same batches; then
// the candidate is evaluated, and restore() puts the base model's weights, quantiser steps and
// BN statistics back, so the next candidate starts from the same model (HAQ reloads the
// pretrained state at every episode).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "data/loader.hpp"
#include "nn/zoo.hpp"

namespace cimkit::pipeline {

struct FinetuneOptions {
  int64_t steps = 0;           // 0: no fine-tune
  double lr = 1e-3;            // HAQ: SGD lr 0.001
  double momentum = 0.9;       // HAQ
  double weight_decay = 4e-5;  // HAQ
};

class Finetuner {
 public:
  Finetuner(std::shared_ptr<nn::Network> net, data::DataLoader train, FinetuneOptions options);
  // Keeps the weights, then trains the network at its layers' current precisions; the mean
  // training loss of the steps.
  double tune();
  // The weights, steps and statistics kept by the last tune().
  void restore();
  const FinetuneOptions& options() const { return opt_; }

 private:
  std::shared_ptr<nn::Network> net_;
  data::DataLoader train_;
  FinetuneOptions opt_;
  std::vector<torch::Tensor> kept_;  // parameters then buffers, cloned
};

}  // namespace cimkit::pipeline
