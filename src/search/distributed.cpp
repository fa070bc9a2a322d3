#include "search/distributed.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace cimkit::search {

using nlohmann::ordered_json;

DistributedEvaluation::DistributedEvaluation(dist::ProcessGroup& group, Evaluate local)
    : group_(group), local_(std::move(local)) {}

DistributedEvaluation::~DistributedEvaluation() {
  if (group_.rank() != 0 || finished_) return;
  try {
    finish();
  } catch (...) {  // the other ranks' own timeout or lost connection ends them instead
  }
}

// A round message: {"stop": bool, "candidates": [{"id", "w", "a"}, ...]}. This rank's answer:
// an array of {"index", "reward", "record"} or {"index", "error"} for the candidates it took.
std::string DistributedEvaluation::evaluate_share(const std::string& round_message) {
  const ordered_json round = ordered_json::parse(round_message);
  const auto& cands = round["candidates"];
  ordered_json answer = ordered_json::array();
  for (size_t i = static_cast<size_t>(group_.rank()); i < cands.size(); i += static_cast<size_t>(group_.size())) {
    Candidate c;
    c.id = cands[i]["id"].get<int64_t>();
    c.weight_bits = cands[i]["w"].get<std::vector<int>>();
    c.act_bits = cands[i]["a"].get<std::vector<int>>();
    ordered_json a = ordered_json::object();
    a["index"] = i;
    try {
      Evaluation e = local_(c);
      a["reward"] = e.reward;
      a["record"] = e.record;
    } catch (const std::exception& ex) {
      a["error"] = ex.what();
    }
    answer.push_back(a);
  }
  return answer.dump();
}

std::vector<Evaluation> DistributedEvaluation::operator()(const std::vector<Candidate>& round) {
  if (group_.rank() != 0) throw Error("search: only rank 0 hands out candidates");
  if (finished_) throw Error("search: the distributed evaluation has finished");
  ordered_json msg = ordered_json::object();
  msg["stop"] = false;
  msg["candidates"] = ordered_json::array();
  for (const Candidate& c : round) msg["candidates"].push_back({{"id", c.id}, {"w", c.weight_bits}, {"a", c.act_bits}});
  std::string bytes = msg.dump();
  group_.broadcast(bytes, 0);
  const std::vector<std::string> answers = group_.allgather(evaluate_share(bytes));
  std::vector<Evaluation> out(round.size());
  std::vector<bool> seen(round.size(), false);
  for (size_t r = 0; r < answers.size(); ++r) {
    for (const auto& a : ordered_json::parse(answers[r])) {
      const size_t i = a["index"].get<size_t>();
      if (i >= round.size() || seen[i]) throw Error(fmt::format("search: rank {} answered for candidate index {}", r, i));
      if (a.contains("error")) {
        throw Error(fmt::format("search: rank {} could not evaluate candidate {}: {}", r, round[i].id,
                                a["error"].get<std::string>()));
      }
      out[i].reward = a["reward"].get<double>();
      out[i].record = a["record"];
      seen[i] = true;
    }
  }
  for (size_t i = 0; i < round.size(); ++i) {
    if (!seen[i]) throw Error(fmt::format("search: no rank evaluated candidate {}", round[i].id));
  }
  return out;
}

void DistributedEvaluation::finish() {
  if (group_.rank() != 0 || finished_) return;
  finished_ = true;
  std::string bytes = ordered_json{{"stop", true}, {"candidates", ordered_json::array()}}.dump();
  group_.broadcast(bytes, 0);
}

void DistributedEvaluation::serve() {
  if (group_.rank() == 0) throw Error("search: rank 0 runs the strategy; serve() is for the other ranks");
  while (true) {
    std::string bytes;
    group_.broadcast(bytes, 0);
    if (ordered_json::parse(bytes)["stop"].get<bool>()) return;
    group_.allgather(evaluate_share(bytes));
  }
}

}  // namespace cimkit::search
