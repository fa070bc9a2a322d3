// The folded rungs of the fidelity ladder (engine.hpp, Fidelity): the programmed cells read
// as one matrix per row tile (tile) or per layer (weight) instead of one GEMM per (input slice,
// column group). They share the bit-exact path's cells, read conditions and seeds.
#include <fmt/format.h>

#include <cmath>

#include <ATen/record_function.h>

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
// reference cell's noise, shared by its array's columns on the chip, is taken independent here);
// and for the tile rung the same fold of the ideal cells (the levels the cells were programmed to).
void CrossbarLayer::refresh_folded() {
  refresh_read_state();
  const int64_t T = map_.row_tiles, R = spec_.rows, G = wl_.n_adc_groups, out = map_.out_features;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  const torch::Tensor coef = torch::tensor(wl_.adc_coef, torch::kFloat64).to(f32).view({1, 1, G, 1});
  auto fold = [&](const torch::Tensor& per_col) { return (per_col.view({T, R, G, out}) * coef).sum(2).contiguous(); };
  if (folded_dirty_) {
    RECORD_FUNCTION("cimkit::refresh_folded", std::vector<c10::IValue>());
    folded_dirty_ = false;
    w_model_dirty_ = true;
    w_fold_ = fold(w_eff_);
    w_fold_ideal_ = torch::Tensor();
    torch::Tensor var;
    if (noise_var_.defined()) var = noise_var_;
    if (noise_std_.defined()) var = noise_std_.square();
    torch::Tensor ref;
    if (ref_noise_var_.defined()) ref = ref_noise_var_;
    if (ref_noise_std_.defined()) ref = ref_noise_std_.square();
    if (ref.defined()) var = var.defined() ? var + ref.index_select(2, col_array_) : ref.index_select(2, col_array_);
    var_fold_ = var.defined() ? (var.view({T, R, G, out}) * coef.square()).sum(2).contiguous() : torch::Tensor();
  }
  // The tile rung's model also needs the ideal cells folded (on the first tile read of them).
  if (tile_model_needed() && !w_fold_ideal_.defined()) {
    w_model_dirty_ = true;
    if (integer_path_) {
      w_fold_ideal_ = w_fold_;
    } else {
      torch::Tensor ideal = wl_.analog_subtraction ? subtract_pairs(levels_) : levels_;
      if (spec_.baseline == Baseline::Digital) ideal = ideal + hrs_levels_;
      w_fold_ideal_ = fold(ideal.to(torch::kFloat32));
    }
  }
}

bool CrossbarLayer::tile_model_needed() const {
  return fidelity_ == Fidelity::Tile && map_.adc.quantises() &&
         !(integer_path_ && map_.adc.lossless_for_integers(map_.full_scale, map_.signed_partials));
}

// What the DACs drive for stored codes (float), summed over slices with their shift-add weights
// (lut: drive_lut_), or the same for squared levels (drive_sq_lut_).
torch::Tensor CrossbarLayer::drive(const torch::Tensor& stored_f, const torch::Tensor& lut, bool identity) const {
  if (identity) return stored_f;
  const int64_t lo = il_.code_min + il_.stored_offset;
  torch::Tensor idx = stored_f.to(torch::kInt32);
  if (lo != 0) idx.sub_(lo);
  return lut.index_select(0, idx.reshape({-1})).view(idx.sizes());
}

