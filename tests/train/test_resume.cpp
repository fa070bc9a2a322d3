// train: checkpoints, bitwise-exact resume (epoch end and mid-epoch), refusal to resume with
// other settings, corrupt checkpoints, and SIGINT as a graceful stop.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "core/error.hpp"
#include "fixtures.hpp"
#include "train/signals.hpp"
#include "train/trainer.hpp"

using namespace cimkit;
using namespace cimkit::train;
using namespace cimkit::train_test;

namespace {

constexpr uint64_t kRunSeed = 21;

struct Recipe {
  std::string name;
  OptimizerKind optimizer;
};

void PrintTo(const Recipe& r, std::ostream* os) {
  *os << r.name;
}

TrainOptions recipe_options(const Recipe& r) {
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  o.progress = ProgressMode::None;
  o.optimizer = r.optimizer;
  if (r.optimizer == OptimizerKind::Sgd) {
    o.lr = 0.05, o.momentum = 0.9, o.nesterov = true, o.schedule = Schedule::Cosine,
    o.min_lr = 0.001;
  } else {
    o.lr = 0.01, o.schedule = Schedule::Step, o.step_epochs = 1, o.gamma = 0.5,
    o.label_smoothing = 0.1;
    o.grad_clip_norm = 0.5, o.warmup_epochs = 0.5;
  }
  return o;
}

// 128 training samples (4 batches of 32), shuffled and augmented; 32 validation samples.
struct Data {
  data::Dataset train_set = quadrant_dataset(128, 1), val_set = quadrant_dataset(32, 2);
  data::DataLoader train() const { return make_loader(train_set, 32, true, 7, /*augment=*/true); }
  data::DataLoader val() const { return make_loader(val_set, 16, false, 0); }
};

// A trainer whose loss term (a weight penalty) requests a stop after `stop_after` batches in all
// (never when < 0).
struct TrainRun {
  std::shared_ptr<TinyNet> net;
  std::unique_ptr<Trainer> trainer;
  int64_t batches = 0;

  TrainRun(const TrainOptions& o, const std::string& out, int64_t stop_after,
           uint64_t init_seed = 3, uint64_t seed = kRunSeed) {
    net = tiny_net(init_seed);
    trainer = std::make_unique<Trainer>(net, o, seed, torch::kCPU, out);
    trainer->add_loss_term(
        "l2",
        [this, stop_after] {
          if (++batches == stop_after) trainer->request_stop();
          return net->conv->weight.pow(2).sum();
        },
        1e-3);
  }
};

void expect_same_history(const std::vector<EpochMetrics>& a, const std::vector<EpochMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e].epoch, b[e].epoch);
    EXPECT_EQ(a[e].lr, b[e].lr) << e;
    EXPECT_EQ(a[e].train_loss, b[e].train_loss) << e;
    EXPECT_EQ(a[e].train_acc, b[e].train_acc) << e;
    EXPECT_EQ(a[e].val_loss, b[e].val_loss) << e;
    EXPECT_EQ(a[e].val_acc, b[e].val_acc) << e;
    ASSERT_EQ(a[e].terms.size(), 1u);
    EXPECT_EQ(a[e].terms, b[e].terms) << e;
  }
}

std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no DataError)";
}

class Resume : public ::testing::TestWithParam<std::tuple<Recipe, int64_t>> {};

}  // namespace

