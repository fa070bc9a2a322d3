// Dataset loaders: IDX (MNIST / Fashion-MNIST) and CIFAR binary files generated here, gzipped
// and plain; every malformed file gives a DataError naming it; split, shuffle and augmentation
// are deterministic for a seed (and epoch).
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/idx.hpp"
#include "data/loader.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
using namespace cimkit::data;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

// <tmp>/cimkit_test_data_<pid>/<name>, removed when the test binary exits.
std::string fresh_dir(const std::string& name) { return cimkit::testing::fresh_dir("data", name); }

void write_file(const std::string& path, const Bytes& b, bool gz) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    if (!b.empty()) {
      ASSERT_EQ(gzwrite(f, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
    }
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  }
}

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// Image i has pixel p = (i * 7 + p) % 256.
Bytes idx_images(uint32_t n, uint32_t magic = kIdxImagesMagic) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, n);
  put_be32(b, 28);
  put_be32(b, 28);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t p = 0; p < 784; ++p) b.push_back(static_cast<uint8_t>((i * 7 + p) % 256));
  return b;
}

Bytes idx_labels(uint32_t n) {
  Bytes b;
  put_be32(b, kIdxLabelsMagic);
  put_be32(b, n);
  for (uint32_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(i % 10));
  return b;
}

// An MNIST-like directory with n test (t10k) samples.
std::string mnist_dir(const std::string& name, uint32_t n, bool gz) {
  const std::string dir = fresh_dir(name);
  const std::string ext = gz ? ".gz" : "";
  write_file(dir + "/t10k-images-idx3-ubyte" + ext, idx_images(n), gz);
  write_file(dir + "/t10k-labels-idx1-ubyte" + ext, idx_labels(n), gz);
  return dir;
}

// One CIFAR record per sample: label bytes, then pixel p = (i + p) % 256.
Bytes cifar_records(int n, const std::vector<std::vector<uint8_t>>& labels) {
  Bytes b;
  for (int i = 0; i < n; ++i) {
    for (uint8_t l : labels[i]) b.push_back(l);
    for (int p = 0; p < 3072; ++p) b.push_back(static_cast<uint8_t>((i + p) % 256));
  }
  return b;
}

// The message of the DataError `f` throws.
template <typename F>
std::string data_error(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a DataError";
  return {};
}

// A dataset of n 3-channel HxW images with image i constant i % 256 and label i % 10.
Dataset synthetic(int64_t n, int64_t c = 3, int64_t h = 8, int64_t w = 8) {
  Dataset d;
  d.name = "synthetic";
  d.n_classes = 10;
  d.images = (torch::arange(n, torch::kInt64) % 256).to(torch::kUInt8).view({n, 1, 1, 1}).expand({n, c, h, w}).contiguous();
  d.labels = torch::arange(n, torch::kInt64) % 10;
  d.norm_mean.assign(c, 0.0);
  d.norm_std.assign(c, 1.0);
  return d;
}

}  // namespace

TEST(Idx, RoundTripPlainAndGzip) {
  for (bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "plain");
    const std::string dir = mnist_dir(gz ? "rt_gz" : "rt_plain", 5, gz);
    const Dataset d = load_mnist_like(dir, false, "mnist");
    ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{5, 1, 28, 28}));
    EXPECT_EQ(d.images.scalar_type(), torch::kUInt8);
    EXPECT_EQ(d.labels.scalar_type(), torch::kInt64);
    EXPECT_TRUE(torch::equal(d.labels, torch::arange(5, torch::kInt64)));
    EXPECT_EQ(d.images[3][0][0][0].item<int>(), 21);           // 3 * 7
    EXPECT_EQ(d.images[3][0][27][27].item<int>(), (21 + 783) % 256);
    EXPECT_EQ(d.n_classes, 10);
    EXPECT_EQ(d.norm_mean, std::vector<double>{0.1307});
    EXPECT_EQ(d.norm_std, std::vector<double>{0.3081});
  }
}

