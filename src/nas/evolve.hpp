// One evolutionary search run to its end with checkpoints (paper 004 Algorithm 1 in cimkit's
// ask/tell form, search/evolution.hpp): each round takes every genome the current cycle can
// propose, scores them together (in this process or spread over ranks, nas/spread.hpp), reports
// them in proposal order and writes the checkpoint atomically (the evolution's whole state and
// every record so far). Started again with resume it continues from the last finished round and
// then equals the uninterrupted run record for record.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "search/evolution.hpp"

namespace cimkit::nas {

struct GenomeScore {
  double fitness = 0;
  nlohmann::ordered_json record = nlohmann::ordered_json::object();  // flat: name -> number or text
};
using ScoreRound = std::function<std::vector<GenomeScore>(const std::vector<search::Genome>&)>;

struct EvolveOptions {
  std::string checkpoint;   // file; empty: none
  bool write = true;        // false on ranks other than 0 (they read it on resume)
  bool resume = false;      // continue from `checkpoint` when it exists
  std::string fingerprint;  // what must match between the checkpoint and this run
  std::string what = "search";  // for messages: "architecture search"
};

struct EvolveLog {
  // One record per evaluated genome: cycle, genome key, fitness, then the score's record.
  std::vector<nlohmann::ordered_json> records;
  double elapsed_s = 0;  // over every resumed part
  int64_t resumed_records = 0;
};

// Runs `evo` until done; `on_record` sees each new record (progress lines).
EvolveLog evolve(search::Evolution& evo, const ScoreRound& score, const EvolveOptions& options,
                 const std::function<void(const nlohmann::ordered_json&)>& on_record = {});

}  // namespace cimkit::nas
