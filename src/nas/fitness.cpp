#include "nas/fitness.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"

namespace cimkit::nas {

void EdpNormalisation::check(const std::string& key) const {
  if (kind == Kind::Reference && !(reference_edp_js > 0 && std::isfinite(reference_edp_js))) {
    throw Error(fmt::format("{}: the reference EDP must be a positive number of J·s (got {})", key, reference_edp_js));
  }
  if (kind == Kind::MinMax && !(hi_js > lo_js && std::isfinite(hi_js) && std::isfinite(lo_js))) {
    throw Error(fmt::format("{}: min-max normalisation needs hi > lo (got lo {}, hi {} J·s)", key, lo_js, hi_js));
  }
}

double EdpNormalisation::normalise(double edp_js) const {
  check("nas.edp_normalisation");
  return kind == Kind::Reference ? 100.0 * edp_js / reference_edp_js : 100.0 * (edp_js - lo_js) / (hi_js - lo_js);
}

double crossnas_fitness(double accuracy_pct, double edp_js, double w_acc, const EdpNormalisation& norm) {
  if (!(w_acc >= 0 && w_acc <= 1)) throw Error(fmt::format("nas.w_acc: {} is outside [0, 1]", w_acc));
  if (!std::isfinite(accuracy_pct) || !std::isfinite(edp_js) || edp_js < 0) {
    throw Error(fmt::format("nas: fitness of accuracy {} % and EDP {} J·s (need finite values, EDP >= 0)", accuracy_pct, edp_js));
  }
  return w_acc * accuracy_pct - (1.0 - w_acc) * norm.normalise(edp_js);
}

}  // namespace cimkit::nas
