// Paper 000 eq. 7–8 on hand-computed cases, in both forms, and the '1'-bit count.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.hpp"
#include "search/bits.hpp"
#include "search/reward.hpp"

using namespace cimkit;
using namespace cimkit::search;

TEST(Reward, CountsOneBitsOfMagnitudes) {
  // |codes| 0, 1, 3 (two), 5 (two), 7 (three), 8 (one): 9 ones.
  EXPECT_DOUBLE_EQ(count_one_bits(torch::tensor({0, 1, -3, 5, -7, 8})), 9.0);
  EXPECT_DOUBLE_EQ(count_one_bits(torch::zeros({4})), 0.0);
  EXPECT_DOUBLE_EQ(count_one_bits(torch::full({10}, 127.0)), 70.0);
}

TEST(Reward, LiteralFormIsTheEquationAsPrinted) {
  RewardTerms c{85.0, {1000.0, 3000.0}, {1.5, 0.5}, 0.0};
  RewardOptions o;
  o.form = RewardForm::Literal;
  o.lambda = 0.1;
  o.origin_accuracy_pct = 88.0;
  // 0.1 x (85 - 88 + 1 / (4000 + 2)) = -0.3 + 2.49875e-5
  EXPECT_NEAR(reward(c, {}, o), 0.1 * (-3.0 + 1.0 / 4002.0), 1e-15);
}

TEST(Reward, NormalisedFormScoresTheReferenceOne) {
  const RewardTerms ref{88.0, {2000.0, 6000.0}, {3.0, 1.0}, 0.0};
  RewardOptions o;
  o.origin_accuracy_pct = 88.0;
  EXPECT_NEAR(reward(ref, ref, o), 0.1 * (0.0 + 1.0), 1e-15);
  // Half the ones (4000 / 8000) and a quarter of the heat (1 / 4): cost 0.5 x (0.5 + 0.25) = 0.375.
  const RewardTerms c{86.5, {1000.0, 3000.0}, {0.5, 0.5}, 0.0};
  EXPECT_NEAR(reward(c, ref, o), 0.1 * (-1.5 + 1.0 / 0.375), 1e-12);
}

TEST(Reward, AccuracyFormIsHaqsReward) {
  // HAQ: λ·(acc − acc_origin) with the accuracy without the candidate's own heat; bits and heat
  // do not enter (they are the budget's business).
  const RewardTerms c{80.0, {1000.0, 3000.0}, {0.5, 0.5}, 86.5};
  RewardOptions o;
  o.form = parse_reward_form("accuracy", "search.reward_form");
  o.origin_accuracy_pct = 88.0;
  EXPECT_NEAR(reward(c, {}, o), 0.1 * (86.5 - 88.0), 1e-15);
  EXPECT_EQ(to_string(o.form), "accuracy");
}

TEST(Reward, BadTermsAreClearErrors) {
  const RewardTerms ref{88.0, {2000.0, 6000.0}, {3.0, 1.0}, 0.0};
  RewardOptions o;
  EXPECT_THROW(reward(RewardTerms{80.0, {1.0}, {1.0}, 0.0}, ref, o), Error);              // layer counts differ
  EXPECT_THROW(reward(RewardTerms{80.0, {1.0, -2.0}, {1.0, 1.0}, 0.0}, ref, o), Error);   // negative
  EXPECT_THROW(reward(RewardTerms{80.0, {1.0, 2.0}, {1.0, 1.0}, 0.0}, RewardTerms{88.0, {0.0, 0.0}, {0.0, 0.0}, 0.0}, o), Error);
  o.form = RewardForm::Literal;
  EXPECT_THROW(reward(RewardTerms{80.0, {0.0, 0.0}, {0.0, 0.0}, 0.0}, ref, o), Error);    // cost 0
  try {
    parse_reward_form("normalized", "search.reward.form");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("search.reward.form"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("normalised"), std::string::npos);
  }
}
