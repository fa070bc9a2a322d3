// The main job, `cimkit run CONFIG`: train a zoo network on a dataset, deploy it on the chip,
// evaluate digital vs analog accuracy (Monte-Carlo over device instances, per-layer SQNR) and
// write the run folder:
//   summary.txt           what the terminal showed (the summary part)
//   stats.json            every figure, nested (config, data, model, training history, chip eval)
//   layers.csv            one row per analog layer: precision, mapping, SQNR, counts per inference
//   resolved_config.yaml  every key with its value; `cimkit run resolved_config.yaml` re-runs it
//   model.pt              the trained weights as a state_dict Python's torch.load reads
//   metrics.csv, plots/training_curve.png, checkpoints/  (written by the trainer)
#pragma once
#include <iosfwd>
#include <string>
#include <vector>


namespace cimkit::cli {

struct JobArgs {
  std::string config;                // YAML file ("" = built-in default: configs/quickstart.yaml)
  std::vector<std::string> overrides;  // --set key=value
  bool resume = false;               // continue from <out>/checkpoints/last.pt
  bool overwrite = false;            // start afresh even if <out> holds a checkpoint
  std::string out;                   // run folder override ("" = config's `out`)
  std::string until;                 // cimkit nas: the last stage to run ("" = all)
};

// Runs the job; returns the process exit code (0; 130 when interrupted by SIGINT/SIGTERM after
// the checkpoint was written). Errors throw cimkit::Error.
int run_job(const JobArgs& args, std::ostream& out);

}  // namespace cimkit::cli
