#include "core/rng.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdlib>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <thread>

namespace cimkit {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t derive_seed(uint64_t base, std::string_view name, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the stream name
  for (char ch : name) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;
  }
  uint64_t s = splitmix64(base ^ h);
  s = splitmix64(s ^ a);
  s = splitmix64(s ^ (b + 0x632be59bd9b4e019ULL));
  s = splitmix64(s ^ (c + 0x2545f4914f6cdd1dULL));
  return s;
}

at::Generator make_generator(uint64_t seed, const torch::Device& device) {
  if (device.is_cpu()) return at::detail::createCPUGenerator(seed);
  at::Generator g = at::globalContext().defaultGenerator(device).clone();
  g.set_current_seed(seed);
  return g;
}

namespace {

template <typename Fill>
torch::Tensor draw_in_blocks(at::IntArrayRef sizes, at::Generator& gen, const torch::TensorOptions& options,
                             const Fill& fill) {
  torch::Tensor out = torch::empty(sizes, options);
  uint64_t base = 0;
  {
    auto* cpu = at::check_generator<at::CPUGeneratorImpl>(gen);
    std::lock_guard<std::mutex> lock(cpu->mutex_);
    base = cpu->random64();
  }
  const int64_t n = out.numel(), blocks = (n + kDrawBlock - 1) / kDrawBlock;
  torch::Tensor flat = out.view({-1});
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      at::Generator g = at::detail::createCPUGenerator(derive_seed(base, "draw_block", static_cast<uint64_t>(b)));
      torch::Tensor part = flat.narrow(0, b * kDrawBlock, std::min(kDrawBlock, n - b * kDrawBlock));
      fill(part, g);
    }
  });
  return out;
}

}  // namespace

torch::Tensor randn(at::IntArrayRef sizes, at::Generator& gen, const torch::TensorOptions& options) {
  if (!options.device().is_cpu()) return at::randn(sizes, gen, options);
  return draw_in_blocks(sizes, gen, options, [](torch::Tensor& t, at::Generator& g) { t.normal_(0.0, 1.0, g); });
}

torch::Tensor rand(at::IntArrayRef sizes, at::Generator& gen, const torch::TensorOptions& options) {
  if (!options.device().is_cpu()) return at::rand(sizes, gen, options);
  return draw_in_blocks(sizes, gen, options, [](torch::Tensor& t, at::Generator& g) { t.uniform_(0.0, 1.0, g); });
}

void configure_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__GLIBC__)
    if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 1 << 30);  // 1 GiB
    if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);
    if (!std::getenv("MALLOC_TOP_PAD_")) mallopt(M_TOP_PAD, 64 << 20);
#endif
  });
}

int set_threads(int n) {
  configure_allocator();
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  return torch::get_num_threads();
}

}  // namespace cimkit
