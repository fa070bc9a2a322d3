#include "train/trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "train/progress.hpp"

namespace cimkit::train {
namespace {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;

const std::vector<std::string> kStandardColumns = {
    "epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "images_per_s"};

// Two parameter groups: the network's weights (with weight decay) and the quantisers' learned
// steps and offsets (none: decaying a step towards zero shrinks the quantisation range and drives
// it through zero).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o, nn::Network& model) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : model.named_parameters()) {
    const std::string& n = p.key();
    const bool quantiser = (n.size() > 5 && n.compare(n.size() - 5, 5, ".step") == 0) ||
                           (n.size() > 7 && n.compare(n.size() - 7, 7, ".offset") == 0);
    (quantiser ? no_decay : decay).push_back(p.value());
  }
  if (o.optimizer == OptimizerKind::Adam) {
    auto opts = [&](double wd) {
      return std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(o.lr).betas({o.adam_beta1, o.adam_beta2}).eps(o.adam_eps).weight_decay(wd));
    };
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, opts(o.weight_decay));
    if (!no_decay.empty()) groups.emplace_back(no_decay, opts(0.0));
    return std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(o.lr));
  }
  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::SGDOptions>(
        torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, opts(o.weight_decay));
  if (!no_decay.empty()) groups.emplace_back(no_decay, opts(0.0));
  return std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(o.lr));
}