// Stop after k batches (4 per epoch: k = 4 is an epoch end, others are mid-epoch), resume from
// last.pt into a differently initialised model: the final parameters, buffers and metrics equal
// those of an uninterrupted run bit for bit.
TEST_P(Resume, FromLastCheckpointIsBitwiseIdentical) {
  const auto& [recipe, stop_after] = GetParam();
  const TrainOptions o = recipe_options(recipe);
  const Data d;
  data::DataLoader train = d.train(), val = d.val();

  TrainRun reference(o, "", -1);
  const TrainResult ref = reference.trainer->fit(train, &val);
  ASSERT_FALSE(ref.interrupted);

  const std::string out = fresh_dir("resume_" + recipe.name + "_" + std::to_string(stop_after));
  TrainRun first(o, out, stop_after);
  const TrainResult part = first.trainer->fit(train, &val);
  ASSERT_TRUE(part.interrupted);
  EXPECT_EQ(part.epochs_completed, stop_after / 4);
  ASSERT_TRUE(fs::exists(first.trainer->last_checkpoint_path()));
  EXPECT_FALSE(same_state(*first.net, *reference.net));

  TrainRun second(o, out, -1, /*init_seed=*/77);
  torch::manual_seed(12345);  // whatever the global generator holds now, resume restores it
  second.trainer->resume(first.trainer->last_checkpoint_path());
  const TrainResult rest = second.trainer->fit(train, &val);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.epochs_completed, 3);
  EXPECT_TRUE(same_state(*second.net, *reference.net));
  expect_same_history(rest.history, ref.history);
  EXPECT_EQ(rest.best_val_acc, ref.best_val_acc);
  EXPECT_EQ(second.batches, 12 - stop_after);

  // fit() again on the interrupted trainer continues in memory, to the same result.
  torch::manual_seed(999);
  const TrainResult cont = first.trainer->fit(train, &val);
  EXPECT_FALSE(cont.interrupted);
  EXPECT_TRUE(same_state(*first.net, *reference.net));
  expect_same_history(cont.history, ref.history);
}

INSTANTIATE_TEST_SUITE_P(Train, Resume,
                         ::testing::Combine(::testing::Values(Recipe{"sgd_nesterov_cosine",
                                                                     OptimizerKind::Sgd},
                                                              Recipe{"adam_step_smooth_clip_warmup",
                                                                     OptimizerKind::Adam}),
                                            ::testing::Values(int64_t{1}, int64_t{4}, int64_t{6})),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_stop_after_" +
                                  std::to_string(std::get<1>(info.param)) + "_batches";
                         });

TEST(ResumeChecks, RefusesOtherSettingsNamingTheKey) {
  const Recipe sgd{"sgd", OptimizerKind::Sgd};
  const Data d;
  data::DataLoader train = d.train();
  const std::string out = fresh_dir("refuse");
  TrainRun first(recipe_options(sgd), out, 2);
  ASSERT_TRUE(first.trainer->fit(train, nullptr).interrupted);
  const std::string ck = first.trainer->last_checkpoint_path();

  TrainOptions o = recipe_options(sgd);
  o.epochs = 4;
  EXPECT_EQ(data_error([&] { TrainRun(o, "", -1).trainer->resume(ck); }),
            ck + ": cannot resume: train.epochs is 4 in this run but 3 in the checkpoint; resuming "
                 "needs the same value");
  o = recipe_options(sgd);
  o.optimizer = OptimizerKind::Adam;
  EXPECT_EQ(data_error([&] { TrainRun(o, "", -1).trainer->resume(ck); }),
            ck + ": cannot resume: train.optimizer is adam in this run but sgd in the checkpoint; "
                 "resuming needs the "
                 "same value");
  o = recipe_options(sgd);
  o.batch_size = 16;
  EXPECT_NE(
      data_error([&] { TrainRun(o, "", -1).trainer->resume(ck); }).find("train.batch_size is 16"),
      std::string::npos);
  EXPECT_EQ(data_error([&] {
              TrainRun(recipe_options(sgd), "", -1, 3, kRunSeed + 1).trainer->resume(ck);
            }),
            ck + ": cannot resume: seed is 22 in this run but 21 in the checkpoint; resuming needs "
                 "the same value");
  // Same settings, another training set: refused when fit() sees the data.
  TrainRun again(recipe_options(sgd), "", -1);
  again.trainer->resume(ck);
  data::DataLoader bigger = make_loader(quadrant_dataset(160, 1), 32, true, 7, true);
  EXPECT_EQ(data_error([&] { again.trainer->fit(bigger, nullptr); }),
            ck + ": cannot resume: train_samples is 160 in this run but 128 in the checkpoint; "
                 "resuming needs the same value");
  data::DataLoader reseeded = make_loader(quadrant_dataset(128, 1), 32, true, 8, true);
  EXPECT_EQ(data_error([&] { again.trainer->fit(reseeded, nullptr); }),
            ck + ": cannot resume: loader.seed is 8 in this run but 7 in the checkpoint; "
                 "resuming needs the same value");
  data::DataLoader same = d.train();
  EXPECT_FALSE(again.trainer->fit(same, nullptr).interrupted);  // the checks left it resumable
}

