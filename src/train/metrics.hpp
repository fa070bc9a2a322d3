// Per-epoch training metrics, their CSV file and the training-curve plot.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cimkit::train {

// Accuracy and mean cross-entropy (no label smoothing) of a model over a data set.
struct EvalResult {
  double accuracy = 0.0;  // fraction in [0, 1]
  double loss = 0.0;      // mean cross-entropy per sample, nats
  int64_t n_samples = 0;
};

struct EpochMetrics {
  int64_t epoch = 0;          // 1-based: metrics after this many epochs
  double lr = 0.0;            // learning rate of the epoch's last batch
  double train_loss = 0.0;    // mean training cross-entropy per sample (label smoothing included)
  double train_acc = 0.0;     // fraction of training samples classified right, in train mode
  double val_loss = 0.0;      // EvalResult::loss on the validation set; NaN without one
  double val_acc = 0.0;       // NaN without a validation set
  double seconds = 0.0;       // wall time of the epoch's training batches (validation excluded)
  double images_per_s = 0.0;  // training samples / seconds
  // Each extra loss term's mean value per batch (before its weight), in add_loss_term order.
  std::vector<std::pair<std::string, double>> terms;
};

// CSV: header epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds,images_per_s then one
// column per loss term (named by the term); one row per epoch; NaN as "nan". Reals are written
// with the fewest digits that read back exactly. Atomic (tmp + fsync + rename); DataError naming
// `path` on failure.
void write_metrics_csv(const std::string& path, const std::vector<EpochMetrics>& history);

// Two panels side by side: loss (train, val) and accuracy in % (train, val) against epoch.
// Validation series are left out when every value is NaN. DataError for an empty history.
void write_training_curve_png(const std::string& path, const std::vector<EpochMetrics>& history);

// History <-> JSON text (for checkpoints). NaN is stored as null.
std::string history_to_json(const std::vector<EpochMetrics>& history);
// DataError naming `file` when the text is not a history.
std::vector<EpochMetrics> history_from_json(const std::string& text, const std::string& file);

}  // namespace cimkit::train