namespace {

// lut[idx] for integer indices of any shape.
torch::Tensor gather(const torch::Tensor& lut, const torch::Tensor& idx) {
  return lut.index_select(0, idx.reshape({-1})).view(idx.sizes());
}

// Per column of [m, out] samples: least squares y = a·u + b·d + c, then the residual's variance
// as λ·v + s² (λ, s² >= 0; v the read-noise variance of each sample, or none). Degenerate
// regressors (ideal cells: d = 0; constant inputs) fall back to fewer terms.
struct Fit {
  torch::Tensor a, b, c, lambda, s2;
};
Fit fit_columns(const torch::Tensor& u, const torch::Tensor& d, const torch::Tensor& y, const torch::Tensor& v) {
  const torch::Tensor ub = u.mean(0), db = d.mean(0), yb = y.mean(0);
  const torch::Tensor U = u - ub, D = d - db, Y = y - yb;
  const torch::Tensor suu = (U * U).sum(0), sud = (U * D).sum(0), sdd = (D * D).sum(0);
  const torch::Tensor suy = (U * Y).sum(0), sdy = (D * Y).sum(0);
  const torch::Tensor det = suu * sdd - sud * sud;
  const torch::Tensor two = det > 1e-9 * suu * sdd;
  const torch::Tensor one = suu > 0;
  Fit f;
  f.a = torch::where(two, (suy * sdd - sdy * sud) / det, torch::where(one, suy / suu, torch::ones_like(suu)));
  f.b = torch::where(two, (sdy * suu - suy * sud) / det, torch::zeros_like(suu));
  f.c = yb - f.a * ub - f.b * db;
  const torch::Tensor r2 = (y - (f.a * u + f.b * d + f.c)).square();
  const torch::Tensor r2b = r2.mean(0);
  if (v.defined()) {
    const torch::Tensor vb = v.mean(0), V = v - vb, svv = (V * V).sum(0);
    f.lambda = torch::where(svv > 0, (V * (r2 - r2b)).sum(0) / svv, torch::zeros_like(svv)).clamp_min(0.0);
    f.s2 = (r2b - f.lambda * vb).clamp_min(0.0);
  } else {
    f.lambda = torch::zeros_like(r2b);
    f.s2 = r2b;
  }
  return f;
}

}  // namespace

// The tile rung's ADC model, per row tile: the bit-exact read of that tile alone (every slice's
// partial sum through the ADC, read noise drawn from a stream of its own) against the folded
// product of the programmed cells and of the ideal cells on the same input rows.
void CrossbarLayer::fit_tile_model(const torch::Tensor& stored) {
  RECORD_FUNCTION("cimkit::fit_tile_model", std::vector<c10::IValue>());
  const int64_t m = stored.size(0), in = map_.in_features, out = map_.out_features;
  const int64_t T = map_.row_tiles, R = spec_.rows;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
  if (m < kTileModelMinRows) {  // too few rows to fit five numbers per column: no model (as weight)
    const auto z = torch::zeros({T, out}, f64);
    tile_model_.a = tile_model_.b = tile_model_.lambda = z + 1.0;
    tile_model_.c = tile_model_.s2 = z;
    ++tile_model_.fits;
    tile_model_dirty_ = false;
    w_model_dirty_ = true;
    return;
  }
  at::Generator gen = make_generator(derive_seed(opt_.seed, "tile_model", opt_.layer_id, program_count_), device_);
  torch::Tensor partial = torch::empty({il_.n_slices * m, wl_.n_adc_groups * out}, f32);
  torch::Tensor level_sq = torch::zeros({T, R}, f64);
  const torch::Tensor stored_f = stored.to(torch::kFloat32);
  const torch::Tensor xv = drive(stored_f, drive_lut_, drive_identity_);
  const torch::Tensor xsq = var_fold_.defined() ? drive(stored_f, drive_sq_lut_, false) : torch::Tensor();
  std::vector<torch::Tensor> a, b, c, lambda, s2;
  for (int64_t t = 0; t < T; ++t) {
    torch::Tensor exact = torch::zeros({m, out}, f64);
    sliced_chunk(stored, Mode::Convert, exact, level_sq, partial, gen, nullptr, t);
    const int64_t len = std::min(R, in - t * R);
    const torch::Tensor xs = xv.narrow(1, t * R, len).to(torch::kFloat64);
    torch::Tensor cells = torch::mm(xs, w_fold_[t].narrow(0, 0, len).to(torch::kFloat64));
    torch::Tensor ideal = torch::mm(xs, w_fold_ideal_[t].narrow(0, 0, len).to(torch::kFloat64));
    if (spec_.baseline == Baseline::Digital && wl_coef_sum_ != 0.0) {  // as the sliced path subtracts it
      const torch::Tensor hrs = xs.sum(1, true) * (hrs_levels_ * wl_coef_sum_);
      cells -= hrs;
      ideal -= hrs;
    }
    const torch::Tensor v = xsq.defined() ? torch::mm(xsq.narrow(1, t * R, len).to(torch::kFloat64),
                                                      var_fold_[t].narrow(0, 0, len).to(torch::kFloat64))
                                          : torch::Tensor();
    const Fit f = fit_columns(ideal, cells - ideal, exact, v);
    a.push_back(f.a);
    b.push_back(f.b);
    c.push_back(f.c);
    lambda.push_back(f.lambda);
    s2.push_back(f.s2);
  }
  tile_model_.a = torch::stack(a);
  tile_model_.b = torch::stack(b);
  tile_model_.c = torch::stack(c);
  tile_model_.lambda = torch::stack(lambda);
  tile_model_.s2 = torch::stack(s2);
  ++tile_model_.fits;
  tile_model_dirty_ = false;
  w_model_dirty_ = true;
}

