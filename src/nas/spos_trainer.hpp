// The supernet's training run (paper 004 §3.2, §4.2; SPOS §3.1): epochs over the training
// loader, one uniformly drawn architecture per step (sample_arch, from a stream of the seed and
// the step), cross-entropy with optional label smoothing, SliceSgd, and the learning rate per step
// (cosine to zero, or step decay by `gamma` every `step_epochs`, paper 004 §4.2: x0.2 every 250 of
// 1000 epochs). The head's dropout draws from LibTorch's global generator, seeded per step from
// the run's seed, so a run is fixed by its seed.
//
// Checkpoints: after every epoch, `checkpoint_path` is written atomically (supernet, momentum,
// the next epoch; format cimkit-supernet-v1), and a run started with resume continues from it:
// the resumed run's weights equal the uninterrupted run's bit for bit (tested).
#pragma once
#include <functional>
#include <string>

#include "data/loader.hpp"
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
};

struct SposTrainLog {
  int64_t first_epoch = 0;         // 0, or where a resumed run started
  std::vector<double> epoch_loss;  // mean training loss of each epoch run here
};

// Trains `net` on `loader`; `on_epoch(epoch, mean_loss)` is called after each epoch (optional).
SposTrainLog train_supernet(Supernet& net, data::DataLoader& loader, const SposTrainOptions& options,
                            const std::function<void(int64_t, double)>& on_epoch = {});

}  // namespace cimkit::nas
