// Paper 004 eq. 4, the fitness of a candidate: FF = w_acc · accuracy − (1 − w_acc) · EDP_norm,
// accuracy in per cent and EDP_norm on the same 0-100 scale.
//
// The paper does not say how EDP is normalised. Two choices, stated with every result:
//   reference  EDP_norm = 100 · EDP / EDP_ref: per cent of a reference network's EDP on the same
//              chip (cimkit's default; the reference is named in the config, e.g. the fixed zoo
//              network the search should beat), so the scale follows the chip and the task;
//   minmax     EDP_norm = 100 · (EDP − lo) / (hi − lo), the CrossNAS code's form with its
//              constants given by the user (the code normalises latency and energy separately
//              with constants fitted to its CIFAR-10 runs: lat 0.164-1.414 ms, energy
//              0.033-63 mJ; ../shared/reference/algorithms.md §3.4).
#pragma once
#include <string>

namespace cimkit::nas {

struct EdpNormalisation {
  enum class Kind { Reference, MinMax };
  Kind kind = Kind::Reference;
  double reference_edp_js = 0;  // Reference: EDP of the reference network (> 0)
  double lo_js = 0, hi_js = 0;  // MinMax: hi > lo
  // Error naming `key` for a non-positive reference or hi <= lo.
  void check(const std::string& key) const;
  double normalise(double edp_js) const;
};

// FF of eq. 4. w_acc in [0, 1] (an Error naming it otherwise), accuracy in per cent.
double crossnas_fitness(double accuracy_pct, double edp_js, double w_acc, const EdpNormalisation& norm);

}  // namespace cimkit::nas
