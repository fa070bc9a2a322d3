// Issue 10, the binary end to end with wrong input: nothing the user produced is lost or replaced,
// outputs go only to regular files or new paths, values that cannot run are refused up front,
// and every message names the file and says what was found and what is expected, without
// LibTorch's stack traces. Each test reproduces a reported failure.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/run_cimkit.hpp"
#include "cli/tensor_io.hpp"
#include "nn/interop.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
namespace fs = std::filesystem;

namespace {

const std::string& kData = cimkit::testing::kCliData;
const std::string& kSource = cimkit::testing::kCliSource;
using cimkit::testing::CliRun;
using cimkit::testing::error_of;
using cimkit::testing::run_cimkit;

std::string scratch(const std::string& name) { return cimkit::testing::cli_tmp_dir("hardening_" + name); }

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// No LibTorch stack trace, and not the generic "internal error".
void expect_clean_message(const CliRun& r) {
  EXPECT_EQ(r.output.find("Exception raised from"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("frame #"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
}

const std::string kIo = " --weights " + kData + "/w_codes.pt --inputs " + kData + "/x_codes.pt --integer";

TEST(Hardening, ResumeAndOverwriteAreRefusedTogetherBeforeAnythingIsTouched) {
  const std::string dir = scratch("resume_overwrite");
  fs::create_directories(dir + "/checkpoints");
  std::ofstream(dir + "/checkpoints/last.pt") << "the user's checkpoint";
  const CliRun r = run_cimkit("run --resume --overwrite --out " + dir);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "--resume and --overwrite cannot be used together");
  EXPECT_TRUE(fs::exists(dir + "/checkpoints/last.pt"));
  EXPECT_EQ(listing(dir), std::vector<std::string>{"checkpoints"});
}

TEST(Hardening, ResumeRefusesACorruptCheckpointBeforeWritingAnything) {
  const std::string dir = scratch("resume_corrupt");
  fs::create_directories(dir + "/checkpoints");
  std::ofstream(dir + "/checkpoints/last.pt") << "PK\x03\x04 not really a zip archive";
  const CliRun r = run_cimkit("run --resume --out " + dir);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, dir + "/checkpoints/last.pt: corrupt or truncated checkpoint");
  EXPECT_EQ(listing(dir), std::vector<std::string>{"checkpoints"});  // no resolved_config.yaml
}

TEST(Hardening, MvmRefusesAFifoAsOutputAndWritesNothing) {
  const std::string dir = scratch("mvm_fifo"), fifo = dir + "/y.pt";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const CliRun r = run_cimkit("mvm --config " + kSource + "/configs/examples/mvm_lossless.yaml" + kIo + " -o " + fifo);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, fifo + ": is a FIFO; cimkit writes its outputs only to regular files or new paths");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(listing(dir), std::vector<std::string>{"y.pt"});  // no companions beside it
}

TEST(Hardening, MvmWritesThroughASymlinkAndCompanionsDoNotCollide) {
  const std::string dir = scratch("mvm_shared");
  fs::create_directories(dir + "/store");
  fs::create_symlink("store/real.pt", dir + "/a.pt");
  const std::string cfg = " --config " + kSource + "/configs/examples/mvm_lossless.yaml";
  CliRun r = run_cimkit("mvm" + cfg + kIo + " -o " + dir + "/a.pt");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run_cimkit("mvm" + cfg + kIo + " -o " + dir + "/b.pt --set chip.adc.bits=4");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::is_symlink(dir + "/a.pt"));
  EXPECT_TRUE(torch::equal(load_tensor_file(dir + "/store/real.pt"), load_tensor_file(kData + "/y_exact.pt")));
  // Each run's companions are its own: the second run did not replace the first's config.
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"a.counts.pt", "a.pt", "a.resolved_config.yaml", "b.counts.pt",
                                                    "b.pt", "b.resolved_config.yaml", "store"}));
  std::ifstream a(dir + "/a.resolved_config.yaml");
  std::stringstream sa;
  sa << a.rdbuf();
  EXPECT_EQ(sa.str().find("bits: 4"), std::string::npos);
}

