#include "cli/search_report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "cli/search_plots.hpp"
#include "core/files.hpp"
#include "search/plateau.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

SearchReport report_search(SearchSetup& s, const search::SearchLog& log, const std::string& out_dir) {
  // Finalists, re-evaluated at search.final_fidelity (bit_exact by default) on the test set, and
  // the fixed 8-bit reference beside them. The stats keep the names "bit_exact" for either rung;
  // each record's "fidelity" field and stats' "final_fidelity" say which.
  std::vector<size_t> order(log.records.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return log.records[a]["reward"].get<double>() > log.records[b]["reward"].get<double>();
  });
  s.ev->set_data(s.jd->test);
  const double origin_test = s.on_validation ? 100.0 * s.ev->float_accuracy() : s.origin_pct;
  pipeline::CandidateEvalOptions exact = s.co;
  exact.reward.origin_accuracy_pct = origin_test;
  exact.fidelity = parse_fidelity(s.ss.final_fidelity, "search.final_fidelity");
  exact.refine = false;           // the logged bits are already refined
  exact.budget_metric = "none";   // and walled; fixed 8-bit is the unconstrained reference
  pipeline::CandidateEvaluator evaluate_exact(*s.ev, s.space, exact);
  auto parse_bits = [](const std::string& s) {
    std::vector<int> v;
    std::istringstream is(s);
    for (int b; is >> b;) v.push_back(b);
    return v;
  };
  ordered_json finalists = ordered_json::array();
  std::ostringstream summary;
  summary << fmt::format("cimkit search {} — {} on {}, {} episodes (stopped by the {} budget), {:.1f} s\n", s.config, s.jm.zoo.name, s.jd->name,
                         log.records.size(), log.stopped_by, log.elapsed_s);
  summary << fmt::format("reward: {} with λ = {}, accuracy on {} ({} images; float model {:.2f} %)\n",
                         search::to_string(s.ss.reward.form), s.ss.reward.lambda,
                         s.on_validation ? "the validation split" : "the test set", s.reward_data->dataset().size(), s.origin_pct);
  search::Candidate eight;
  for (const auto& l : s.space.layers) {
    eight.weight_bits.push_back(8);
    eight.act_bits.push_back(l.search_act ? 8 : l.fixed_act);
  }
  const search::Evaluation ref = evaluate_exact(eight);
  auto line = [&](const std::string& name, const search::Evaluation& e) {
    const auto& r = e.record;
    return fmt::format("  {:<12} w [{}] a [{}]  acc {:.2f} % / with heat {:.2f} %  energy {:.3g} J  {:.4g} TOPS/W  "
                       "crossbars {}  peak {:.2f} K  reward {:+.4f}\n",
                       name, r["refined_weight_bits"].get<std::string>(), r["refined_act_bits"].get<std::string>(),
                       r["acc_pct"].get<double>(), r["acc_heat_pct"].get<double>(), r["energy_j"].get<double>(),
                       r["tops_per_w"].get<double>(), r["crossbars"].get<int64_t>(), r["peak_k"].get<double>(), e.reward);
  };
  summary << fmt::format("{} re-evaluation on the {} test images (float model {:.2f} %):\n", s.ss.final_fidelity,
                         s.jd->test_size(), origin_test)
          << line("fixed 8-bit", ref);
  std::vector<std::string> box_names{"fixed 8-bit"};
  std::vector<ordered_json> box_records{ref.record};
  for (int64_t k = 0; k < std::min<int64_t>(s.ss.finalists, static_cast<int64_t>(order.size())); ++k) {
    const ordered_json& rec = log.records[order[k]];
    search::Candidate c;
    c.weight_bits = parse_bits(rec["refined_weight_bits"].get<std::string>());
    c.act_bits = parse_bits(rec["refined_act_bits"].get<std::string>());
    const search::Evaluation e = evaluate_exact(c);
    summary << line(fmt::format("#{} (ep {})", k + 1, rec["episode"].get<int64_t>()), e);
    if (k == 0) {  // the best against fixed 8-bit, as paper 000 reports it
      const auto& a = e.record;
      const auto& b = ref.record;
      summary << fmt::format("  #1 against fixed 8-bit: accuracy with heat {:+.2f} pt, energy x{:.3f}, TOPS/W x{:.3f}, "
                             "crossbars {} vs {}, peak {:+.2f} K, hottest array {:+.2f} K\n",
                             a["acc_heat_pct"].get<double>() - b["acc_heat_pct"].get<double>(),
                             a["energy_j"].get<double>() / b["energy_j"].get<double>(),
                             a["tops_per_w"].get<double>() / b["tops_per_w"].get<double>(), a["crossbars"].get<int64_t>(),
                             b["crossbars"].get<int64_t>(), a["peak_k"].get<double>() - b["peak_k"].get<double>(),
                             a["array_t_max_k"].get<double>() - b["array_t_max_k"].get<double>());
    }
    box_names.push_back(fmt::format("#{}", k + 1));
    box_records.push_back(e.record);
    ordered_json f = ordered_json::object();
    f["episode"] = rec["episode"];
    f["inner_loop"] = rec;
    f["bit_exact"] = e.record;
    f["bit_exact"]["reward"] = e.reward;
    finalists.push_back(f);
  }
  std::vector<double> rewards;
  for (const auto& r : log.records) rewards.push_back(r["reward"].get<double>());
  const search::Plateau plateau = search::find_plateau(rewards);
  if (plateau.episode >= 0) {
    summary << fmt::format("the moving average of the reward ({} episodes) settles within {:.0f} % of its range from "
                           "episode {} on (final {:+.4f})\n",
                           plateau.window, 100.0 * plateau.tolerance, plateau.episode, plateau.final_average);
  }
  ordered_json stats = ordered_json::object();
  stats["config"] = s.config;
  stats["network"] = s.jm.zoo.name;
  stats["reward_images"] = s.ss.reward_images;
  stats["reward_images_count"] = s.reward_data->dataset().size();
  stats["float_accuracy_pct"] = s.origin_pct;
  stats["float_accuracy_test_pct"] = origin_test;
  stats["episodes"] = static_cast<int64_t>(log.records.size());
  stats["stopped_by"] = log.stopped_by;
  stats["elapsed_s"] = log.elapsed_s;
  stats["best_episode"] = log.best;
  stats["plateau"] = {{"episode", plateau.episode}, {"window", plateau.window}, {"tolerance", plateau.tolerance},
                      {"final_moving_average", plateau.episode >= 0 ? plateau.final_average : 0.0}};
  stats["final_fidelity"] = s.ss.final_fidelity;
  stats["fixed_8bit_bit_exact"] = ref.record;
  stats["fixed_8bit_bit_exact"]["reward"] = ref.reward;
  stats["finalists"] = finalists;
  stats["candidates"] = log.records;
  write_file_atomic((fs::path(out_dir) / "stats.json").string(), stats.dump(1));
  std::vector<std::string> layer_names;
  for (const auto& l : s.space.layers) layer_names.push_back(l.name);
  const auto plots = write_search_plots((fs::path(out_dir) / "plots").string(), log.records, log.best, layer_names);
  write_temperature_boxes((fs::path(out_dir) / "plots" / "temperature_boxes.png").string(), box_names, box_records);
  write_file_atomic((fs::path(out_dir) / "summary.txt").string(), summary.str());
  return {summary.str(), plots.size() + 1};
}

}  // namespace cimkit::cli
