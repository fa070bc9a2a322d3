// The supernet's training run (paper 004 §3.2, §4.2; SPOS §3.1): epochs over the training
// loader, one uniformly drawn architecture per step (sample_arch, from a stream of the seed and
// the step), cross-entropy with optional label smoothing, SliceSgd, and the learning rate per step
// (cosine to zero, or step decay by `gamma` every `step_epochs`, paper 004 §4.2: x0.2 every 250 of
// 1000 epochs). The head's dropout mask comes from a stream of the run's seed and the step, so a
// run is fixed by its seed.
//
// Data-parallel (issue 16 §5): with a process group of several ranks, every rank runs this with
// the same loader (same seed: the same global batches) and takes its share of each batch (rows
// [r·n/W, (r+1)·n/W)); BatchNorm is synchronised, the dropout mask drawn for the whole batch,
// each rank's loss weighted by its share and the used slices' gradients summed over the ranks
// (c10d all-reduce) before every rank applies the same update. The result equals one process with
// the whole batch up to float rounding (the sums' order; tested). Only rank 0 writes checkpoints;
// every rank reads the same one on resume (the run folder must be visible to every rank).
//
// Checkpoints: after every epoch, `checkpoint_path` is written atomically (supernet, momentum,
// the next epoch; format cimkit-supernet-v1), and a run started with resume continues from it:
// the resumed run's weights equal the uninterrupted run's bit for bit (tested).
#pragma once
#include <functional>
#include <string>

#include "data/loader.hpp"
#include "dist/process_group.hpp"
#include "nas/spos.hpp"

namespace cimkit::nas {

struct SposTrainOptions {
  int64_t epochs = 1;
  SliceSgdOptions sgd;
  std::string schedule = "cosine";  // cosine | step
  int64_t step_epochs = 250;
  double gamma = 0.2;
  double label_smoothing = 0.0;
  uint64_t seed = 0;
  std::string checkpoint_path;  // empty: no checkpoints
  bool resume = false;
  dist::ProcessGroup* group = nullptr;  // data-parallel over its ranks; null: this process alone
};

struct SposTrainLog {
  int64_t first_epoch = 0;         // 0, or where a resumed run started
  std::vector<double> epoch_loss;  // mean training loss of each epoch run here
};

// Trains `net` on `loader`; `on_epoch(epoch, mean_loss)` is called after each epoch (optional).
SposTrainLog train_supernet(Supernet& net, data::DataLoader& loader, const SposTrainOptions& options,
                            const std::function<void(int64_t, double)>& on_epoch = {});

}  // namespace cimkit::nas
