#include "crossbar/engine.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "crossbar/kernels.hpp"

namespace cimkit {

using torch::indexing::Slice;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

nlohmann::json LayerMapping::to_json() const {
  return {{"out_features", out_features}, {"in_features", in_features},
          {"row_tiles", row_tiles},       {"input_slices", input_slices},
          {"weight_slices", weight_slices}, {"polarities", polarities},
          {"data_cols_per_array", data_cols_per_array}, {"arrays_per_tile", arrays_per_tile},
          {"n_arrays", n_arrays},         {"full_scale", full_scale},
          {"adc_step", adc.step},         {"adc_code_max", adc.code_max},
          {"utilisation", utilisation}};
}

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
  map_.out_features = out;
  map_.in_features = in;
  map_.row_tiles = ceil_div(in, R);
  map_.input_slices = il_.n_slices;
  map_.weight_slices = wl_.n_slices;
  map_.polarities = wl_.n_polarities;
  map_.column_groups = wl_.n_groups;
  map_.data_cols_per_array = spec_.baseline == Baseline::ReferenceColumn ? spec_.cols - 1 : spec_.cols;
  const int64_t gcols = wl_.n_groups * out;
  map_.arrays_per_tile = ceil_div(gcols, map_.data_cols_per_array);
  map_.n_arrays = map_.row_tiles * map_.arrays_per_tile;
  map_.full_scale = static_cast<double>(R) * (std::ldexp(1.0, il_.dac_bits) - 1) *
                    (std::ldexp(1.0, spec_.cell_bits) - 1);
  map_.utilisation = static_cast<double>(in * gcols) /
                     static_cast<double>(map_.n_arrays * R * spec_.cols);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device_);
  col_array_ = torch::div(torch::arange(gcols, i64), map_.data_cols_per_array, "floor");

  // Levels: [G, out, in] -> pad in to T*R -> [T, R, G*out] (column j = g*out + o).
  torch::Tensor digits = weight_digits(w_codes_, spec_, wl_);
  const int64_t pad = map_.row_tiles * R - in;
  if (pad > 0) digits = torch::constant_pad_nd(digits, {0, pad});
  levels_ = digits.view({wl_.n_groups, out, map_.row_tiles, R}).permute({2, 3, 0, 1})
                .reshape({map_.row_tiles, R, gcols}).contiguous();

  integer_path_ = spec_.path == EnginePath::Integer ||
                  (spec_.path == EnginePath::Auto && chip_->device().is_ideal() && chip_->dac().is_linear());
  temp_per_array_ = torch::full({map_.n_arrays}, opt_.operating.temperature_k,
                                torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  time_s_ = opt_.operating.time_since_program_s;
  update_transfer();
  program();
}

void CrossbarLayer::update_transfer() {
  // A calibrated ADC has no range until calibrate(); forward() refuses to run before that.
  if (chip_->adc().needs_calibration() && !calibrated_max_) return;
  map_.adc = chip_->adc().transfer(map_.full_scale, calibrated_max_);
  const int64_t S = il_.n_slices, G = wl_.n_groups;
  const double step = map_.adc.quantises() ? map_.adc.step : 1.0;
  coef_ = torch::empty({S, G}, torch::kFloat64);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t g = 0; g < G; ++g)
      coef_[s][g] = wl_.coef[g] * std::ldexp(1.0, static_cast<int>(s) * il_.dac_bits) * step;
  coef_ = coef_.to(device_);
}

bool CrossbarLayer::shortcut_active() const {
  return spec_.lossless_shortcut && integer_path_ && map_.adc.lossless_for_integers(map_.full_scale);
}

