// Evaluation of a trained network on the chip: digital (quantised) vs analog accuracy,
// Monte-Carlo over device instances, per-layer SQNR of analog vs digital outputs, mapping and
// action counts per layer.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "data/loader.hpp"
#include "nn/analog.hpp"

namespace cimkit::pipeline {

// The rung a search's inner loop reads at unless told otherwise; its finalists are evaluated
// again at bit_exact. Chosen by the agreement measured in docs/results/fidelity.md.
inline constexpr Fidelity kSearchFidelity = Fidelity::Tile;

struct ChipEvalOptions {
  int64_t device_seeds = 3;      // device instances (Monte-Carlo draws of D2D/C2C/faults)
  int64_t max_batches = -1;      // test batches per evaluation (-1: all)
  bool sqnr = true;              // per-layer SQNR probe during the first device instance
  // Reference mode of the "digital" accuracy: quantised (same codes, exact arithmetic).
  nn::LayerMode digital_mode = nn::LayerMode::Quantised;
  // false: every layer is programmed afresh for each device instance (results depend only on
  // the network, the context and the seeds). true: layers already programmed on `ctx` at the
  // current device seed keep their engine, only stale ones (precision, weights, context
  // generation changed) reprogram; a kept engine continues its read-noise stream, so on a chip
  // with read noise the analog accuracy also depends on the reads before.
  bool keep_programmed = false;
  // The rung of the fidelity ladder the analog reads use (crossbar/engine.hpp, Fidelity).
  Fidelity fidelity = Fidelity::BitExact;

  // The `eval:` section of a run config (device_seeds, sqnr, fidelity).
  static Schema schema();
  static ChipEvalOptions from_params(const Params& p);
};

struct LayerEval {
  std::string name, kind;
  nn::Precision precision;
  LayerMapping mapping;
  ActionCounts counts;       // per inference (one image), from the first device instance
  double sqnr_db = 0.0;      // first device instance; +inf when exact
  nlohmann::json to_json() const;
};

struct ChipEvalResult {
  Fidelity fidelity = Fidelity::BitExact;  // the rung the analog accuracies were read at
  double digital_accuracy = 0.0;            // in [0, 1]
  std::vector<double> analog_accuracy;      // one per device instance
  double analog_mean = 0.0, analog_std = 0.0;  // std: sample std (n - 1), 0 for one instance
  int64_t n_samples = 0;
  std::vector<LayerEval> layers;
  int64_t n_arrays = 0;
  ActionCounts counts_per_inference;        // whole network, per image
  std::string worst_layer;                  // lowest SQNR
  double seconds = 0.0;          // all of it
  double digital_seconds = 0.0;  // the digital accuracy
  double analog_seconds = 0.0;   // every device instance: programming and reads
  nlohmann::json to_json() const;
};

// Evaluates `net` on `test` in digital_mode, then in analog mode once per device seed
// (ctx->set_device_seed(0..n-1); with keep_programmed a seed equal to the current one is not set
// again). The network's modes and train/eval state are restored after.
ChipEvalResult evaluate_on_chip(nn::Network& net, data::DataLoader& test,
                                const std::shared_ptr<nn::AnalogContext>& ctx, const ChipEvalOptions& opt);

// Accuracy (fraction correct) of `net` in its current modes over `test` (eval mode, no grad).
double accuracy(nn::Network& net, data::DataLoader& test, int64_t max_batches, int64_t* n_samples = nullptr);

}  // namespace cimkit::pipeline
