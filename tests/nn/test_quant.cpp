// Fake quantisers (nn/quant.hpp, nn/quantizer.hpp): forward values against hand examples and
// closed forms, custom-autograd gradients against finite differences, run-time bit changes, errors.
//
// Finite differences and round(): the true quantiser is piecewise constant in x and piecewise
// linear in s and β, so its FD gradient is not what the STE defines (e.g. ∂/∂s inside is
// round(v), not round(v) − v). The checks therefore difference the *surrogate* the STE defines
// at the base point, with c = round(clip(v0)) − clip(v0) held constant:
//     x̂_sur(x, s, β) = s·clip((x − β)/s, −q_n, q_p) + s·c + β,
// which has the same value as x̂ at the base point and whose exact gradient is the LSQ/LSQ+
// formula. Inputs are drawn as v = k + f with |f| ∈ [0.05, 0.45], so every v is at least 0.05
// from a rounding jump and from a clip bound; with h = 1e-6 no FD probe crosses either. The
// surrogate is linear in s and β between bounds, so central differences are exact up to
// float64 round-off (≈ 1e-16·|L|/h ≈ 1e-9 here): tolerance 1e-7 absolute per gradient entry.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "nn/quant.hpp"
#include "nn/quantizer.hpp"

using namespace cimkit;
using namespace cimkit::nn;
using torch::Tensor;

namespace {

constexpr double kFdStep = 1e-6;
constexpr double kFdTol = 1e-7;
const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

// v = k + f, k uniform integer in [lo, hi], |f| in [0.05, 0.45]: away from jumps and bounds.
Tensor safe_codes(std::vector<int64_t> shape, int64_t lo, int64_t hi, uint64_t seed) {
  torch::manual_seed(seed);
  const Tensor k = torch::randint(lo, hi + 1, shape, kF64);
  const Tensor mag = 0.05 + 0.4 * torch::rand(shape, kF64);
  const Tensor sign = torch::where(torch::rand(shape, kF64) < 0.5, -1.0, 1.0);
  return k + sign * mag;
}

// Per-channel view of a [C] parameter against x, or a scalar.
Tensor bcast(const Tensor& p, const Tensor& x) {
  if (p.numel() == 1) return p.reshape({});
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = p.size(0);
  return p.reshape(shape);
}

// Loss sum(w ⊙ x̂_sur) of the STE surrogate (header comment), c fixed from (s0, β0).
double surrogate_loss(const Tensor& x, const Tensor& w, const Tensor& s, const Tensor& beta,
                      const Tensor& c, double q_n, double q_p) {
  const Tensor sb = bcast(s, x), bb = bcast(beta, x);
  return (w * (sb * torch::clamp((x - bb) / sb, -q_n, q_p) + sb * c + bb)).sum().item<double>();
}

// Central difference of the surrogate loss w.r.t. each entry of `which` (s or β), times g.
Tensor fd_grad(const Tensor& x, const Tensor& w, const Tensor& s, const Tensor& beta, double q_n,
               double q_p, double g, bool wrt_step) {
  const Tensor v0 = (x - bcast(beta, x)) / bcast(s, x);
  const Tensor c = torch::round(torch::clamp(v0, -q_n, q_p)) - torch::clamp(v0, -q_n, q_p);
  const Tensor target = wrt_step ? s : beta;
  Tensor out = torch::zeros_like(target);
  for (int64_t i = 0; i < target.numel(); ++i) {
    Tensor up = target.clone(), dn = target.clone();
    up.view(-1)[i] += kFdStep;
    dn.view(-1)[i] -= kFdStep;
    const double lu = wrt_step ? surrogate_loss(x, w, up, beta, c, q_n, q_p)
                               : surrogate_loss(x, w, s, up, c, q_n, q_p);
    const double ld = wrt_step ? surrogate_loss(x, w, dn, beta, c, q_n, q_p)
                               : surrogate_loss(x, w, s, dn, c, q_n, q_p);
    out.view(-1)[i] = g * (lu - ld) / (2 * kFdStep);
  }
  return out;
}

void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_LE((a - b).abs().max().item<double>(), tol) << what << "\n" << a << "\n" << b;
}

