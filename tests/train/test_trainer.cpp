// train: options and learning-rate formula, the training loop, evaluation, metrics files,
// progress output and loss terms.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "fixtures.hpp"
#include "train/options.hpp"
#include "train/trainer.hpp"

using namespace cimkit;
using namespace cimkit::train;
using namespace cimkit::train_test;

namespace {

TrainOptions options_from_yaml(const std::string& yaml) {
  const ConfigNode root = load_yaml_string(yaml, "run.yaml");
  const ConfigNode* section = root.find("train");
  return TrainOptions::from_params(
      parse_params(section ? *section : ConfigNode(), TrainOptions::schema(), "train"));
}

std::string config_error(const std::string& yaml) {
  try {
    options_from_yaml(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// Small, quick settings: 128 samples in batches of 32 (4 batches per epoch).
TrainOptions quick_options(int64_t epochs = 2) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 32;
  o.lr = 0.05;
  o.momentum = 0.9;
  o.progress = ProgressMode::None;
  return o;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(TrainOptions, DefaultsAndParsing) {
  const TrainOptions d = options_from_yaml("seed: 1\n");
  EXPECT_EQ(d.epochs, 10);
  EXPECT_EQ(d.batch_size, 128);
  EXPECT_EQ(d.optimizer, OptimizerKind::Sgd);
  EXPECT_EQ(d.schedule, Schedule::Cosine);
  EXPECT_EQ(d.progress, ProgressMode::Auto);
  EXPECT_DOUBLE_EQ(d.weight_decay, 5e-4);
  const TrainOptions o = options_from_yaml(
      "train:\n  optimizer: adam\n  lr: 0.001\n  schedule: step\n  step_epochs: 3\n  gamma: 0.5\n"
      "  label_smoothing: 0.1\n  grad_clip_norm: 5\n  progress: plain\n");
  EXPECT_EQ(o.optimizer, OptimizerKind::Adam);
  EXPECT_EQ(o.schedule, Schedule::Step);
  EXPECT_EQ(o.step_epochs, 3);
  EXPECT_DOUBLE_EQ(o.label_smoothing, 0.1);
  EXPECT_EQ(o.progress, ProgressMode::Plain);
  const Schema schema = TrainOptions::schema();
  EXPECT_EQ(join(schema.names()),
            "epochs, batch_size, optimizer, lr, momentum, nesterov, weight_decay, adam_beta1, "
            "adam_beta2, "
            "adam_eps, schedule, step_epochs, gamma, warmup_epochs, min_lr, label_smoothing, "
            "grad_clip_norm, "
            "progress, log_every");
  for (const ParamSpec& spec : schema.specs()) EXPECT_FALSE(spec.description.empty()) << spec.name;
}

TEST(TrainOptions, ErrorsNameTheKey) {
  EXPECT_EQ(config_error("train:\n  momentum: 0\n  nesterov: true\n"),
            "run.yaml:3: train.nesterov: Nesterov momentum needs momentum > 0");
  EXPECT_EQ(config_error("train:\n  lr: 0.01\n  min_lr: 0.1\n"),
            "run.yaml:3: train.min_lr: the cosine floor 0.1 is above lr 0.01");
  EXPECT_EQ(
      config_error("train:\n  epochs: 2\n  warmup_epochs: 3\n"),
      "run.yaml:3: train.warmup_epochs: warm-up of 3 epochs is longer than the run (2 epochs)");
  EXPECT_NE(config_error("train:\n  momentum: 1\n").find("train.momentum"), std::string::npos);
  EXPECT_NE(config_error("train:\n  optimiser: adam\n").find("did you mean 'optimizer'?"),
            std::string::npos);
}

TEST(LearningRate, FollowsTheDocumentedFormula) {
  TrainOptions o;
  o.epochs = 10, o.lr = 0.1, o.min_lr = 0.001, o.warmup_epochs = 2, o.schedule = Schedule::Cosine;
  const int64_t n = 5, T = 50, W = 10;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, n), 0.1 * 1 / W);  // warm-up: (s + 1) / W
  EXPECT_DOUBLE_EQ(learning_rate(o, 4, n), 0.1 * 5 / W);
  EXPECT_DOUBLE_EQ(learning_rate(o, W - 1, n), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(o, W, n), 0.1);  // cosine starts after the warm-up
  const double mid = 0.001 + (0.1 - 0.001) * (1 + std::cos(M_PI * 20.0 / (T - W))) / 2;
  EXPECT_DOUBLE_EQ(learning_rate(o, W + 20, n), mid);
  EXPECT_NEAR(learning_rate(o, T, n), 0.001, 1e-15);

  o.schedule = Schedule::Step, o.warmup_epochs = 0, o.step_epochs = 3, o.gamma = 0.5;
  EXPECT_DOUBLE_EQ(learning_rate(o, 3 * n - 1, n), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(o, 3 * n, n), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(o, 6 * n + 2, n), 0.025);
  o.schedule = Schedule::Constant;
  EXPECT_DOUBLE_EQ(learning_rate(o, 37, n), 0.1);
}

TEST(Trainer, LearnsASeparableTaskAndSetsTheLrPerBatch) {
  const data::Dataset ds = quadrant_dataset(128, 1);
  data::DataLoader train = make_loader(ds, 32, true, 7),
                   val = make_loader(quadrant_dataset(64, 2), 64, false, 0);
  TrainOptions o = quick_options(3);
  o.warmup_epochs = 1;
  auto net = tiny_net(3);
  Trainer t(net, o, 11);
  std::vector<double> lrs;
  t.add_batch_hook([&](const BatchInfo& b) {
    lrs.push_back(b.lr);
    EXPECT_DOUBLE_EQ(t.optimizer().param_groups()[0].options().get_lr(), b.lr);
  });
  const TrainResult r = t.fit(train, &val);
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.epochs_completed, 3);
  ASSERT_EQ(r.history.size(), 3u);
  ASSERT_EQ(lrs.size(), 12u);
  for (size_t s = 0; s < lrs.size(); ++s)
    EXPECT_DOUBLE_EQ(lrs[s], learning_rate(o, int64_t(s), 4)) << s;
  EXPECT_DOUBLE_EQ(r.history.back().lr, lrs.back());
  EXPECT_GT(r.history.back().val_acc, 0.9);
  EXPECT_LT(r.history.back().train_loss, r.history.front().train_loss);
  EXPECT_EQ(r.best_epoch > 0, true);
  EXPECT_TRUE(net->is_training());
}

TEST(Trainer, SameSeedGivesTheSameParameters) {
  const data::Dataset ds = quadrant_dataset(96, 1);
  auto run = [&](uint64_t seed) {
    data::DataLoader train = make_loader(ds, 32, true, 7);
    auto net = tiny_net(3);
    TrainOptions o = quick_options(2);
    o.label_smoothing = 0.1;
    o.grad_clip_norm = 1.0;
    Trainer t(net, o, seed);
    t.fit(train, nullptr);
    return net;
  };
  auto a = run(5), b = run(5), c = run(6);
  EXPECT_TRUE(same_state(*a, *b));
  EXPECT_FALSE(same_state(*a, *c));  // dropout masks come from the seed
}

TEST(Trainer, EvaluateIsExactAndRestoresTheMode) {
  const data::Dataset ds = quadrant_dataset(50, 4);
  data::DataLoader loader = make_loader(ds, 16, false, 0);
  auto net = tiny_net(3, 0.0);
  net->train();
  const EvalResult r = Trainer::evaluate(*net, loader);
  EXPECT_TRUE(net->is_training());
  EXPECT_EQ(r.n_samples, 50);
  // Reference: one batch of everything in eval mode.
  net->eval();
  torch::NoGradGuard g;
  data::DataLoader all = make_loader(ds, 50, false, 0);
  const data::Batch b = all.batch(0);
  const torch::Tensor logits = net->forward(b.images);
  const double acc = logits.argmax(1).eq(b.labels).to(torch::kFloat64).mean().item<double>();
  const double loss =
      torch::nn::functional::cross_entropy(logits.to(torch::kFloat64), b.labels).item<double>();
  EXPECT_NEAR(r.accuracy, acc, 1e-12);
  EXPECT_NEAR(r.loss, loss, 1e-9);
  EXPECT_EQ(Trainer::evaluate(*net, loader, 2).n_samples, 32);
  EXPECT_FALSE(net->is_training());
}

TEST(Trainer, LossTermsAreAddedAndRecorded) {
  const data::Dataset ds = quadrant_dataset(64, 1);
  data::DataLoader train = make_loader(ds, 32, true, 7);
  auto net = tiny_net(3);
  Trainer t(net, quick_options(2), 1);
  t.add_loss_term(
      "const_two", [] { return torch::tensor(2.0); }, 0.5);
  int calls = 0;
  t.add_loss_term(
      "l2",
      [&] {
        ++calls;
        return net->fc->weight.pow(2).sum();
      },
      1e-3);
  EXPECT_THROW(t.add_loss_term(
                   "l2", [] { return torch::tensor(0.0); }, 1),
               Error);
  EXPECT_THROW(t.add_loss_term(
                   "val_acc", [] { return torch::tensor(0.0); }, 1),
               Error);
  EXPECT_THROW(t.add_loss_term(
                   "bad name", [] { return torch::tensor(0.0); }, 1),
               Error);
  const TrainResult r = t.fit(train, nullptr);
  EXPECT_EQ(calls, 4);
  ASSERT_EQ(r.history[0].terms.size(), 2u);
  EXPECT_EQ(r.history[0].terms[0].first, "const_two");
  EXPECT_DOUBLE_EQ(r.history[0].terms[0].second, 2.0);
  EXPECT_EQ(r.history[1].terms[1].first, "l2");
  EXPECT_GT(r.history[1].terms[1].second, 0.0);
  EXPECT_TRUE(std::isnan(r.history[0].val_acc));
}

TEST(Trainer, WritesMetricsCurveAndBestModel) {
  const std::string out = fresh_dir("files");
  const data::Dataset ds = quadrant_dataset(64, 1);
  data::DataLoader train = make_loader(ds, 32, true, 7),
                   val = make_loader(quadrant_dataset(32, 2), 32, false, 0);
  auto net = tiny_net(3);
  Trainer t(net, quick_options(2), 1, torch::kCPU, out);
  t.add_loss_term(
      "l2", [&] { return net->fc->weight.pow(2).sum(); }, 1e-3);
  std::vector<int64_t> hooked;
  t.add_epoch_hook([&](const EpochMetrics& m) {
    hooked.push_back(m.epoch);
    EXPECT_TRUE(fs::exists(out + "/checkpoints/last.pt"));  // written before the hooks run
  });
  const TrainResult r = t.fit(train, &val);
  EXPECT_EQ(hooked, (std::vector<int64_t>{1, 2}));

  const std::string csv = read_text(out + "/metrics.csv");
  std::istringstream lines(csv);
  std::string header, row1, row2, extra;
  std::getline(lines, header), std::getline(lines, row1), std::getline(lines, row2);
  EXPECT_EQ(header, "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds,images_per_s,l2");
  EXPECT_EQ(row1.rfind("1,", 0), 0u);
  EXPECT_EQ(row2.rfind("2,", 0), 0u);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_EQ(std::count(row2.begin(), row2.end(), ','), 8);

  EXPECT_TRUE(has_png_signature(out + "/plots/training_curve.png"));
  const DecodedPng curve = decode_png(out + "/plots/training_curve.png");
  EXPECT_EQ(curve.width, 1280);
  EXPECT_EQ(curve.height, 440);

  ASSERT_TRUE(fs::exists(t.best_checkpoint_path()));
  auto other = tiny_net(99);
  EXPECT_FALSE(same_state(*net, *other));
  Trainer::load_weights(*other, t.last_checkpoint_path());
  EXPECT_TRUE(same_state(*net, *other));
  Trainer::load_weights(*other, t.best_checkpoint_path());
  EXPECT_GE(r.best_val_acc, 0.0);
  for (const auto& e : fs::recursive_directory_iterator(out))
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
}

TEST(Trainer, ProgressOutputPerMode) {
  const data::Dataset ds = quadrant_dataset(128, 1);
  auto run = [&](ProgressMode mode, bool tty) {
    data::DataLoader train = make_loader(ds, 32, true, 7);
    TrainOptions o = quick_options(2);
    o.progress = mode;
    o.log_every = 2;
    Trainer t(tiny_net(3), o, 1);
    std::ostringstream os;
    t.set_progress_stream(&os, tty);
    t.fit(train, nullptr);
    return os.str();
  };
  const std::string plain = run(ProgressMode::Auto, false);
  EXPECT_NE(plain.find("epoch 1/2 batch 2/4  loss "), std::string::npos) << plain;
  EXPECT_EQ(plain.find("batch 4/4"), std::string::npos) << plain;  // the epoch line covers it
  EXPECT_NE(plain.find("epoch 2/2  lr "), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\r'), std::string::npos);
  const std::string bar = run(ProgressMode::Auto, true);
  EXPECT_NE(bar.find("\repoch 1/2 ["), std::string::npos) << bar;
  EXPECT_NE(bar.find("4/4"), std::string::npos);
  EXPECT_NE(bar.find("ETA"), std::string::npos);
  EXPECT_NE(bar.find("img/s"), std::string::npos);
  EXPECT_EQ(run(ProgressMode::None, true), "");
}

TEST(Trainer, RejectsALoaderWithAnotherBatchSize) {
  data::DataLoader train = make_loader(quadrant_dataset(64, 1), 16, true, 7);
  Trainer t(tiny_net(3), quick_options(1), 1);
  try {
    t.fit(train, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "Trainer: train.batch_size is 32 but the training DataLoader makes batches of 16");
  }
}

TEST(Trainer, ZeroEpochsTrainsNothing) {
  data::DataLoader train = make_loader(quadrant_dataset(64, 1), 32, true, 7);
  auto net = tiny_net(3), copy = tiny_net(3);
  Trainer t(net, quick_options(0), 1);
  const TrainResult r = t.fit(train, nullptr);
  EXPECT_FALSE(r.interrupted);
  EXPECT_TRUE(r.history.empty());
  EXPECT_EQ(r.epochs_completed, 0);
  EXPECT_TRUE(same_state(*net, *copy));
}
