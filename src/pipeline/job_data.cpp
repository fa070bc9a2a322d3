#include "pipeline/job_data.hpp"

#include <fmt/format.h>

#include <chrono>
#include <tuple>
#include <vector>

#include "core/rng.hpp"

namespace cimkit::pipeline {
namespace {

// A seeded random subset of `limit` samples (order kept), or the whole set.
data::Dataset limit_random(const data::Dataset& d, int64_t limit, uint64_t seed) {
  if (limit <= 0 || limit >= d.size()) return d;
  auto g = make_generator(derive_seed(seed, "train_limit"));
  torch::Tensor idx = std::get<0>(torch::randperm(d.size(), g, torch::kInt64).slice(0, 0, limit).sort());
  return d.subset(idx);
}

data::Dataset limit_first(const data::Dataset& d, int64_t limit) {
  if (limit <= 0 || limit >= d.size()) return d;
  return d.subset(torch::arange(limit, torch::kInt64));
}

}  // namespace

Schema data_schema() {
  Schema s("data", "The dataset the job trains and evaluates on.");
  s.choice("name", data::dataset_names(), "Dataset").def(std::string("fashion_mnist"));
  s.string("dir", "Directory of the dataset files (empty: the default location, e.g. "
                  "/usr/share/datasets/fashion-mnist for Debian's dataset-fashion-mnist)")
      .def(std::string(""));
  s.real("val_fraction", "Fraction of the (limited) training set held out for validation, split with the run seed")
      .range(0.0, 0.9).def(0.1);
  s.integer("train_limit", "Use a seeded random subset of this many training images (0: all)").at_least(0).def(int64_t{0});
  s.integer("test_limit", "Evaluate on the first this many test images (0: all)").at_least(0).def(int64_t{0});
  s.choice("augment", {"auto", "on", "off"}, "Random crop + flip while training (auto: on for CIFAR, off otherwise)")
      .def(std::string("auto"));
  s.integer("eval_batch_size", "Images per batch when evaluating (digital and on the chip)").range(1, 65536).def(int64_t{256});
  return s;
}

JobData prepare_data(const Params& dp, int64_t train_batch_size, uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string dname = dp.get_string("name");
  data::Dataset train_all = data::load_dataset(dname, dp.get_string("dir"), true);
  const data::Dataset test_all = data::load_dataset(dname, dp.get_string("dir"), false);
  std::string notes;  // a limit beyond the set's size uses the whole set, and says so
  const std::vector<std::tuple<std::string, std::string, int64_t>> limits = {
      {"train_limit", "training", train_all.size()}, {"test_limit", "test", test_all.size()}};
  for (const auto& [key, part, n] : limits) {
    if (dp.get_int(key) > n) {
      notes += fmt::format("note: data.{} {} is more than the {} {} images of {}; using all {}\n", key,
                           dp.get_int(key), n, part, dname, n);
    }
  }
  data::Dataset test = limit_first(test_all, dp.get_int("test_limit"));
  train_all = limit_random(train_all, dp.get_int("train_limit"), seed);
  data::SplitResult parts = data::split(train_all, dp.get_real("val_fraction"), seed);
  const std::string aug = dp.get_string("augment");
  const bool augment = aug == "on" || (aug == "auto" && dname.rfind("cifar", 0) == 0);
  data::DataLoaderOptions lo;
  lo.batch_size = train_batch_size;
  lo.shuffle = true;
  lo.seed = derive_seed(seed, "data");
  lo.augment = augment;
  data::DataLoaderOptions eo;
  eo.batch_size = dp.get_int("eval_batch_size");
  eo.shuffle = false;
  JobData d{data::DataLoader(parts.train, lo), data::DataLoader(test, eo), std::nullopt, dname, augment, notes, 0.0};
  if (parts.val.size() > 0) d.val.emplace(parts.val, eo);
  d.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return d;
}

}  // namespace cimkit::pipeline