template <typename Fn>
void expect_error(Fn fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Ste, RoundAndFloorPassGradientsStraightThrough) {
  const Tensor x = torch::tensor({-1.7, -0.5, 0.49, 1.5, 2.2}, kF64).requires_grad_();
  const Tensor w = torch::tensor({1.0, -2.0, 3.0, 0.5, 7.0}, kF64);
  const Tensor r = ste_round(x), f = ste_floor(x);
  EXPECT_TRUE(torch::equal(r.detach(), torch::tensor({-2.0, -0.0, 0.0, 2.0, 2.0}, kF64)));  // half to even
  EXPECT_TRUE(torch::equal(f.detach(), torch::tensor({-2.0, -1.0, 0.0, 1.0, 2.0}, kF64)));
  // Surrogate of an STE is the identity, whose FD gradient of sum(w ⊙ x) is w exactly.
  const Tensor gr = torch::autograd::grad({(w * r).sum()}, {x})[0];
  const Tensor gf = torch::autograd::grad({(w * f).sum()}, {x})[0];
  EXPECT_TRUE(torch::equal(gr, w));
  EXPECT_TRUE(torch::equal(gf, w));
  // Paper 003 eq. 2: floor(clip(y/Δ, n, p)) gets gradient 1/Δ inside, 0 when saturated.
  const Tensor y = torch::tensor({-9.0, -1.0, 3.0, 20.0}, kF64).requires_grad_();
  const Tensor q = ste_floor(torch::clamp(y / 2.0, -4.0, 3.0));
  const Tensor gy = torch::autograd::grad({q.sum()}, {y})[0];
  EXPECT_TRUE(torch::equal(gy, torch::tensor({0.0, 0.5, 0.5, 0.0}, kF64)));
}

TEST(MinMax, SymmetricScaleIsMaxAbsOverTopCode) {
  const Tensor x = torch::randn({64}, kF64) * 3.0;
  for (int bits : {2, 4, 8}) {
    const double top = std::ldexp(1.0, bits - 1) - 1.0;
    EXPECT_DOUBLE_EQ(minmax_scale(x, bits, true).item<double>(), x.abs().max().item<double>() / top) << bits;
    const Tensor codes = fake_quant_minmax(x, bits, true) / minmax_scale(x, bits, true);
    EXPECT_LE(codes.abs().max().item<double>(), top + 1e-9) << bits;
    expect_close(codes, torch::round(codes), 1e-9, "integer codes");
  }
}

TEST(MinMax, UnsignedClipsNegativesWithZeroGradientAndPerChannelScales) {
  const Tensor x = torch::tensor({{-1.0, 0.5, 3.0}, {2.0, -4.0, 0.2}}, kF64).requires_grad_();
  const Tensor y = fake_quant_minmax(x, 2, false, 0);  // per row: scale = max/3 -> 1.0 and 2/3
  EXPECT_TRUE(torch::allclose(minmax_scale(x, 2, false, 0), torch::tensor({1.0, 2.0 / 3.0}, kF64)));
  const Tensor expect = torch::tensor({{0.0, 0.0, 3.0}, {2.0, 0.0, 0.0}}, kF64);  // 0.5 -> 0 (even)
  expect_close(y.detach(), expect, 1e-12, "unsigned per-channel values");
  // Surrogate with the scale held: x inside -> x, clipped -> const: FD gradient is the mask.
  const Tensor g = torch::autograd::grad({y.sum()}, {x})[0];
  EXPECT_TRUE(torch::equal(g, (x >= 0).to(torch::kFloat64)));
  EXPECT_EQ(minmax_scale(torch::randn({5, 3, 2}), 4, true, 0).sizes(), torch::IntArrayRef({5}));
}

TEST(Lsq, HandExampleValuesAndGradients) {
  // 2-bit signed: q_n = 2, q_p = 1, s = 0.5. v = x/s = [-2, -0.52, 0.2, 1.48, 4].
  const QuantRange r = lsq_range(2, true);
  ASSERT_EQ(r.q_n, 2.0);
  ASSERT_EQ(r.q_p, 1.0);
  const Tensor x = torch::tensor({-1.0, -0.26, 0.1, 0.74, 2.0}, kF64).requires_grad_();
  const Tensor s = torch::tensor({0.5}, kF64).requires_grad_();
  const Tensor y = lsq_quantize(x, s, r.q_n, r.q_p, 0.25);
  expect_close(y.detach(), torch::tensor({-1.0, -0.5, 0.0, 0.5, 0.5}, kF64), 1e-15, "values");
  const auto g = torch::autograd::grad({y.sum()}, {x, s});
  EXPECT_TRUE(torch::equal(g[0], torch::tensor({0.0, 1.0, 1.0, 0.0, 0.0}, kF64)));  // v = -2 is clipped
  // ∂/∂s: -2 (clipped low), -1 + 0.52, 0 - 0.2, 1 (clipped high), 1; sum = -0.68; times g = 0.25.
  expect_close(g[1], torch::tensor({-0.68 * 0.25}, kF64), 1e-12, "step gradient");
}

