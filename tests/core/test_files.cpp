// Output and input files (issue 10): the atomic writer only replaces regular files and new
// paths, writes through symbolic links, never into device files, FIFOs or sockets; the input
// reader refuses directories and special files without blocking; zip archives are checked.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.hpp"
#include "core/memory.hpp"
#include "core/zip_check.hpp"
#include "support/scratch.hpp"

namespace cimkit {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

std::string scratch(const std::string& name) { return testing::fresh_dir("core", name); }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool no_temporaries(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) return false;
  return true;
}

TEST(AtomicWrite, ReplacesRegularFilesAndCreatesNewOnes) {
  const std::string dir = scratch("regular");
  write_file_atomic(dir + "/a.txt", "one");
  EXPECT_EQ(slurp(dir + "/a.txt"), "one");
  ::chmod((dir + "/a.txt").c_str(), 0600);
  write_file_atomic(dir + "/a.txt", "two");
  EXPECT_EQ(slurp(dir + "/a.txt"), "two");
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // the file keeps its permissions
  EXPECT_TRUE(no_temporaries(dir));
}

TEST(AtomicWrite, RefusesAFifoAndLeavesIt) {
  const std::string dir = scratch("fifo"), fifo = dir + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_EQ(error_of([&] { write_file_atomic(fifo, "x"); }),
            fifo + ": is a FIFO; cimkit writes its outputs only to regular files or new paths");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_TRUE(no_temporaries(dir));
}

