#include "nas/spread.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace cimkit::nas {

using nlohmann::ordered_json;

ScoreRound spread_scores(dist::ProcessGroup* group, ScoreOne one) {
  return [group, one = std::move(one)](const std::vector<search::Genome>& round) {
    std::vector<GenomeScore> out(round.size());
    if (!group || group->size() == 1) {
      for (size_t i = 0; i < round.size(); ++i) out[i] = one(round[i]);
      return out;
    }
    ordered_json mine = ordered_json::array();
    for (size_t i = static_cast<size_t>(group->rank()); i < round.size(); i += static_cast<size_t>(group->size())) {
      ordered_json a = {{"index", i}};
      try {
        const GenomeScore s = one(round[i]);
        a["fitness"] = s.fitness;
        a["record"] = s.record;
      } catch (const std::exception& e) {
        a["error"] = e.what();
      }
      mine.push_back(a);
    }
    const std::vector<std::string> all = group->allgather(mine.dump());
    std::vector<bool> seen(round.size(), false);
    for (size_t r = 0; r < all.size(); ++r) {
      for (const auto& a : ordered_json::parse(all[r])) {
        const size_t i = a["index"].get<size_t>();
        if (i >= round.size() || seen[i]) throw Error(fmt::format("nas: rank {} answered for genome index {}", r, i));
        if (a.contains("error")) {
          throw Error(fmt::format("nas: rank {} could not score genome {}: {}", r, search::genome_key(round[i]),
                                  a["error"].get<std::string>()));
        }
        out[i].fitness = a["fitness"].get<double>();
        out[i].record = a["record"];
        seen[i] = true;
      }
    }
    for (size_t i = 0; i < round.size(); ++i) {
      if (!seen[i]) throw Error(fmt::format("nas: no rank scored genome {}", search::genome_key(round[i])));
    }
    return out;
  };
}

}  // namespace cimkit::nas