// The tile model in the weights: per tile (a - b)·W_ideal + b·W_cells (minus a times the HRS
// current's column with a digital baseline), so one GEMM gives sum_t a_t·ideal_t + b_t·(cells_t -
// ideal_t); the offsets and residual variances summed over tiles, λ_t folded into the variance.
void CrossbarLayer::build_tile_weights() {
  const TileModel& m = tile_model_;
  const torch::Tensor a = m.a.unsqueeze(1), b = m.b.unsqueeze(1);  // [T, 1, out]
  torch::Tensor w = (a - b) * w_fold_ideal_.to(torch::kFloat64) + b * w_fold_.to(torch::kFloat64);
  if (spec_.baseline == Baseline::Digital && wl_coef_sum_ != 0.0) w -= a * (hrs_levels_ * wl_coef_sum_);
  w_model_ = w.to(torch::kFloat32).contiguous();
  var_model_ = var_fold_.defined() ? (m.lambda.unsqueeze(1) * var_fold_.to(torch::kFloat64)).to(torch::kFloat32).contiguous()
                                   : torch::Tensor();
  c_total_ = m.c.sum(0);
  s2_total_ = m.s2.sum(0);
  w_model_dirty_ = false;
}

// What the DACs drive for each stored code, summed over slices with their shift-add weights,
// and the same for squared levels (the read-noise variance).
void CrossbarLayer::ensure_drive_luts() const {
  if (drive_lut_.defined()) return;
  const int64_t lo = il_.code_min + il_.stored_offset, hi = il_.code_max + il_.stored_offset;
  const auto codes = torch::arange(lo, hi + 1, torch::TensorOptions().dtype(torch::kInt64).device(device_));
  const torch::Tensor levels = dac_levels(input_digits(codes.unsqueeze(0), il_)).squeeze(1).to(torch::kFloat64);  // [S, codes]
  const torch::Tensor c = slice_coef_.unsqueeze(1);
  drive_lut_ = (levels * c).sum(0).to(torch::kFloat32);
  drive_sq_lut_ = (levels.square() * c.square()).sum(0).to(torch::kFloat32);
  drive_identity_ = lo == 0 && torch::equal(drive_lut_, codes.to(torch::kFloat32));
}

// float32 sums integers exactly below 2^24; larger sums (long rows in one GEMM) go to float64.
c10::ScalarType CrossbarLayer::folded_gemm_type() const {
  ensure_drive_luts();
  const double x_top = drive_lut_.abs().max().item<double>();
  const double w_top = static_cast<double>(std::max(std::abs(wl_.code_min + wl_.stored_offset),
                                                    std::abs(wl_.code_max + wl_.stored_offset)));
  return static_cast<double>(map_.in_features) * x_top * w_top < std::ldexp(1.0, 24) ? torch::kFloat32 : torch::kFloat64;
}

// The tile model's fit when it is due, on up to kTileModelRows rows spread over `first_chunk`
// (the stored codes of the first rows a read sees, float).
void CrossbarLayer::fit_tile_model_if_due(const torch::Tensor& first_chunk) {
  if (!tile_model_needed() || !tile_model_dirty_) return;
  const int64_t nc = first_chunk.size(0);
  const int64_t step = std::max<int64_t>(1, nc / kTileModelRows);
  fit_tile_model(first_chunk.index({Slice(0, torch::indexing::None, step)}).slice(0, 0, kTileModelRows).to(torch::kInt32));
}