TEST(Lsq, StepGradientMatchesFiniteDifferencesPerTensorAndPerChannel) {
  const double q_n = 8, q_p = 7, g = 0.37;  // 4-bit signed, arbitrary gradient scale
  for (bool per_channel : {false, true}) {
    const Tensor s0 = per_channel ? torch::tensor({0.1, 0.4, 2.0}, kF64) : torch::tensor({0.3}, kF64);
    const Tensor v = safe_codes({3, 4, 5}, -11, 10, per_channel ? 2 : 1);  // some clipped both sides
    const Tensor x = (v * bcast(s0, v)).requires_grad_();
    const Tensor s = s0.clone().requires_grad_();
    const Tensor w = torch::randn({3, 4, 5}, kF64);
    const auto grads = torch::autograd::grad({(w * lsq_quantize(x, s, q_n, q_p, g)).sum()}, {x, s});
    const Tensor zero = torch::zeros({1}, kF64);
    expect_close(grads[1], fd_grad(x.detach(), w, s0, zero, q_n, q_p, g, true), kFdTol,
                 per_channel ? "per-channel step" : "per-tensor step");
    // x gradient: exactly w inside and 0 outside, not scaled by g.
    const Tensor inside = (v > -q_n) & (v < q_p);
    EXPECT_TRUE(torch::equal(grads[0], w * inside));
    EXPECT_GT(inside.sum().item<int64_t>(), 0);
    EXPECT_LT(inside.sum().item<int64_t>(), v.numel());
  }
}

TEST(Lsq, ClippedRegionGradientEqualsTrueFiniteDifference) {
  // Every value clipped: x̂ = ±bound·s is smooth in s, so the true function's FD is exact.
  const Tensor x = torch::tensor({-50.0, 40.0, 99.0}, kF64);
  auto loss = [&](double s) { return lsq_quantize(x, torch::tensor({s}, kF64), 4, 3).sum().item<double>(); };
  const Tensor s = torch::tensor({1.3}, kF64).requires_grad_();
  const Tensor g = torch::autograd::grad({lsq_quantize(x, s, 4, 3).sum()}, {s})[0];
  EXPECT_NEAR(g.item<double>(), (loss(1.3 + kFdStep) - loss(1.3 - kFdStep)) / (2 * kFdStep), kFdTol);
  EXPECT_DOUBLE_EQ(g.item<double>(), -4.0 + 3.0 + 3.0);
}

TEST(LsqPlus, StepAndOffsetGradientsMatchFiniteDifferences) {
  const double q_n = 0, q_p = 15, g = 0.2;  // 4-bit unsigned with offset (A-shift style)
  for (bool per_channel : {false, true}) {
    const Tensor s0 = per_channel ? torch::tensor({0.2, 0.05}, kF64) : torch::tensor({0.1}, kF64);
    const Tensor b0 = per_channel ? torch::tensor({-0.3, 0.7}, kF64) : torch::tensor({-0.45}, kF64);
    const Tensor v = safe_codes({2, 30}, -3, 18, 3);
    const Tensor x = (v * bcast(s0, v) + bcast(b0, v)).requires_grad_();
    const Tensor s = s0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    const Tensor w = torch::randn({2, 30}, kF64);
    const auto grads = torch::autograd::grad({(w * lsqplus_quantize(x, s, b, q_n, q_p, g)).sum()}, {x, s, b});
    const std::string tag = per_channel ? " (per channel)" : " (per tensor)";
    expect_close(grads[1], fd_grad(x.detach(), w, s0, b0, q_n, q_p, g, true), kFdTol, "step" + tag);
    expect_close(grads[2], fd_grad(x.detach(), w, s0, b0, q_n, q_p, g, false), kFdTol, "offset" + tag);
    const Tensor inside = (v > -q_n) & (v < q_p);
    EXPECT_TRUE(torch::equal(grads[0], w * inside));
    // Offset gradient is g·Σ w over clipped values only (algorithms.md §4.5).
    const Tensor clipped_w = (w * ~inside);
    expect_close(grads[2].sum().reshape({}), g * clipped_w.sum(), 1e-12, "offset closed form" + tag);
  }
}

TEST(Init, LsqAndLsqPlusRules) {
  const Tensor x = torch::tensor({{1.0, -3.0}, {0.5, 0.5}}, kF64);
  expect_close(lsq_init_step(x, 7), torch::tensor({2 * 1.25 / std::sqrt(7.0)}, kF64), 1e-12, "lsq per tensor");
  expect_close(lsq_init_step(x, 7, 0), torch::tensor({4 / std::sqrt(7.0), 1 / std::sqrt(7.0)}, kF64), 1e-12,
               "lsq per channel");
  // μ = -1, σ = 2 for row 0: max(|-7|, |5|)/2^(4-1) = 7/8.
  expect_close(lsqplus_init_weight_step(x, 4, 0)[0], torch::tensor(7.0 / 8, kF64), 1e-12, "lsq+ weight");
  auto [s, b] = lsqplus_init_minmax(x, 0, 15);
  expect_close(s, torch::tensor({4.0 / 15}, kF64), 1e-12, "lsq+ step");
  expect_close(b, torch::tensor({-3.0}, kF64), 1e-12, "lsq+ offset");
}

