// One candidate architecture of the search, scored (paper 004 §3.2): its accuracy with the
// weights it inherits from the supernet, after the BatchNorm statistics it uses are recalibrated
// on training batches (SPOS §3.2), and its energy, latency, area and EDP from cimkit's cost model
// (the subnet traced as the chip sees it), combined by eq. 4 (nas/fitness.hpp).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "cost/cost_model.hpp"
#include "nas/fitness.hpp"
#include "nas/subnet.hpp"

namespace cimkit::nas {

struct ArchScore {
  double accuracy_pct = 0;  // float subnet, inherited weights, recalibrated BN
  double energy_j = 0, latency_s = 0, edp_js = 0, area_m2 = 0;
  double fitness = 0;
};

class ArchEvaluator {
 public:
  // recal: the training batches BN is recalibrated on (inputs only); val_images / val_labels:
  // the held-out images the accuracy is measured on; layers: how subnets build their layers.
  ArchEvaluator(Supernet supernet, cost::CostModel cost, nn::ZooOptions layers, std::vector<torch::Tensor> recal,
                torch::Tensor val_images, torch::Tensor val_labels, int64_t batch_size = 256);
  ArchScore evaluate(const Arch& arch, double w_acc, const EdpNormalisation& norm);
  // The cost report alone (no accuracy): for a reference network's EDP, or a front's EDP axis.
  cost::CostReport cost_of(const Arch& arch);

 private:
  Subnet build(const Arch& arch);
  Supernet net_;
  cost::CostModel cost_;
  nn::ZooOptions layers_;
  std::vector<torch::Tensor> recal_;
  torch::Tensor val_x_, val_y_;
  int64_t batch_;
};

}  // namespace cimkit::nas