// The digital side of a folded read of outputs acc [..., out] (float64, in place) with the read
// noise's variance var (same shape, or undefined): the tile model's offsets and residual
// variance, one Gaussian draw per output, and the same digital corrections as the bit-exact path
// (the tile model's weights hold the HRS current's). row_sum(t) sums an input tensor (the drive
// values xv, the stored codes) over each output's inputs, as [..., 1] float64.
void CrossbarLayer::finish_folded(torch::Tensor acc, torch::Tensor var, at::Generator& gen, const RowSum& row_sum,
                                  const torch::Tensor& xv, const torch::Tensor& stored_f) const {
  const bool model = tile_model_needed();
  if (model) {
    acc.add_(c_total_);
    var = var.defined() ? var + s2_total_ : s2_total_.expand(acc.sizes());
  }
  if (var.defined()) {
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
    acc.addcmul_(var.sqrt(), cimkit::randn(acc.sizes(), gen, f32).to(torch::kFloat64));
  }
  if (spec_.baseline == Baseline::Digital && wl_coef_sum_ != 0.0 && !model) {
    acc.sub_(row_sum(xv) * (hrs_levels_ * wl_coef_sum_));
  }
  if (wl_.stored_offset) acc.sub_(static_cast<double>(wl_.stored_offset) * row_sum(stored_f));
  if (il_.stored_offset) acc.sub_(static_cast<double>(il_.stored_offset) * w_row_sum_);
}

// The folded weight matrix a read multiplies by, [in, out] float32 (the tile model's when it
// applies).
torch::Tensor CrossbarLayer::folded_matrix() {
  const int64_t T = map_.row_tiles, R = spec_.rows, out = map_.out_features;
  const bool model = tile_model_needed();
  if (model && w_model_dirty_) build_tile_weights();
  return (model ? w_model_ : w_fold_).view({T * R, out}).narrow(0, 0, map_.in_features);
}

torch::Tensor CrossbarLayer::folded_variance() {
  if (!var_fold_.defined()) return torch::Tensor();
  const int64_t T = map_.row_tiles, R = spec_.rows, out = map_.out_features;
  const bool model = tile_model_needed();
  if (model && w_model_dirty_) build_tile_weights();
  return (model ? var_model_ : var_fold_).view({T * R, out}).narrow(0, 0, map_.in_features);
}

MvmResult CrossbarLayer::folded_forward(const torch::Tensor& x, double scale) {
  RECORD_FUNCTION("cimkit::folded_forward", std::vector<c10::IValue>());
  refresh_folded();
  const int64_t n = x.size(0), out = map_.out_features;
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
  const int64_t lo = il_.code_min + il_.stored_offset;
  const auto gemm_type = folded_gemm_type();
  MvmResult r;
  r.y_int = torch::empty({n, out}, f64);
  torch::Tensor level_sq = torch::zeros({map_.row_tiles, spec_.rows}, f64);
  at::Generator gen = make_generator(derive_seed(opt_.seed, "read", opt_.layer_id, read_count_++), device_);
  const RowSum row_sum = [](const torch::Tensor& t) { return t.sum(1, true, torch::kFloat64); };
  const int64_t chunk = chunk_rows(n, false);
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t nc = std::min(chunk, n - r0);
    // Stored codes as float32 (the GEMMs' operand) and as table indices (energy, noise).
    torch::Tensor stored_f;
    if (opt_.integer_codes && opt_.rounded_inputs && x.scalar_type() == torch::kFloat32) {
      stored_f = x.narrow(0, r0, nc);
      check_chunk_codes(x, stored_f);
      if (il_.stored_offset) stored_f = stored_f + static_cast<float>(il_.stored_offset);
    } else {
      stored_f = chunk_codes(x, r0, nc, scale).to(torch::kFloat32);
      if (il_.stored_offset) stored_f.add_(static_cast<float>(il_.stored_offset));
    }
    torch::Tensor idx = stored_f.to(torch::kInt32);  // index_select takes int32 indices
    if (lo != 0) idx.sub_(lo);
    fit_tile_model_if_due(stored_f);
    if (read_energy_) level_sq += row_level_sq_at(idx);
    const torch::Tensor xv = (drive_identity_ ? stored_f : gather(drive_lut_, idx)).to(gemm_type);  // [nc, in]
    // One GEMM over all rows (the tile model's weights hold its per-tile factors), and the
    // read-noise variance through a second: the per-tile noises are independent, so their sum is
    // one Gaussian with the summed variance.
    torch::Tensor acc = r.y_int.narrow(0, r0, nc);
    acc.copy_(torch::mm(xv, folded_matrix().to(gemm_type)));
    const torch::Tensor v = folded_variance();
    const torch::Tensor var = v.defined() ? torch::mm(gather(drive_sq_lut_, idx), v).to(torch::kFloat64) : torch::Tensor();
    finish_folded(acc, var, gen, row_sum, xv, stored_f);
  }
  return finish(std::move(r), n, scale, level_sq);
}

}  // namespace cimkit
