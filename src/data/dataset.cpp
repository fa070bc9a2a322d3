#include "data/dataset.hpp"

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "data/file_bytes.hpp"
#include "data/idx.hpp"

namespace cimkit::data {

Dataset Dataset::subset(const torch::Tensor& indices) const {
  Dataset out = *this;
  out.images = images.index_select(0, indices);
  out.labels = labels.index_select(0, indices);
  return out;
}

Normalisation normalisation_for(const std::string& name) {
  // Commonly used values, computed over the training set of each dataset (pixels in [0, 1]).
  if (name == "mnist") return {{0.1307}, {0.3081}};
  if (name == "fashion_mnist") return {{0.2860}, {0.3530}};
  if (name == "cifar10") return {{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
  if (name == "cifar100") return {{0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}};
  throw Error("no normalisation constants for dataset '" + name + "'; known: " + join(dataset_names()));
}

namespace {

std::string require_file(const std::string& dir, const std::string& file,
                         const std::vector<std::string>& expected, const std::string& what) {
  const std::string path = (std::filesystem::path(dir) / file).string();
  const std::string found = find_plain_or_gz(path);
  if (found.empty())
    throw DataError(path, "file not found (also tried " + file + ".gz); " + what + " expects in " +
                              dir + ": " + join(expected) + " (each plain or .gz)");
  return found;
}

}  // namespace

Dataset load_mnist_like(const std::string& dir, bool train, const std::string& name) {
  const std::vector<std::string> expected = {
      "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
      "t10k-labels-idx1-ubyte"};
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw DataError(dir, name + " directory not found; expected it to hold " + join(expected) +
                             " (each plain or .gz)");
  const std::string prefix = train ? "train" : "t10k";
  const std::string img_path = require_file(dir, prefix + "-images-idx3-ubyte", expected, name);
  const std::string lbl_path = require_file(dir, prefix + "-labels-idx1-ubyte", expected, name);
  Dataset d;
  d.name = name;
  d.n_classes = 10;
  d.images = read_idx_images(img_path);
  if (d.images.size(2) != 28 || d.images.size(3) != 28)
    throw DataError(img_path, name + " images must be 28x28, found " +
                                  std::to_string(d.images.size(2)) + "x" + std::to_string(d.images.size(3)));
  d.labels = read_idx_labels(lbl_path);
  if (d.labels.size(0) != d.images.size(0))
    throw DataError(lbl_path, "holds " + std::to_string(d.labels.size(0)) + " labels but " + img_path +
                                  " holds " + std::to_string(d.images.size(0)) + " images; expected equal counts");
  const torch::Tensor bad = (d.labels >= d.n_classes).nonzero();  // [k, 1]
  if (bad.size(0) > 0) {
    const int64_t i = bad[0][0].item<int64_t>();
    throw DataError(lbl_path, "label " + std::to_string(d.labels[i].item<int64_t>()) + " at index " +
                                  std::to_string(i) + " is out of range; expected 0.." +
                                  std::to_string(d.n_classes - 1));
  }
  const Normalisation norm = normalisation_for(name);
  d.norm_mean = norm.mean;
  d.norm_std = norm.std;
  return d;
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"fashion_mnist", "mnist", "cifar10", "cifar100"};
  return names;
}

namespace {
void check_name(const std::string& name) {
  for (const auto& n : dataset_names())
    if (n == name) return;
  std::string msg = "unknown dataset '" + name + "'";
  const std::string hint = did_you_mean(name, dataset_names());
  if (!hint.empty()) msg += "; did you mean '" + hint + "'?";
  throw Error(msg + "; known: " + join(dataset_names()));
}
}  // namespace

std::string default_data_dir(const std::string& name) {
  check_name(name);
  if (name == "fashion_mnist") return "/usr/share/datasets/fashion-mnist";
  if (name == "mnist") return "/usr/share/datasets/mnist";
  if (name == "cifar10") return "/usr/share/datasets/cifar-10";
  return "/usr/share/datasets/cifar-100";
}

bool dataset_files_present(const std::string& name, const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path d = dir.empty() ? default_data_dir(name) : dir;
  std::error_code ec;
  auto all_in = [&](const fs::path& where, const std::vector<std::string>& files, bool gz) {
    for (const auto& f : files) {
      const fs::path p = where / f;
      if (gz ? find_plain_or_gz(p.string()).empty() : !fs::is_regular_file(p, ec)) return false;
    }
    return true;
  };
  if (name == "cifar10") {
    const std::vector<std::string> files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                            "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    return all_in(d, files, false) || all_in(d / "cifar-10-batches-bin", files, false);
  }
  if (name == "cifar100") {
    return all_in(d, {"train.bin", "test.bin"}, false) || all_in(d / "cifar-100-binary", {"train.bin", "test.bin"}, false);
  }
  return all_in(d, {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                    "t10k-labels-idx1-ubyte"}, true);
}

Dataset load_dataset(const std::string& name, const std::string& dir, bool train) {
  check_name(name);
  const std::string d = dir.empty() ? default_data_dir(name) : dir;
  if (name == "cifar10") return load_cifar10(d, train);
  if (name == "cifar100") return load_cifar100(d, train);
  return load_mnist_like(d, train, name);
}

SplitResult split(const Dataset& dataset, double val_fraction, uint64_t seed) {
  if (!(val_fraction >= 0.0 && val_fraction <= 1.0))
    throw Error("split: val_fraction must be in [0, 1], got " + format_double(val_fraction));
  const int64_t n = dataset.size();
  const int64_t n_val = static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(n)));
  auto g = make_generator(derive_seed(seed, "split"));
  const torch::Tensor perm = torch::randperm(n, g, torch::kInt64);
  const torch::Tensor val_idx = std::get<0>(perm.slice(0, 0, n_val).sort());
  const torch::Tensor train_idx = std::get<0>(perm.slice(0, n_val, n).sort());
  return {dataset.subset(train_idx), dataset.subset(val_idx)};
}

}  // namespace cimkit::data