TEST(Quantizer, SetBitsChangesLevelsWithoutTouchingParameters) {
  Quantizer q(QuantizerOptions(QuantMode::lsq, 8).channels(4));
  const Tensor w = torch::randn({4, 16});
  const Tensor y8 = q(w);
  ASSERT_TRUE(q->initialized());
  const void* ptr = q->step.data_ptr();
  const auto names = q->named_parameters().keys();
  const Tensor step_before = q->step.detach().clone();
  q->set_bits(3);
  EXPECT_EQ(q->range().q_n, 4.0);
  EXPECT_EQ(q->range().q_p, 3.0);
  const Tensor y3 = q(w);
  EXPECT_EQ(q->step.data_ptr(), ptr);
  EXPECT_EQ(q->named_parameters().keys(), names);
  EXPECT_TRUE(torch::equal(q->step.detach(), step_before));
  EXPECT_NEAR(q->grad_scale(), 1.0 / std::sqrt(16.0 * 3.0), 1e-12);
  const Tensor codes = y3.detach() / q->step.detach().reshape({4, 1});
  EXPECT_LE(codes.max().item<double>(), 3.0 + 1e-5);
  EXPECT_GE(codes.min().item<double>(), -4.0 - 1e-5);
  EXPECT_LT(std::get<0>(at::_unique(y3)).numel(), std::get<0>(at::_unique(y8)).numel());
}

TEST(Quantizer, LsqPlusActivationHasOffsetAndLazyInit) {
  Quantizer q(QuantizerOptions(QuantMode::lsqplus, 4).is_signed(false).role(QuantRole::activation));
  ASSERT_TRUE(q->offset.defined());
  EXPECT_EQ(q->parameters().size(), 2u);
  const Tensor x = torch::rand({8, 10}) * 2.0 - 0.5;  // Swish-like: slightly negative minimum
  const Tensor y = q(x);
  EXPECT_NEAR(q->offset.item<double>(), x.min().item<double>(), 1e-6);
  EXPECT_NEAR(y.min().item<double>(), x.min().item<double>(), 1e-6);
  EXPECT_NEAR(q->grad_scale(), 1.0 / std::sqrt(10.0 * 15.0), 1e-12);
  Quantizer weights(QuantizerOptions(QuantMode::lsqplus, 4));
  EXPECT_FALSE(weights->offset.defined());  // LSQ+ weights are symmetric without offset
  Quantizer mm(QuantizerOptions(QuantMode::minmax, 8));
  EXPECT_TRUE(mm->parameters().empty());
  EXPECT_TRUE(torch::allclose(mm(x), fake_quant_minmax(x, 8, true)));
}

TEST(Errors, BadArgumentsNameTheArgumentAndWhatIsAllowed) {
  const Tensor x = torch::randn({3, 4});
  expect_error([&] { lsq_quantize(x, torch::tensor({0.0}), 8, 7); }, {"step", "> 0"});
  expect_error([&] { lsqplus_quantize(x, torch::tensor({-1.0}), torch::zeros({1}), 0, 15); }, {"step", "> 0"});
  expect_error([&] { lsq_quantize(x, torch::ones({4}), 8, 7); }, {"step", "4", "[3]", "per channel"});
  expect_error([&] { lsqplus_quantize(x, torch::ones({3}), torch::zeros({2}), 0, 15); }, {"offset", "[3]"});
  expect_error([&] { fake_quant_minmax(x, 17, true); }, {"bits = 17", "2..16"});
  expect_error([&] { fake_quant_minmax(x, 0, false); }, {"bits = 0", "1..16"});
  expect_error([&] { fake_quant_minmax(x, 4, true, 2); }, {"per_channel_dim = 2"});
  Quantizer q(QuantizerOptions(QuantMode::lsq, 4));
  expect_error([&] { q->set_bits(1); }, {"quantizer.bits = 1", "2..16", "signed"});
  EXPECT_EQ(q->bits(), 4);  // unchanged after the error
  expect_error([] { Quantizer(QuantizerOptions(QuantMode::lsq, 0).is_signed(false)); }, {"quantizer.bits = 0", "1..16"});
  Quantizer pc(QuantizerOptions(QuantMode::lsq, 4).channels(5));
  expect_error([&] { pc(x); }, {"quantizer.channels", "5"});
  EXPECT_THROW(lsq_quantize(x, torch::tensor({0.0}), 8, 7), ShapeError);
}
