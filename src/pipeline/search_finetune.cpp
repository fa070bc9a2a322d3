#include "pipeline/search_finetune.hpp"

#include "core/error.hpp"

namespace cimkit::pipeline {

namespace F = torch::nn::functional;

Finetuner::Finetuner(std::shared_ptr<nn::Network> net, data::DataLoader train, FinetuneOptions options)
    : net_(std::move(net)), train_(std::move(train)), opt_(options) {
  if (opt_.steps < 0) throw Error("search.finetune_steps must be >= 0");
  train_.set_epoch(0);
}

double Finetuner::tune() {
  kept_.clear();
  if (opt_.steps == 0) return 0.0;
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : net_->parameters()) kept_.push_back(p.detach().clone());
    for (const auto& b : net_->buffers()) kept_.push_back(b.detach().clone());
  }
  auto layers = net_->analog_layers();
  std::vector<nn::LayerMode> modes;
  for (auto& l : layers) modes.push_back(l.layer->mode());
  const bool was_training = net_->is_training();
  net_->set_mode(nn::LayerMode::Quantised);
  net_->train();
  torch::optim::SGD sgd(net_->parameters(),
                        torch::optim::SGDOptions(opt_.lr).momentum(opt_.momentum).weight_decay(opt_.weight_decay));
  const auto params = net_->parameters();
  const torch::Device dev = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  double loss_sum = 0.0;
  for (int64_t i = 0; i < opt_.steps; ++i) {
    const data::Batch b = train_.batch(i % train_.n_batches());
    sgd.zero_grad();
    const torch::Tensor loss = F::cross_entropy(net_->forward(b.images.to(dev)), b.labels.to(dev));
    loss.backward();
    sgd.step();
    loss_sum += loss.item<double>();
  }
  net_->train(was_training);
  for (size_t i = 0; i < layers.size(); ++i) layers[i].layer->set_mode(modes[i]);
  return loss_sum / static_cast<double>(opt_.steps);
}

void Finetuner::restore() {
  if (kept_.empty()) return;
  torch::NoGradGuard no_grad;
  size_t k = 0;
  for (auto& p : net_->parameters()) p.copy_(kept_[k++]);
  for (auto& b : net_->buffers()) b.copy_(kept_[k++]);
  kept_.clear();
}

}  // namespace cimkit::pipeline
