// The data of a `cimkit run` job, from the validated `data:` section: the training and test sets
// loaded once, a seeded train_limit subset, the first test_limit test images, a seeded
// train/validation split, and their loaders (training: shuffled per epoch, with crop + flip
// augmentation when on; validation and test: in order).
#pragma once
#include <optional>
#include <string>

#include "core/params.hpp"
#include "data/dataset.hpp"
#include "data/loader.hpp"

namespace cimkit::pipeline {

// The `data:` section of a run config.
Schema data_schema();

struct JobData {
  data::DataLoader train;              // shuffled with derive_seed(seed, "data")
  data::DataLoader test;               // in order
  std::optional<data::DataLoader> val;  // in order; none when val_fraction leaves no image
  std::string name;                    // the dataset's name (data.name)
  bool augment = false;                // crop + flip while training
  // One line per limit larger than its set ("note: data.train_limit 99999 is more than the 60000
  // training images of mnist; using all 60000\n"), empty otherwise.
  std::string notes;
  double seconds = 0.0;  // loading and preparing

  int64_t train_size() const { return train.dataset().size(); }
  int64_t val_size() const { return val ? val->dataset().size() : 0; }
  int64_t test_size() const { return test.dataset().size(); }
  // What a model for this data takes: channels, square image size, classes.
  int64_t channels() const { return train.dataset().channels(); }
  int64_t image_size() const { return train.dataset().images.size(2); }
  int64_t n_classes() const { return train.dataset().n_classes; }
};

// Reads the data set's files (the only step of a job that does) and prepares the loaders;
// `train_batch_size` is the trainer's batch size, `seed` the run seed.
JobData prepare_data(const Params& data, int64_t train_batch_size, uint64_t seed);

}  // namespace cimkit::pipeline
