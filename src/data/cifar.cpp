// CIFAR-10 / CIFAR-100 binary version (https://www.cs.toronto.edu/~kriz/cifar.html).
#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "core/text.hpp"
#include "data/dataset.hpp"
#include "data/file_bytes.hpp"

namespace cimkit::data {
namespace {

constexpr int64_t kPixels = 3 * 32 * 32;  // R, G, B planes, each 32x32 row-major

// `dir`, or its subdirectory `sub` (how the release tarball unpacks) when that holds `probe`.
std::string resolve_dir(const std::string& dir, const std::string& sub, const std::string& probe,
                        const std::string& name, const std::vector<std::string>& expected) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw DataError(dir, name + " directory not found; expected it (or its subdirectory " + sub +
                             ") to hold " + join(expected));
  if (!fs::exists(fs::path(dir) / probe, ec) && fs::exists(fs::path(dir) / sub / probe, ec))
    return (fs::path(dir) / sub).string();
  return dir;
}

struct Parsed {
  std::vector<torch::Tensor> images, labels;
};

// Appends the records of one file. `label_bytes` leading bytes per record; `label_at` picks the
// one used, which must be < n_classes; the byte at `check_at` (if >= 0) must be < check_classes.
void parse_file(const std::string& dir, const std::string& file, const std::string& name,
                const std::vector<std::string>& expected, int64_t label_bytes, int64_t label_at,
                int64_t n_classes, int64_t check_at, int64_t check_classes, Parsed& out) {
  const std::string path = (std::filesystem::path(dir) / file).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw DataError(path, "file not found; " + name + " expects in " + dir + ": " + join(expected));
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const int64_t record = label_bytes + kPixels;
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size == 0 || size % record != 0)
    throw DataError(path, "size " + std::to_string(size) + " bytes is not a positive multiple of the " +
                              std::to_string(record) + "-byte " + name + " record (" +
                              std::to_string(label_bytes) + " label byte(s) + 3072 pixel bytes); " +
                              "truncated or not a " + name + " binary file");
  const int64_t n = size / record;
  torch::Tensor images = torch::empty({n, 3, 32, 32}, torch::kUInt8);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  uint8_t* img = images.data_ptr<uint8_t>();
  int64_t* lbl = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = bytes.data() + i * record;
    if (check_at >= 0 && r[check_at] >= check_classes)
      throw DataError(path, "record " + std::to_string(i) + ": label byte " + std::to_string(check_at) + " is " +
                                std::to_string(r[check_at]) + ", out of range; expected 0.." + std::to_string(check_classes - 1));
    if (r[label_at] >= n_classes)
      throw DataError(path, "record " + std::to_string(i) + ": label byte " + std::to_string(label_at) + " is " +
                                std::to_string(r[label_at]) + ", out of range; expected 0.." + std::to_string(n_classes - 1));
    lbl[i] = r[label_at];
    std::memcpy(img + i * kPixels, r + label_bytes, kPixels);
  }
  out.images.push_back(images);
  out.labels.push_back(labels);
}

Dataset finish(Parsed& p, const std::string& name, int64_t n_classes) {
  Dataset d;
  d.name = name;
  d.n_classes = n_classes;
  d.images = p.images.size() == 1 ? p.images[0] : torch::cat(p.images);
  d.labels = p.labels.size() == 1 ? p.labels[0] : torch::cat(p.labels);
  const Normalisation norm = normalisation_for(name);
  d.norm_mean = norm.mean;
  d.norm_std = norm.std;
  return d;
}

}  // namespace

Dataset load_cifar10(const std::string& dir, bool train) {
  std::vector<std::string> train_files;
  for (int i = 1; i <= 5; ++i) train_files.push_back("data_batch_" + std::to_string(i) + ".bin");
  std::vector<std::string> expected = train_files;
  expected.push_back("test_batch.bin");
  const std::string d = resolve_dir(dir, "cifar-10-batches-bin", expected.front(), "cifar10", expected);
  Parsed p;
  for (const auto& f : train ? train_files : std::vector<std::string>{"test_batch.bin"})
    parse_file(d, f, "cifar10", expected, 1, 0, 10, -1, 0, p);
  return finish(p, "cifar10", 10);
}

Dataset load_cifar100(const std::string& dir, bool train, bool fine) {
  const std::vector<std::string> expected = {"train.bin", "test.bin"};
  const std::string d = resolve_dir(dir, "cifar-100-binary", expected.front(), "cifar100", expected);
  Parsed p;
  // Record: coarse label (20 superclasses), fine label (100 classes), pixels.
  if (fine)
    parse_file(d, train ? "train.bin" : "test.bin", "cifar100", expected, 2, 1, 100, 0, 20, p);
  else
    parse_file(d, train ? "train.bin" : "test.bin", "cifar100", expected, 2, 0, 20, 1, 100, p);
  return finish(p, "cifar100", fine ? 100 : 20);
}

}  // namespace cimkit::data