TEST(Hardening, MvmRefusesInputsItWouldSilentlyChange) {
  const std::string dir = scratch("mvm_inputs");
  save_tensor_file(dir + "/w.pt", torch::randn({8, 16}));
  save_tensor_file(dir + "/x.pt", torch::randn({4, 16}));
  const std::string base = "mvm --weights " + dir + "/w.pt --out " + dir + "/y.pt";
  CliRun r = run_cimkit(base + " --inputs " + dir + "/x.pt");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, dir + "/x.pt: ");
  EXPECT_HAS(r.output, "inputs are negative");
  EXPECT_HAS(r.output, "chip.crossbar.input_encoding=offset");
  save_tensor_file(dir + "/xp.pt", torch::rand({4, 16}));
  for (const char* bad : {"0", "-1", "nan"}) {
    r = run_cimkit(base + " --inputs " + dir + "/xp.pt --input-scale " + bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.output;
    EXPECT_HAS(r.output, "--input-scale");
    EXPECT_HAS(r.output, "positive finite number");
  }
  r = run_cimkit(base + " --inputs " + kData + "/complex_tensor.pt");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "complex_tensor.pt: the tensor is complex (ComplexFloat)");
  r = run_cimkit(base + " --inputs " + dir + "/xp.pt --calibrate " + dir + "/xp.pt");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "the chip's ADC is not calibrated");
  r = run_cimkit(base + " --inputs " + kData + "/nan_tensor.pt");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "nan_tensor.pt: the tensor holds 1 non-finite value (1 NaN");
  EXPECT_FALSE(fs::exists(dir + "/y.pt"));
}

TEST(Hardening, DirectoriesAndWrongPtFilesGetSayWhatWasFound) {
  const std::string dir = scratch("pt_files");
  const std::string out = " --out " + dir + "/y.pt";
  auto mvm_with_weights = [&](const std::string& w) {
    const CliRun r = run_cimkit("mvm --weights " + w + " --inputs " + kData + "/x_codes.pt --integer" + out);
    EXPECT_EQ(r.code, 2) << r.output;
    expect_clean_message(r);
    return r.output;
  };
  EXPECT_HAS(mvm_with_weights(dir), dir + ": is a directory, expected a tensor file");
  EXPECT_HAS(mvm_with_weights(kData + "/legacy_format.pt"), "legacy_format.pt: is a legacy (non-zip) torch.save file");
  EXPECT_HAS(mvm_with_weights(kData + "/pickled_module.pt"),
             "pickled_module.pt: holds a pickled Python object of class torch.nn.modules.linear.Linear, expected a "
             "tensor file");
  EXPECT_HAS(mvm_with_weights(kData + "/not_a_tensor.pt"), "not_a_tensor.pt: holds a list, expected a tensor");
  // Truncated and random files.
  std::ifstream in(kData + "/w_codes.pt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::ofstream(dir + "/cut.pt", std::ios::binary) << ss.str().substr(0, ss.str().size() / 2);
  EXPECT_HAS(mvm_with_weights(dir + "/cut.pt"), "cut.pt: corrupt or truncated tensor file");
  std::string noise(4096, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = char((i * 2654435761u) >> 13);
  std::ofstream(dir + "/noise.pt", std::ios::binary) << noise;
  EXPECT_HAS(mvm_with_weights(dir + "/noise.pt"), "noise.pt: is not a tensor file");
  // train.pretrained: the state-dict reader says the same.
  EXPECT_EQ(error_of([&] { nn::read_state_dict_file(dir); }), dir + ": is a directory, expected a state dict");
  EXPECT_HAS(error_of([&] { nn::read_state_dict_file(kData + "/state_dict_inf.pt"); }),
             "state_dict_inf.pt: tensor 'weight' holds 12 non-finite values (0 NaN, 12 infinite");
}

TEST(Hardening, ValuesThatCannotRunHereAreRefusedWithTheEstimate) {
  const std::string dir = scratch("too_big");
  ::setenv("CIMKIT_MEMORY_LIMIT_MB", "4096", 1);  // the same answer on any machine
  std::ifstream in(kSource + "/configs/examples/thermal_floorplan_example.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string fp = ss.str();
  fp = fp.substr(0, fp.find("\ngrid:")) + "\ngrid: {nx: 4096, ny: 4096}\n";
  std::ofstream(dir + "/big.yaml") << fp;
  CliRun r = run_cimkit("thermal --floorplan " + dir + "/big.yaml");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "the thermal model of a 4096 × 4096 grid needs about");
  EXPECT_HAS(r.output, "more than the 4 GiB of memory available");
  r = run_cimkit("cost --network lenet5 --input 3x100000x100000");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "the network lenet5 at --input 3x100000x100000 needs about");
  expect_clean_message(r);
  r = run_cimkit("cost --network lenet5 --input 3x99999999999x99999999999");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "expected CxHxW");
  ::unsetenv("CIMKIT_MEMORY_LIMIT_MB");
  r = run_cimkit("thermal --floorplan " + kSource + "/configs/examples/thermal_floorplan_example.yaml --hotspots -1");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "--hotspots");
}

}  // namespace
