// Training checkpoints (torch::serialize archives).
//
// last.pt (format "cimkit.train.last", version 1) holds, at the top level, the model's parameters
// and buffers exactly as Module::save writes them (so torch::load(model, "last.pt") also works),
// and beside them:
//   cimkit_format          string  "cimkit.train.last"
//   cimkit_format_version  int     1
//   cimkit_fingerprint     string  JSON [[key, value], ...]: train.* keys that fix the
//                                  trajectory, seed, train_samples, batches_per_epoch,
//                                  loader.seed/shuffle/augment
//   cimkit_position        string  JSON: epoch (0-based, to run or continue), next_batch, the
//                                  running sums of a partly trained epoch, best val accuracy
//   cimkit_history         string  JSON of the per-epoch metrics
//   cimkit_optimizer       archive Optimizer::save
//   cimkit_rng_cpu         tensor  the default CPU generator's state (uint8)
//   cimkit_rng_device      tensor  the CUDA default generator's state (CUDA runs only)
// best.pt (format "cimkit.train.best") holds the model and cimkit_format, cimkit_epoch,
// cimkit_val_acc.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "train/metrics.hpp"

namespace cimkit::train {

inline constexpr int64_t kCheckpointVersion = 1;
inline constexpr const char* kLastFormat = "cimkit.train.last";
inline constexpr const char* kBestFormat = "cimkit.train.best";

using Fingerprint = std::vector<std::pair<std::string, std::string>>;

// Where a run stands: the next batch to train and the running sums of its epoch.
struct Position {
  int64_t epoch = 0;       // 0-based epoch to run (== epochs when training is complete)
  int64_t next_batch = 0;  // first batch of `epoch` not yet trained
  double loss_sum = 0.0;   // Σ batch cross-entropy × batch size over the epoch's trained batches
  int64_t n_correct = 0;
  int64_t n_seen = 0;                                     // samples trained this epoch
  int64_t n_batches = 0;                                  // batches trained this epoch
  std::vector<std::pair<std::string, double>> term_sums;  // Σ of each loss term's batch values
  double seconds = 0.0;                                   // training time of the epoch so far
  double lr = 0.0;                                        // learning rate of the last trained batch
  double best_val_acc = -1.0;                             // -1: no validation yet
  int64_t best_epoch = 0;
};

struct LastCheckpoint {
  Fingerprint fingerprint;
  Position position;
  std::vector<EpochMetrics> history;
  torch::Tensor rng_cpu;     // uint8 CPU tensor
  torch::Tensor rng_device;  // undefined unless written on CUDA
};

// Writes last.pt atomically (tmp, fsync, rename).
void save_last_checkpoint(const std::string& path, const torch::nn::Module& model,
                          const torch::optim::Optimizer& optimizer, const LastCheckpoint& state);

// Reads `path` onto `device`. DataError naming the file for a missing, unreadable or corrupt
// file (one whose zip records fail their CRC-32 checks included), a tensor holding NaN or
// infinity (named), another format or version, or a fingerprint that differs in any key of `expected`
// (naming the key and both values). Only then are the model's tensors (every parameter and buffer
// present with its shape and dtype, or DataError before anything changes) and the optimizer's
// state replaced.
LastCheckpoint load_last_checkpoint(const std::string& path, torch::nn::Module& model,
                                    torch::optim::Optimizer& optimizer, const Fingerprint& expected,
                                    const torch::Device& device);

void save_best_checkpoint(const std::string& path, const torch::nn::Module& model, int64_t epoch,
                          double val_acc);

// DataError naming the file when it is missing, not a regular file, not a zip archive, or fails
// its CRC-32 checks; cheap enough to call before a resume touches anything.
void verify_checkpoint_file(const std::string& path);

// Copies the parameters and buffers stored in a best.pt or last.pt (or any Module::save archive)
// into `model`, all or nothing. DataError naming the file otherwise.
void load_model_weights(const std::string& path, torch::nn::Module& model);

// The first key of `expected` whose value differs in (or is missing from) `found`, as a message
// naming the key and both values; "" when all match. Keys only in `found` are not compared.
std::string fingerprint_mismatch(const Fingerprint& expected, const Fingerprint& found);

}  // namespace cimkit::train