TEST(ResumeChecks, MissingOrCorruptCheckpointsNameTheFile) {
  const Recipe sgd{"sgd", OptimizerKind::Sgd};
  const std::string dir = fresh_dir("corrupt");
  TrainRun run(recipe_options(sgd), "", -1);
  const std::string missing = dir + "/nope.pt";
  EXPECT_EQ(data_error([&] { run.trainer->resume(missing); }),
            missing + ": no such file (expected a checkpoint)");
  const std::string garbage = dir + "/garbage.pt";
  std::ofstream(garbage) << "not a zip archive";
  EXPECT_HAS(data_error([&] { run.trainer->resume(garbage); }),
             garbage + ": is not a checkpoint (a .pt file is the zip archive torch.save writes");

  // A best.pt is not a last.pt; a model saved by hand is not a checkpoint.
  const std::string out = fresh_dir("corrupt_run");
  const Data d;
  data::DataLoader train = d.train(), val = d.val();
  TrainOptions one = recipe_options(sgd);
  one.epochs = 1;
  TrainRun done(one, out, -1);
  done.trainer->fit(train, &val);
  const std::string best = done.trainer->best_checkpoint_path();
  EXPECT_EQ(data_error([&] { run.trainer->resume(best); }),
            best + ": checkpoint format is 'cimkit.train.best', expected 'cimkit.train.last'");
  const std::string plain = dir + "/plain.pt";
  torch::save(run.net, plain);
  EXPECT_EQ(data_error([&] { run.trainer->resume(plain); }),
            plain + ": not a cimkit checkpoint (no 'cimkit_format'; expected 'cimkit.train.last')");

  // A truncated last.pt.
  const std::string last = done.trainer->last_checkpoint_path();
  const auto size = fs::file_size(last);
  const std::string cut = dir + "/cut.pt";
  fs::copy_file(last, cut);
  fs::resize_file(cut, size / 2);
  EXPECT_HAS(data_error([&] { run.trainer->resume(cut); }), cut + ": corrupt or truncated checkpoint: ");

  // Weights into a model of another shape: refused before anything changes.
  struct Wider : nn::Network {
    Wider() { fc = register_module("fc", torch::nn::Linear(64, 8)); }
    torch::Tensor forward(const torch::Tensor& x) override { return fc(x.flatten(1)); }
    torch::nn::Linear fc{nullptr};
  } wider;
  EXPECT_EQ(data_error([&] { Trainer::load_weights(wider, last); }),
            last + ": 'fc.weight' is Float [4, 64] in the file but Float [8, 64] in the model");
}

TEST(StopSignals, SigintStopsWithACheckpointAndRestoresTheHandler) {
  const Recipe sgd{"sgd", OptimizerKind::Sgd};
  const Data d;
  data::DataLoader train = d.train();
  const std::string out = fresh_dir("sigint");
  TrainRun run(recipe_options(sgd), out, -1);
  struct sigaction before;
  sigaction(SIGINT, nullptr, &before);
  int signal_seen = 0;
  {
    StopSignalGuard guard(*run.trainer);
    EXPECT_THROW(StopSignalGuard second(*run.trainer), Error);
    run.trainer->add_batch_hook([](const BatchInfo& b) {
      if (b.epoch == 1 && b.batch == 1) std::raise(SIGINT);
    });
    const TrainResult r = run.trainer->fit(train, nullptr);
    EXPECT_TRUE(r.interrupted);
    EXPECT_EQ(r.epochs_completed, 1);
    EXPECT_EQ(run.batches, 6);
    signal_seen = guard.signal_received();
  }
  EXPECT_EQ(signal_seen, SIGINT);
  EXPECT_TRUE(fs::exists(out + "/checkpoints/last.pt"));
  struct sigaction after;
  sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  EXPECT_FALSE(run.trainer->stop_requested());
}
