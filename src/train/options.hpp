// The `train:` section of a run config: optimiser, learning-rate schedule and loop settings of
// supervised classification training (trainer.hpp).
//
// Learning rate, set before every batch. With n batches per epoch, E epochs, T = E·n steps in
// all, s the 0-based global step (epoch·n + batch), lr0 = `lr` and W = round(warmup_epochs·n):
//
//   lr(s)     = warm(s) · sched(s)
//   warm(s)   = min(1, (s + 1) / W)            (1 when W = 0: linear warm-up to the schedule)
//   constant: sched(s) = lr0
//   step:     sched(s) = lr0 · gamma^floor(s / (step_epochs·n))
//   cosine:   sched(s) = min_lr + (lr0 − min_lr) · (1 + cos(π · max(0, s − W) / max(1, T − W))) / 2
//
// The cosine decays per batch from lr0 at the end of the warm-up towards min_lr (reached one step
// after the last); it equals PyTorch's CosineAnnealingLR(T_max = T − W) stepped every batch.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/params.hpp"

namespace cimkit::train {

enum class OptimizerKind { Sgd, Adam };
enum class Schedule { Cosine, Step, Constant };
enum class ProgressMode { Auto, Bar, Plain, None };

std::string to_string(OptimizerKind k);  // "sgd", "adam"
std::string to_string(Schedule s);       // "cosine", "step", "constant"
std::string to_string(ProgressMode m);   // "auto", "bar", "plain", "none"

struct TrainOptions {
  int64_t epochs = 10;       // passes over the training set; 0 = no training
  int64_t batch_size = 128;  // samples per batch; the training DataLoader must use it
  OptimizerKind optimizer = OptimizerKind::Sgd;
  double lr = 0.1;             // peak learning rate lr0
  double momentum = 0.9;       // SGD momentum
  bool nesterov = false;       // SGD Nesterov momentum (needs momentum > 0)
  double weight_decay = 5e-4;  // L2 penalty added to the gradient (SGD and Adam alike)
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  Schedule schedule = Schedule::Cosine;
  int64_t step_epochs = 30;      // step schedule: epochs between decays
  double gamma = 0.1;            // step schedule: decay factor
  double warmup_epochs = 0.0;    // linear warm-up length (fractions allowed)
  double min_lr = 0.0;           // cosine floor
  double label_smoothing = 0.0;  // ε: targets (1 − ε)·onehot + ε/K
  double grad_clip_norm = 0.0;   // global L2 norm bound of the gradient; 0 = off
  ProgressMode progress = ProgressMode::Auto;
  int64_t log_every = 50;  // batches between plain progress lines

  static Schema schema();
  // Checks that involve several keys (nesterov without momentum, min_lr above lr, warm-up
  // longer than the run) raise a ConfigError at the offending key.
  static TrainOptions from_params(const Params& p);

  // The keys that fix a run's trajectory, as (name, value text), in schema order: everything
  // except progress and log_every. A checkpoint records them; resuming compares them.
  std::vector<std::pair<std::string, std::string>> fingerprint() const;
};

// lr(s) of the formula above for global step `step` with `steps_per_epoch` batches per epoch.
double learning_rate(const TrainOptions& o, int64_t step, int64_t steps_per_epoch);

}  // namespace cimkit::train
