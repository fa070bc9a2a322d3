// Per-layer bit widths of the searches: paper 000 eq. 6 (HAQ's action wall) at the range edges,
// and the post-search refinement of §III.C.3 on hand-built weight codes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.hpp"
#include "search/bits.hpp"

using namespace cimkit;
using namespace cimkit::search;

TEST(ActionToBits, EqualStridesAndTheEdges) {
  const BitRange r{2, 8};  // 7 widths, a stride of 1/7 each
  EXPECT_EQ(action_to_bits(0.0, r), 2);
  EXPECT_EQ(action_to_bits(1.0 / 7 - 1e-9, r), 2);
  EXPECT_EQ(action_to_bits(1.0 / 7 + 1e-9, r), 3);
  EXPECT_EQ(action_to_bits(0.5, r), 5);
  EXPECT_EQ(action_to_bits(6.0 / 7 + 1e-9, r), 8);
  EXPECT_EQ(action_to_bits(1.0, r), 8);  // the paper's printed "+0.5" would give 9 here
  EXPECT_EQ(action_to_bits(-0.3, r), 2);  // exploration noise past the ends is clipped
  EXPECT_EQ(action_to_bits(1.7, r), 8);
  EXPECT_EQ(action_to_bits(0.4, BitRange{6, 8}), 7);
  EXPECT_EQ(action_to_bits(0.9, BitRange{4, 4}), 4);
  for (const BitRange range : {BitRange{2, 8}, BitRange{2, 4}, BitRange{6, 8}, BitRange{1, 16}}) {
    for (int b = range.min; b <= range.max; ++b) EXPECT_EQ(action_to_bits(bits_to_action(b, range), range), b);
  }
  EXPECT_THROW(action_to_bits(std::nan(""), r), Error);
  EXPECT_THROW(bits_to_action(9, r), Error);
}

TEST(ActionToBits, BadRangesNameTheKey) {
  try {
    BitRange{6, 4}.check("search.layers.conv1.weight_bits");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("search.layers.conv1.weight_bits"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[6, 4]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(BitRange({0, 4}).check("k"), Error);
  EXPECT_THROW(BitRange({2, 17}).check("k"), Error);
  EXPECT_NO_THROW(BitRange({1, 16}).check("k"));
}

namespace {
torch::Tensor codes_of(std::vector<int64_t> v) { return torch::tensor(v, torch::kInt64).to(torch::kFloat32); }
}  // namespace

TEST(RefineWeightBits, DropsEmptyTopPlanesDownToTheFirstUsedOne) {
  // 6 bits: sign and magnitude planes 4..0 (16, 8, 4, 2, 1). |w| <= 3: planes 16, 8, 4 are empty.
  EXPECT_EQ(refine_weight_bits(codes_of({0, 1, -2, 3, -3, 1}), 6, 0.05), 3);
  // A plane in use stops the refinement even when every plane below it is empty.
  EXPECT_EQ(refine_weight_bits(codes_of({0, 16, -16, 0}), 6, 0.05), 6);
  // All zero: down to min_bits, never below.
  EXPECT_EQ(refine_weight_bits(codes_of({0, 0, 0}), 8, 0.05), 2);
  EXPECT_EQ(refine_weight_bits(codes_of({0, 0, 0}), 8, 0.05, 4), 4);
}

TEST(RefineWeightBits, SparsePlanesBelowTheThresholdAreDropped) {
  // 100 weights at 6 bits: 3 use plane 16 (3 %), none plane 8, half plane 4.
  std::vector<int64_t> v(100, 1);
  for (int i = 0; i < 50; ++i) v[i] = (i % 2) ? 5 : -6;
  v[97] = 17;
  v[98] = -20;
  v[99] = 31;
  const torch::Tensor w = codes_of(v);
  EXPECT_EQ(refine_weight_bits(w, 6, 0.05), 4);  // 16-plane at 3 % < 5 %, 8-plane empty; 4-plane at 51 %
  EXPECT_EQ(refine_weight_bits(w, 6, 0.03), 6);  // 3 % is not fewer than 3 %
  EXPECT_EQ(refine_weight_bits(w, 6, 0.0), 6);   // only empty planes go
}

TEST(RefineWeightBits, BadInputIsAClearError) {
  EXPECT_THROW(refine_weight_bits(codes_of({0, 40}), 6, 0.05), Error);  // |40| > 31
  EXPECT_THROW(refine_weight_bits(torch::tensor({0.5f, 1.0f}), 6, 0.05), Error);
  EXPECT_THROW(refine_weight_bits(codes_of({1}), 1, 0.05), Error);
  EXPECT_THROW(refine_weight_bits(codes_of({1}), 6, 1.0), Error);
  EXPECT_THROW(refine_weight_bits(codes_of({1}), 6, 0.05, 7), Error);
  EXPECT_THROW(refine_weight_bits(torch::empty({0}), 6, 0.05), Error);
}
