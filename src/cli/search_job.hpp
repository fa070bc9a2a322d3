// `cimkit search CONFIG`: a precision search on the chip with heat (issue 13). The base model is
// trained by the config's `train:` section (or reused from OUT/model.pt, or `train.pretrained`),
// the strategy of `search:` proposes per-layer bits, each candidate is evaluated with its own heat
// at the inner loop's rung and rewarded against the fixed 8-bit model, the best are re-evaluated
// bit-exactly. Writes OUT/candidates.csv, checkpoint.pt (resume), stats.json, summary.txt,
// resolved_config.yaml.
#pragma once
#include <iosfwd>

#include "cli/run_job.hpp"

namespace cimkit::cli {

int search_job(const JobArgs& args, std::ostream& term);

}  // namespace cimkit::cli
