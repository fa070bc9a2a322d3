// `cimkit search CONFIG`: a precision search on the chip with heat (issue 13). The base model is
// trained by the config's `train:` section (or reused from OUT/model.pt, or `train.pretrained`),
// the strategy of `search:` proposes per-layer bits, each candidate is evaluated with its own heat
// at the inner loop's rung and rewarded against the fixed 8-bit model, the best are re-evaluated
// bit-exactly. Writes OUT/candidates.csv, checkpoint.pt (resume), stats.json, summary.txt,
// resolved_config.yaml. Run as one of several processes (torchrun's launch convention: the same
// command on every process with its rank), only rank 0 writes to OUT.
#pragma once
#include <iosfwd>

#include "cli/run_job.hpp"
#include "dist/process_group.hpp"

namespace cimkit::cli {

// With `dist` (flags, completed from the environment) naming several processes, rank 0 runs the
// strategy and the report while every rank evaluates candidates (search/distributed.hpp).
int search_job(const JobArgs& args, const dist::GroupOptions& dist, std::ostream& term);

}  // namespace cimkit::cli
