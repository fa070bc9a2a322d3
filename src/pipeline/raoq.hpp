// Paper 003's RAOQ recipe (Algorithm 1, App. I-J) as stages of `cimkit run` (the `raoq:`
// section):
//   QAT stage   the run's own training (`train:`, quantised mode, LSQ+ in the paper) with the
//               W-reshape term λ_κ·Σ c_l·κ_l (train/kurtosis.hpp); no ADC.
//   RAOQ stage  `raoq.epochs` more in analog mode with the ADC in the loop (the `train:`
//               section's adc_model; `tile` is eq. 2-3), on the run's chip, whose
//               crossbar.a_shift is A-shift (eq. 4-5); BitAug's second pass (train/bitaug.hpp)
//               and ADC-LoRA with its warm-up (train/adc_lora.hpp) when enabled. Its files are
//               under <run>/raoq/ (checkpoints, metrics), resumable like the run.
// Every mechanism off is "vanilla QAT with the ADC in the loop" (paper 003's QAT* columns).
// weight_shape.csv logs κ and Var[W̄] per layer after every epoch of both stages.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/params.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_data.hpp"
#include "train/adc_lora.hpp"
#include "train/kurtosis.hpp"

namespace cimkit::pipeline {

struct RaoqOptions {
  bool enabled = false;
  int64_t epochs = 5;  // the RAOQ stage
  double lr = 1e-3;
  train::KurtosisOptions kurtosis;  // the QAT stage's W-reshape (lambda 0: off)
  bool bitaug = false;
  std::vector<int> bitaug_offsets{-1, 1, 2};
  bool lora = false;
  train::LoraOptions lora_options;
  static Schema schema();
  static RaoqOptions from_params(const Params& p);
};

struct RaoqOutcome {
  double accuracy_no_adc = 0;  // quantised mode (no ADC) on the held-out split, before the stage
  double accuracy_adc = 0;     // the last epoch's validation accuracy on the chip (NaN without a validation split)
  std::vector<train::EpochMetrics> history;
  std::vector<train::WeightShape> shape_before, shape_after;
  std::vector<std::string> lora_layers;
  int64_t parameters = 0, trainable = 0;  // the stage's trainable parameters (ADC-LoRA: fewer)
  std::vector<double> warmup_mse;         // eq. 12 per warm-up step (empty when resumed or off)
  bool interrupted = false;
  double seconds = 0;
  nlohmann::json to_json() const;
  std::string summary() const;
};

// The QAT stage's additions to a trainer: the W-reshape term (when λ_κ > 0) and the per-epoch
// weight-shape log (`csv` empty: none). Call from TrainingSettings::configure.
void add_qat_stage_terms(train::Trainer& trainer, nn::Network& net, const RaoqOptions& options, const std::string& csv,
                         const std::string& stage);

// The RAOQ stage on jm's network (in place). `base`: the run's training options (batch size,
// optimiser, schedule); settings.out_dir the stage's folder, settings.resume_from its last.pt.
RaoqOutcome run_raoq(JobModel& jm, JobData& jd, const RaoqOptions& options, const train::TrainOptions& base,
                     uint64_t seed, const TrainingSettings& settings, const std::string& shape_csv);

}  // namespace cimkit::pipeline
