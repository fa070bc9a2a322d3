#include "crossbar/engine.hpp"

#include <ATen/record_function.h>

#include <cmath>
#include <tuple>
#include <utility>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "crossbar/kernels.hpp"

namespace cimkit {

using torch::indexing::Slice;

CrossbarLayer::CrossbarLayer(std::shared_ptr<const Chip> chip, const torch::Tensor& weight,
                             Options options)
    : chip_(std::move(chip)), opt_(std::move(options)), spec_(chip_->spec()) {
  if (weight.dim() != 2 || weight.size(0) < 1 || weight.size(1) < 1) {
    throw ShapeError("weight matrix must be 2-D [out, in] with both sizes >= 1, got shape " +
                     std::string(c10::str(weight.sizes())));
  }
  device_ = weight.device();
  wl_ = weight_layout(spec_);
  il_ = input_layout(spec_, chip_->dac().bits());
  const int64_t out = weight.size(0), in = weight.size(1);

  if (opt_.integer_codes) {
    check_codes(weight, wl_.code_min, wl_.code_max,
                "weights (signed " + std::to_string(spec_.weight_bits) + "-bit codes, " +
                    (spec_.weight_scheme == WeightScheme::Differential ? "differential" : "offset/two's complement") + ")");
    w_codes_ = weight.to(torch::kInt64);
    w_scales_ = torch::ones({out}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  } else {
    if (!weight.is_floating_point()) throw ShapeError("weights must be floating point (or pass integer_codes)");
    if (!torch::isfinite(weight).all().item<bool>()) throw ShapeError("weights contain NaN or infinite values");
    QuantisedWeights q = quantise_weights(weight, spec_);
    w_codes_ = q.codes;
    w_scales_ = q.scales;
  }
  w_row_sum_ = w_codes_.sum(1).to(torch::kFloat64);

  // Geometry.
  const int64_t R = spec_.rows;
  plan_layer();
  const int64_t gcols = wl_.n_groups * out;
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device_);
  col_array_ = torch::div(torch::arange(gcols, i64), map_.data_cols_per_array, "floor");

  // Levels: [G, out, in] -> pad in to T*R -> [T, R, G*out] (column j = g*out + o).
  torch::Tensor digits = weight_digits(w_codes_, spec_, wl_);
  const int64_t pad = map_.row_tiles * R - in;
  if (pad > 0) digits = torch::constant_pad_nd(digits, {0, pad});
  levels_ = digits.view({wl_.n_groups, out, map_.row_tiles, R}).permute({2, 3, 0, 1})
                .reshape({map_.row_tiles, R, gcols}).contiguous();

  integer_path_ = spec_.path == EnginePath::Integer ||
                  (spec_.path == EnginePath::Auto && chip_->device().is_ideal() && chip_->dac().is_linear() &&
                   !spec_.has_ir_drop() &&
                   spec_.baseline != Baseline::Digital);
  temp_per_array_ = torch::full({map_.n_arrays}, opt_.operating.temperature_k,
                                torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  time_s_ = opt_.operating.time_since_program_s;
  wl_coef_sum_ = 0.0;
  for (double c : wl_.coef) wl_coef_sum_ += c;
  update_transfer();
  program();
}

// Everything that follows from the chip's input side and ADC (not from the programmed cells):
// the mapping, the largest partial sum, the slice coefficients. Run at construction and when a
// precision change keeps the cells (retarget).
void CrossbarLayer::plan_layer() {
  il_ = input_layout(spec_, chip_->dac().bits());
  map_ = plan_mapping(spec_, chip_->dac().bits(), w_codes_.size(0), w_codes_.size(1));
  // Largest possible |partial sum| in level units. With a digital baseline the ADC also converts
  // the HRS current, G_off / dG level units per driven cell.
  const double max_level = std::ldexp(1.0, spec_.cell_bits) - 1;
  hrs_levels_ = chip_->device().g_off_siemens() / ((chip_->device().g_on_siemens() - chip_->device().g_off_siemens()) / max_level);
  map_.full_scale = static_cast<double>(spec_.rows) * static_cast<double>(il_.max_digit) *
                    (max_level + (spec_.baseline == Baseline::Digital ? hrs_levels_ : 0.0));
  slice_coef_ = torch::tensor(il_.slice_coef, torch::kFloat64).to(device_);
  level_sq_lut_ = drive_lut_ = drive_sq_lut_ = torch::Tensor();
  tile_model_dirty_ = true;  // the ADC or the input slicing changed
}

void CrossbarLayer::retarget(std::shared_ptr<const Chip> chip) {
  const CrossbarSpec& a = spec_;
  const CrossbarSpec& b = chip->spec();
  const bool same_cells = &chip->device() == &chip_->device() && &chip->dac() == &chip_->dac() && a.rows == b.rows &&
                          a.cols == b.cols && a.cell_bits == b.cell_bits && a.weight_bits == b.weight_bits &&
                          a.weight_scheme == b.weight_scheme && a.baseline == b.baseline && a.subtract == b.subtract &&
                          a.path == b.path && a.read_noise_mode == b.read_noise_mode;
  if (!same_cells) {
    throw Error("CrossbarLayer::retarget: the new chip changes the programmed cells (geometry, weight format, device "
                "or DAC); program a new layer instead");
  }
  chip_ = std::move(chip);
  spec_ = chip_->spec();
  plan_layer();
  calibrated_max_.reset();
  update_transfer();
}

void CrossbarLayer::update_transfer() {
  // A calibrated ADC has no range until calibrate(); forward() refuses to run before that.
  if (chip_->adc().needs_calibration() && !calibrated_max_) return;
  map_.adc = chip_->adc().transfer(map_.full_scale, map_.signed_partials, calibrated_max_);
  const int64_t S = il_.n_slices, G = wl_.n_adc_groups;
  const double step = map_.adc.quantises() ? map_.adc.step : 1.0;
  coef_ = torch::empty({S, G}, torch::kFloat64);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t g = 0; g < G; ++g) coef_[s][g] = wl_.adc_coef[g] * il_.slice_coef[s] * step;
  coef_ = coef_.to(device_);
}

bool CrossbarLayer::shortcut_active() const {
  return spec_.lossless_shortcut && integer_path_ && map_.adc.lossless_for_integers(map_.full_scale, map_.signed_partials);
}

void CrossbarLayer::program() {
  RECORD_FUNCTION("cimkit::program", std::vector<c10::IValue>());
  ++program_count_;
  read_state_dirty_ = true;
  tile_model_dirty_ = true;
  const DeviceModel& dev = chip_->device();
  const std::vector<int64_t> ref_shape = {map_.row_tiles, spec_.rows, map_.arrays_per_tile};
  // Every cell is written once per programming; the counts start at the device's prior writes.
  if (program_count_ == 1) {
    writes_ = torch::full(levels_.sizes(), dev.initial_writes(), torch::TensorOptions().dtype(torch::kInt64).device(device_));
    ref_writes_ = torch::full(ref_shape, dev.initial_writes(), writes_.options());
  }
  writes_ += 1;
  ref_writes_ += 1;
  if (integer_path_) return;
  const int64_t n_levels = int64_t{1} << spec_.cell_bits;
  // Cell state is float64: then (G - G_off) / dG of an ideal cell rounds to its level exactly
  // when the effective matrix is cast to float32, so both paths agree bit for bit.
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
  if (program_count_ == 1) {
    at::Generator g_data = make_generator(derive_seed(opt_.seed, "cell_traits", opt_.layer_id, 0), device_);
    at::Generator g_ref = make_generator(derive_seed(opt_.seed, "cell_traits", opt_.layer_id, 1), device_);
    traits_ = dev.draw_traits(levels_.sizes(), g_data, f64);
    ref_traits_ = dev.draw_traits(ref_shape, g_ref, f64);
  }
  at::Generator g_data = make_generator(derive_seed(opt_.seed, "program", opt_.layer_id, program_count_, 0), device_);
  at::Generator g_ref = make_generator(derive_seed(opt_.seed, "program", opt_.layer_id, program_count_, 1), device_);
  g_prog_ = dev.program(levels_.to(torch::kFloat64), n_levels, traits_, g_data, writes_);
  g_ref_prog_ = dev.program(torch::zeros(ref_shape, f64), n_levels, ref_traits_, g_ref, ref_writes_);
}

void CrossbarLayer::set_time_since_program(double seconds) {
  if (!(seconds >= 0)) throw ShapeError("time since programming must be >= 0 s");
  time_s_ = seconds;
  read_state_dirty_ = true;
}

void CrossbarLayer::set_temperature(double kelvin) {
  temp_per_array_.fill_(kelvin);
  read_state_dirty_ = true;
}

void CrossbarLayer::set_temperature(const torch::Tensor& per_array_k) {
  if (per_array_k.numel() != map_.n_arrays) {
    throw ShapeError("temperature map has " + std::to_string(per_array_k.numel()) +
                     " entries; this layer uses " + std::to_string(map_.n_arrays) + " arrays");
  }
  temp_per_array_ = per_array_k.reshape({map_.n_arrays}).to(device_, torch::kFloat64);
  read_state_dirty_ = true;
}

void CrossbarLayer::refresh_read_state() {
  if (!read_state_dirty_) return;
  RECORD_FUNCTION("cimkit::refresh_read_state", std::vector<c10::IValue>());
  read_state_dirty_ = false;
  folded_dirty_ = true;
  tile_model_dirty_ = true;  // refitted on the new cells: a kept engine fits as a fresh one would
  const DeviceModel& dev = chip_->device();
  const double g_off = dev.g_off_siemens(), g_on = dev.g_on_siemens();
  const double dg = (g_on - g_off) / (std::ldexp(1.0, spec_.cell_bits) - 1);
  const int64_t T = map_.row_tiles, A = map_.arrays_per_tile, R = spec_.rows;
  const bool ref_col = spec_.baseline == Baseline::ReferenceColumn;
  torch::Tensor g_read, g_ref_read;
  if (integer_path_) {
    g_read = levels_.to(torch::kFloat64) * dg + g_off;
    g_ref_read = torch::full({T, R, A}, g_off, g_read.options());
    w_eff_ = wl_.analog_subtraction ? subtract_pairs(levels_) : levels_;
    noise_var_ = noise_std_ = ref_noise_var_ = ref_noise_std_ = torch::Tensor();
  } else {
    const torch::Tensor temps = temp_per_array_.view({T, A});
    ReadConditions rc;
    rc.time_since_program_s = time_s_;
    rc.temperature_k = temps.index_select(1, col_array_).unsqueeze(1);  // [T, 1, G*out]
    g_read = dev.at_conditions(g_prog_, traits_, rc);
    ReadConditions rc_ref = rc;
    rc_ref.temperature_k = temps.unsqueeze(1);  // [T, 1, A]
    g_ref_read = dev.at_conditions(g_ref_prog_, ref_traits_, rc_ref);
    // Through the wires (chip.crossbar.ir_drop): the columns see each array's effective
    // conductance matrix, solved once per read state; read noise and read energy stay the cells'.
    torch::Tensor g_seen = g_read, g_ref_seen = g_ref_read;
    if (spec_.has_ir_drop()) std::tie(g_seen, g_ref_seen) = through_wires(g_read, g_ref_read);
    // What the ADC sees per cell, in level units: the cell minus its row's reference cell, minus
    // the nominal G_off (cancelled), or the whole cell current (digital: removed after the ADC).
    if (wl_.analog_subtraction) {  // the pair's currents subtract: G+ - G- (their HRS parts cancel)
      w_eff_ = subtract_pairs(g_seen / dg).to(torch::kFloat32).contiguous();
    } else if (ref_col) {
      w_eff_ = ((g_seen - g_ref_seen.index_select(2, col_array_)) / dg).to(torch::kFloat32).contiguous();
    } else if (spec_.baseline == Baseline::Cancelled) {
      w_eff_ = ((g_seen - g_off) / dg).to(torch::kFloat32).contiguous();
    } else {
      w_eff_ = (g_seen / dg).to(torch::kFloat32).contiguous();
    }
    noise_var_ = noise_std_ = ref_noise_var_ = ref_noise_std_ = torch::Tensor();
    if (dev.has_read_noise()) {
      torch::Tensor var = (dev.read_noise_std(g_read).pow(2) / (dg * dg)).to(torch::kFloat32).contiguous();
      // Two independent cells on one row and one input: their noise variances add.
      if (wl_.analog_subtraction) var = add_pairs(var).contiguous();
      // A reference cell is read once per read and subtracted from every column of its array,
      // so its noise is shared by those columns (drawn per array, not per column).
      torch::Tensor ref_var;
      if (ref_col) ref_var = (dev.read_noise_std(g_ref_read).pow(2) / (dg * dg)).to(torch::kFloat32).contiguous();
      if (spec_.read_noise_mode == ReadNoiseMode::Output) {
        noise_var_ = var;
        ref_noise_var_ = ref_var;
      } else {
        noise_std_ = var.sqrt();
        if (ref_col) ref_noise_std_ = ref_var.sqrt();
      }
    }
  }
  // Conductance each row drives in each array (for read energy): data cells, the reference
  // column, and unused columns of partly filled arrays (HRS cells on a driven row).
  const int64_t gcols = levels_.size(2);
  torch::Tensor sums = torch::zeros({T, R, A}, g_read.options());
  sums.index_add_(2, col_array_, g_read);
  const int64_t used_last = gcols - (A - 1) * map_.data_cols_per_array;
  sums.index({Slice(), Slice(), A - 1}) += static_cast<double>(map_.data_cols_per_array - used_last) * g_off;
  if (ref_col) sums += g_ref_read;
  row_g_sum_ = sums.to(torch::kFloat64);
}

// Each array as the wires see it: its data columns in their order, the unused columns of a
// partly filled last array (HRS cells, still on the driven rows), then the reference column at
// the far end; solved by circuit::effective_conductance and taken apart again.
std::pair<torch::Tensor, torch::Tensor> CrossbarLayer::through_wires(const torch::Tensor& g,
                                                                     const torch::Tensor& g_ref) const {
  const int64_t T = map_.row_tiles, A = map_.arrays_per_tile, R = spec_.rows, D = map_.data_cols_per_array;
  const int64_t used = g.size(2);
  const double g_off = chip_->device().g_off_siemens();
  torch::Tensor phys = torch::constant_pad_nd(g, {0, A * D - used}, g_off).view({T, R, A, D}).permute({0, 2, 1, 3});
  const bool ref_col = spec_.baseline == Baseline::ReferenceColumn;
  if (ref_col) phys = torch::cat({phys, g_ref.permute({0, 2, 1}).unsqueeze(3)}, 3);
  if (phys.size(3) < spec_.cols) phys = torch::constant_pad_nd(phys, {0, spec_.cols - phys.size(3)}, g_off);
  const torch::Tensor eff =
      circuit::effective_conductance(phys.reshape({T * A, R, spec_.cols}), spec_.wires, spec_.ir_drop)
          .view({T, A, R, spec_.cols});
  torch::Tensor g_eff = eff.narrow(3, 0, D).permute({0, 2, 1, 3}).reshape({T, R, A * D}).narrow(2, 0, used).contiguous();
  torch::Tensor ref_eff = ref_col ? eff.select(3, D).permute({0, 2, 1}).contiguous() : g_ref;
  return {g_eff, ref_eff};
}

// [T, R, K*2*out] per cell (column g*out + o, g = k*2 + p) -> [T, R, K*out]: the positive
// column minus the negative one (subtract_pairs) or their sum (add_pairs, for variances).
static torch::Tensor pair_view(const torch::Tensor& t, int64_t out) {
  return t.view({t.size(0), t.size(1), -1, 2, out});
}
torch::Tensor CrossbarLayer::subtract_pairs(const torch::Tensor& per_cell) const {
  const torch::Tensor v = pair_view(per_cell, map_.out_features);
  return (v.select(3, 0) - v.select(3, 1)).reshape({per_cell.size(0), per_cell.size(1), -1});
}
torch::Tensor CrossbarLayer::add_pairs(const torch::Tensor& per_cell) const {
  return pair_view(per_cell, map_.out_features).sum(3).reshape({per_cell.size(0), per_cell.size(1), -1});
}

// DAC levels of slice digits; a bipolar DAC drives sign(d) * level(|d|).
torch::Tensor CrossbarLayer::dac_levels(const torch::Tensor& digits) const {
  if (!il_.signed_levels) return chip_->dac().level(digits);
  return chip_->dac().level(digits.abs()) * digits.sign();
}

double CrossbarLayer::plan_inputs(const torch::Tensor& x, std::optional<double> input_scale) const {
  if (x.dim() != 2 || x.size(1) != map_.in_features) {
    throw ShapeError("inputs must be [n, " + std::to_string(map_.in_features) + "] to match the weight matrix [" +
                     std::to_string(map_.out_features) + ", " + std::to_string(map_.in_features) + "], got shape " +
                     std::string(c10::str(x.sizes())));
  }
  if (x.device() != device_) {
    throw ShapeError("inputs are on " + x.device().str() + " but the layer is programmed on " + device_.str());
  }
  if (x.size(0) == 0 || opt_.integer_codes) return 1.0;  // integer codes are checked chunk by chunk
  if (!x.is_floating_point()) throw ShapeError("inputs must be floating point (or use integer codes)");
  // Reductions only (no temporaries the size of x); max and min propagate NaN.
  const double hi = x.max().item<double>(), lo = x.min().item<double>();
  if (!std::isfinite(hi) || !std::isfinite(lo)) throw ShapeError("inputs contain NaN or infinite values");
  if (input_scale) {
    if (!(*input_scale > 0) || !std::isfinite(*input_scale)) {
      throw ShapeError("input scale must be a positive finite number, got " + std::to_string(*input_scale));
    }
    return *input_scale;
  }
  const double top = il_.code_min < 0 ? std::max(hi, -lo) : std::max(hi, 0.0);
  return top > 0 ? top / static_cast<double>(il_.code_max) : 1.0;
}

// Signed input codes of one chunk, [nc, in] int32: round(x / scale) clamped to the code range
// (in float32, exact for codes < 2^24), or the given integer codes after checking them.
torch::Tensor CrossbarLayer::chunk_codes(const torch::Tensor& x_full, int64_t r0, int64_t nc, double scale) const {
  const torch::Tensor xc = x_full.narrow(0, r0, nc);
  if (opt_.integer_codes) {
    check_chunk_codes(x_full, xc);
    return xc.to(torch::kInt32);
  }
  return torch::round(xc.to(torch::kFloat32) * static_cast<float>(1.0 / scale))
      .clamp_(static_cast<double>(il_.code_min), static_cast<double>(il_.code_max))
      .to(torch::kInt32);
}

// Integer codes of one chunk checked in the caller's dtype, so 2.9999999 in float64 is not taken
// for 3 or 2 (NaN fails the range test); rounded_inputs skips the whole-number test.
void CrossbarLayer::check_chunk_codes(const torch::Tensor& x_full, const torch::Tensor& xc) const {
  const auto [mn, mx] = torch::aminmax(xc);
  const bool ok = mn.item<double>() >= static_cast<double>(il_.code_min) &&
                  mx.item<double>() <= static_cast<double>(il_.code_max) &&
                  (!xc.is_floating_point() || opt_.rounded_inputs || torch::equal(xc, torch::round(xc)));
  if (!ok) {  // the message counts over the whole tensor
    check_codes(x_full, il_.code_min, il_.code_max,
                std::string("inputs (") + (il_.code_min < 0 ? "signed " : "unsigned ") + std::to_string(spec_.input_bits) + "-bit codes)");
  }
}

// Rows per chunk so that the working set stays under chunk_mb: the input chunk, its codes and
// digits, the tile layout of the digits, the partial sums and noise of one tile, accumulators.
int64_t CrossbarLayer::chunk_rows(int64_t n, bool sliced) const {
  const int64_t in = map_.in_features, out = map_.out_features;
  const int64_t T = map_.row_tiles, R = spec_.rows, S = il_.n_slices, gcols = wl_.n_adc_groups * out;
  int64_t per_row = !sliced ? 4 * 6 * in + 16 * out  // codes, parts, one GEMM
                            : 4 * (3 * in + 2 * S * in + 2 * T * S * R + 3 * S * gcols) + 16 * out;
  if (noise_std_.defined()) per_row += 4 * 2 * S * R * (gcols + map_.arrays_per_tile);
  return std::max<int64_t>(1, std::min<int64_t>(n, spec_.chunk_bytes / per_row));
}

// One chunk of the sliced pipeline. Adds the analog result sum_i x_stored * (w + w_offset), after
// ADC and shift-add, to acc_c [nc, out] float64 and the squared DAC levels per row to level_sq
// [T, R]; in Calibrate mode collects |partial sums| into `calib` instead of converting.
void CrossbarLayer::sliced_chunk(const torch::Tensor& stored, Mode mode, torch::Tensor& acc_c,
                                 torch::Tensor& level_sq, torch::Tensor& partial, at::Generator& gen,
                                 Calibration* calib, int64_t only_tile) {
  const int64_t nc = stored.size(0), in = map_.in_features, out = map_.out_features;
  const int64_t T = map_.row_tiles, R = spec_.rows, S = il_.n_slices, G = wl_.n_adc_groups;
  const int64_t gcols = G * out;  // converted columns
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  torch::Tensor dig = dac_levels(input_digits(stored, il_));  // [S, nc, in]
  if (T * R > in) dig = torch::constant_pad_nd(dig, {0, T * R - in});
  const torch::Tensor xd = dig.view({S, nc, T, R}).permute({2, 0, 1, 3}).reshape({T, S * nc, R}).contiguous();
  if (read_energy_) level_sq += xd.pow(2).sum(1).to(torch::kFloat64);
  torch::Tensor part = partial.narrow(0, 0, S * nc);
  for (int64_t t = 0; t < T; ++t) {
    if (only_tile >= 0 && t != only_tile) continue;
    const torch::Tensor xt = xd[t];  // [S*nc, R]
    if (noise_std_.defined()) {  // per_cell: every cell of every read draws its own noise
      const torch::Tensor cells = w_eff_[t].unsqueeze(0) + noise_std_[t].unsqueeze(0) * cimkit::randn({S * nc, R, gcols}, gen, f32);
      part.copy_(torch::bmm(xt.unsqueeze(1), cells).squeeze(1));
      if (ref_noise_std_.defined()) {
        const torch::Tensor ref = ref_noise_std_[t].unsqueeze(0) * cimkit::randn({S * nc, R, map_.arrays_per_tile}, gen, f32);
        part.sub_(torch::bmm(xt.unsqueeze(1), ref).squeeze(1).index_select(1, col_array_));
      }
    } else {
      torch::mm_out(part, xt, w_eff_[t]);
      if (noise_var_.defined()) {  // exact distribution of the column sum of Gaussian cells
        const torch::Tensor xsq = xt.pow(2);
        part.addcmul_(torch::mm(xsq, noise_var_[t]).sqrt_(), cimkit::randn({S * nc, gcols}, gen, f32));
        if (ref_noise_var_.defined()) {
          const torch::Tensor ref = torch::mm(xsq, ref_noise_var_[t]).sqrt_() * cimkit::randn({S * nc, map_.arrays_per_tile}, gen, f32);
          part.sub_(ref.index_select(1, col_array_));
        }
      }
    }
    if (mode == Mode::Calibrate) {
      calib->update(part);
      continue;
    }
    adc_shift_add(part, nc, S, G, coef_, map_.adc, acc_c);
    if (spec_.baseline == Baseline::Digital && wl_coef_sum_ != 0.0) {
      // Subtract the converted HRS current digitally: G_off/dG * sum_i level_i per input slice,
      // shift-added like the columns (differential pairs cancel it: the coefficients sum to 0).
      const torch::Tensor per_slice = xt.sum(1).view({S, nc}).to(torch::kFloat64);  // [S, nc]
      const torch::Tensor shifted = (per_slice * slice_coef_.unsqueeze(1)).sum(0);  // [nc]
      acc_c.sub_(shifted.unsqueeze(1) * (hrs_levels_ * wl_coef_sum_));
    }
  }
}

void CrossbarLayer::calibrate(const torch::Tensor& x_in, std::optional<double> input_scale) {
  if (!chip_->adc().needs_calibration()) return;
  const torch::Tensor x = x_in.dim() == 1 ? x_in.unsqueeze(0) : x_in;
  const double scale = plan_inputs(x, input_scale);
  refresh_read_state();
  const int64_t n = x.size(0), chunk = chunk_rows(n, true);
  at::Generator gen = make_generator(derive_seed(opt_.seed, "read", opt_.layer_id, read_count_++), device_);
  torch::Tensor partial = torch::empty({il_.n_slices * chunk, wl_.n_adc_groups * map_.out_features},
                                       torch::TensorOptions().dtype(torch::kFloat32).device(device_));
  torch::Tensor level_sq = torch::zeros({map_.row_tiles, spec_.rows}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  torch::Tensor unused;
  // The statistic keeps the running max, or an evenly strided sample of at most ~4M partial
  // sums for a quantile, so calibration stays within the memory bound too.
  const double total = static_cast<double>(n) * il_.n_slices * map_.row_tiles * wl_.n_adc_groups * map_.out_features;
  Calibration calib(chip_->adc().calibration_quantile(), static_cast<int64_t>(std::ceil(total / (1 << 22))));
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t nc = std::min(chunk, n - r0);
    const torch::Tensor stored = chunk_codes(x, r0, nc, scale) + static_cast<int32_t>(il_.stored_offset);
    sliced_chunk(stored, Mode::Calibrate, unused, level_sq, partial, gen, &calib);
  }
  calibrated_max_ = calib.result();
  update_transfer();
}

void CrossbarLayer::Calibration::update(const torch::Tensor& partial) {
  if (quantile >= 1.0) {
    max = std::max(max, partial.abs().max().item<double>());
  } else {
    samples.push_back(partial.flatten().index({Slice(0, torch::indexing::None, stride)}).abs().clone());
  }
}

double CrossbarLayer::Calibration::result() const {
  if (quantile >= 1.0) return max;
  const torch::Tensor all = torch::cat(samples);
  const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(quantile * all.numel())));
  return std::get<0>(all.kthvalue(k)).item<double>();
}