void CrossbarLayer::program() {
  ++program_count_;
  read_state_dirty_ = true;
  if (integer_path_) return;
  const DeviceModel& dev = chip_->device();
  const int64_t n_levels = int64_t{1} << spec_.cell_bits;
  // Cell state is float64: then (G - G_off) / dG of an ideal cell rounds to its level exactly
  // when the effective matrix is cast to float32, so both paths agree bit for bit.
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
  const std::vector<int64_t> ref_shape = {map_.row_tiles, spec_.rows, map_.arrays_per_tile};
  if (!traits_.d2d.defined() && !traits_.stuck.defined() && !traits_.drift_nu.defined() && program_count_ == 1) {
    at::Generator g = make_generator(derive_seed(opt_.seed, "cell_traits", opt_.layer_id), device_);
    traits_ = dev.draw_traits(levels_.sizes(), g, f64);
    ref_traits_ = dev.draw_traits(ref_shape, g, f64);
  }
  at::Generator g = make_generator(derive_seed(opt_.seed, "program", opt_.layer_id, program_count_), device_);
  g_prog_ = dev.program(levels_.to(torch::kFloat64), n_levels, traits_, g);
  g_ref_prog_ = dev.program(torch::zeros(ref_shape, f64), n_levels, ref_traits_, g);
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
  read_state_dirty_ = false;
  const DeviceModel& dev = chip_->device();
  const double g_off = dev.g_off_s(), g_on = dev.g_on_s();
  const double dg = (g_on - g_off) / (std::ldexp(1.0, spec_.cell_bits) - 1);
  const int64_t T = map_.row_tiles, A = map_.arrays_per_tile, R = spec_.rows;
  const bool ref_col = spec_.baseline == Baseline::ReferenceColumn;
  torch::Tensor g_read, g_ref_read;
  if (integer_path_) {
    g_read = levels_.to(torch::kFloat64) * dg + g_off;
    g_ref_read = torch::full({T, R, A}, g_off, g_read.options());
    w_eff_ = levels_;
    noise_var_ = torch::Tensor();
    noise_std_ = torch::Tensor();
  } else {
    const torch::Tensor temps = temp_per_array_.view({T, A});
    ReadConditions rc;
    rc.time_since_program_s = time_s_;
    rc.temperature_k = temps.index_select(1, col_array_).unsqueeze(1);  // [T, 1, G*out]
    g_read = dev.at_conditions(g_prog_, traits_, rc);
    ReadConditions rc_ref = rc;
    rc_ref.temperature_k = temps.unsqueeze(1);  // [T, 1, A]
    g_ref_read = dev.at_conditions(g_ref_prog_, ref_traits_, rc_ref);
    // Baseline per cell: its own row's reference cell, or the nominal G_off.
    const torch::Tensor base = ref_col ? g_ref_read.index_select(2, col_array_) : torch::full_like(g_read, g_off);
    w_eff_ = ((g_read - base) / dg).to(torch::kFloat32).contiguous();
    noise_var_ = torch::Tensor();
    noise_std_ = torch::Tensor();
    if (dev.has_read_noise()) {
      torch::Tensor var = dev.read_noise_std(g_read).pow(2);
      if (ref_col) var = var + dev.read_noise_std(g_ref_read).pow(2).index_select(2, col_array_);
      var = (var / (dg * dg)).to(torch::kFloat32);
      if (spec_.read_noise_mode == ReadNoiseMode::Output) {
        noise_var_ = var.contiguous();
      } else {
        noise_std_ = var.sqrt().contiguous();
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

CrossbarLayer::Codes CrossbarLayer::encode(const torch::Tensor& x_in,
                                           std::optional<double> input_scale) const {
  torch::Tensor x = x_in.dim() == 1 ? x_in.unsqueeze(0) : x_in;
  if (x.dim() != 2 || x.size(1) != map_.in_features) {
    throw ShapeError("inputs must be [n, " + std::to_string(map_.in_features) + "] to match the weight matrix [" +
                     std::to_string(map_.out_features) + ", " + std::to_string(map_.in_features) + "], got shape " +
                     std::string(c10::str(x_in.sizes())));
  }
  if (x.device() != device_) {
    throw ShapeError("inputs are on " + x.device().str() + " but the layer is programmed on " + device_.str());
  }
  Codes c;
  if (opt_.integer_codes) {
    check_codes(x, il_.code_min, il_.code_max,
                std::string("inputs (") + (il_.stored_offset ? "signed " : "unsigned ") + std::to_string(spec_.input_bits) + "-bit codes)");
    c.signed_codes = x.to(torch::kInt64);
    c.scale = 1.0;
  } else {
    if (!x.is_floating_point()) throw ShapeError("inputs must be floating point (or use integer codes)");
    if (!torch::isfinite(x).all().item<bool>()) throw ShapeError("inputs contain NaN or infinite values");
    QuantisedInputs q = quantise_inputs(x, il_, input_scale);
    c.signed_codes = q.codes;
    c.scale = q.scale;
  }
  c.stored = c.signed_codes + il_.stored_offset;
  return c;
}

// Runs the sliced pipeline; returns the analog result A = sum_i x_stored * (w + w_offset) as
// [n, out] float64 (Convert) or the collected partial sums' statistic (Calibrate, [1]).
torch::Tensor CrossbarLayer::run_sliced(const Codes& codes, Mode mode, torch::Tensor* row_level_sq) {
  refresh_read_state();
  const int64_t n = codes.stored.size(0), in = map_.in_features, out = map_.out_features;
  const int64_t T = map_.row_tiles, R = spec_.rows, S = il_.n_slices, G = wl_.n_groups;
  const int64_t gcols = G * out;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  // Working set per input row: digits (T*S*R), partial sums and noise (3*S*G*out), float64
  // accumulator; per_cell noise adds S*R*G*out per row.
  int64_t per_row = 4 * (T * S * R + 3 * S * gcols) + 8 * out + 8 * in;
  if (noise_std_.defined()) per_row += 4 * 2 * S * R * gcols;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(n, spec_.chunk_bytes / per_row));

  at::Generator gen = make_generator(derive_seed(opt_.seed, "read", opt_.layer_id, read_count_++), device_);
  torch::Tensor acc = torch::zeros({n, out}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  torch::Tensor level_sq = torch::zeros({T, R}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  std::vector<torch::Tensor> calib;
  torch::Tensor partial = torch::empty({S * chunk, gcols}, f32);
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t nc = std::min(chunk, n - r0);
    torch::Tensor dig = input_digits(codes.stored.narrow(0, r0, nc), il_);  // [S, nc, in]
    dig = chip_->dac().level(dig);
    if (T * R > in) dig = torch::constant_pad_nd(dig, {0, T * R - in});
    const torch::Tensor xd = dig.view({S, nc, T, R}).permute({2, 0, 1, 3}).reshape({T, S * nc, R}).contiguous();
    level_sq += xd.pow(2).sum(1).to(torch::kFloat64);
    torch::Tensor acc_c = acc.narrow(0, r0, nc);
    torch::Tensor part = partial.narrow(0, 0, S * nc);
    for (int64_t t = 0; t < T; ++t) {
      const torch::Tensor xt = xd[t];  // [S*nc, R]
      if (noise_std_.defined()) {  // per_cell: every cell of every read draws its own noise
        const torch::Tensor cells = w_eff_[t].unsqueeze(0) + noise_std_[t].unsqueeze(0) * at::randn({S * nc, R, gcols}, gen, f32);
        part.copy_(torch::bmm(xt.unsqueeze(1), cells).squeeze(1));
      } else {
        torch::mm_out(part, xt, w_eff_[t]);
        if (noise_var_.defined()) {  // exact distribution of the column sum of Gaussian cells
          const torch::Tensor sd = torch::mm(xt.pow(2), noise_var_[t]).sqrt_();
          part.addcmul_(sd, at::randn({S * nc, gcols}, gen, f32));
        }
      }
      if (mode == Mode::Calibrate) {
        calib.push_back(part.abs().flatten().clone());
      } else {
        adc_shift_add(part, nc, S, G, coef_, map_.adc, acc_c);
      }
    }
  }
  if (row_level_sq) *row_level_sq = level_sq;
  if (mode == Mode::Calibrate) {
    torch::Tensor all = torch::cat(calib);
    const double q = chip_->adc().calibration_quantile();
    if (q >= 1.0) return all.max().to(torch::kFloat64).reshape({1});
    if (all.numel() > (1 << 22)) all = all.index({Slice(0, torch::indexing::None, all.numel() / (1 << 22) + 1)});
    const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * all.numel())));
    return std::get<0>(all.kthvalue(k)).to(torch::kFloat64).reshape({1});
  }
  return acc;
}

void CrossbarLayer::calibrate(const torch::Tensor& x, std::optional<double> input_scale) {
  if (!chip_->adc().needs_calibration()) return;
  const Codes codes = encode(x, input_scale);
  calibrated_max_ = run_sliced(codes, Mode::Calibrate, nullptr).item<double>();
  update_transfer();
}

ActionCounts CrossbarLayer::count_actions(int64_t n, const torch::Tensor& level_sq) const {
  ActionCounts c;
  const int64_t S = il_.n_slices, A = map_.arrays_per_tile, T = map_.row_tiles;
  c.n_inputs = n;
  c.dac_conversions = n * S * map_.in_features * A;
  c.array_activations = n * S * map_.n_arrays;
  c.adc_conversions = n * S * T * wl_.n_groups * map_.out_features;
  c.shift_adds = c.adc_conversions;
  c.activations_per_array = torch::full({map_.n_arrays}, n * S, torch::kInt64);
  // sum over reads of V^2 G t: (volts per level)^2 * t_read * sum_i level_i^2 * G_row_i.
  const double v = chip_->dac().volts_per_level();
  const torch::Tensor e = torch::einsum("tr,tra->ta", {level_sq, row_g_sum_}) * (v * v * chip_->dac().t_read_s());
  c.read_energy_j_per_array = e.reshape({map_.n_arrays}).to(torch::kCPU);
  return c;
}

MvmResult CrossbarLayer::forward(const torch::Tensor& x, std::optional<double> input_scale) {
  if (chip_->adc().needs_calibration() && !calibrated_max_) {
    throw Error("this chip's ADC range is 'calibrated': call calibrate() with a calibration batch before forward()");
  }
  const Codes codes = encode(x, input_scale);
  const int64_t n = codes.stored.size(0);
  MvmResult r;
  torch::Tensor level_sq;
  if (shortcut_active()) {
    refresh_read_state();
    // One GEMM. float32 is exact while every |sum| < 2^24; otherwise float64.
    const double bound = static_cast<double>(map_.in_features) *
                         static_cast<double>(std::max(il_.code_max, -il_.code_min)) *
                         static_cast<double>(std::max(wl_.code_max, -wl_.code_min));
    const auto dt = bound < std::ldexp(1.0, 24) ? torch::kFloat32 : torch::kFloat64;
    r.y_int = torch::mm(codes.signed_codes.to(dt), w_codes_.to(dt).t()).to(torch::kFloat64);
    const int64_t T = map_.row_tiles, R = spec_.rows, S = il_.n_slices;
    torch::Tensor dig = chip_->dac().level(input_digits(codes.stored, il_)).pow(2).sum(std::vector<int64_t>{0, 1}).to(torch::kFloat64);
    if (T * R > map_.in_features) dig = torch::constant_pad_nd(dig, {0, T * R - map_.in_features});
    level_sq = dig.view({T, R});
    (void)S;
  } else {
    torch::Tensor analog = run_sliced(codes, Mode::Convert, &level_sq);
    // Digital corrections: stored weights hold w + w_off, stored inputs x + x_off.
    if (wl_.stored_offset) analog -= static_cast<double>(wl_.stored_offset) * codes.stored.sum(1, true).to(torch::kFloat64);
    if (il_.stored_offset) analog -= static_cast<double>(il_.stored_offset) * w_row_sum_.unsqueeze(0);
    r.y_int = analog;
  }
  r.y = (r.y_int * (codes.scale * w_scales_.unsqueeze(0))).to(torch::kFloat32);
  r.counts = count_actions(n, level_sq);
  return r;
}

}  // namespace cimkit
