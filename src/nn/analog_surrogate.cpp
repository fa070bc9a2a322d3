#include "nn/analog.hpp"

#include <cmath>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "crossbar/slicing.hpp"

namespace cimkit::nn {

// The chip in training, differentiable through the quantisers' straight-through estimators:
// either the chip's own digital result with a straight-through backward (SurrogateAdc::Chip), or
// paper 003 eq. 2–3 on every row tile of `rows` inputs with the ADC's straight-through floor
// (SurrogateAdc::Tile). x_hat: fake-quantised input rows [n, in] (code · s_x + β).
torch::Tensor AnalogLayer::analog_surrogate(const torch::Tensor& x_hat) {
  if (!ctx_) throw Error("analog layer has no chip: call Network::set_context before analog mode");
  Quantizer& wq = weight_quantizer();
  Quantizer& xq = input_quantizer();
  const torch::Tensor w = weight_matrix();
  torch::Tensor w_hat = wq->forward(w);  // code · s_w
  // Scales (differentiable for learned steps) that turn fake-quantised values into codes. Their
  // gradient carries LSQ's scale g like the quantisers' own: y = s_x·s_w·acc sends the ADC's
  // error (acc − x̄·w̄) into the steps, which unscaled is ~1/g times LSQ's step gradient and
  // drives the steps away within a few hundred batches.
  torch::Tensor s_w, s_x, beta;
  if (wq->step.defined()) {
    s_w = wq->scaled_step().reshape({-1, 1});
  } else {
    s_w =
        minmax_scale(w.detach(), precision_.weight_bits, true, wq->options.channels() > 0 ? 0 : -1)
            .reshape({-1, 1});
  }
  if (xq->step.defined()) {
    s_x = xq->scaled_step().reshape({1});
    if (xq->offset.defined()) beta = xq->offset;
  } else {  // min-max: the largest |x̂| is the largest |x| (the top code is exact)
    s_x = minmax_scale(x_hat.detach(), precision_.act_bits, signed_input()).reshape({1});
  }
  // Codes: integers up to float rounding ((code·s + β − β)/s); snapped to the integers in the
  // forward pass (the gradient passes unchanged), so a partial sum on an ADC step boundary
  // converts as the chip converts it.
  auto snap = [](const torch::Tensor& t) { return t + (torch::round(t) - t).detach(); };
  torch::Tensor w_code = snap(w_hat / s_w);                                    // [out, in]
  torch::Tensor x_code = snap((beta.defined() ? x_hat - beta : x_hat) / s_x);  // [n, in]
  const AnalogTraining& tr = ctx_->training;
  const double wmax = std::ldexp(1.0, precision_.weight_bits - 1) - 1;
  if (tr.weight_noise > 0) {
    w_code = w_code + torch::randn_like(w_code) * (tr.weight_noise * wmax);
  }
  torch::Tensor acc;  // [n, out] in code units
  if (tr.adc_model == SurrogateAdc::Chip) {
    const torch::Tensor y_lin = torch::matmul(x_code, w_code.t());
    acc = y_lin;
    if (tr.adc_in_loop) {
      torch::Tensor y_chip;
      {
        torch::NoGradGuard no_grad;
        const QuantRange xr = xq->range();
        const double x_lo =
            xq->step.defined()
                ? -xr.q_n
                : (signed_input() ? -(std::ldexp(1.0, precision_.act_bits - 1) - 1) : 0.0);
        const double x_hi = xq->step.defined()
                                ? xr.q_p
                                : (signed_input() ? std::ldexp(1.0, precision_.act_bits - 1) - 1
                                                  : std::ldexp(1.0, precision_.act_bits) - 1);
        CrossbarLayer::Options o;
        o.integer_codes = true;
        CrossbarLayer replica(ctx_->chip_for(precision_, signed_input(), /*ideal_cells=*/true),
                              torch::round(w_code.detach()).clamp(-wmax, wmax), o);
        const torch::Tensor xi = torch::round(x_code.detach()).clamp(x_lo, x_hi);
        replica.calibrate(xi);  // no-op unless the ADC range is calibrated
        y_chip = replica.forward(xi).y_int.to(y_lin.scalar_type());
      }
      acc = y_chip + (y_lin - y_lin.detach());  // chip value forward, straight-through backward
    }
    if (tr.output_noise > 0) acc = acc + torch::randn_like(acc) * tr.output_noise;
    torch::Tensor y = acc * (s_x * s_w.reshape({1, -1}));
    if (beta.defined()) y = y + beta * w_hat.sum(1).reshape({1, -1});
    return warmup_capture(x_hat, y);
  }
  // One signed ADC per column on each row tile's un-sliced partial sum: the chip's ADC, asked for
  // its transfer at the tile's full scale (paper 003 eq. 2-3 when its range is clipped).
  const int64_t M = ctx_->base_chip()->spec().rows;
  const auto chip = ctx_->chip_for(precision_, signed_input(), /*ideal_cells=*/true);
  const Adc& adc = chip->adc();
  const bool quantise = tr.adc_in_loop && adc.has_resolution();
  // A-shift (paper 003 eq. 4-5): the arrays see x̄ − C, C = 2^(b_x−1); C·Σw̄ is added digitally.
  const bool shifted = chip->spec().input_encoding == InputEncoding::Shifted;
  const double shift = shifted ? std::ldexp(1.0, precision_.act_bits - 1) : 0.0;
  // The largest |input| and |weight| a tile multiplies: eq. 3's 2^b_x − 1 and 2^(b_w−1) − 1, the
  // signed variant 2^(b_x−1) − 1 for symmetric signed codes, and 2^(b_x−1) for A-shift's lowest
  // code −2^(b_x−1). Where the chip holds whole codes (one input slice, one weight slice) its ADC
  // is ranged for its own DAC and cells (InputLayout::max_digit, 2^cell_bits − 1), so those are
  // taken: the surrogate then converts exactly as the chip does.
  const CrossbarSpec& spec = chip->spec();
  const InputLayout il = input_layout(spec, chip->dac().bits());
  const bool whole_inputs = il.n_slices == 1, whole_weights = weight_layout(spec).n_slices == 1;
  const double x_top = whole_inputs    ? static_cast<double>(il.max_digit)
                       : shifted        ? shift
                       : signed_input() ? std::ldexp(1.0, precision_.act_bits - 1) - 1
                                        : std::ldexp(1.0, precision_.act_bits) - 1;
  const double w_top = whole_weights ? std::ldexp(1.0, spec.cell_bits) - 1 : wmax;
  const double tile_full_scale = static_cast<double>(M) * x_top * w_top;
  // Row tiles as views (split's backward concatenates the tiles' gradients into one tensor).
  const auto x_tiles = (shifted ? x_code - shift : x_code).split(M, 1);
  const auto w_tiles = w_code.split(M, 1);
  std::vector<torch::Tensor> partials;
  for (size_t t = 0; t < x_tiles.size(); ++t) partials.push_back(torch::matmul(x_tiles[t], w_tiles[t].t()));  // [n, out]
  AdcTransfer transfer;
  if (quantise) {
    std::optional<double> calibrated;
    if (adc.needs_calibration()) {  // the range from this batch's partial sums
      torch::NoGradGuard no_grad;
      const torch::Tensor all = torch::cat(partials, 1).abs().flatten().to(torch::kFloat64);
      const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(adc.calibration_quantile() * all.numel())));
      calibrated = std::get<0>(all.kthvalue(k)).item<double>();
    }
    transfer = adc.transfer(tile_full_scale, /*signed_sums=*/true, calibrated);
  }
  const double noise_unit = transfer.quantises() ? transfer.step : 1.0;
  for (torch::Tensor partial : partials) {
    if (tr.output_noise > 0) partial = partial + torch::randn_like(partial) * (tr.output_noise * noise_unit);
    if (transfer.quantises()) {
      // code = R(clamp(y / step)), value = code * step, with a straight-through R. y times the
      // float32 reciprocal of the step, as the chip's kernels convert (crossbar/kernels.cpp), so
      // the codes are the chip's own at the boundaries too.
      const double inv = static_cast<double>(static_cast<float>(1.0 / transfer.step));
      const torch::Tensor v = torch::clamp(partial * inv, transfer.code_min, transfer.code_max);
      partial = (transfer.rounding == Rounding::Floor ? ste_floor(v) : ste_round(v)) * transfer.step;
    }
    acc = acc.defined() ? acc + partial : partial;
  }
  if (shifted) acc = acc + shift * w_code.sum(1).reshape({1, -1});  // the digital offset, exact
  torch::Tensor y = acc * (s_x * s_w.reshape({1, -1}));
  if (beta.defined()) y = y + beta * w_hat.sum(1).reshape({1, -1});
  return warmup_capture(x_hat, y);
}

// ADC-LoRA's warm-up (eq. 12): ‖Q_x(X)·Q_w(W)ᵀ − Ȳ‖² per element, the frozen weight without
// the ADC as the target.
torch::Tensor AnalogLayer::warmup_capture(const torch::Tensor& x_hat, const torch::Tensor& y) {
  if (!lora_warmup_) return y;
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    target = torch::matmul(x_hat, weight_quantizer()->forward(base_matrix()).t());
  }
  const torch::Tensor mse = (y - target).square().mean();
  lora_mse_ = lora_mse_.defined() ? lora_mse_ + mse : mse;
  return y;
}

}  // namespace cimkit::nn
