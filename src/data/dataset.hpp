// Image-classification datasets held in memory as bytes, and their loaders.
//
// A Dataset keeps pixels as uint8 [N, C, H, W] (a quarter of the memory of float32; the
// DataLoader converts and normalises per batch) and labels as int64 [N] in [0, n_classes).
// Loaders read the files as distributed, gzipped or not, and throw DataError naming the file
// and what was expected for anything missing, truncated or corrupt.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cimkit::data {

struct Dataset {
  std::string name;             // "fashion_mnist", "mnist", "cifar10", "cifar100"
  torch::Tensor images;         // uint8 [N, C, H, W]
  torch::Tensor labels;         // int64 [N]
  int64_t n_classes = 0;
  std::vector<double> norm_mean;  // per channel, pixel scale [0, 1]
  std::vector<double> norm_std;   // per channel, pixel scale [0, 1]

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  // The samples at `indices` (int64 [M]), same metadata.
  Dataset subset(const torch::Tensor& indices) const;
};

// Normalisation constants: commonly used values, computed over each training set.
struct Normalisation {
  std::vector<double> mean, std;
};
Normalisation normalisation_for(const std::string& name);  // Error for an unknown name

// MNIST or Fashion-MNIST (same IDX layout): {train,t10k}-{images-idx3,labels-idx1}-ubyte, each
// plain or with ".gz". Images uint8 [N, 1, 28, 28], labels in 0..9. `name` picks the
// normalisation ("mnist" or "fashion_mnist").
Dataset load_mnist_like(const std::string& dir, bool train, const std::string& name);

// CIFAR-10, binary version: data_batch_1..5.bin (train) or test_batch.bin, in `dir` or in its
// subdirectory cifar-10-batches-bin. Records: 1 label byte + 3072 pixel bytes (R, G, B planes of
// 32x32, row-major). Any whole number of records per file is accepted (the release has 10000).
Dataset load_cifar10(const std::string& dir, bool train);

// CIFAR-100, binary version: train.bin or test.bin, in `dir` or cifar-100-binary. Records:
// coarse label byte (0..19), fine label byte (0..99), 3072 pixel bytes. `fine` picks the label.
Dataset load_cifar100(const std::string& dir, bool train, bool fine = true);

// The built-in dataset names: fashion_mnist, mnist, cifar10, cifar100.
const std::vector<std::string>& dataset_names();

// Where a dataset is looked for when no directory is given: /usr/share/datasets/fashion-mnist
// (Debian's dataset-fashion-mnist), /usr/share/datasets/{mnist,cifar-10,cifar-100}.
std::string default_data_dir(const std::string& name);

// Whether every file load_dataset(name, dir) reads is present (IDX sets: plain or .gz; CIFAR: in
// `dir` or the release's subdirectory). `dir` empty: default_data_dir(name). Nothing is read.
bool dataset_files_present(const std::string& name, const std::string& dir = "");

// Loads `name` from `dir` (default_data_dir(name) when empty). Error with a did-you-mean for an
// unknown name.
Dataset load_dataset(const std::string& name, const std::string& dir, bool train);

struct SplitResult {
  Dataset train, val;
};

// A seeded train/validation split: a permutation from derive_seed(seed, "split") puts
// round(val_fraction * N) samples in `val`, the rest in `train`; each part keeps the original
// sample order. Deterministic, disjoint and covering. val_fraction in [0, 1].
SplitResult split(const Dataset& dataset, double val_fraction, uint64_t seed);

}  // namespace cimkit::data
