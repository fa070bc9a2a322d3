// The folded rungs of the fidelity ladder (engine.hpp, Fidelity): the programmed cells read
// as one matrix per row tile (tile) or per layer (weight) instead of one GEMM per (input slice,
// column group). They share the bit-exact path's cells, read conditions and seeds.
#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "crossbar/engine.hpp"

namespace cimkit {

using torch::indexing::Slice;

Fidelity parse_fidelity(const std::string& name, const std::string& key) {
  if (name == "bit_exact") return Fidelity::BitExact;
  if (name == "tile") return Fidelity::Tile;
  if (name == "weight") return Fidelity::Weight;
  throw Error(fmt::format("{} = '{}' is not a fidelity; allowed: bit_exact, tile, weight{}", key, name,
                          did_you_mean_hint(name, {"bit_exact", "tile", "weight"})));
}

std::string to_string(Fidelity f) {
  switch (f) {
    case Fidelity::BitExact:
      return "bit_exact";
    case Fidelity::Tile:
      return "tile";
    case Fidelity::Weight:
      return "weight";
  }
  return "?";
}

// W_fold[t, r, o] = sum_g adc_coef[g] * w_eff[t, r, g*out + o]: what the shift-add makes of the
// columns of one output; its read-noise variance sum_g adc_coef[g]^2 var[t, r, g*out + o] (a
// reference cell's noise, shared by its array's columns on the chip, is taken independent here).
void CrossbarLayer::refresh_folded() {
  refresh_read_state();
  if (!folded_dirty_) return;
  folded_dirty_ = false;
  const int64_t T = map_.row_tiles, R = spec_.rows, G = wl_.n_adc_groups, out = map_.out_features;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  const torch::Tensor coef = torch::tensor(wl_.adc_coef, torch::kFloat64).to(f32).view({1, 1, G, 1});
  w_fold_ = (w_eff_.view({T, R, G, out}) * coef).sum(2).contiguous();
  torch::Tensor var;
  if (noise_var_.defined()) var = noise_var_;
  if (noise_std_.defined()) var = noise_std_.square();
  torch::Tensor ref;
  if (ref_noise_var_.defined()) ref = ref_noise_var_;
  if (ref_noise_std_.defined()) ref = ref_noise_std_.square();
  if (ref.defined()) var = var.defined() ? var + ref.index_select(2, col_array_) : ref.index_select(2, col_array_);
  var_fold_ = var.defined() ? (var.view({T, R, G, out}) * coef.square()).sum(2).contiguous() : torch::Tensor();
}

MvmResult CrossbarLayer::folded_forward(const torch::Tensor& x, double scale) {
  refresh_folded();
  const int64_t n = x.size(0), in = map_.in_features, out = map_.out_features;
  const int64_t T = map_.row_tiles, R = spec_.rows;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
  // What the DACs drive for each stored code, summed over slices with their shift-add weights,
  // and the same for squared levels (the read-noise variance).
  const int64_t lo = il_.code_min + il_.stored_offset, hi = il_.code_max + il_.stored_offset;
  if (!drive_lut_.defined()) {
    const auto codes = torch::arange(lo, hi + 1, torch::TensorOptions().dtype(torch::kInt64).device(device_));
    const torch::Tensor levels = dac_levels(input_digits(codes.unsqueeze(0), il_)).squeeze(1).to(torch::kFloat64);  // [S, codes]
    const torch::Tensor c = slice_coef_.unsqueeze(1);
    drive_lut_ = (levels * c).sum(0).to(torch::kFloat32);
    drive_sq_lut_ = (levels.square() * c.square()).sum(0).to(torch::kFloat32);
  }
  // The tile rung's ADC: one signed converter per row-tile partial sum at the chip ADC's
  // resolution over the tile's full scale (paper 003 eq. 2-3); none where the chip's ADC loses
  // nothing on its own partial sums.
  const double x_top = drive_lut_.abs().max().item<double>();
  const double w_top = static_cast<double>(std::max(std::abs(wl_.code_min + wl_.stored_offset),
                                                    std::abs(wl_.code_max + wl_.stored_offset)));
  const double tile_fs = static_cast<double>(R) * x_top * w_top;
  // float32 sums integers exactly below 2^24; larger sums (long rows in one GEMM) go to float64.
  const double gemm_rows = static_cast<double>(fidelity_ == Fidelity::Weight ? T * R : R);
  const auto gemm_type = gemm_rows * x_top * w_top < std::ldexp(1.0, 24) ? torch::kFloat32 : torch::kFloat64;
  AdcTransfer tile_adc;
  if (fidelity_ == Fidelity::Tile && map_.adc.quantises() &&
      !map_.adc.lossless_for_integers(map_.full_scale, map_.signed_partials)) {
    std::optional<double> calibrated;
    if (calibrated_max_) calibrated = *calibrated_max_ * tile_fs / map_.full_scale;  // the slice range, scaled
    tile_adc = chip_->adc().transfer(tile_fs, /*signed_sums=*/true, calibrated);
  }
  MvmResult r;
  r.y_int = torch::zeros({n, out}, f64);
  torch::Tensor level_sq = torch::zeros({T, R}, f64);
  at::Generator gen = make_generator(derive_seed(opt_.seed, "read", opt_.layer_id, read_count_++), device_);
  const int64_t chunk = chunk_rows(n, false);
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t nc = std::min(chunk, n - r0);
    const torch::Tensor codes = chunk_codes(x, r0, nc, scale);
    const torch::Tensor stored = codes + static_cast<int32_t>(il_.stored_offset);
    level_sq += row_level_sq(stored);
    const torch::Tensor idx = stored.to(torch::kInt64) - lo;
    torch::Tensor xv = drive_lut_.index({idx});  // [nc, in]
    torch::Tensor xsq = var_fold_.defined() ? drive_sq_lut_.index({idx}) : torch::Tensor();
    if (T * R > in) {
      xv = torch::constant_pad_nd(xv, {0, T * R - in});
      if (xsq.defined()) xsq = torch::constant_pad_nd(xsq, {0, T * R - in});
    }
    torch::Tensor acc = r.y_int.narrow(0, r0, nc);
    auto read = [&](const torch::Tensor& xs, const torch::Tensor& w, const torch::Tensor& xs_sq, const torch::Tensor& v) {
      torch::Tensor part = torch::mm(xs.to(gemm_type), w.to(gemm_type));
      if (v.defined()) {
        part.addcmul_(torch::mm(xs_sq, v).sqrt_().to(gemm_type), at::randn({xs.size(0), out}, gen, f32).to(gemm_type));
      }
      return part;
    };
    if (fidelity_ == Fidelity::Weight) {
      acc.add_(read(xv, w_fold_.view({T * R, out}), xsq, var_fold_.defined() ? var_fold_.view({T * R, out}) : torch::Tensor())
                   .to(torch::kFloat64));
    } else {
      for (int64_t t = 0; t < T; ++t) {
        const auto rows = Slice(t * R, (t + 1) * R);
        torch::Tensor part = read(xv.index({Slice(), rows}), w_fold_[t], xsq.defined() ? xsq.index({Slice(), rows}) : xsq,
                                  var_fold_.defined() ? var_fold_[t] : torch::Tensor());
        if (tile_adc.quantises()) part = adc_convert(part, tile_adc);
        acc.add_(part.to(torch::kFloat64));
      }
    }
    // The same digital corrections as the bit-exact path.
    if (spec_.baseline == Baseline::Digital && wl_coef_sum_ != 0.0) {
      acc.sub_(xv.sum(1, true, torch::kFloat64) * (hrs_levels_ * wl_coef_sum_));
    }
    correct_offsets(acc, stored);
  }
  return finish(std::move(r), n, scale, level_sq);
}

}  // namespace cimkit
