#include "search/driver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "train/archive.hpp"

namespace cimkit::search {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {
constexpr const char* kFormat = "cimkit-search-v1";

std::string bits_text(const std::vector<int>& bits) {
  std::string s;
  for (size_t i = 0; i < bits.size(); ++i) s += (i ? " " : "") + std::to_string(bits[i]);
  return s;
}

// key.path=value for every scalar of a YAML text (the fingerprint), sequences as [a, b].
void flatten(const ConfigNode& n, const std::string& path, std::map<std::string, std::string>& out) {
  if (n.is_map()) {
    for (const auto& [k, v] : n.items()) flatten(v, path.empty() ? k : path + "." + k, out);
  } else if (n.is_seq()) {
    std::string s = "[";
    for (size_t i = 0; i < n.elements().size(); ++i) s += (i ? ", " : "") + to_yaml(n.elements()[i]);
    out[path] = s + "]";
  } else {
    out[path] = n.is_null() ? "~" : n.value();
  }
}

std::string csv_cell(const ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  if (v.is_number_float()) return fmt::format("{:.10g}", v.get<double>());
  return v.dump();
}
}  // namespace

std::string fingerprint_difference(const std::string& was, const std::string& now, size_t most) {
  std::map<std::string, std::string> a, b;
  try {
    flatten(load_yaml_string(was, "<checkpoint>"), "", a);
    flatten(load_yaml_string(now, "<run>"), "", b);
  } catch (const std::exception&) {
    return "the settings differ";
  }
  std::vector<std::string> diffs;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) diffs.push_back(fmt::format("{}: {} -> (absent)", k, v));
    else if (it->second != v) diffs.push_back(fmt::format("{}: {} -> {}", k, v, it->second));
  }
  for (const auto& [k, v] : b) {
    if (!a.count(k)) diffs.push_back(fmt::format("{}: (absent) -> {}", k, v));
  }
  if (diffs.empty()) return "the settings differ";
  std::string s;
  for (size_t i = 0; i < std::min(most, diffs.size()); ++i) s += (i ? "; " : "") + diffs[i];
  if (diffs.size() > most) s += fmt::format("; and {} more", diffs.size() - most);
  return s;
}


void Budget::check(const std::string& key) const {
  if (episodes < 1) throw Error(fmt::format("{}.episodes = {}: the budget must allow at least one episode", key, episodes));
  if (!(wall_seconds >= 0.0)) throw Error(fmt::format("{}.wall_seconds = {} must be >= 0 (0: no limit)", key, wall_seconds));
}

std::string records_csv(const std::vector<ordered_json>& records) {
  std::vector<std::string> cols;
  for (const auto& r : records) {
    for (const auto& [k, v] : r.items()) {
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
    }
  }
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + cols[i];
  out += "\n";
  for (const auto& r : records) {
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + (r.contains(cols[i]) ? csv_cell(r[cols[i]]) : "");
    out += "\n";
  }
  return out;
}

Driver::Driver(std::shared_ptr<Strategy> strategy, SearchSpace space, DriverOptions options)
    : strategy_(std::move(strategy)), space_(std::move(space)), opt_(std::move(options)) {
  opt_.budget.check("search.budget");
  if (opt_.parallel < 1) throw Error(fmt::format("search: parallel width {} must be >= 1", opt_.parallel));
  space_.check("search.layers");
  if (opt_.out.empty()) throw Error("search: no output folder");
}

std::string Driver::checkpoint_path() const { return (fs::path(opt_.out) / "checkpoint.pt").string(); }
std::string Driver::candidates_path() const { return (fs::path(opt_.out) / "candidates.csv").string(); }

void Driver::save(const SearchLog& log) const {
  torch::serialize::OutputArchive a;
  a.write("cimkit_format", c10::IValue(std::string(kFormat)));
  a.write("fingerprint", c10::IValue(opt_.fingerprint));
  a.write("seed", c10::IValue(static_cast<int64_t>(opt_.seed)));
  a.write("elapsed_s", c10::IValue(log.elapsed_s));
  ordered_json records = ordered_json::array();
  for (const auto& r : log.records) records.push_back(r);
  a.write("records", c10::IValue(records.dump()));
  strategy_->save(a);
  train::save_archive(checkpoint_path(), a);
}

