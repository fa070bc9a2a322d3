// Mini-batches of a Dataset: shuffled, augmented and normalised per batch.
//
// Lifecycle: construct (epoch 0), then per epoch call set_epoch(k) and iterate. The order of
// epoch k comes from derive_seed(seed, "shuffle", k) and its augmentation from
// derive_seed(seed, "augment", k), so a run resumed at epoch k sees exactly the batches of an
// uninterrupted run (bitwise on the CPU). Iterating does not advance the epoch by itself.
#pragma once
#include <torch/torch.h>

#include "data/dataset.hpp"

namespace cimkit::data {

struct Batch {
  torch::Tensor images;  // float32 [B, C, H, W], normalised: (pixel / 255 - mean_c) / std_c
  torch::Tensor labels;  // int64 [B]
};

struct DataLoaderOptions {
  // Samples per batch.
  int64_t batch_size = 128;
  // Reshuffle every epoch (else dataset order).
  bool shuffle = true;
  // Base seed of the shuffle and augmentation streams.
  uint64_t seed = 0;
  // The CIFAR recipe: random 32x32 (HxW) crop of the image zero-padded by 4 pixels, then a
  // horizontal flip with p = 0.5. Padding is black (pixel 0) before normalisation.
  bool augment = false;
  // Drop the last batch when it is smaller than batch_size (else it is kept).
  bool drop_last = false;
  // Where the batches are put.
  torch::Device device = torch::kCPU;
};

class DataLoader {
 public:
  DataLoader(Dataset dataset, DataLoaderOptions options);
  DataLoader(Dataset dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool augment = false);

  // Selects epoch k's order and augmentation draws.
  void set_epoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }

  int64_t n_batches() const;
  // Batch i (0-based) of the current epoch.
  Batch batch(int64_t i) const;
  // Sample order of the current epoch: int64 [N].
  const torch::Tensor& order() const { return order_; }
  const Dataset& dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }

  class Iterator {
   public:
    Iterator(const DataLoader* loader, int64_t i) : loader_(loader), i_(i) {}
    Batch operator*() const { return loader_->batch(i_); }
    Iterator& operator++() { ++i_; return *this; }
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    const DataLoader* loader_;
    int64_t i_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, n_batches()}; }

 private:
  Dataset dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;
  torch::Tensor order_;    // int64 [N]
  torch::Tensor crop_yx_;  // int64 [N, 2], crop offsets in the padded image, per epoch position
  torch::Tensor flip_;     // bool [N], per epoch position
  torch::Tensor mean_, std_;  // float32 [1, C, 1, 1]
};

}  // namespace cimkit::data