TEST(AtomicWrite, RefusesASocketADirectoryAndADeviceNode) {
  const std::string dir = scratch("special");
  const std::string sock = dir + "/sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock.size(), sizeof(addr.sun_path));
  std::strcpy(addr.sun_path, sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_HAS(error_of([&] { write_file_atomic(sock, "x"); }), ": is a socket;");
  ::close(fd);
  EXPECT_HAS(error_of([&] { write_file_atomic(dir, "x"); }), dir + ": is a directory;");
  // A character device node made here, in the scratch folder (never a real /dev file); needs
  // CAP_MKNOD, which CI has as root.
  const std::string dev = dir + "/null_twin";
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    EXPECT_HAS(error_of([&] { write_file_atomic(dev, "x"); }), dev + ": is a device file;");
    struct stat st {};
    ASSERT_EQ(::lstat(dev.c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
  }
  EXPECT_TRUE(no_temporaries(dir));
}

TEST(AtomicWrite, WritesThroughASymlinkAndKeepsTheLink) {
  const std::string dir = scratch("symlink");
  fs::create_directories(dir + "/real");
  write_file_atomic(dir + "/real/target.txt", "old");
  fs::create_symlink("real/target.txt", dir + "/link.txt");  // relative link
  write_file_atomic(dir + "/link.txt", "new");
  EXPECT_TRUE(fs::is_symlink(dir + "/link.txt"));
  EXPECT_EQ(slurp(dir + "/real/target.txt"), "new");
  // A dangling link creates its target; a link to a FIFO is refused.
  fs::create_symlink(dir + "/real/fresh.txt", dir + "/dangling");
  write_file_atomic(dir + "/dangling", "made");
  EXPECT_EQ(slurp(dir + "/real/fresh.txt"), "made");
  ASSERT_EQ(::mkfifo((dir + "/real/pipe").c_str(), 0644), 0);
  fs::create_symlink(dir + "/real/pipe", dir + "/to_pipe");
  EXPECT_HAS(error_of([&] { write_file_atomic(dir + "/to_pipe", "x"); }), "/to_pipe: is a FIFO;");
  EXPECT_TRUE(no_temporaries(dir) && no_temporaries(dir + "/real"));
}

TEST(InputFile, RefusesDirectoriesAndSpecialFilesWithoutBlocking) {
  const std::string dir = scratch("input");
  EXPECT_EQ(error_of([&] { read_input_file(dir, "config file"); }), dir + ": is a directory, expected a config file");
  EXPECT_EQ(error_of([&] { read_input_file(dir + "/nope.yaml", "config file"); }),
            dir + "/nope.yaml: no such file (expected a config file)");
  const std::string fifo = dir + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);  // reading it would block forever
  EXPECT_EQ(error_of([&] { read_input_file(fifo, "tensor file"); }),
            fifo + ": is a FIFO, expected a tensor file (a regular file)");
  write_file_atomic(dir + "/big.bin", std::string(100, 'x'));
  EXPECT_HAS(error_of([&] { read_input_file(dir + "/big.bin", "tensor file", 10); }), "is 100 bytes, more than the 10");
  EXPECT_EQ(read_input_file(dir + "/big.bin", "tensor file"), std::string(100, 'x'));
}

std::string pickled(const torch::Tensor& t) {
  const std::vector<char> b = torch::pickle_save(t);
  return std::string(b.begin(), b.end());
}

TEST(ZipCheck, AcceptsWhatLibTorchWritesAndCatchesOverwrittenData) {
  const torch::Tensor t = torch::arange(64, torch::kFloat32) + 0.5;
  std::string zip = pickled(t);
  ASSERT_TRUE(looks_like_zip(zip.data(), zip.size()));
  verify_zip_archive("t.pt", zip.data(), zip.size(), "tensor file");
  // Overwrite the tensor's bytes (as a disk error or a stray write would): LibTorch itself would
  // still load this file; the CRC-32 check refuses it.
  const float f = 10.5f;
  std::string needle(sizeof f, '\0');
  std::memcpy(needle.data(), &f, sizeof f);
  const auto at = zip.find(needle);
  ASSERT_NE(at, std::string::npos);
  zip[at] ^= 0x5a;
  EXPECT_HAS(error_of([&] { verify_zip_archive("t.pt", zip.data(), zip.size(), "tensor file"); }),
             "t.pt: corrupt or truncated tensor file: entry '");
  EXPECT_HAS(error_of([&] { verify_zip_archive("t.pt", zip.data(), zip.size(), "tensor file"); }),
             "fails its CRC-32 check");
}

TEST(ZipCheck, CatchesTruncationAndGarbage) {
  const std::string zip = pickled(torch::ones({100}));
  for (size_t keep : {zip.size() - 1, zip.size() / 2, size_t(30), size_t(4)}) {
    const std::string cut = zip.substr(0, keep);
    EXPECT_HAS(error_of([&] { verify_zip_archive("c.pt", cut.data(), cut.size(), "checkpoint"); }),
               "c.pt: corrupt or truncated checkpoint: ");
  }
  std::string junk(1000, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = char((i * 7919) & 0xff);
  EXPECT_HAS(error_of([&] { verify_zip_archive("j.pt", junk.data(), junk.size(), "checkpoint"); }),
             "no end-of-archive record");
}

TEST(ZipCheck, ReadsDeflatedEntriesAndCatchesTheirCorruption) {
  std::string zip = slurp(std::string(CIMKIT_TEST_DATA_DIR) + "/deflated.zip");
  ASSERT_GT(zip.size(), 30u);
  verify_zip_archive("d.zip", zip.data(), zip.size(), "archive");
  // Inside the compressed data (after the 30-byte local header and the 16-byte name).
  zip[30 + 16 + 10] ^= 0x21;
  const std::string e = error_of([&] { verify_zip_archive("d.zip", zip.data(), zip.size(), "archive"); });
  EXPECT_HAS(e, "d.zip: corrupt or truncated archive: entry 'archive/data.txt' ");
}

TEST(Memory, RequireMemoryNamesTheEstimateAndTheLimit) {
  ::setenv("CIMKIT_MEMORY_LIMIT_MB", "100", 1);
  EXPECT_EQ(available_memory_bytes(), uint64_t(100) << 20);
  require_memory(50.0 * (1 << 20), "a small thing", "n/a");
  EXPECT_EQ(error_of([] { require_memory(3.0 * (uint64_t(1) << 30), "the thermal model", "use a coarser grid"); }),
            "the thermal model needs about 3 GiB, more than the 100 MiB of memory available (MemAvailable, "
            "RLIMIT_AS or CIMKIT_MEMORY_LIMIT_MB); use a coarser grid");
  ::unsetenv("CIMKIT_MEMORY_LIMIT_MB");
  EXPECT_GT(available_memory_bytes(), uint64_t(100) << 20);
}

}  // namespace
}  // namespace cimkit