TEST(Idx, TruncatedFileGivesExpectedAndFoundBytes) {
  for (bool gz : {false, true}) {
    const std::string path = fresh_dir(gz ? "trunc_gz" : "trunc") + "/img";
    Bytes b = idx_images(2);
    b.resize(b.size() - 10);
    write_file(path, b, gz);
    EXPECT_EQ(data_error([&] { read_idx_images(path); }),
              path + ": truncated: expected 1584 bytes (16-byte header + 1568 data bytes for dimensions 2 28 28), found 1574");
  }
}

TEST(Idx, CutGzipStreamIsReported) {
  const std::string path = fresh_dir("cut_gz") + "/img.gz";
  write_file(path, idx_images(50), true);
  fs::resize_file(path, fs::file_size(path) / 2);
  const std::string msg = data_error([&] { read_idx_images(path); });
  EXPECT_EQ(msg.rfind(path + ": gzip stream cut short", 0), 0u) << msg;
}

TEST(Idx, HeaderTooShort) {
  const std::string path = fresh_dir("short") + "/lbl";
  write_file(path, {0, 0, 8, 1, 0}, false);
  EXPECT_EQ(data_error([&] { read_idx_labels(path); }),
            path + ": truncated: an idx1-ubyte label file starts with a 8-byte header, found 5 bytes");
}

TEST(Idx, WrongMagic) {
  const std::string path = fresh_dir("magic") + "/img";
  write_file(path, idx_images(1, kIdxLabelsMagic), false);
  EXPECT_EQ(data_error([&] { read_idx_images(path); }),
            path + ": not an idx3-ubyte image file: magic number 2049, expected 2051");
}

TEST(Idx, TrailingBytes) {
  const std::string path = fresh_dir("trailing") + "/lbl.gz";
  Bytes b = idx_labels(3);
  b.push_back(0);
  write_file(path, b, true);
  EXPECT_EQ(data_error([&] { read_idx_labels(path); }),
            path + ": trailing bytes: expected 11 bytes (8-byte header + 3 data bytes for dimensions 3), found 12");
}

TEST(MnistLike, CountMismatch) {
  const std::string dir = mnist_dir("mismatch", 4, false);
  write_file(dir + "/t10k-labels-idx1-ubyte", idx_labels(3), false);
  EXPECT_EQ(data_error([&] { load_mnist_like(dir, false, "mnist"); }),
            dir + "/t10k-labels-idx1-ubyte: holds 3 labels but " + dir +
                "/t10k-images-idx3-ubyte holds 4 images; expected equal counts");
}

TEST(MnistLike, MissingFileAndDirectory) {
  const std::string dir = mnist_dir("missing", 2, true);
  const std::string msg = data_error([&] { load_mnist_like(dir, true, "fashion_mnist"); });
  EXPECT_EQ(msg, dir + "/train-images-idx3-ubyte: file not found (also tried train-images-idx3-ubyte.gz); "
                       "fashion_mnist expects in " + dir + ": train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                       "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each plain or .gz)");
  const std::string nodir = dir + "/nope";
  EXPECT_EQ(data_error([&] { load_mnist_like(nodir, false, "mnist"); }).rfind(nodir + ": mnist directory not found", 0), 0u);
}

TEST(MnistLike, LabelOutOfRange) {
  const std::string dir = mnist_dir("badlabel", 3, false);
  Bytes b = idx_labels(3);
  b[8 + 2] = 10;
  write_file(dir + "/t10k-labels-idx1-ubyte", b, false);
  EXPECT_EQ(data_error([&] { load_mnist_like(dir, false, "mnist"); }),
            dir + "/t10k-labels-idx1-ubyte: label 10 at index 2 is out of range; expected 0..9");
}

TEST(Cifar, Cifar10RecordsParse) {
  const std::string dir = fresh_dir("cifar10");
  for (int k = 1; k <= 5; ++k)
    write_file(dir + "/data_batch_" + std::to_string(k) + ".bin", cifar_records(2, {{uint8_t(k)}, {uint8_t(9)}}), false);
  write_file(dir + "/test_batch.bin", cifar_records(3, {{0}, {1}, {2}}), false);
  const Dataset train = load_dataset("cifar10", dir, true);
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{10, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({1, 9, 2, 9, 3, 9, 4, 9, 5, 9}, torch::kInt64)));
  const Dataset test = load_cifar10(dir, false);
  ASSERT_EQ(test.size(), 3);
  EXPECT_EQ(test.images[2][0][0][0].item<int>(), 2);              // R plane, pixel 0
  EXPECT_EQ(test.images[2][1][0][1].item<int>(), (2 + 1025) % 256);  // G plane, pixel 1
  EXPECT_EQ(test.images[1][2][31][31].item<int>(), (1 + 3071) % 256);
  EXPECT_EQ(test.norm_mean.size(), 3u);
}

