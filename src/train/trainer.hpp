// Supervised classification training of a cimkit::nn::Network.
//
// Per batch: lr(step) (options.hpp) → forward → cross-entropy (label smoothing ε) + Σ weight·term()
// of the extra loss terms → backward → optional clipping of the global gradient L2 norm → SGD or
// Adam step. Per epoch: train.set_epoch(e) (the loader's order and augmentation depend only on
// the seed and e), validation (evaluate), metrics, checkpoints and the training-curve plot.
//
// Files under the output directory (none when it is empty):
//   checkpoints/last.pt      every epoch end and on a stop; resume() continues from it
//   checkpoints/best.pt      the model at the best validation accuracy so far
//   metrics.csv              the history, rewritten every epoch
//   plots/training_curve.png loss and accuracy per epoch
// All are written atomically (tmp file, fsync, rename). Checkpoint layout: checkpoint.hpp.
//
// Determinism: a fresh fit() seeds LibTorch's global generators with
// torch::manual_seed(derive_seed(seed, "train")); a resumed one restores their state from the
// checkpoint. On the CPU a run resumed from an epoch end, or from a mid-epoch stop, ends with
// bitwise the same parameters as an uninterrupted run (given the same thread count). Loss terms
// and hooks must not draw from the global generators for that to hold.
#pragma once
#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "data/loader.hpp"
#include "nn/analog.hpp"
#include "train/checkpoint.hpp"
#include "train/metrics.hpp"
#include "train/options.hpp"

namespace cimkit::train {

// What a batch hook sees after each optimiser step.
struct BatchInfo {
  int64_t epoch = 0;      // 0-based
  int64_t batch = 0;      // 0-based index of the batch just trained
  int64_t n_batches = 0;  // batches per epoch
  int64_t step = 0;       // global step epoch·n_batches + batch
  double lr = 0.0;
  double loss = 0.0;  // this batch's cross-entropy
};

struct TrainResult {
  std::vector<EpochMetrics> history;
  bool interrupted = false;  // request_stop() ended fit() before the last epoch
  int64_t epochs_completed = 0;
  double best_val_acc = NAN;  // NaN without validation
  int64_t best_epoch = 0;     // 1-based; 0 without validation
};

class Trainer {
 public:
  // Moves `model` to `device` and builds the optimiser over its parameters. `out_dir` empty:
  // no files.
  Trainer(std::shared_ptr<nn::Network> model, TrainOptions options, uint64_t seed,
          torch::Device device = torch::kCPU, std::string out_dir = "");

  // An extra loss term `weight · term()` added to the cross-entropy of every batch (term() must
  // return a scalar tensor connected to the parameters it regularises). Its mean per batch is
  // recorded as the metrics column `name` ([A-Za-z0-9_]+, unique, not a standard column).
  // Add terms before fit().
  void add_loss_term(const std::string& name, std::function<torch::Tensor()> term, double weight);
  // An extra pass on every batch, after the loss's backward and before the optimiser step, so
  // its gradients add to the batch's (paper 003's BitAug, eq. 8-10): pass(images, labels, info)
  // runs its own forward and backward and returns a value whose mean per batch is recorded as
  // the metrics column `name` (the same rules as a loss term's name). Add passes before fit().
  using ExtraPass = std::function<double(const torch::Tensor&, const torch::Tensor&, const BatchInfo&)>;
  void add_extra_pass(const std::string& name, ExtraPass pass);
  // Called after each epoch's metrics and checkpoint are written.
  void add_epoch_hook(std::function<void(const EpochMetrics&)> hook);
  // Called after every batch's optimiser step, before the stop flag is polled.
  void add_batch_hook(std::function<void(const BatchInfo&)> hook);
  // Where progress goes (default std::cerr, is_tty = isatty(2)); nullptr prints nothing.
  void set_progress_stream(std::ostream* os, bool is_tty);

  // Loads a last.pt: model, optimiser, position, history and generator states (applied when
  // fit() starts). DataError naming the file when it is missing or corrupt, or when it was
  // written with other options or seed (naming the key).
  void resume(const std::string& path);

  // Trains from the current position to options.epochs. Error when the training loader's batch
  // size differs from options.batch_size or it has no batch; DataError when the data set does
  // not match a resumed checkpoint. After an interrupted fit(), calling fit() again continues.
  TrainResult fit(data::DataLoader& train, data::DataLoader* val = nullptr);

  // Accuracy and mean cross-entropy over the loader's current epoch order (its first
  // max_batches batches; -1 = all), in eval mode without gradients; restores the model's
  // train/eval mode. Batches go to the device of the model's first parameter.
  static EvalResult evaluate(nn::Network& model, data::DataLoader& data, int64_t max_batches = -1);

  // Asks fit() to stop after the current batch, write last.pt and return with interrupted =
  // true. Async-signal-safe (a lock-free atomic store); callable from any thread.
  void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }

  const std::vector<EpochMetrics>& history() const { return history_; }
  const TrainOptions& options() const { return options_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  const std::string& out_dir() const { return out_dir_; }
  // "<out>/checkpoints/last.pt" and ".../best.pt" ("" without an output directory).
  std::string last_checkpoint_path() const;
  std::string best_checkpoint_path() const;

  // Copies the weights in a best.pt or last.pt into `model` (all or nothing; DataError naming
  // the file otherwise).
  static void load_weights(nn::Network& model, const std::string& path);

 private:
  struct Term {
    std::string name;
    std::function<torch::Tensor()> fn;  // a loss term, or
    double weight;
    ExtraPass pass;                     // an extra pass
  };
  void check_term_name(const std::string& name) const;
  // Options and seed; the training data set and loader settings (checked when fit() starts).
  Fingerprint run_fingerprint() const;
  static Fingerprint data_fingerprint(const data::DataLoader& train);
  LastCheckpoint snapshot(const Fingerprint& data_fp) const;
  void write_last(const Fingerprint& data_fp);
  void reset_epoch_sums();
  void set_lr(double lr);
  EpochMetrics finish_epoch(data::DataLoader* val);

  std::shared_ptr<nn::Network> model_;
  TrainOptions options_;
  uint64_t seed_;
  torch::Device device_;
  std::string out_dir_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<Term> terms_;
  std::vector<std::function<void(const EpochMetrics&)>> epoch_hooks_;
  std::vector<std::function<void(const BatchInfo&)>> batch_hooks_;
  std::ostream* progress_os_;
  bool progress_tty_;

  std::atomic<bool> stop_{false};
  bool started_ = false;  // fit() has trained at least one batch or a checkpoint was loaded
  Position pos_;
  std::vector<EpochMetrics> history_;
  std::optional<LastCheckpoint> pending_;  // generator states (and data checks) to apply in fit()
  std::string resumed_from_;               // the checkpoint pending_ came from, for error messages
};

}  // namespace cimkit::train
