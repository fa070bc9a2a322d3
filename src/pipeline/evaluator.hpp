// One candidate on the chip: a trained network at given per-layer precisions (and optionally on
// another chip) evaluated digitally and in analog over device instances, priced by the cost
// model, its power map through the thermal solver, and evaluated again with every array read at
// its temperature.
//
// Built once per network, evaluate() is meant to be called many times (a search over
// precisions): the evaluator never reads files (the test loader is given), traces the network
// once (on the first priced evaluation) and keeps its shape, whose per-layer bits follow the
// layers' precisions, and only layers whose weight bits changed reprogram (act and ADC bits
// retarget the cells); each layer keeps one programmed engine per device seed, so the
// evaluation with heat reads the cool pass's cells again. A chip override gets a context of its
// own, and then every layer reprograms. A request may ask another rung of the fidelity ladder
// (a search's inner loop reads at `tile`, its finalists at `bit_exact`).
#pragma once
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cost/architecture.hpp"
#include "cost/cost_model.hpp"
#include "data/loader.hpp"
#include "mapping/network.hpp"
#include "nn/analog.hpp"
#include "pipeline/chip_eval.hpp"
#include "pipeline/chip_thermal.hpp"

namespace cimkit::pipeline {

struct EvaluatorOptions {
  ChipEvalOptions eval;  // device seeds, SQNR probe, batches (keep_programmed is always on)
  // Cost: priced on `arch` with `cost` (its per-layer read energies are replaced by the measured
  // ones); no arch: no cost, and then no thermal step either.
  std::optional<cost::Architecture> arch;
  cost::CostOptions cost;
  // Thermal: solved when thermal.enabled (and cost); the analog accuracy with the heat when
  // thermal.feedback too.
  ChipThermalOptions thermal;
  // How a requested precision sets each learned quantiser's step, from the network as the
  // evaluator found it (its trained state; the trained precisions give the trained steps back
  // bit for bit, with no drift over many changes):
  //   activations  the trained clipping range: step = step_trained · q_p_trained / q_p_new
  //                (HAQ's linear re-quantisation, paper 000 eq. 1);
  //   weights      the same at or above the trained width; below it the step that minimises
  //                the weights' quantisation error ‖Q(w) − w‖² (per channel for per-channel
  //                quantisers; data-free post-training quantisation), because the trained range
  //                at 2-3 bits rounds nearly every weight to zero.
  // false: the steps stay as they are (a 2-bit code range then clips at ±1 trained 8-bit step).
  bool keep_quantiser_ranges = true;
};

struct EvalRequest {
  // One per analog layer, in Network::analog_layers() order; none: the layers' current ones.
  std::optional<std::vector<nn::Precision>> precisions;
  // Another chip for this request (the same operating conditions, run seed and analog training
  // settings); null: the evaluator's chip.
  std::shared_ptr<const Chip> chip;
  // The rung of the fidelity ladder for this request's analog reads (a search's inner loop asks
  // a fast rung and re-evaluates its finalists bit-exactly); none: the options' eval.fidelity.
  std::optional<Fidelity> fidelity;
};

struct Evaluation {
  ChipEvalResult chip;                    // digital, and analog without heat
  std::optional<cost::CostReport> cost;   // when cost is enabled
  std::optional<ChipThermal> thermal;     // when cost and thermal are enabled
  std::optional<ChipEvalResult> hot;      // analog with the heat (thermal feedback)
  struct Seconds {
    double chip_eval = 0, cost = 0, thermal = 0, hot_eval = 0, total = 0;
  } seconds;
};

class ChipEvaluator {
 public:
  // `net` is put on `ctx` (every layer reprograms on the first evaluation). `name` and `input`
  // (one image, C×H×W) are what trace_network needs.
  ChipEvaluator(std::shared_ptr<nn::Network> net, std::shared_ptr<nn::AnalogContext> ctx, data::DataLoader test,
                std::string name, mapping::TensorShape input, EvaluatorOptions options);

  Evaluation evaluate(const EvalRequest& request = {});

  // Sets the layers' precisions as evaluate() does for a request (with the quantiser steps of
  // keep_quantiser_ranges), without evaluating: a search reads the weight codes a candidate
  // would program (its refinement, its '1' bits) before evaluating it.
  void apply_precisions(const std::vector<nn::Precision>& p);

  // The images the following evaluations read (a search rewards its candidates on a validation
  // split and reports its finalists on the test set). Programmed cells are kept.
  void set_data(data::DataLoader loader) { test_ = std::move(loader); }

  // Accuracy in float mode (the layers' modes are restored).
  double float_accuracy();

  // The network's shape for the cost model (traced on first use), bits as the layers' precisions.
  const mapping::NetworkShape& shape();
  // The cost model's report for the network at precisions `p` (one per layer), shape only (no
  // measured read energy), without evaluating or changing the layers: what a resource budget
  // compares (search/resource_wall.hpp). Error without an architecture.
  cost::CostReport price(const std::vector<nn::Precision>& p);
  int64_t trace_count() const { return traces_; }  // how often the network was traced (0 or 1)

  nn::Network& network() { return *net_; }
  const std::shared_ptr<nn::AnalogContext>& context() const { return ctx_; }
  const EvaluatorOptions& options() const { return opt_; }

 private:
  std::shared_ptr<nn::AnalogContext> context_for(const std::shared_ptr<const Chip>& chip);
  void cool_down();  // every layer back at the operating temperature after a heated evaluation
  // The learned step of every layer's weight and input quantiser and its q_p, taken before the
  // layer's first precision change (undefined while the quantiser has no initialised step: its
  // lazy initialisation then sets one for the new bits).
  struct TrainedStep {
    torch::Tensor step;
    double q_p = 0;
  };
  std::vector<std::array<TrainedStep, 2>> trained_;  // [layer][weight, input]

  std::shared_ptr<nn::Network> net_;
  std::shared_ptr<nn::AnalogContext> ctx_, override_ctx_;
  data::DataLoader test_;
  std::string name_;
  mapping::TensorShape input_;
  EvaluatorOptions opt_;
  std::optional<mapping::NetworkShape> shape_;
  int64_t traces_ = 0;
  bool heated_ = false;
};

}  // namespace cimkit::pipeline
