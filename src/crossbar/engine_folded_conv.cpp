// The folded rungs over a convolution's windows (engine.hpp, forward_windows): the read that
// folded_forward() gives the rows im2col makes of an image, computed as convolutions of the
// image with the folded matrix, so the rows are never built (a k×k kernel at stride 1 repeats
// each input element k² times in them: the gathers, conversions and GEMMs over the rows do that
// much more work than the same arithmetic over the image).
#include <fmt/format.h>

#include <ATen/Context.h>
#include <ATen/record_function.h>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "crossbar/engine.hpp"

namespace cimkit {

namespace {

// cuDNN's TF32 convolutions round operands to 10 mantissa bits, which would break the rungs'
// exactness on integer codes (the GEMM path's cuBLAS keeps full float32 by default). Off while
// a read runs; the caller's setting is restored.
class NoTf32Convolutions {
 public:
  explicit NoTf32Convolutions(const torch::Device& d) : active_(d.is_cuda()) {
    if (!active_) return;
    saved_ = at::globalContext().allowTF32CuDNN();
    at::globalContext().setAllowTF32CuDNN(false);
  }
  ~NoTf32Convolutions() {
    if (active_) at::globalContext().setAllowTF32CuDNN(saved_);
  }
  NoTf32Convolutions(const NoTf32Convolutions&) = delete;
  NoTf32Convolutions& operator=(const NoTf32Convolutions&) = delete;

 private:
  bool active_ = false;
  bool saved_ = false;
};

}  // namespace

MvmResult CrossbarLayer::forward_windows(const torch::Tensor& codes, const Windows& w) {
  RECORD_FUNCTION("cimkit::folded_windows", std::vector<c10::IValue>());
  if (fidelity_ == Fidelity::BitExact) {
    throw Error("forward_windows: the bit_exact rung reads unfolded rows (forward()); this is for tile and weight");
  }
  if (!opt_.integer_codes) throw Error("forward_windows: needs integer input codes (Options::integer_codes)");
  check_calibrated();
  const int64_t k = w.kernel, s = w.stride, p = w.padding, in = map_.in_features;
  if (codes.dim() != 4 || k < 1 || s < 1 || p < 0 || codes.size(1) * k * k != in ||
      codes.size(2) + 2 * p < k || codes.size(3) + 2 * p < k) {
    throw ShapeError(fmt::format("forward_windows: codes must be [N, C, H, W] with C·k·k = {} and H, W + 2·padding >= k "
                                 "(kernel {}, stride {}, padding {}), got [{}]",
                                 in, k, s, p, fmt::join(codes.sizes(), ", ")));
  }
  if (codes.device() != device_) {
    throw ShapeError("inputs are on " + codes.device().str() + " but the layer is programmed on " + device_.str());
  }
  check_chunk_codes(codes, codes);
  const NoTf32Convolutions exact_convolutions(device_);
  const int64_t N = codes.size(0), C = codes.size(1);
  const int64_t h_out = (codes.size(2) + 2 * p - k) / s + 1, w_out = (codes.size(3) + 2 * p - k) / s + 1;
  const int64_t n = N * h_out * w_out;
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
  refresh_folded();
  const auto gemm_type = folded_gemm_type();

  // Stored codes, padded explicitly: a padded position holds code 0 (stored: code 0 plus the
  // input encoding's offset), as the rows im2col pads with zeros do in forward().
  torch::Tensor stored_f = codes.to(torch::kFloat32);
  if (p > 0) stored_f = torch::constant_pad_nd(stored_f, {p, p, p, p}, 0.0);
  if (il_.stored_offset) stored_f = stored_f + static_cast<float>(il_.stored_offset);
  auto rows_of = [&](const torch::Tensor& image) {  // im2col of the padded image: [windows, in]
    const torch::Tensor cols = torch::im2col(image, {k, k}, {1, 1}, {0, 0}, {s, s});
    return cols.transpose(1, 2).reshape({-1, in});
  };
  // image [N, C, H+2p, W+2p] times matrix [in, out] over every window: [N, H', W', out] float64.
  auto windows_times = [&](const torch::Tensor& image, const torch::Tensor& matrix) {
    const torch::Tensor kernel = matrix.t().reshape({matrix.size(1), C, k, k}).to(gemm_type);
    return torch::conv2d(image.to(gemm_type), kernel, {}, {s, s}).to(torch::kFloat64).permute({0, 2, 3, 1});
  };

  // The tile model fits on the rows forward() would fit on: a sample of the first chunk's rows.
  if (tile_model_needed() && tile_model_dirty_) {
    const int64_t nc = std::min(chunk_rows(n, false), n);
    const int64_t images = (nc + h_out * w_out - 1) / (h_out * w_out);
    fit_tile_model_if_due(rows_of(stored_f.narrow(0, 0, images)).narrow(0, 0, nc));
  }
  // Read energy: sum over windows of each row's squared DAC levels. Summing the per-position
  // values over the images first, then over the windows of that one image, gives the same sums.
  torch::Tensor level_sq = torch::zeros({map_.row_tiles, spec_.rows}, f64);
  if (read_energy_) {
    torch::Tensor idx = stored_f.to(torch::kInt32);
    if (const int64_t lo = il_.code_min + il_.stored_offset; lo != 0) idx.sub_(lo);
    const torch::Tensor sq = level_sq_lut().index_select(0, idx.reshape({-1})).view(idx.sizes());
    level_sq = tiles_of_rows(rows_of(sq.sum(0, true, torch::kFloat64)).sum(0));
  }
  at::Generator gen = make_generator(derive_seed(opt_.seed, "read", opt_.layer_id, read_count_++), device_);
  const torch::Tensor xv = drive(stored_f, drive_lut_, drive_identity_);
  MvmResult r;
  r.y_int = windows_times(xv, folded_matrix());
  const torch::Tensor v = folded_variance();
  const torch::Tensor var = v.defined() ? windows_times(drive(stored_f, drive_sq_lut_, false), v) : torch::Tensor();
  const RowSum row_sum = [&](const torch::Tensor& image) {
    return windows_times(image, torch::ones({in, 1}, image.options()));
  };
  finish_folded(r.y_int, var, gen, row_sum, xv, stored_f);
  return finish(std::move(r), n, 1.0, level_sq);
}

}  // namespace cimkit
