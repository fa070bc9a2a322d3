#include "data/loader.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"

namespace cimkit::data {
namespace {
constexpr int64_t kPad = 4;  // CIFAR augmentation padding, pixels per side
}

DataLoader::DataLoader(Dataset dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  if (options_.batch_size <= 0)
    throw Error("DataLoader: batch_size must be positive, got " + std::to_string(options_.batch_size));
  if (!dataset_.images.defined() || dataset_.images.dim() != 4 || dataset_.images.scalar_type() != torch::kUInt8)
    throw ShapeError("DataLoader: dataset images must be uint8 [N, C, H, W]");
  const int64_t c = dataset_.channels();
  if (static_cast<int64_t>(dataset_.norm_mean.size()) != c || static_cast<int64_t>(dataset_.norm_std.size()) != c)
    throw ShapeError("DataLoader: dataset '" + dataset_.name + "' needs one normalisation mean and std per channel (" +
                     std::to_string(c) + ")");
  mean_ = torch::tensor(dataset_.norm_mean, torch::kFloat64).to(torch::kFloat32).view({1, c, 1, 1});
  std_ = torch::tensor(dataset_.norm_std, torch::kFloat64).to(torch::kFloat32).view({1, c, 1, 1});
  set_epoch(0);
}

DataLoader::DataLoader(Dataset dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool augment)
    : DataLoader(std::move(dataset), [&] {
        DataLoaderOptions o;
        o.batch_size = batch_size;
        o.shuffle = shuffle;
        o.seed = seed;
        o.augment = augment;
        return o;
      }()) {}

void DataLoader::set_epoch(int64_t epoch) {
  epoch_ = epoch;
  const int64_t n = dataset_.size();
  const auto e = static_cast<uint64_t>(epoch);
  if (options_.shuffle) {
    auto g = make_generator(derive_seed(options_.seed, "shuffle", e));
    order_ = torch::randperm(n, g, torch::kInt64);
  } else {
    order_ = torch::arange(n, torch::kInt64);
  }
  if (options_.augment) {
    auto g = make_generator(derive_seed(options_.seed, "augment", e));
    crop_yx_ = torch::randint(0, 2 * kPad + 1, {n, 2}, g, torch::kInt64);
    flip_ = torch::rand({n}, g) < 0.5;
  }
}

int64_t DataLoader::n_batches() const {
  const int64_t n = dataset_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

Batch DataLoader::batch(int64_t i) const {
  if (i < 0 || i >= n_batches())
    throw Error("DataLoader: batch " + std::to_string(i) + " out of range [0, " + std::to_string(n_batches()) + ")");
  const int64_t start = i * options_.batch_size;
  const int64_t stop = std::min(start + options_.batch_size, dataset_.size());
  const torch::Tensor idx = order_.slice(0, start, stop);
  torch::Tensor x = dataset_.images.index_select(0, idx).to(torch::kFloat32);  // [B, C, H, W]
  if (options_.augment) {
    const int64_t h = x.size(2), w = x.size(3);
    const torch::Tensor padded = torch::constant_pad_nd(x, {kPad, kPad, kPad, kPad}, 0.0);
    const auto yx = crop_yx_.slice(0, start, stop).contiguous();
    const auto flip = flip_.slice(0, start, stop).contiguous();
    const int64_t* off = yx.data_ptr<int64_t>();
    const bool* fl = flip.data_ptr<bool>();
    std::vector<torch::Tensor> out;
    out.reserve(stop - start);
    for (int64_t k = 0; k < stop - start; ++k) {
      torch::Tensor img = padded[k].narrow(1, off[2 * k], h).narrow(2, off[2 * k + 1], w);
      out.push_back(fl[k] ? img.flip({2}) : img);
    }
    x = torch::stack(out);
  }
  x = (x / 255.0f - mean_) / std_;
  return {x.to(options_.device), dataset_.labels.index_select(0, idx).to(options_.device)};
}

}  // namespace cimkit::data
