// A round of genomes scored over the ranks of a process group (issue 16 §5): every rank runs the
// same search (same seed, same proposals); genome i is scored by rank i mod world size and the
// scores reach every rank through c10d's allgather, in proposal order, so every rank reports the
// same fitnesses and the search stays the same on all of them. Scoring must not depend on the
// rank (same weights, data and seeds), which makes a distributed search's records equal to the
// one-process search's.
#pragma once
#include <functional>

#include "dist/process_group.hpp"
#include "nas/evolve.hpp"

namespace cimkit::nas {

using ScoreOne = std::function<GenomeScore(const search::Genome&)>;

// group null (or of one rank): every genome scored here. A genome that fails on any rank throws,
// on every rank, an Error naming the rank and the genome.
ScoreRound spread_scores(dist::ProcessGroup* group, ScoreOne one);

}  // namespace cimkit::nas
