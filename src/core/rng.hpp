// Seeded random streams. Every stochastic effect in cimkit draws from its own stream, derived
// from the run seed and a name plus indices (layer, array, programming count, read count), so
// results do not depend on the order effects are evaluated in, and the same seed gives the same
// result bit for bit on the CPU. On CUDA the stream is a seeded CUDA generator (reproducible
// for a given GPU and LibTorch build, not bitwise equal to the CPU stream).
#pragma once
#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <cstdint>
#include <string_view>

namespace cimkit {

uint64_t splitmix64(uint64_t x);

// Seed of the stream `name` with indices `a`, `b`, `c` under `base`.
uint64_t derive_seed(uint64_t base, std::string_view name, uint64_t a = 0, uint64_t b = 0,
                     uint64_t c = 0);

// A generator for `device` seeded with `seed`.
at::Generator make_generator(uint64_t seed, const torch::Device& device = torch::kCPU);

// Standard normal (randn) and uniform [0, 1) (rand) draws of `sizes` from the stream `gen`. On
// the CPU the tensor is filled in blocks of kDrawBlock elements, each from its own generator
// seeded by one draw of `gen` and the block's index, in parallel: LibTorch's own fill runs on one
// core. The values do not depend on the thread count. On CUDA: at::randn / at::rand with `gen`.
constexpr int64_t kDrawBlock = int64_t{1} << 16;
torch::Tensor randn(at::IntArrayRef sizes, at::Generator& gen, const torch::TensorOptions& options);
torch::Tensor rand(at::IntArrayRef sizes, at::Generator& gen, const torch::TensorOptions& options);

// Sets LibTorch's intra-op thread count (LibTorch defaults to 1 on Debian). n <= 0 means one
// per hardware core. Returns the count in force. Also calls configure_allocator() (once).
int set_threads(int n);

// Keeps freed tensor memory in the process instead of returning it to the kernel: glibc serves
// blocks above 128 KiB with fresh mmap()s by default, so every large temporary (the im2col
// rows, partial sums and gradients of a training step) page-faults anew; measured on the
// quickstart model, that made analog-in-the-loop training 5.7x slower (bench_train). Raises the
// mmap and trim thresholds with mallopt (glibc; a no-op elsewhere). Environment settings
// (MALLOC_MMAP_THRESHOLD_ etc.) are left alone when present.
void configure_allocator();

}  // namespace cimkit