// x_q . w_q^T exactly, in one float32 GEMM: float32 holds integers below 2^24 exactly, so the
// input codes are split into parts of p bits with in * (2^p - 1) * max|w| < 2^24, stacked along
// the rows of one GEMM and recombined in float64 (8-bit inputs, 1152 rows, |w| <= 127: p = 6,
// parts of 6 and 2 bits). Where even 1-bit parts could overflow, one float64 GEMM.
torch::Tensor CrossbarLayer::shortcut_product(const torch::Tensor& x_codes) const {
  const double wmax = static_cast<double>(std::max(wl_.code_max, -wl_.code_min));
  const double in = static_cast<double>(map_.in_features);
  if (in * wmax >= std::ldexp(1.0, 24)) {  // even 1-bit parts could overflow: float64 GEMM
    return torch::mm(x_codes.to(torch::kFloat64), w_codes_.to(torch::kFloat64).t());
  }
  int part_bits = spec_.input_bits;
  while (part_bits > 1 && in * (std::ldexp(1.0, part_bits) - 1) * wmax >= std::ldexp(1.0, 24)) --part_bits;
  const int64_t n_parts = (spec_.input_bits + part_bits - 1) / part_bits;
  const torch::Tensor wt = w_codes_.to(torch::kFloat32).t();
  if (n_parts == 1) return torch::mm(x_codes.to(torch::kFloat32), wt).to(torch::kFloat64);
  // Signed codes: the top part carries the sign (arithmetic shift), lower parts are unsigned.
  const torch::Tensor& x = x_codes;  // int32
  const int64_t n = x.size(0);
  std::vector<torch::Tensor> parts;
  for (int64_t k = 0; k < n_parts; ++k) {
    torch::Tensor part = torch::bitwise_right_shift(x, k * part_bits);
    if (k + 1 < n_parts) part = torch::bitwise_and(part, (int64_t{1} << part_bits) - 1);
    parts.push_back(part.to(torch::kFloat32));
  }
  const torch::Tensor y = torch::mm(torch::cat(parts), wt).to(torch::kFloat64);
  torch::Tensor out = y.narrow(0, 0, n).clone();
  for (int64_t k = 1; k < n_parts; ++k) out.add_(y.narrow(0, k * n, n), std::ldexp(1.0, static_cast<int>(k * part_bits)));
  return out;
}

