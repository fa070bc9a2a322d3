#include "train/options.hpp"

#include <cmath>

#include "core/text.hpp"

namespace cimkit::train {

std::string to_string(OptimizerKind k) {
  return k == OptimizerKind::Sgd ? "sgd" : "adam";
}

std::string to_string(Schedule s) {
  switch (s) {
    case Schedule::Cosine:
      return "cosine";
    case Schedule::Step:
      return "step";
    case Schedule::Constant:
      return "constant";
  }
  return "?";
}

std::string to_string(ProgressMode m) {
  switch (m) {
    case ProgressMode::Auto:
      return "auto";
    case ProgressMode::Bar:
      return "bar";
    case ProgressMode::Plain:
      return "plain";
    case ProgressMode::None:
      return "none";
  }
  return "?";
}

namespace {
// [lo, hi): momentum and betas of 1 never forget, a smoothing of 1 leaves no label.
ParamSpec& half_open(ParamSpec& p) {
  p.max_exclusive = true;
  return p;
}
}  // namespace

Schema TrainOptions::schema() {
  Schema s(
      "train",
      "Supervised classification training: optimiser, learning-rate schedule and loop settings.");
  s.integer("epochs", "Passes over the training set (0: no training, e.g. to evaluate a pretrained model)")
      .range(0, 100000)
      .def(int64_t{10});
  s.integer("batch_size", "Samples per training batch").range(1, 1 << 20).def(int64_t{128});
  s.choice("optimizer", {"sgd", "adam"}, "Optimiser: SGD with (Nesterov) momentum, or Adam")
      .def(std::string("sgd"));
  s.real("lr", "Peak learning rate (after warm-up; the start of the schedule)")
      .above(0)
      .at_most(100)
      .def(0.1);
  half_open(s.real("momentum", "SGD momentum (ignored by Adam)").range(0, 1)).def(0.9);
  s.boolean("nesterov", "SGD Nesterov momentum (needs momentum > 0)").def(false);
  s.real("weight_decay",
         "L2 penalty coefficient added to the gradient (not decoupled, also for Adam); quantiser steps and offsets are exempt")
      .at_least(0)
      .def(5e-4);
  half_open(s.real("adam_beta1", "Adam: decay of the first-moment estimate").range(0, 1)).def(0.9);
  half_open(s.real("adam_beta2", "Adam: decay of the second-moment estimate").range(0, 1))
      .def(0.999);
  s.real("adam_eps", "Adam: denominator term").above(0).def(1e-8);
  s.choice("schedule", {"cosine", "step", "constant"},
           "Learning rate per batch: cosine decay to min_lr over the steps after warm-up, step "
           "decay by gamma every step_epochs, or constant (docs/training.md)")
      .def(std::string("cosine"));
  s.integer("step_epochs", "Step schedule: epochs between decays")
      .range(1, 100000)
      .def(int64_t{30});
  s.real("gamma", "Step schedule: factor applied at each decay").above(0).at_most(1).def(0.1);
  s.real("warmup_epochs",
         "Linear warm-up from lr/W to lr over the first W = round(warmup_epochs x batches per "
         "epoch) steps")
      .at_least(0)
      .def(0.0);
  s.real("min_lr", "Cosine schedule: the learning rate it decays towards").at_least(0).def(0.0);
  half_open(s.real("label_smoothing",
                   "Cross-entropy label smoothing epsilon: targets (1 - eps) one-hot + eps/classes")
                .range(0, 1))
      .def(0.0);
  s.real("grad_clip_norm", "Clip the gradient to this global L2 norm before each step; 0 = off")
      .at_least(0)
      .def(0.0);
  s.choice("progress", {"auto", "bar", "plain", "none"},
           "Progress output: a one-line bar on a terminal, plain log lines otherwise (auto), or "
           "nothing")
      .def(std::string("auto"));
  s.integer("log_every", "Plain progress: batches between log lines")
      .range(1, 1 << 30)
      .def(int64_t{50});
  return s;
}

TrainOptions TrainOptions::from_params(const Params& p) {
  TrainOptions o;
  o.epochs = p.get_int("epochs");
  o.batch_size = p.get_int("batch_size");
  o.optimizer = p.get_string("optimizer") == "adam" ? OptimizerKind::Adam : OptimizerKind::Sgd;
  o.lr = p.get_real("lr");
  o.momentum = p.get_real("momentum");
  o.nesterov = p.get_bool("nesterov");
  o.weight_decay = p.get_real("weight_decay");
  o.adam_beta1 = p.get_real("adam_beta1");
  o.adam_beta2 = p.get_real("adam_beta2");
  o.adam_eps = p.get_real("adam_eps");
  const std::string& sched = p.get_string("schedule");
  o.schedule = sched == "cosine" ? Schedule::Cosine
               : sched == "step" ? Schedule::Step
                                 : Schedule::Constant;
  o.step_epochs = p.get_int("step_epochs");
  o.gamma = p.get_real("gamma");
  o.warmup_epochs = p.get_real("warmup_epochs");
  o.min_lr = p.get_real("min_lr");
  o.label_smoothing = p.get_real("label_smoothing");
  o.grad_clip_norm = p.get_real("grad_clip_norm");
  const std::string& prog = p.get_string("progress");
  o.progress = prog == "bar"     ? ProgressMode::Bar
               : prog == "plain" ? ProgressMode::Plain
               : prog == "none"  ? ProgressMode::None
                                 : ProgressMode::Auto;
  o.log_every = p.get_int("log_every");

  if (o.nesterov && o.optimizer == OptimizerKind::Sgd && o.momentum <= 0)
    p.fail("nesterov", "Nesterov momentum needs momentum > 0");
  if (o.schedule == Schedule::Cosine && o.min_lr > o.lr)
    p.fail("min_lr",
           "the cosine floor " + format_double(o.min_lr) + " is above lr " + format_double(o.lr));
  if (o.warmup_epochs > double(o.epochs))
    p.fail("warmup_epochs", "warm-up of " + format_double(o.warmup_epochs) +
                                " epochs is longer than the run (" + std::to_string(o.epochs) +
                                " epochs)");
  return o;
}

std::vector<std::pair<std::string, std::string>> TrainOptions::fingerprint() const {
  const bool sgd = optimizer == OptimizerKind::Sgd;
  std::vector<std::pair<std::string, std::string>> f = {
      {"epochs", std::to_string(epochs)},
      {"batch_size", std::to_string(batch_size)},
      {"optimizer", to_string(optimizer)},
      {"lr", format_double(lr)},
      {"weight_decay", format_double(weight_decay)},
      {"schedule", to_string(schedule)},
      {"warmup_epochs", format_double(warmup_epochs)},
      {"label_smoothing", format_double(label_smoothing)},
      {"grad_clip_norm", format_double(grad_clip_norm)},
  };
  if (sgd) {
    f.push_back({"momentum", format_double(momentum)});
    f.push_back({"nesterov", nesterov ? "true" : "false"});
  } else {
    f.push_back({"adam_beta1", format_double(adam_beta1)});
    f.push_back({"adam_beta2", format_double(adam_beta2)});
    f.push_back({"adam_eps", format_double(adam_eps)});
  }
  if (schedule == Schedule::Step) {
    f.push_back({"step_epochs", std::to_string(step_epochs)});
    f.push_back({"gamma", format_double(gamma)});
  }
  if (schedule == Schedule::Cosine) f.push_back({"min_lr", format_double(min_lr)});
  return f;
}

double learning_rate(const TrainOptions& o, int64_t step, int64_t steps_per_epoch) {
  const int64_t n = std::max<int64_t>(1, steps_per_epoch);
  const int64_t total = o.epochs * n;
  const auto warm_steps = static_cast<int64_t>(std::llround(o.warmup_epochs * double(n)));
  const double warm = warm_steps > 0 ? std::min(1.0, double(step + 1) / double(warm_steps)) : 1.0;
  double sched = o.lr;
  switch (o.schedule) {
    case Schedule::Constant:
      break;
    case Schedule::Step:
      sched = o.lr * std::pow(o.gamma, double(step / (o.step_epochs * n)));
      break;
    case Schedule::Cosine: {
      const double p = double(std::max<int64_t>(0, step - warm_steps)) /
                       double(std::max<int64_t>(1, total - warm_steps));
      sched = o.min_lr + (o.lr - o.min_lr) * (1 + std::cos(M_PI * p)) / 2;
      break;
    }
  }
  return warm * sched;
}

}  // namespace cimkit::train