SearchLog Driver::load() {
  const std::string path = checkpoint_path();
  auto a = train::open_archive(path);
  train::check_format(a, path, kFormat);
  const std::string fp = train::read_string(a, "fingerprint", path);
  if (fp != opt_.fingerprint) {
    throw DataError(path, fmt::format("it was written by another search (checkpoint -> this run: {}); "
                                      "resume with the same config or use another --out",
                                      fingerprint_difference(fp, opt_.fingerprint)));
  }
  if (train::read_int(a, "seed", path) != static_cast<int64_t>(opt_.seed)) {
    throw DataError(path, "it was written with another seed; resume with the same seed or use another --out");
  }
  SearchLog log;
  c10::IValue v;
  if (!a.try_read("elapsed_s", v) || !v.isDouble()) throw DataError(path, "missing entry 'elapsed_s' (a number)");
  log.elapsed_s = v.toDouble();
  const ordered_json records = ordered_json::parse(train::read_string(a, "records", path));
  for (const auto& r : records) log.records.push_back(r);
  for (size_t i = 0; i < log.records.size(); ++i) {
    if (log.best < 0 || log.records[i]["reward"].get<double>() > log.records[log.best]["reward"].get<double>()) {
      log.best = static_cast<int64_t>(i);
    }
  }
  try {
    strategy_->load(a);
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& e) {
    throw DataError(path, std::string("the strategy's state does not load: ") + e.what());
  }
  return log;
}

SearchLog Driver::run(const Evaluate& evaluate) {
  return run(EvaluateBatch([&](const std::vector<Candidate>& round) {
    std::vector<Evaluation> out;
    for (const Candidate& c : round) out.push_back(evaluate(c));
    return out;
  }));
}

SearchLog Driver::run(const EvaluateBatch& evaluate) {
  fs::create_directories(opt_.out);
  strategy_->start(space_, opt_.seed);
  SearchLog log;
  if (opt_.resume) {
    if (!fs::exists(checkpoint_path())) {
      throw Error(fmt::format("search: --resume, but {} does not exist (nothing to resume)", checkpoint_path()));
    }
    log = load();
    if (opt_.on_resume) opt_.on_resume(log);
  } else if (fs::exists(checkpoint_path())) {
    throw Error(fmt::format("search: {} exists from an earlier run; --resume to continue it, or use another --out",
                            checkpoint_path()));
  }
  const auto started = std::chrono::steady_clock::now();
  const double before = log.elapsed_s;
  auto elapsed = [&] {
    return before + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  while (true) {
    const int64_t left = opt_.budget.episodes - static_cast<int64_t>(log.records.size());
    if (left <= 0) {
      log.stopped_by = "episodes";
      break;
    }
    if (opt_.budget.wall_seconds > 0.0 && elapsed() >= opt_.budget.wall_seconds) {
      log.stopped_by = "wall time";
      break;
    }
    if (strategy_->finished()) {
      log.stopped_by = "strategy finished";
      break;
    }
    std::vector<Candidate> round;
    while (static_cast<int64_t>(round.size()) < std::min(left, opt_.parallel) && strategy_->proposable() > 0) {
      round.push_back(strategy_->propose());
    }
    if (round.empty()) throw Error("search: the strategy proposes nothing with no candidate outstanding");
    std::vector<Evaluation> results = evaluate(round);
    if (results.size() != round.size()) {
      throw Error(fmt::format("search: {} candidates evaluated, {} expected", results.size(), round.size()));
    }
    for (size_t i = 0; i < round.size(); ++i) {
      const Candidate& c = round[i];
      const Evaluation& e = results[i];
      strategy_->report(c, e.reward);
      ordered_json r = ordered_json::object();
      r["episode"] = static_cast<int64_t>(log.records.size());
      r["candidate"] = c.id;
      r["weight_bits"] = bits_text(c.weight_bits);
      r["act_bits"] = bits_text(c.act_bits);
      r["reward"] = e.reward;
      for (const auto& [k, v] : e.record.items()) r[k] = v;
      log.records.push_back(r);
      if (log.best < 0 || e.reward > log.records[log.best]["reward"].get<double>()) {
        log.best = static_cast<int64_t>(log.records.size()) - 1;
      }
    }
    log.elapsed_s = elapsed();
    write_file_atomic(candidates_path(), records_csv(log.records));
    save(log);  // last: a checkpoint never runs ahead of the log
  }
  log.elapsed_s = elapsed();
  return log;
}

}  // namespace cimkit::search
