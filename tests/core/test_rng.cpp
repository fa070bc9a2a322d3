// Seeded streams: derivation is stable and separates streams; generators reproduce bitwise.
#include <gtest/gtest.h>

#include "core/rng.hpp"

using namespace cimkit;

TEST(Rng, DerivedSeedsAreStableAndDistinct) {
  EXPECT_EQ(derive_seed(1, "d2d", 3, 4), derive_seed(1, "d2d", 3, 4));
  EXPECT_NE(derive_seed(1, "d2d", 3, 4), derive_seed(1, "c2c", 3, 4));
  EXPECT_NE(derive_seed(1, "d2d", 3, 4), derive_seed(2, "d2d", 3, 4));
  EXPECT_NE(derive_seed(1, "d2d", 3, 4), derive_seed(1, "d2d", 4, 3));
}

TEST(Rng, SameSeedSameDrawsBitwise) {
  auto g1 = make_generator(42);
  auto g2 = make_generator(42);
  auto g3 = make_generator(43);
  const auto a = at::randn({1000}, g1);
  const auto b = at::randn({1000}, g2);
  const auto c = at::randn({1000}, g3);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
}

TEST(Rng, SetThreadsIsExplicit) {
  EXPECT_EQ(set_threads(2), 2);
  EXPECT_GE(set_threads(0), 1);
}

TEST(Rng, BlockDrawsDoNotDependOnThreads) {
  const int before = torch::get_num_threads();
  auto draw = [](int threads, bool normal) {
    set_threads(threads);
    auto g = make_generator(5);
    const int64_t n = 3 * kDrawBlock + 17;  // a partial last block
    return normal ? cimkit::randn({n}, g, torch::kFloat32) : cimkit::rand({n}, g, torch::kFloat64);
  };
  for (const bool normal : {true, false}) {
    const torch::Tensor one = draw(1, normal), two = draw(2, normal);
    EXPECT_TRUE(torch::equal(one, two)) << (normal ? "randn" : "rand");
    EXPECT_FALSE(torch::equal(one.narrow(0, 0, 1000), one.narrow(0, kDrawBlock, 1000)));  // blocks differ
  }
  set_threads(before);
}

TEST(Rng, BlockDrawsHaveTheirDistribution) {
  auto g = make_generator(6);
  const torch::Tensor z = cimkit::randn({1 << 20}, g, torch::kFloat64);
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.005);
  EXPECT_NEAR(z.std().item<double>(), 1.0, 0.005);
  EXPECT_NEAR((z.abs() < 1.0).to(torch::kFloat64).mean().item<double>(), 0.6827, 0.002);
  const torch::Tensor u = cimkit::rand({1 << 20}, g, torch::kFloat32);
  EXPECT_GE(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.002);
  EXPECT_NEAR((u < 0.1).to(torch::kFloat64).mean().item<double>(), 0.1, 0.002);
  // Each call consumes the stream: the next call draws new values; the same seed repeats them.
  auto g2 = make_generator(6);
  EXPECT_TRUE(torch::equal(cimkit::randn({1 << 20}, g2, torch::kFloat64), z));
  EXPECT_FALSE(torch::equal(cimkit::randn({1 << 20}, g2, torch::kFloat64), z));
}
