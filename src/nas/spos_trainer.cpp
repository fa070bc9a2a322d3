#include "nas/spos_trainer.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "train/archive.hpp"

namespace cimkit::nas {
namespace {

constexpr const char* kFormat = "cimkit-supernet-v1";
constexpr double kPi = 3.14159265358979323846;

double lr_at(const SposTrainOptions& o, int64_t step, int64_t steps_per_epoch) {
  const double base = o.sgd.lr;
  if (o.schedule == "cosine") {
    const double total = static_cast<double>(o.epochs * steps_per_epoch);
    return 0.5 * base * (1.0 + std::cos(kPi * static_cast<double>(step) / total));
  }
  const int64_t epoch = step / steps_per_epoch;
  return base * std::pow(o.gamma, static_cast<double>(epoch / o.step_epochs));
}

// Sums the gradients of the slices `arch` used (the rest are zero) and the loss over the ranks,
// in one all-reduce; returns the summed loss.
double all_reduce_grads(dist::ProcessGroup& group, Supernet& net, const Arch& arch, double loss) {
  std::vector<torch::Tensor> grads;
  std::set<const void*> seen;
  for (const ParamSlice& s : used_slices(*net, arch)) {
    if (!seen.insert(s.param.unsafeGetTensorImpl()).second) continue;
    if (!s.param.grad().defined()) s.param.mutable_grad() = torch::zeros_like(s.param);
    grads.push_back(s.param.grad());
  }
  std::vector<torch::Tensor> flat;
  for (const auto& g : grads) flat.push_back(g.reshape({-1}));
  flat.push_back(torch::full({1}, loss, grads.front().options()));
  torch::Tensor all = torch::cat(flat);
  group.allreduce_sum(all);
  int64_t at = 0;
  for (auto& g : grads) {
    g.copy_(all.narrow(0, at, g.numel()).view(g.sizes()));
    at += g.numel();
  }
  return all[at].item<double>();
}

}  // namespace

SposTrainLog train_supernet(Supernet& net, data::DataLoader& loader, const SposTrainOptions& o,
                            const std::function<void(int64_t, double)>& on_epoch) {
  if (o.epochs < 0 || (o.schedule != "cosine" && o.schedule != "step") || o.step_epochs < 1 || !(o.gamma > 0) ||
      !(o.label_smoothing >= 0 && o.label_smoothing < 1)) {
    throw Error(fmt::format("nas: supernet training needs epochs >= 0, schedule cosine or step, step_epochs >= 1, gamma > 0 "
                            "and label_smoothing in [0, 1) (got {}, {}, {}, {}, {})",
                            o.epochs, o.schedule, o.step_epochs, o.gamma, o.label_smoothing));
  }
  SliceSgd sgd(net, o.sgd);
  SposTrainLog log;
  if (o.resume) {
    if (o.checkpoint_path.empty() || !std::filesystem::exists(o.checkpoint_path)) {
      throw DataError(o.checkpoint_path, "resume, but there is no supernet checkpoint here");
    }
    auto ar = train::open_archive(o.checkpoint_path);
    train::check_format(ar, o.checkpoint_path, kFormat);
    if (train::read_int(ar, "seed", o.checkpoint_path) != static_cast<int64_t>(o.seed)) {
      throw DataError(o.checkpoint_path, fmt::format("the supernet checkpoint is of seed {}, this run's is {}",
                                                     train::read_int(ar, "seed", o.checkpoint_path), o.seed));
    }
    net->load(ar);
    sgd.load(ar);
    log.first_epoch = train::read_int(ar, "next_epoch", o.checkpoint_path);
  }
  const int64_t per_epoch = loader.n_batches();
  if (per_epoch < 1) throw Error("nas: the training loader has no batches");
  dist::ProcessGroup* group = o.group && o.group->size() > 1 ? o.group : nullptr;
  const int64_t world = group ? group->size() : 1, rank = group ? group->rank() : 0;
  net->set_group(group);
  struct Reset {  // the supernet forgets the group when training ends, however it ends
    Supernet& net;
    ~Reset() {
      net->set_group(nullptr);
      net->clear_dropout_stream();
    }
  } reset{net};
  for (int64_t epoch = log.first_epoch; epoch < o.epochs; ++epoch) {
    loader.set_epoch(epoch);
    net->train();
    double sum = 0;
    for (int64_t i = 0; i < per_epoch; ++i) {
      const int64_t step = epoch * per_epoch + i;
      at::Generator gen = make_generator(derive_seed(o.seed, "supernet_path", static_cast<uint64_t>(step)));
      const Arch arch = sample_arch(net->space(), gen);
      const data::Batch b = loader.batch(i);
      const int64_t n = b.images.size(0);
      if (n < world) throw Error(fmt::format("nas: a batch of {} images cannot be shared by {} ranks", n, world));
      const int64_t lo = rank * n / world, hi = (rank + 1) * n / world;
      net->set_dropout_stream(derive_seed(o.seed, "supernet_dropout", static_cast<uint64_t>(step)), lo, n);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          net->forward(b.images.narrow(0, lo, hi - lo), arch), b.labels.narrow(0, lo, hi - lo),
          torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o.label_smoothing));
      if (group) loss = loss * (static_cast<double>(hi - lo) / static_cast<double>(n));  // this rank's share of the mean
      loss.backward();
      double loss_value = loss.item<double>();
      if (group) loss_value = all_reduce_grads(*group, net, arch, loss_value);
      sgd.set_lr(lr_at(o, step, per_epoch));
      sgd.step(arch);
      sum += loss_value;
    }
    const double mean = sum / static_cast<double>(per_epoch);
    log.epoch_loss.push_back(mean);
    if (!o.checkpoint_path.empty() && rank == 0) {
      torch::serialize::OutputArchive ar;
      ar.write("cimkit_format", c10::IValue(std::string(kFormat)));
      ar.write("seed", c10::IValue(static_cast<int64_t>(o.seed)));
      ar.write("next_epoch", c10::IValue(epoch + 1));
      net->save(ar);
      sgd.save(ar);
      train::save_archive(o.checkpoint_path, ar);
    }
    if (on_epoch) on_epoch(epoch, mean);
  }
  return log;
}

}  // namespace cimkit::nas