// sum over inputs and slices of (DAC level)^2 per input row, padded to [T, R] (read energy).
torch::Tensor CrossbarLayer::row_level_sq(const torch::Tensor& stored) const {
  torch::Tensor idx = stored.to(torch::kInt64);
  const int64_t lo = il_.code_min + il_.stored_offset;
  if (lo != 0) idx.sub_(lo);
  return row_level_sq_at(idx);
}

const torch::Tensor& CrossbarLayer::level_sq_lut() const {
  if (!level_sq_lut_.defined()) {  // over the stored codes lo .. hi (what the DACs see)
    const int64_t lo = il_.code_min + il_.stored_offset, hi = il_.code_max + il_.stored_offset;
    const auto codes = torch::arange(lo, hi + 1, torch::TensorOptions().dtype(torch::kInt64).device(device_));
    // Small integers (exact in float32): the gather moves half the bytes, the sum is float64.
    level_sq_lut_ = dac_levels(input_digits(codes.unsqueeze(0), il_)).pow(2).sum(0).squeeze(0).to(torch::kFloat32);
  }
  return level_sq_lut_;
}

torch::Tensor CrossbarLayer::row_level_sq_at(const torch::Tensor& idx) const {
  return tiles_of_rows(level_sq_lut().index_select(0, idx.reshape({-1})).view(idx.sizes()).sum(0, false, torch::kFloat64));
}

