// Paper 000's thermal-aware pretraining (§III.B, eq. 2–5; issue 14 §1), the `pretrain:` stage of
// `cimkit run` and `cimkit search`. From the trained network, each analog layer's weight becomes
// its bit representation (nn/bit_weights.hpp) at weight_bits − 1 magnitude bits, started at the
// layer's own quantisation (paper 000: from an 8-bit model). The network then trains in float
// mode through the representations with L = L_CE + α·L_GL + β·L_skewed (eq. 5;
// train/thermal_regularisers.hpp), the planes clamped to [0, 2] after every step (BSQ). At the end
// the represented weights are written back: the weight parameter takes w and the weight
// quantiser's learned step takes s / (2^n − 1), so the quantised network holds exactly the
// trained codes (lsq and lsqplus quantisers; a minmax quantiser recomputes its scale), and the
// representations are removed.
//
// `method: bsq` is the BSQ baseline (Yang et al., ICLR 2021; algorithms.md §2, issue 14 §3) on the
// same machinery: group lasso only, and every `requantize_every` epochs and at the end BSQ's
// re-quantisation and precision adjustment, so each layer ends with its own weight bits.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "core/params.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_data.hpp"
#include "train/thermal_regularisers.hpp"

namespace cimkit::pipeline {

struct PretrainOptions {
  bool enabled = false;
  int64_t epochs = 2;
  double lr = 1e-2;
  std::string optimizer = "sgd";
  double alpha = 1e-5;   // group lasso (paper 000 §IV.A)
  double beta = 0.0015;  // skewed L2 (paper 000 §IV.A)
  std::string method = "thermal";  // "thermal" | "bsq"
  int64_t requantize_every = 1;    // bsq: epochs between re-quantisations
  double threshold = 0.0;          // bsq: precision adjustment's threshold
  int max_bits = 7;                // bsq: magnitude bits at most
  int64_t finetune_epochs = 0;     // QAT at the resulting bits afterwards (BSQ's fixed-scheme fine-tune)
  static Schema schema();
  static PretrainOptions from_params(const Params& p);
};

struct PretrainOutcome {
  train::BitStats before, after;  // paper 000 Fig. 4: bit sparsity and Σ|w|
  double accuracy_before = 0, accuracy_after = 0;  // quantised mode, on the validation split (else test)
  double accuracy_rounded = 0;  // the same straight after the codes are written back (before any fine-tune)
  std::vector<int> layer_bits;                      // each layer's weight bits at the end
  std::vector<train::EpochMetrics> history;
  bool interrupted = false;
  double seconds = 0;
  nlohmann::json to_json() const;
  std::string summary() const;
};

// Pretrains jm's network in place. `base` gives the batch size and the optimiser's other
// settings; `settings.out_dir` (when set) receives the stage's checkpoints and metrics, and
// `histogram_png` (when set) the weight histograms before and after.
PretrainOutcome pretrain(JobModel& jm, JobData& jd, const PretrainOptions& options, const train::TrainOptions& base,
                         uint64_t seed, const TrainingSettings& settings, const std::string& histogram_png = "");

}  // namespace cimkit::pipeline
