#include "search/space.hpp"

#include <fmt/format.h>

#include <set>

#include "core/error.hpp"

namespace cimkit::search {

void SearchSpace::check(const std::string& key) const {
  if (layers.empty()) throw Error(key + ": no layers to search");
  std::set<std::string> names;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerSpace& l = layers[i];
    const std::string at = fmt::format("{}[{}] ({})", key, i, l.name);
    if (l.name.empty()) throw Error(fmt::format("{}[{}]: a layer needs a name", key, i));
    if (!names.insert(l.name).second) throw Error(fmt::format("{}: layer '{}' is listed twice", key, l.name));
    l.weight.check(at + ".weight_bits");
    if (l.search_act) {
      l.act.check(at + ".act_bits");
    } else if (l.fixed_act < 1 || l.fixed_act > 16) {
      throw Error(fmt::format("{}.act_bits: fixed activation bits {} must be in 1..16", at, l.fixed_act));
    }
    if (l.in < 1 || l.out < 1 || l.kernel < 1 || l.stride < 1 || l.feature_size < 1 || l.params < 1) {
      throw Error(at + ": every shape number (in, out, kernel, stride, feature size, weight count) must be >= 1");
    }
  }
}

std::vector<SearchSpace::Step> SearchSpace::steps() const {
  std::vector<Step> s;
  for (size_t l = 0; l < layers.size(); ++l) {
    s.push_back({l, true});
    if (layers[l].search_act) s.push_back({l, false});
  }
  return s;
}

torch::Tensor SearchSpace::static_features() const {
  const auto st = steps();
  torch::Tensor f = torch::zeros({static_cast<int64_t>(st.size()), kStaticFeatures}, torch::kFloat64);
  auto a = f.accessor<double, 2>();
  for (size_t k = 0; k < st.size(); ++k) {
    const LayerSpace& l = layers[st[k].layer];
    const double row[kStaticFeatures] = {static_cast<double>(st[k].layer),
                                         l.kind == LayerKind::Conv ? 1.0 : 0.0,
                                         static_cast<double>(l.in),
                                         static_cast<double>(l.out),
                                         static_cast<double>(l.kernel),
                                         static_cast<double>(l.stride),
                                         static_cast<double>(l.feature_size),
                                         static_cast<double>(l.params),
                                         st[k].weight ? 1.0 : 0.0};
    for (int64_t j = 0; j < kStaticFeatures; ++j) a[k][j] = row[j];
  }
  const torch::Tensor lo = std::get<0>(f.min(0, true)), hi = std::get<0>(f.max(0, true));
  const torch::Tensor span = hi - lo;
  return torch::where(span > 0, (f - lo) / span.clamp_min(1e-300), torch::zeros_like(f)).to(torch::kFloat32);
}

std::string Candidate::key() const {
  std::string s;
  for (size_t l = 0; l < weight_bits.size(); ++l) {
    if (l) s += ' ';
    s += fmt::format("w{}a{}", weight_bits[l], l < act_bits.size() ? act_bits[l] : 0);
  }
  return s;
}

}  // namespace cimkit::search