// A per-input-row quantity [in] laid out as the row tiles hold it, [T, R] (zero past the last row).
torch::Tensor CrossbarLayer::tiles_of_rows(torch::Tensor per_row) const {
  const int64_t T = map_.row_tiles, R = spec_.rows;
  if (T * R > map_.in_features) per_row = torch::constant_pad_nd(per_row, {0, T * R - map_.in_features});
  return per_row.view({T, R});
}

ActionCounts CrossbarLayer::count_actions(int64_t n, const torch::Tensor& level_sq) const {
  ActionCounts c = cimkit::count_actions(map_, n);
  // sum over reads of V^2 G t: (volts per level)^2 * t_read * sum_i level_i^2 * G_row_i.
  const double v = chip_->dac().volts_per_level();
  const torch::Tensor e = torch::einsum("tr,tra->ta", {level_sq, row_g_sum_}) * (v * v * chip_->dac().t_read_s());
  c.read_energy_j_per_array = e.reshape({map_.n_arrays}).to(torch::kCPU);
  return c;
}

void CrossbarLayer::check_calibrated() const {
  if (chip_->adc().needs_calibration() && !calibrated_max_) {
    throw Error("this chip's ADC range is 'calibrated': call calibrate() with a calibration batch before reading");
  }
}

MvmResult CrossbarLayer::forward(const torch::Tensor& x_in, std::optional<double> input_scale) {
  check_calibrated();
  const torch::Tensor x = x_in.dim() == 1 ? x_in.unsqueeze(0) : x_in;
  const double scale = plan_inputs(x, input_scale);
  if (fidelity_ != Fidelity::BitExact) return folded_forward(x, scale);
  refresh_read_state();
  const int64_t n = x.size(0), out = map_.out_features;
  const bool shortcut = shortcut_active();
  const int64_t chunk = chunk_rows(n, !shortcut);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
  MvmResult r;
  r.y_int = torch::zeros({n, out}, f64);
  torch::Tensor level_sq = torch::zeros({map_.row_tiles, spec_.rows}, f64);
  at::Generator gen = make_generator(derive_seed(opt_.seed, "read", opt_.layer_id, read_count_++), device_);
  torch::Tensor partial;
  if (!shortcut) partial = torch::empty({il_.n_slices * chunk, wl_.n_adc_groups * out}, torch::TensorOptions().dtype(torch::kFloat32).device(device_));
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t nc = std::min(chunk, n - r0);
    const torch::Tensor codes = chunk_codes(x, r0, nc, scale);                      // signed, int32
    const torch::Tensor stored = codes + static_cast<int32_t>(il_.stored_offset);  // what the DACs see
    torch::Tensor acc = r.y_int.narrow(0, r0, nc);
    if (shortcut) {
      acc.copy_(shortcut_product(codes));
      if (read_energy_) level_sq += row_level_sq(stored);
      continue;
    }
    sliced_chunk(stored, Mode::Convert, acc, level_sq, partial, gen, nullptr);
    correct_offsets(acc, stored);
  }
  return finish(std::move(r), n, scale, level_sq);
}

// Digital corrections: stored weights hold w + w_off, stored inputs x + x_off.
void CrossbarLayer::correct_offsets(torch::Tensor& acc, const torch::Tensor& stored) const {
  if (wl_.stored_offset) acc -= static_cast<double>(wl_.stored_offset) * stored.sum(1, true, torch::kFloat64);
  if (il_.stored_offset) acc -= static_cast<double>(il_.stored_offset) * w_row_sum_.unsqueeze(0);
}

// Dequantised output and the chip's action counts of n input vectors.
MvmResult CrossbarLayer::finish(MvmResult r, int64_t n, double scale, const torch::Tensor& level_sq) const {
  r.y = (r.y_int * (scale * w_scales_.unsqueeze(0))).to(torch::kFloat32);
  r.counts = count_actions(n, level_sq);
  return r;
}

}  // namespace cimkit