TEST(Cifar, Cifar10Errors) {
  const std::string dir = fresh_dir("cifar10_bad");
  write_file(dir + "/test_batch.bin", Bytes(3073 * 2 + 5, 0), false);
  EXPECT_EQ(data_error([&] { load_cifar10(dir, false); }),
            dir + "/test_batch.bin: size 6151 bytes is not a positive multiple of the 3073-byte cifar10 record "
                  "(1 label byte(s) + 3072 pixel bytes); truncated or not a cifar10 binary file");
  write_file(dir + "/test_batch.bin", cifar_records(2, {{3}, {12}}), false);
  EXPECT_EQ(data_error([&] { load_cifar10(dir, false); }),
            dir + "/test_batch.bin: record 1: label byte 0 is 12, out of range; expected 0..9");
  const std::string msg = data_error([&] { load_cifar10(dir, true); });
  EXPECT_EQ(msg.rfind(dir + "/data_batch_1.bin: file not found; cifar10 expects in " + dir + ": data_batch_1.bin", 0), 0u) << msg;
}

TEST(Cifar, Cifar100FineAndCoarse) {
  const std::string dir = fresh_dir("cifar100") + "/cifar-100-binary";  // the tarball's layout
  fs::create_directories(dir);
  write_file(dir + "/train.bin", cifar_records(2, {{4, 99}, {19, 7}}), true);  // gzipped works too
  const std::string parent = fs::path(dir).parent_path().string();
  const Dataset fine = load_cifar100(parent, true);
  EXPECT_EQ(fine.n_classes, 100);
  EXPECT_TRUE(torch::equal(fine.labels, torch::tensor({99, 7}, torch::kInt64)));
  const Dataset coarse = load_cifar100(parent, true, false);
  EXPECT_EQ(coarse.n_classes, 20);
  EXPECT_TRUE(torch::equal(coarse.labels, torch::tensor({4, 19}, torch::kInt64)));
  EXPECT_EQ(fine.images[1][0][0][0].item<int>(), 1);
  write_file(dir + "/test.bin", cifar_records(1, {{20, 5}}), false);
  EXPECT_EQ(data_error([&] { load_cifar100(parent, false); }),
            dir + "/test.bin: record 0: label byte 0 is 20, out of range; expected 0..19");
}

TEST(Factory, UnknownNameHasDidYouMean) {
  try {
    load_dataset("cifar11", "", true);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unknown dataset 'cifar11'; did you mean 'cifar10'?; known: fashion_mnist, mnist, cifar10, cifar100");
  }
}

TEST(Split, DisjointCoveringDeterministic) {
  const Dataset d = synthetic(100);
  const SplitResult a = split(d, 0.2, 7), b = split(d, 0.2, 7), c = split(d, 0.2, 8);
  ASSERT_EQ(a.val.size(), 20);
  ASSERT_EQ(a.train.size(), 80);
  // Image i is constant i, so pixel (0,0,0) identifies the sample.
  auto ids = [](const Dataset& s) { return s.images.select(1, 0).select(1, 0).select(1, 0).to(torch::kInt64); };
  const auto all = std::get<0>(torch::cat({ids(a.train), ids(a.val)}).sort());
  EXPECT_TRUE(torch::equal(all, torch::arange(100, torch::kInt64)));  // disjoint and covering
  EXPECT_TRUE(torch::equal(ids(a.val), ids(b.val)));
  EXPECT_FALSE(torch::equal(ids(a.val), ids(c.val)));
  EXPECT_TRUE(torch::equal(a.val.labels, ids(a.val) % 10));
}

