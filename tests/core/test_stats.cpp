#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/stats.hpp"

namespace cimkit {
namespace {

TEST(Stats, RanksAverageTies) {
  const std::vector<double> r = ranks({10, 30, 20, 30, 5});
  EXPECT_EQ(r, (std::vector<double>{2, 4.5, 3, 4.5, 1}));
}

TEST(Stats, SpearmanOfMonotoneAndReversedOrders) {
  const std::vector<double> a = {0.1, 0.5, 0.2, 0.9, 0.7};
  std::vector<double> b, c;
  for (double x : a) b.push_back(std::exp(10 * x));  // same order, different scale
  for (double x : a) c.push_back(-x);
  EXPECT_DOUBLE_EQ(spearman(a, b), 1.0);
  EXPECT_DOUBLE_EQ(spearman(a, c), -1.0);
}

TEST(Stats, SpearmanAgreesWithTheTextbookFormulaWithoutTies) {
  // rho = 1 - 6 sum d^2 / (n (n^2 - 1)) when no value repeats.
  const std::vector<double> a = {3, 1, 4, 15, 9, 2, 6}, b = {2, 7, 1, 8, 5, 3, 6};
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  double d2 = 0;
  for (size_t i = 0; i < a.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  const double n = static_cast<double>(a.size());
  EXPECT_NEAR(spearman(a, b), 1 - 6 * d2 / (n * (n * n - 1)), 1e-12);
}

TEST(Stats, SpearmanRefusesMismatchedOrTinySamplesAndIsNanForConstants) {
  EXPECT_THROW(spearman({1, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(spearman({1}, {1}), Error);
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
}

TEST(Stats, MeanAndSampleStd) {
  EXPECT_DOUBLE_EQ(mean_of({1, 2, 3, 6}), 3.0);
  EXPECT_NEAR(sample_std({1, 2, 3, 6}), std::sqrt(14.0 / 3.0), 1e-12);
  EXPECT_EQ(sample_std({4}), 0.0);
  EXPECT_TRUE(std::isnan(mean_of({})));
}

}  // namespace
}  // namespace cimkit