torch::Tensor generator_state(at::Generator gen) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_generator_state(at::Generator gen, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

void check_logits(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (logits.dim() != 2 || logits.size(0) != labels.size(0))
    throw ShapeError(
        fmt::format("Trainer: the model's output must be [batch, classes] = [{}, K], got {}",
                    labels.size(0), c10::str(logits.sizes())));
}

// Restores a module's train/eval mode when it goes out of scope.
class ModeGuard {
 public:
  explicit ModeGuard(torch::nn::Module& m) : m_(m), training_(m.is_training()) {}
  ~ModeGuard() { m_.train(training_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  torch::nn::Module& m_;
  bool training_;
};

}  // namespace

Trainer::Trainer(std::shared_ptr<nn::Network> model, TrainOptions options, uint64_t seed,
                 torch::Device device, std::string out_dir)
    : model_(std::move(model)),
      options_(std::move(options)),
      seed_(seed),
      device_(device),
      out_dir_(std::move(out_dir)),
      progress_os_(&std::cerr),
      progress_tty_(::isatty(2) != 0) {
  if (!model_) throw Error("Trainer: no model");
  model_->to(device_);
  optimizer_ = make_optimizer(options_, *model_);
  reset_epoch_sums();
}

void Trainer::check_term_name(const std::string& name) const {
  const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
  if (!valid) throw Error("Trainer: loss term name '" + name + "' must be letters, digits and '_'");
  if (std::find(kStandardColumns.begin(), kStandardColumns.end(), name) != kStandardColumns.end())
    throw Error("Trainer: loss term name '" + name + "' is a standard metrics column");
  for (const Term& t : terms_)
    if (t.name == name) throw Error("Trainer: loss term '" + name + "' added twice");
}

void Trainer::add_extra_pass(const std::string& name, ExtraPass pass) {
  check_term_name(name);
  if (!pass) throw Error("Trainer: extra pass '" + name + "' has no function");
  terms_.push_back({name, nullptr, 0.0, std::move(pass)});
  if (pos_.n_batches == 0) reset_epoch_sums();
}

void Trainer::add_loss_term(const std::string& name, std::function<torch::Tensor()> term,
                            double weight) {
  check_term_name(name);
  if (!term) throw Error("Trainer: loss term '" + name + "' has no function");
  if (!std::isfinite(weight))
    throw Error("Trainer: loss term '" + name + "' has a non-finite weight");
  terms_.push_back({name, std::move(term), weight});
  if (pos_.n_batches == 0) reset_epoch_sums();
}

void Trainer::add_epoch_hook(std::function<void(const EpochMetrics&)> hook) {
  epoch_hooks_.push_back(std::move(hook));
}

void Trainer::add_batch_hook(std::function<void(const BatchInfo&)> hook) {
  batch_hooks_.push_back(std::move(hook));
}

void Trainer::set_progress_stream(std::ostream* os, bool is_tty) {
  progress_os_ = os;
  progress_tty_ = is_tty;
}

std::string Trainer::last_checkpoint_path() const {
  return out_dir_.empty() ? "" : (fs::path(out_dir_) / "checkpoints" / "last.pt").string();
}

std::string Trainer::best_checkpoint_path() const {
  return out_dir_.empty() ? "" : (fs::path(out_dir_) / "checkpoints" / "best.pt").string();
}

Fingerprint Trainer::run_fingerprint() const {
  Fingerprint f;
  for (const auto& [k, v] : options_.fingerprint()) f.emplace_back("train." + k, v);
  f.emplace_back("seed", std::to_string(seed_));
  return f;
}

Fingerprint Trainer::data_fingerprint(const data::DataLoader& train) {
  const data::DataLoaderOptions& o = train.options();
  return {{"train_samples", std::to_string(train.dataset().size())},
          {"batches_per_epoch", std::to_string(train.n_batches())},
          {"loader.seed", std::to_string(o.seed)},
          {"loader.shuffle", o.shuffle ? "true" : "false"},
          {"loader.augment", o.augment ? "true" : "false"}};
}

LastCheckpoint Trainer::snapshot(const Fingerprint& data_fp) const {
  LastCheckpoint s;
  s.fingerprint = run_fingerprint();
  s.fingerprint.insert(s.fingerprint.end(), data_fp.begin(), data_fp.end());
  s.position = pos_;
  s.history = history_;
  s.rng_cpu = generator_state(at::detail::getDefaultCPUGenerator());
  if (device_.is_cuda())
    s.rng_device = generator_state(at::globalContext().defaultGenerator(device_));
  return s;
}

void Trainer::write_last(const Fingerprint& data_fp) {
  if (out_dir_.empty()) return;
  save_last_checkpoint(last_checkpoint_path(), *model_, *optimizer_, snapshot(data_fp));
}

void Trainer::reset_epoch_sums() {
  pos_.next_batch = 0;
  pos_.loss_sum = 0.0;
  pos_.n_correct = pos_.n_seen = pos_.n_batches = 0;
  pos_.seconds = 0.0;
  pos_.term_sums.clear();
  for (const Term& t : terms_) pos_.term_sums.emplace_back(t.name, 0.0);
}

void Trainer::set_lr(double lr) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
}

void Trainer::resume(const std::string& path) {
  LastCheckpoint ck = load_last_checkpoint(path, *model_, *optimizer_, run_fingerprint(), device_);
  if (ck.position.epoch > options_.epochs)
    throw DataError(path, fmt::format("checkpoint is at epoch {} of a {}-epoch run",
                                      ck.position.epoch, options_.epochs));
  pos_ = ck.position;
  history_ = ck.history;
  started_ = true;
  resumed_from_ = path;
  pending_ = std::move(ck);
}

EvalResult Trainer::evaluate(nn::Network& model, data::DataLoader& data, int64_t max_batches) {
  ModeGuard mode(model);
  model.eval();
  torch::NoGradGuard no_grad;
  const auto params = model.parameters();
  const int64_t n = max_batches < 0 ? data.n_batches() : std::min(max_batches, data.n_batches());
  double loss_sum = 0.0;
  int64_t correct = 0, seen = 0;
  for (int64_t i = 0; i < n; ++i) {
    data::Batch b = data.batch(i);
    torch::Tensor x = b.images, y = b.labels;
    if (!params.empty()) x = x.to(params.front().device()), y = y.to(params.front().device());
    const torch::Tensor logits = model.forward(x);
    check_logits(logits, y);
    loss_sum += F::cross_entropy(logits.to(torch::kFloat64), y,
                                 F::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
    seen += y.size(0);
  }
  EvalResult r;
  r.n_samples = seen;
  r.loss = seen > 0 ? loss_sum / double(seen) : NAN;
  r.accuracy = seen > 0 ? double(correct) / double(seen) : NAN;
  return r;
}

EpochMetrics Trainer::finish_epoch(data::DataLoader* val) {
  EpochMetrics m;
  m.epoch = pos_.epoch + 1;
  m.lr = pos_.lr;
  m.train_loss = pos_.loss_sum / double(pos_.n_seen);
  m.train_acc = double(pos_.n_correct) / double(pos_.n_seen);
  m.seconds = pos_.seconds;
  m.images_per_s = pos_.seconds > 0 ? double(pos_.n_seen) / pos_.seconds : NAN;
  for (const auto& [name, sum] : pos_.term_sums)
    m.terms.emplace_back(name, sum / double(pos_.n_batches));
  m.val_loss = m.val_acc = NAN;
  if (val) {
    const EvalResult r = evaluate(*model_, *val);
    m.val_loss = r.loss, m.val_acc = r.accuracy;
    if (r.n_samples > 0 && r.accuracy > pos_.best_val_acc) {
      pos_.best_val_acc = r.accuracy;
      pos_.best_epoch = m.epoch;
      if (!out_dir_.empty())
        save_best_checkpoint(best_checkpoint_path(), *model_, m.epoch, r.accuracy);
    }
  }
  history_.push_back(m);
  pos_.epoch += 1;
  reset_epoch_sums();
  return m;
}

TrainResult Trainer::fit(data::DataLoader& train, data::DataLoader* val) {
  using Clock = std::chrono::steady_clock;
  if (train.options().batch_size != options_.batch_size)
    throw Error(fmt::format(
        "Trainer: train.batch_size is {} but the training DataLoader makes batches of {}",
        options_.batch_size, train.options().batch_size));
  const int64_t n = train.n_batches();
  const int64_t n_train = train.dataset().size();
  if (n == 0)
    throw Error("Trainer: the training set has no batch (" + std::to_string(n_train) + " samples)");
  const Fingerprint data_fp = data_fingerprint(train);

  std::vector<std::string> names;
  for (const Term& t : terms_) names.push_back(t.name);
  auto names_of = [](const std::vector<std::pair<std::string, double>>& v) {
    std::vector<std::string> out;
    for (const auto& kv : v) out.push_back(kv.first);
    return out;
  };
  if (pos_.n_batches == 0) reset_epoch_sums();
  if (names_of(pos_.term_sums) != names ||
      (!history_.empty() && names_of(history_.back().terms) != names))
    throw Error(
        "Trainer: the loss terms [" + join(names) + "] differ from those of the run so far [" +
        join(history_.empty() ? names_of(pos_.term_sums) : names_of(history_.back().terms)) + "]");

  Progress progress(options_.progress, progress_os_, progress_tty_, options_.log_every);
  if (pending_) {
    const std::string diff = fingerprint_mismatch(data_fp, pending_->fingerprint);
    if (!diff.empty())
      throw DataError(resumed_from_.empty() ? "<stopped run>" : resumed_from_,
                      "cannot resume: " + diff);
    set_generator_state(at::detail::getDefaultCPUGenerator(), pending_->rng_cpu);
    if (device_.is_cuda() && pending_->rng_device.defined())
      set_generator_state(at::globalContext().defaultGenerator(device_), pending_->rng_device);
    pending_.reset();
    if (pos_.epoch < options_.epochs)
      progress.message(fmt::format("resuming at epoch {}/{}, batch {}/{}", pos_.epoch + 1,
                                   options_.epochs, pos_.next_batch, n));
  } else if (!started_) {
    torch::manual_seed(derive_seed(seed_, "train"));
  }
  started_ = true;
  if (!out_dir_.empty()) {
    fs::create_directories(fs::path(out_dir_) / "checkpoints");
    fs::create_directories(fs::path(out_dir_) / "plots");
  }

  TrainResult result;
  auto finish = [&](bool interrupted) {
    result.history = history_;
    result.interrupted = interrupted;
    result.epochs_completed = pos_.epoch;
    if (pos_.best_epoch > 0)
      result.best_val_acc = pos_.best_val_acc, result.best_epoch = pos_.best_epoch;
    return result;
  };
  auto stop_here = [&](const std::string& where) {
    stop_.store(false);
    pending_ = snapshot(data_fp);
    resumed_from_ = last_checkpoint_path();
    progress.message("stopped " + where +
                     (out_dir_.empty() ? "" : "; checkpoint " + last_checkpoint_path()));
    return finish(true);
  };

  while (pos_.epoch < options_.epochs) {
    train.set_epoch(pos_.epoch);
    model_->train();
    progress.begin_epoch(pos_.epoch + 1, options_.epochs, n, pos_.next_batch);
    const Clock::time_point t0 = Clock::now();
    const double seconds_before = pos_.seconds;
    for (int64_t i = pos_.next_batch; i < n; ++i) {
      const data::Batch b = train.batch(i);
      const torch::Tensor x = b.images.to(device_), y = b.labels.to(device_);
      const int64_t step = pos_.epoch * n + i;
      const double lr = learning_rate(options_, step, n);
      set_lr(lr);
      optimizer_->zero_grad();
      const torch::Tensor logits = model_->forward(x);
      check_logits(logits, y);
      const torch::Tensor ce = F::cross_entropy(
          logits, y, F::CrossEntropyFuncOptions().label_smoothing(options_.label_smoothing));
      torch::Tensor loss = ce;
      for (size_t k = 0; k < terms_.size(); ++k) {
        if (terms_[k].pass) continue;
        const torch::Tensor v = terms_[k].fn();
        if (!v.defined() || v.numel() != 1)
          throw ShapeError("Trainer: loss term '" + terms_[k].name +
                           "' must return a scalar tensor");
        loss = loss + terms_[k].weight * v.reshape({});
        pos_.term_sums[k].second += v.item<double>();
      }
      // A diverged run stops here, before its weights become NaN (the checkpoint of the last
      // finished epoch is kept).
      if (const double lv = loss.item<double>(); !std::isfinite(lv)) {
        throw Error(fmt::format("training diverged: the loss of epoch {} batch {} is {} (cross-entropy {}); lower the "
                                "learning rate (or a loss term's weight) and start again",
                                pos_.epoch + 1, i + 1, lv, ce.item<double>()));
      }
      loss.backward();
      for (size_t k = 0; k < terms_.size(); ++k) {
        if (!terms_[k].pass) continue;
        const double v = terms_[k].pass(x, y, BatchInfo{pos_.epoch, i, n, step, lr, ce.item<double>()});
        if (!std::isfinite(v)) {
          throw Error(fmt::format("training diverged: extra pass '{}' of epoch {} batch {} gave {}; lower the learning "
                                  "rate and start again", terms_[k].name, pos_.epoch + 1, i + 1, v));
        }
        pos_.term_sums[k].second += v;
      }
      if (options_.grad_clip_norm > 0)
        torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip_norm);
      optimizer_->step();

      const double ce_value = ce.item<double>();
      const int64_t bs = y.size(0);
      pos_.loss_sum += ce_value * double(bs);
      pos_.n_correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      pos_.n_seen += bs;
      pos_.n_batches += 1;
      pos_.lr = lr;
      pos_.next_batch = i + 1;
      pos_.seconds = seconds_before + std::chrono::duration<double>(Clock::now() - t0).count();

      const BatchInfo info{pos_.epoch, i, n, step, lr, ce_value};
      for (auto& hook : batch_hooks_) hook(info);
      progress.batch(i, pos_.loss_sum / double(pos_.n_seen),
                     double(pos_.n_correct) / double(pos_.n_seen),
                     pos_.seconds > 0 ? double(pos_.n_seen) / pos_.seconds : 0.0, lr);
      if (stop_requested() && i + 1 < n) {
        write_last(data_fp);
        return stop_here(
            fmt::format("at epoch {}/{}, batch {}/{}", pos_.epoch + 1, options_.epochs, i + 1, n));
      }
    }

    const EpochMetrics m = finish_epoch(val);
    if (!out_dir_.empty()) {
      write_metrics_csv((fs::path(out_dir_) / "metrics.csv").string(), history_);
      write_training_curve_png((fs::path(out_dir_) / "plots" / "training_curve.png").string(),
                               history_);
      write_last(data_fp);
    }
    progress.end_epoch(m, options_.epochs);
    for (auto& hook : epoch_hooks_) hook(m);
    if (stop_requested() && pos_.epoch < options_.epochs)
      return stop_here(fmt::format("after epoch {}/{}", pos_.epoch, options_.epochs));
  }
  stop_.store(false);
  return finish(false);
}

void Trainer::load_weights(nn::Network& model, const std::string& path) {
  load_model_weights(path, model);
}

}  // namespace cimkit::train
