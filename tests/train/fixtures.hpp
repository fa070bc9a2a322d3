// Shared by the training tests: a tiny synthetic data set, tiny networks, PNG decoding and
// scratch directories.
#pragma once
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "data/dataset.hpp"
#include "data/loader.hpp"
#include "nn/analog.hpp"
#include "support/scratch.hpp"

namespace cimkit::train_test {

namespace fs = std::filesystem;

// <tmp>/cimkit_test_train_<pid>/<name>, fresh per call, removed when the binary exits.
inline std::string fresh_dir(const std::string& name) { return cimkit::testing::fresh_dir("train", name); }

// n uint8 images 1x8x8 in 4 classes: class c lights the 4x4 quadrant c (value 200 + noise),
// the rest is noise in [0, 60). Deterministic for `seed`.
inline data::Dataset quadrant_dataset(int64_t n, uint64_t seed) {
  at::Generator g = make_generator(seed);
  torch::Tensor labels = torch::randint(0, 4, {n}, g, torch::kInt64);
  torch::Tensor img = torch::randint(0, 60, {n, 1, 8, 8}, g, torch::kInt64);
  auto acc = labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = acc[i], y0 = (c / 2) * 4, x0 = (c % 2) * 4;
    img[i].narrow(1, y0, 4).narrow(2, x0, 4).add_(170);
  }
  data::Dataset d;
  d.name = "quadrants";
  d.images = img.clamp(0, 255).to(torch::kUInt8);
  d.labels = labels;
  d.n_classes = 4;
  d.norm_mean = {0.3};
  d.norm_std = {0.3};
  return d;
}

inline data::DataLoader make_loader(const data::Dataset& d, int64_t batch_size, bool shuffle,
                                    uint64_t seed, bool augment = false) {
  data::DataLoaderOptions o;
  o.batch_size = batch_size;
  o.shuffle = shuffle;
  o.seed = seed;
  o.augment = augment;
  return data::DataLoader(d, o);
}

// conv 3x3 (4 channels) -> batch norm -> relu -> 2x2 max pool -> dropout -> linear to 4 classes.
// Batch norm has buffers and dropout draws from the global generator, so resuming must restore
// both.
class TinyNet : public nn::Network {
 public:
  explicit TinyNet(double dropout = 0.2) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
    drop = register_module("drop", torch::nn::Dropout(dropout));
    fc = register_module("fc", torch::nn::Linear(4 * 4 * 4, 4));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = torch::max_pool2d(torch::relu(bn(conv(x))), 2);
    return fc(drop(h.flatten(1)));  // [batch, 4]
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Dropout drop{nullptr};
  torch::nn::Linear fc{nullptr};
};

// A TinyNet initialised from `init_seed`.
inline std::shared_ptr<TinyNet> tiny_net(uint64_t init_seed, double dropout = 0.2) {
  torch::manual_seed(init_seed);
  return std::make_shared<TinyNet>(dropout);
}

// Every parameter and buffer equal bit for bit.
inline ::testing::AssertionResult same_state(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  auto ba = a.named_buffers(), bb = b.named_buffers();
  if (pa.size() != pb.size() || ba.size() != bb.size())
    return ::testing::AssertionFailure() << "different tensor counts";
  for (const auto& kv : pa)
    if (!torch::equal(kv.value(), pb[kv.key()]))
      return ::testing::AssertionFailure() << "parameter " << kv.key() << " differs";
  for (const auto& kv : ba)
    if (!torch::equal(kv.value(), bb[kv.key()]))
      return ::testing::AssertionFailure() << "buffer " << kv.key() << " differs";
  return ::testing::AssertionSuccess();
}

struct DecodedPng {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // [height, width, 3]
  std::array<uint8_t, 3> at(int x, int y) const {
    const uint8_t* p = &rgb[(size_t(y) * width + x) * 3];
    return {p[0], p[1], p[2]};
  }
};

// Decodes with libpng's simplified API into 8-bit RGB; fails the test on error.
inline DecodedPng decode_png(const std::string& path) {
  DecodedPng out;
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str())) {
    ADD_FAILURE() << "libpng cannot read " << path << ": " << img.message;
    return out;
  }
  img.format = PNG_FORMAT_RGB;
  out.width = int(img.width), out.height = int(img.height);
  out.rgb.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.rgb.data(), 0, nullptr)) {
    ADD_FAILURE() << "libpng cannot decode " << path << ": " << img.message;
    png_image_free(&img);
  }
  return out;
}

inline bool has_png_signature(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char sig[8] = {};
  const size_t k = std::fread(sig, 1, 8, f);
  std::fclose(f);
  return k == 8 && png_sig_cmp(sig, 0, 8) == 0;
}

}  // namespace cimkit::train_test
