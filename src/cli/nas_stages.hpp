// The stages of `cimkit nas` (nas_job.hpp), each continuing from its own checkpoint when the run
// resumes. Every rank of a distributed run calls them in the same order with the same setup.
#pragma once
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/job_sections.hpp"
#include "cli/run_config.hpp"
#include "dist/process_group.hpp"
#include "nas/arch_eval.hpp"
#include "nas/evolve.hpp"
#include "nas/mixed_precision.hpp"
#include "nas/settings.hpp"
#include "nas/subnet.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_data.hpp"
#include "train/options.hpp"

namespace cimkit::cli {

struct NasSetup {
  std::string config, out;
  RunConfig rc;
  JobSections js;
  nas::NasSettings ns;
  train::TrainOptions topt;
  int threads = 1;
  std::optional<pipeline::JobData> jd;
  nn::ZooOptions zoo;  // how subnets build their layers (model:, shape from the data)
  std::string fingerprint;                         // the whole run (every rank must have the same)
  std::string arch_fingerprint, chip_fingerprint;  // what each search's checkpoint must match
  dist::ProcessGroup* group = nullptr;  // not owned; null in one process
  bool writer = true;                   // rank 0: writes OUT
  bool resume = false;
  // The validation images the candidates are scored on (normalised) and the training batches
  // BatchNorm is recalibrated on.
  torch::Tensor val_x, val_y;
  std::vector<torch::Tensor> recal;
};

// Loads and validates the config (errors name file, line and key), the data and the space.
NasSetup load_nas(const std::string& config, const std::vector<std::string>& overrides, const std::string& out);

// 1. The supernet, trained (or loaded from a finished checkpoint).
nas::Supernet train_supernet_stage(NasSetup& s, std::ostream* log);

// 2. The architecture search.
struct ArchStageResult {
  nas::Arch winner;
  nas::ArchScore score;
  double reference_edp_js = 0;
  int64_t candidates = 0;
};
ArchStageResult arch_search_stage(NasSetup& s, nas::Supernet& supernet, std::ostream* log);

// 3. The winner's mixed-precision supernet.
struct QuantStage {
  std::shared_ptr<nas::Subnet> net;             // the winner, trained with drawn bits
  std::shared_ptr<nas::MixedPrecisionNet> mp;  // its training wrapper
  std::shared_ptr<nn::AnalogContext> ctx;
  nas::Arch arch;
  bool interrupted = false;
};
QuantStage quant_stage(NasSetup& s, nas::Supernet& supernet, const nas::Arch& winner, std::ostream* log);

// 4. The joint search over bits and chip.
struct ChipStageResult {
  nas::QuantChipChoice winner;
  double accuracy_pct = 0, edp_js = 0, fitness = 0;
  double reference_edp_js = 0, reference_accuracy_pct = 0;
  int64_t candidates = 0;
};
ChipStageResult chip_search_stage(NasSetup& s, QuantStage& q, std::ostream* log);

// 5. Fine-tune at the winner's bits, then the evaluation on the test set.
struct FinalResult {
  nlohmann::ordered_json json;
  std::string line;  // for summary.txt
  bool interrupted = false;
};
FinalResult final_stage(NasSetup& s, QuantStage& q, const nas::QuantChipChoice& winner, std::ostream* log);

// A search's checkpoint options: OUT/`file`, written by rank 0, resumed with --resume, refused
// when written with another `fingerprint`.
nas::EvolveOptions search_options(const NasSetup& s, const std::string& file, const std::string& fingerprint,
                                  const std::string& what);

// Trains `net` on the training split by `options` (its mode from `train.mode`), with checkpoints in
// OUT/`folder` (rank 0) and a resume from there, the trainer's streams from the run seed and
// `stream`.
pipeline::TrainingOutcome train_stage(NasSetup& s, std::shared_ptr<nn::Network> net, std::shared_ptr<nn::AnalogContext> ctx,
                                      const std::string& folder, const train::TrainOptions& options,
                                      const std::string& stream, std::ostream* log);

// The chip of the run with another crossbar size and DAC resolution.
std::shared_ptr<const Chip> chip_variant(const Chip& base, int64_t xbar, int dac_bits);

}  // namespace cimkit::cli
