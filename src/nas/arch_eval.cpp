#include "nas/arch_eval.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "nn/shape_trace.hpp"

namespace cimkit::nas {

ArchEvaluator::ArchEvaluator(Supernet supernet, cost::CostModel cost, nn::ZooOptions layers, std::vector<torch::Tensor> recal,
                             torch::Tensor val_images, torch::Tensor val_labels, int64_t batch_size)
    : net_(std::move(supernet)), cost_(std::move(cost)), layers_(std::move(layers)), recal_(std::move(recal)),
      val_x_(std::move(val_images)), val_y_(std::move(val_labels)), batch_(batch_size) {
  if (!val_x_.defined() || val_x_.size(0) == 0 || val_x_.size(0) != val_y_.size(0)) {
    throw ShapeError("nas: the validation images and labels must be non-empty and of the same count");
  }
  if (batch_ < 1) throw Error("nas: evaluation batch size must be >= 1");
}

Subnet ArchEvaluator::build(const Arch& arch) {
  Subnet sub(net_->space(), arch, layers_);
  sub.inherit(net_);
  sub.eval();
  return sub;
}

cost::CostReport ArchEvaluator::cost_of(const Arch& arch) {
  Subnet sub = build(arch);
  const ArchSpace& s = net_->space();
  return cost_.evaluate(nn::trace_network(sub, arch.key(), {s.in_channels, s.image_size, s.image_size}));
}

ArchScore ArchEvaluator::evaluate(const Arch& arch, double w_acc, const EdpNormalisation& norm) {
  size_t k = 0;
  net_->recalibrate(arch, [&] { return k < recal_.size() ? recal_[k++] : torch::Tensor(); });
  Subnet sub = build(arch);
  ArchScore score;
  {
    torch::NoGradGuard no_grad;
    int64_t correct = 0;
    for (int64_t i = 0; i < val_x_.size(0); i += batch_) {
      const int64_t n = std::min(batch_, val_x_.size(0) - i);
      correct += sub.forward(val_x_.narrow(0, i, n)).argmax(1).eq(val_y_.narrow(0, i, n)).sum().item<int64_t>();
    }
    score.accuracy_pct = 100.0 * static_cast<double>(correct) / static_cast<double>(val_x_.size(0));
  }
  const ArchSpace& s = net_->space();
  const cost::CostReport r = cost_.evaluate(nn::trace_network(sub, arch.key(), {s.in_channels, s.image_size, s.image_size}));
  score.energy_j = r.totals.energy_j;
  score.latency_s = r.totals.latency_s;
  score.edp_js = r.totals.edp_js;
  score.area_m2 = r.totals.area_m2;
  score.fitness = crossnas_fitness(score.accuracy_pct, score.edp_js, w_acc, norm);
  return score;
}

}  // namespace cimkit::nas
