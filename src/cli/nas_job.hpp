// `cimkit nas CONFIG`: the cross-layer architecture search of paper 004 (CrossNAS, issue 16).
//
//   1. supernet     the one-shot supernet of the config's space trained single-path (SPOS),
//                   data-parallel over the ranks; OUT/supernet/checkpoint.pt after every epoch
//   2. arch search  evolution over architectures, each scored by eq. 4 from its accuracy with
//                   inherited weights (BN recalibrated) on validation images and its EDP from the
//                   cost model; OUT/arch_search.pt after every cycle, arch_candidates.csv
//   3. quant        the winner as a mixed-precision supernet (bits drawn per layer per step from
//                   nas.quant.bits, eq. 5-6 quantiser), trained by the `train:` section;
//                   OUT/quant/checkpoints/last.pt
//   4. chip search  joint evolution over per-layer bits, crossbar size, ADC and DAC bits, scored
//                   by eq. 4 from the accuracy read on the chip at nas.chip_search.fidelity and
//                   the EDP; OUT/chip_search.pt, chip_candidates.csv
//   5. final        the winner fine-tuned at its bits (OUT/finetune), then evaluated on the test
//                   set at nas.finetune.final_fidelity; model.pt, final.json, summary.txt
//
// --resume continues every stage from its checkpoint. Several processes (torchrun's convention:
// the same command with --world-size / --rank) train the supernet data-parallel and score every
// cycle's candidates between them; only rank 0 writes to OUT, which every rank must be able to
// read (one machine, or a shared file system).
#pragma once
#include <iosfwd>

#include "cli/run_job.hpp"
#include "dist/process_group.hpp"

namespace cimkit::cli {

int nas_job(const JobArgs& args, const dist::GroupOptions& dist, std::ostream& term);

}  // namespace cimkit::cli
