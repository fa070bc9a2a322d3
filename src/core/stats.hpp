// Small statistics over samples: mean, sample standard deviation, ranks with ties averaged, and
// Spearman's rank correlation (the agreement of two orderings, e.g. a fast evaluation rung
// against the bit-exact one over a set of candidates).
#pragma once
#include <vector>

namespace cimkit {

double mean_of(const std::vector<double>& v);  // NaN when empty
double sample_std(const std::vector<double>& v);  // n - 1 in the denominator; 0 for one sample

// Ranks 1..n in ascending order, tied values sharing the mean of their ranks.
std::vector<double> ranks(const std::vector<double>& v);

// Pearson correlation of the ranks. Error for samples of different length or fewer than two;
// NaN when either sample is constant (its ranks carry no order).
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace cimkit
