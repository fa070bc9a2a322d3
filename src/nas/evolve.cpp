#include "nas/evolve.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "core/error.hpp"
#include "search/driver.hpp"
#include "train/archive.hpp"

namespace cimkit::nas {
namespace {

using nlohmann::ordered_json;
constexpr const char* kFormat = "cimkit-evolution-v1";

void save(const search::Evolution& evo, const EvolveLog& log, const EvolveOptions& o) {
  torch::serialize::OutputArchive a;
  a.write("cimkit_format", c10::IValue(std::string(kFormat)));
  a.write("fingerprint", c10::IValue(o.fingerprint));
  a.write("elapsed_s", c10::IValue(log.elapsed_s));
  ordered_json records = ordered_json::array();
  for (const auto& r : log.records) records.push_back(r);
  a.write("records", c10::IValue(records.dump()));
  evo.save(a, "evolution");
  train::save_archive(o.checkpoint, a);
}

EvolveLog load(search::Evolution& evo, const EvolveOptions& o) {
  auto a = train::open_archive(o.checkpoint);
  train::check_format(a, o.checkpoint, kFormat);
  const std::string fp = train::read_string(a, "fingerprint", o.checkpoint);
  if (fp != o.fingerprint) {
    throw DataError(o.checkpoint, fmt::format("it was written by another {} (checkpoint -> this run: {}); resume with the "
                                              "same config or use another --out",
                                              o.what, search::fingerprint_difference(fp, o.fingerprint)));
  }
  EvolveLog log;
  c10::IValue v;
  if (!a.try_read("elapsed_s", v) || !v.isDouble()) throw DataError(o.checkpoint, "missing entry 'elapsed_s' (a number)");
  log.elapsed_s = v.toDouble();
  try {
    for (const auto& r : ordered_json::parse(train::read_string(a, "records", o.checkpoint))) log.records.push_back(r);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(o.checkpoint, std::string("entry 'records' is not valid JSON: ") + e.what());
  }
  evo.load(a, "evolution");
  log.resumed_records = static_cast<int64_t>(log.records.size());
  return log;
}

}  // namespace

EvolveLog evolve(search::Evolution& evo, const ScoreRound& score, const EvolveOptions& o,
                 const std::function<void(const ordered_json&)>& on_record) {
  EvolveLog log;
  if (o.resume && !o.checkpoint.empty() && std::filesystem::exists(o.checkpoint)) log = load(evo, o);
  while (!evo.done()) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t cycle = evo.cycle();
    std::vector<search::Genome> round;
    while (auto g = evo.propose()) round.push_back(*g);
    if (round.empty()) throw Error(fmt::format("{}: cycle {} proposed nothing", o.what, cycle));
    const std::vector<GenomeScore> scores = score(round);
    if (scores.size() != round.size()) {
      throw Error(fmt::format("{}: {} scores for {} genomes", o.what, scores.size(), round.size()));
    }
    for (size_t i = 0; i < round.size(); ++i) {
      ordered_json r = ordered_json::object();
      r["cycle"] = cycle;
      r["genome"] = search::genome_key(round[i]);
      r["fitness"] = scores[i].fitness;
      for (const auto& [k, v] : scores[i].record.items()) r[k] = v;
      evo.report(round[i], scores[i].fitness);
      log.records.push_back(r);
      if (on_record) on_record(r);
    }
    log.elapsed_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.write && !o.checkpoint.empty()) save(evo, log, o);
  }
  return log;
}

}  // namespace cimkit::nas