TEST(Loader, ShapesAndPartialBatch) {
  DataLoaderOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  DataLoader keep(synthetic(10), o);
  EXPECT_EQ(keep.n_batches(), 3);
  std::vector<int64_t> sizes;
  for (const Batch& b : keep) {
    EXPECT_EQ(b.images.scalar_type(), torch::kFloat32);
    EXPECT_EQ(b.images.sizes().slice(1), (std::vector<int64_t>{3, 8, 8}));
    EXPECT_EQ(b.labels.size(0), b.images.size(0));
    sizes.push_back(b.images.size(0));
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  o.drop_last = true;
  EXPECT_EQ(DataLoader(synthetic(10), o).n_batches(), 2);
}

TEST(Loader, NormalisesPerChannel) {
  Dataset d = synthetic(2, 3, 4, 4);
  d.images.fill_(51);  // 0.2 of full scale
  d.norm_mean = {0.1, 0.2, 0.3};
  d.norm_std = {0.5, 0.25, 0.1};
  const Batch b = DataLoader(d, 2, false, 0).batch(0);
  for (int c = 0; c < 3; ++c)
    EXPECT_NEAR(b.images.select(1, c).mean().item<double>(), (0.2 - d.norm_mean[c]) / d.norm_std[c], 1e-6);
}

TEST(Loader, ShufflePerEpochDeterministic) {
  DataLoader a(synthetic(50), 8, true, 3), b(synthetic(50), 8, true, 3);
  const torch::Tensor e0 = a.order().clone();
  a.set_epoch(1);
  EXPECT_FALSE(torch::equal(a.order(), e0));
  b.set_epoch(1);  // a run resumed at epoch 1
  EXPECT_TRUE(torch::equal(a.batch(2).images, b.batch(2).images));
  EXPECT_TRUE(torch::equal(a.batch(2).labels, b.batch(2).labels));
  a.set_epoch(0);
  EXPECT_TRUE(torch::equal(a.order(), e0));
  EXPECT_TRUE(torch::equal(std::get<0>(e0.sort()), torch::arange(50, torch::kInt64)));
}

TEST(Loader, AugmentCropAndFlip) {
  // One 3x32x32 image with distinct pixel values, so crops and mirrors are recognisable.
  Dataset d = synthetic(64, 3, 32, 32);
  d.images = (torch::arange(3 * 32 * 32, torch::kInt64) % 251).to(torch::kUInt8).view({1, 3, 32, 32}).expand({64, 3, 32, 32}).contiguous();
  DataLoader plain(d, 64, false, 5, false), aug(d, 64, false, 5, true), again(d, 64, false, 5, true);
  const torch::Tensor x = plain.batch(0).images[0];  // [3, 32, 32], mean 0 std 1 -> pixel values
  const torch::Tensor padded = torch::constant_pad_nd(x, {4, 4, 4, 4}, 0.0);
  const Batch b = aug.batch(0);
  ASSERT_EQ(b.images.sizes(), (std::vector<int64_t>{64, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(b.images, again.batch(0).images));  // same seed and epoch
  int n_flipped = 0, n_matched = 0;
  for (int k = 0; k < 64; ++k) {
    const torch::Tensor img = b.images[k];
    bool found = false;
    for (int dy = 0; dy <= 8 && !found; ++dy)
      for (int dx = 0; dx <= 8 && !found; ++dx) {
        const torch::Tensor crop = padded.narrow(1, dy, 32).narrow(2, dx, 32);
        if (torch::equal(img, crop)) found = true;
        else if (torch::equal(img, crop.flip({2}))) found = true, ++n_flipped;  // a mirror
      }
    n_matched += found;
  }
  EXPECT_EQ(n_matched, 64);
  EXPECT_GT(n_flipped, 16);  // p = 0.5 of 64
  EXPECT_LT(n_flipped, 48);
  aug.set_epoch(1);
  EXPECT_FALSE(torch::equal(aug.batch(0).images, b.images));
}

TEST(RealData, FashionMnistTestSet) {
  const std::string dir = default_data_dir("fashion_mnist");
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not installed (Debian package dataset-fashion-mnist)";
  const Dataset d = load_dataset("fashion_mnist", "", false);
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(d.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(d.labels.max().item<int64_t>(), 9);
  EXPECT_NEAR(d.images.to(torch::kFloat64).mean().item<double>() / 255.0, 0.2860, 0.01);
}
