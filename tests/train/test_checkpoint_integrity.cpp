// Checkpoints that must not be trusted (issue 10): a last.pt whose tensor bytes were overwritten
// (LibTorch's reader does not check the zip records' CRC-32) and a last.pt whose tensors hold NaN
// are refused at load, naming the file (and the tensor), before anything in the model changes.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "fixtures.hpp"
#include "train/checkpoint.hpp"

namespace cimkit::train_test {
namespace {

using cimkit::testing::error_of;
using train::LastCheckpoint;

// A last.pt of `net` with an SGD optimizer and a fresh position (empty fingerprint).
void save_last(const std::string& path, TinyNet& net) {
  torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(0.1));
  LastCheckpoint s;
  s.rng_cpu = at::detail::getDefaultCPUGenerator().get_state();
  train::save_last_checkpoint(path, net, opt, s);
}

std::string load_error(const std::string& path, TinyNet& into) {
  torch::optim::SGD opt(into.parameters(), torch::optim::SGDOptions(0.1));
  return error_of([&] { train::load_last_checkpoint(path, into, opt, {}, torch::kCPU); });
}

TEST(CheckpointIntegrity, OverwrittenTensorBytesAreRefused) {
  const std::string dir = fresh_dir("integrity_crc"), path = dir + "/last.pt";
  auto net = tiny_net(1);
  save_last(path, *net);
  auto fresh = tiny_net(2);
  ASSERT_EQ(load_error(path, *fresh), "(no error)");  // the untouched file loads
  // Overwrite the bytes of fc.weight inside the archive with other floats of the same size.
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  const torch::Tensor w = net->fc->weight.detach().contiguous();
  const std::string needle(static_cast<const char*>(w.data_ptr()), 16);
  const auto at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  for (int i = 0; i < 16; ++i) bytes[at + i] = char(0x3f);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;

  auto target = tiny_net(3), before = tiny_net(3);
  const std::string e = load_error(path, *target);
  EXPECT_HAS(e, path + ": corrupt or truncated checkpoint: entry '");
  EXPECT_HAS(e, "fails its CRC-32 check");
  EXPECT_TRUE(same_state(*target, *before));  // nothing was loaded
}

TEST(CheckpointIntegrity, NonFiniteTensorsAreRefusedNamingTheTensor) {
  const std::string dir = fresh_dir("integrity_nan"), path = dir + "/last.pt";
  auto net = tiny_net(1);
  {
    torch::NoGradGuard g;
    net->fc->weight[2][5] = std::numeric_limits<float>::quiet_NaN();
  }
  save_last(path, *net);
  auto target = tiny_net(3), before = tiny_net(3);
  EXPECT_EQ(load_error(path, *target),
            path + ": tensor 'fc.weight' holds 1 non-finite value (1 NaN, 0 infinite; first at flat index 133 of 256); "
                   "it cannot be used");
  EXPECT_TRUE(same_state(*target, *before));
}

TEST(CheckpointIntegrity, VerifyCheckpointFileIsCheapAndNamesTheFile) {
  const std::string dir = fresh_dir("integrity_verify"), path = dir + "/last.pt";
  auto net = tiny_net(1);
  save_last(path, *net);
  EXPECT_EQ(error_of([&] { train::verify_checkpoint_file(path); }), "(no error)");
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "PK\x03\x04 cut short";
  EXPECT_HAS(error_of([&] { train::verify_checkpoint_file(path); }), path + ": corrupt or truncated checkpoint");
}

}  // namespace
}  // namespace cimkit::train_test
