// The model and the training of a `cimkit run` job: the zoo model for the job's data, the analog
// context from the chip and the `train:` section's analog settings, an optional pretrained
// state_dict, then Trainer::fit in train.mode (resumable, stoppable by SIGINT/SIGTERM).
#pragma once
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "crossbar/chip.hpp"
#include "mapping/network.hpp"
#include "nn/analog.hpp"
#include "nn/zoo.hpp"
#include "pipeline/job_data.hpp"
#include "train/metrics.hpp"
#include "train/options.hpp"
#include "train/trainer.hpp"

namespace cimkit::pipeline {

// The `train:` section: the trainer's keys plus the layer mode trained in and its analog settings.
Schema train_schema();

struct JobModel {
  nn::ZooOptions zoo;  // in_channels, image_size, n_classes from the data
  std::shared_ptr<nn::Network> net;
  std::shared_ptr<nn::AnalogContext> ctx;  // set on every layer
  nn::LayerMode train_mode = nn::LayerMode::Quantised;  // the network's mode on return
  std::string pretrained;  // "<file>: <import summary>" when train.pretrained was loaded, else ""
  // The input of one image (channels × image_size × image_size), for trace_network.
  mapping::TensorShape input_shape() const { return {zoo.in_channels, zoo.image_size, zoo.image_size}; }
};

// Builds the model of the `model:` section (weights initialised from derive_seed(seed,
// "model_init")) on a context of `chip` at `operating`, with the analog training settings and the
// pretrained weights of the `train:` section.
JobModel build_model(const Params& model, const Params& train, const JobData& data,
                     std::shared_ptr<const Chip> chip, const OperatingConditions& operating, uint64_t seed);

struct TrainingSettings {
  std::string out_dir;        // run folder for checkpoints, metrics and plots ("" : no files)
  std::string resume_from;    // a checkpoints/last.pt to continue ("" : a fresh start)
  std::ostream* progress = &std::cerr;  // Trainer::set_progress_stream; nullptr: silent
  bool progress_tty = false;
  bool stop_on_signals = true;  // SIGINT / SIGTERM stop training after a checkpoint
  // Called right before fit() starts (after a resume was loaded), only when there are epochs.
  std::function<void()> on_start;
  // Called on the trainer before a resume is loaded: extra loss terms and hooks (the
  // pretraining's regularisers).
  std::function<void(train::Trainer&)> configure;
};

struct TrainingOutcome {
  std::vector<train::EpochMetrics> history;  // every epoch of the run, earlier sessions included
  size_t epochs_before = 0;                   // epochs trained before this session (resume)
  bool interrupted = false;                   // stopped by a signal; last.pt was written
  double seconds = 0.0;
};

// Trains `model.net` (in its train_mode) on data.train, validating on data.val, for
// options.epochs (0: nothing is trained, a resume only loads the history).
TrainingOutcome train_model(JobModel& model, JobData& data, const train::TrainOptions& options, uint64_t seed,
                            const TrainingSettings& settings);

}  // namespace cimkit::pipeline
