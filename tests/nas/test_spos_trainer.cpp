// The supernet's training run: the loss falls on a learnable toy task, checkpoints are written
// after every epoch, and a run stopped after an epoch and resumed ends with the same weights, bit
// for bit, as the uninterrupted run; a checkpoint of another seed is refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "nas/spos_trainer.hpp"
#include "nas/toy_space.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
using namespace cimkit::nas;
namespace fs = std::filesystem;

namespace {

ArchSpace space() { return cimkit::nas::testing::toy_space(2, {4, 8}, 8); }

bool same_weights(Supernet& a, Supernet& b) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& p : pa) {
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  }
  return true;
}

}  // namespace

TEST(SposTrainer, LossFallsAndAResumedRunEqualsTheUninterruptedOne) {
  const fs::path dir = cimkit::testing::fresh_dir("test_nas", "spos_trainer");
  data::DataLoader loader(cimkit::nas::testing::toy_data(96), 16, true, 7);
  SposTrainOptions o;
  o.epochs = 4;
  o.sgd = {0.05, 0.9, 1e-4};
  o.seed = 11;

  Supernet whole(space(), 1);
  const SposTrainLog all = train_supernet(whole, loader, o);
  ASSERT_EQ(all.epoch_loss.size(), 4u);
  EXPECT_LT(all.epoch_loss.back(), all.epoch_loss.front());

  Supernet part(space(), 1);
  SposTrainOptions first = o;
  first.epochs = 4;
  first.checkpoint_path = (dir / "supernet.pt").string();
  int64_t stop_after = 1;
  try {
    train_supernet(part, loader, first, [&](int64_t epoch, double) {
      if (epoch == stop_after) throw std::runtime_error("stopped");  // killed after epoch 1's checkpoint
    });
  } catch (const std::runtime_error&) {
  }
  ASSERT_TRUE(fs::exists(first.checkpoint_path));
  Supernet resumed(space(), 99);  // other initial weights: the checkpoint decides
  SposTrainOptions again = first;
  again.resume = true;
  const SposTrainLog rest = train_supernet(resumed, loader, again);
  EXPECT_EQ(rest.first_epoch, 2);
  EXPECT_EQ(rest.epoch_loss.size(), 2u);
  EXPECT_TRUE(same_weights(whole, resumed));

  SposTrainOptions other = again;
  other.seed = 12;
  Supernet x(space(), 1);
  EXPECT_THROW(train_supernet(x, loader, other), DataError);
  other.checkpoint_path = (dir / "missing.pt").string();
  EXPECT_THROW(train_supernet(x, loader, other), DataError);
}
