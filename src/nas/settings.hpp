// The `nas:` section of a job config (`cimkit nas`, issue 16; paper 004 Algorithm 1 and §3.3):
//
//   space:        max_depth, blocks [VGG, MVGG, RES], channels [32, 64, 128]
//   supernet:     the one-shot training (epochs, batch_size, SGD, schedule, label smoothing)
//   arch_search:  the evolution over architectures (population, top_k, mutations, crossovers,
//                 mutation_prob, cycles), eq. 4's w_acc and EDP normalisation, and the BN
//                 recalibration and validation images of each candidate
//   quant:        the mixed-precision supernet of the winner (bits sampled per layer per step);
//                 its optimiser and epochs are the config's `train:` section
//   chip_search:  the joint evolution over the quantisation map and the chip (crossbar size, ADC
//                 and DAC bits), with mutation_scale per kind of gene, the rung it reads at
//   finetune:     the winner's final fine-tune, then its evaluation at final_fidelity
//
// Lists are YAML sequences; every error names the file, line and key.
#pragma once
#include <string>
#include <vector>

#include "core/config_tree.hpp"
#include "core/params.hpp"
#include "nas/arch.hpp"
#include "nas/fitness.hpp"
#include "nas/spos_trainer.hpp"
#include "search/evolution.hpp"

namespace cimkit::nas {

struct NasSettings {
  ArchSpace space;  // in_channels / image_size / n_classes: filled from the dataset by the job
  SposTrainOptions supernet;  // seed, checkpoint and resume are the job's
  int64_t supernet_batch = 128;

  search::EvolutionOptions arch_evolution;
  double arch_w_acc = 0.5;
  EdpNormalisation arch_norm;     // reference_edp_js filled by the job from reference_arch
  std::string reference_arch;     // the network whose EDP is 100 (edp_norm: reference)
  uint64_t arch_search_seed = 0;  // with the run seed: the evolution's stream
  int64_t recal_batches = 10;     // training batches BN is recalibrated on, per candidate
  int64_t val_images = 1000;      // validation images each candidate is scored on

  std::vector<int> quant_bits{5, 7, 9};  // per-layer weight and activation bits (paper 004 §3.3)

  search::EvolutionOptions chip_evolution;
  double chip_w_acc = 0.5;
  double quant_mutation_scale = 0.5, chip_mutation_scale = 2.0;
  std::vector<int64_t> xbar_sizes{32, 64, 128, 256};  // Table 1
  std::vector<int> adc_bits{4, 6, 8, 10};
  std::vector<int> dac_bits{1, 2};
  std::string chip_fidelity = "tile";
  uint64_t chip_search_seed = 0;
  int64_t chip_val_images = 500;

  int64_t finetune_epochs = 1;
  double finetune_lr = 1e-3;
  std::string final_fidelity = "bit_exact";

  ConfigNode resolved;  // every key with its value (resolved_config.yaml)

  // The sub-sections' schemas, for docs/config.md (name, schema).
  static std::vector<std::pair<std::string, Schema>> schemas();
  // Error naming the file, line and key for anything out of place.
  static NasSettings from_config(const ConfigNode& section, const std::string& path = "nas");
};

}  // namespace cimkit::nas
