// Custom autograd functions of nn/quant.hpp. Each forward saves what its backward needs and the
// backward returns the gradients of algorithms.md §4.4–4.5 in closed form (no autograd through
// round, which would give zero almost everywhere).
#include "nn/quant.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "nn/quant_detail.hpp"

namespace cimkit::nn {

using torch::Tensor;

namespace detail {

void check_floating(const Tensor& x, const char* fn, const char* arg) {
  if (!x.defined() || !x.is_floating_point()) {
    throw ShapeError(fmt::format("{}: `{}` must be a defined floating-point tensor", fn, arg));
  }
}

void check_range(double q_n, double q_p, const char* fn) {
  if (!(q_n >= 0.0) || !(q_p > 0.0)) {
    throw ShapeError(fmt::format("{}: code range needs q_n >= 0 and q_p > 0; got q_n = {}, q_p = {}",
                                 fn, q_n, q_p));
  }
}

int64_t check_dim(const Tensor& x, int64_t dim, const char* fn) {
  if (dim < -1 || dim >= std::max<int64_t>(x.dim(), 0) || (dim >= 0 && x.dim() == 0)) {
    throw ShapeError(fmt::format("{}: per_channel_dim = {} for input of shape [{}]; allowed: -1 "
                                 "(per tensor) or 0..{}", fn, dim, fmt::join(x.sizes(), "x"),
                                 x.dim() - 1));
  }
  return dim;
}

// x as [rows, n]: one row per channel of dim `dim`, or a single row for dim = −1.
Tensor rows_of(const Tensor& x, int64_t dim) {
  const Tensor d = x.detach();
  if (dim < 0) return d.reshape({1, -1});
  return d.movedim(dim, 0).reshape({d.size(dim), -1});
}

Tensor positive_or_one(const Tensor& s) { return torch::where(s > 0, s, torch::ones_like(s)); }

}  // namespace detail

namespace {

using namespace detail;

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Step/offset as stored ([] / [1] per tensor, [C] per channel) -> a tensor that broadcasts
// against x ([] or [C, 1, 1, ...]).
bool is_per_tensor(const Tensor& p) { return p.numel() == 1 && p.dim() <= 1; }

Tensor broadcastable(const Tensor& p, const Tensor& x) {
  if (is_per_tensor(p)) return p.reshape({});
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = p.size(0);
  return p.reshape(shape);
}

// d(loss)/d(param) from the per-element gradient, summed down to the parameter's shape.
Tensor reduce_to(const Tensor& g, const Tensor& p) {
  if (is_per_tensor(p)) return g.sum().reshape(p.sizes()).to(p.scalar_type());
  return g.reshape({g.size(0), -1}).sum(1).reshape(p.sizes()).to(p.scalar_type());
}

void check_param(const Tensor& p, const Tensor& x, const char* fn, const char* arg, bool positive) {
  check_floating(p, fn, arg);
  if (!is_per_tensor(p)) {
    if (p.dim() != 1 || x.dim() == 0 || p.size(0) != x.size(0)) {
      throw ShapeError(fmt::format(
          "{}: `{}` has shape [{}] for input of shape [{}]; allowed: [] or [1] (per tensor) or [{}] "
          "(per channel over dim 0)", fn, arg, fmt::join(p.sizes(), "x"), fmt::join(x.sizes(), "x"),
          x.dim() > 0 ? x.size(0) : 1));
    }
  }
  if (positive && (p <= 0).any().item<bool>()) {
    throw ShapeError(fmt::format("{}: `{}` must be > 0 everywhere; smallest value is {}", fn, arg,
                                 p.min().item<double>()));
  }
}

struct SteRoundFn : torch::autograd::Function<SteRoundFn> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return torch::round(x); }
  static tensor_list backward(AutogradContext*, tensor_list g) { return {g[0]}; }
};

struct SteFloorFn : torch::autograd::Function<SteFloorFn> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return torch::floor(x); }
  static tensor_list backward(AutogradContext*, tensor_list g) { return {g[0]}; }
};

struct MinMaxFn : torch::autograd::Function<MinMaxFn> {
  // scale: broadcastable against x, detached; lo/hi: code range.
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& scale, double lo,
                        double hi) {
    // The scale comes from this x, so only negative values of the unsigned case are clipped;
    // testing x >= 0 instead of x/scale <= hi keeps the top value "inside" despite rounding.
    ctx->save_for_backward({lo < 0.0 ? torch::ones_like(x, torch::kBool) : x >= 0});
    return torch::round(torch::clamp(x / scale, lo, hi)) * scale;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list g) {
    const Tensor inside = ctx->get_saved_variables()[0];
    return {g[0] * inside, Tensor(), Tensor(), Tensor()};
  }
};

// x̂ = round(clip((x − β)/s, −q_n, q_p))·s + β, shared by LSQ (no β) and LSQ+. Autograd
// Functions take no undefined tensor inputs, hence two thin Function types over these helpers.
Tensor lsq_forward(AutogradContext* ctx, const Tensor& x, const Tensor& step, const Tensor& offset,
                   double q_n, double q_p, double grad_scale) {
  const bool has_offset = offset.defined();
  const Tensor s = broadcastable(step, x);
  const Tensor shifted = has_offset ? x - broadcastable(offset, x) : x;
  const Tensor v = shifted / s;
  const Tensor code = torch::round(torch::clamp(v, -q_n, q_p));
  if (has_offset) {
    ctx->save_for_backward({v, step, offset});
  } else {
    ctx->save_for_backward({v, step});
  }
  ctx->saved_data["q_n"] = q_n;
  ctx->saved_data["q_p"] = q_p;
  ctx->saved_data["grad_scale"] = grad_scale;
  Tensor out = code * s;
  return has_offset ? out + broadcastable(offset, x) : out;
}

// {∂L/∂x, ∂L/∂s, ∂L/∂β (undefined without offset)}.
tensor_list lsq_backward(AutogradContext* ctx, const Tensor& g) {
  const auto saved = ctx->get_saved_variables();
  const Tensor &v = saved[0], &step = saved[1];
  const double q_n = ctx->saved_data["q_n"].toDouble();
  const double q_p = ctx->saved_data["q_p"].toDouble();
  const double gs = ctx->saved_data["grad_scale"].toDouble();
  const Tensor below = v <= -q_n, above = v >= q_p;
  const Tensor inside = ~(below | above);
  // ∂x̂/∂s: round(v) − v inside, −q_n below, q_p above (algorithms.md §4.4).
  const Tensor ds = torch::where(
      inside, torch::round(v) - v,
      torch::where(below, torch::full_like(v, -q_n), torch::full_like(v, q_p)));
  Tensor grad_offset;
  if (saved.size() > 2) grad_offset = reduce_to(g * (~inside), saved[2]) * gs;  // 0 in, 1 out
  return {g * inside, reduce_to(g * ds, step) * gs, grad_offset};
}

struct LsqFn : torch::autograd::Function<LsqFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& step, double q_n,
                        double q_p, double grad_scale) {
    return lsq_forward(ctx, x, step, Tensor(), q_n, q_p, grad_scale);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const tensor_list g = lsq_backward(ctx, grads[0]);
    return {g[0], g[1], Tensor(), Tensor(), Tensor()};
  }
};

struct LsqPlusFn : torch::autograd::Function<LsqPlusFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& step,
                        const Tensor& offset, double q_n, double q_p, double grad_scale) {
    return lsq_forward(ctx, x, step, offset, q_n, q_p, grad_scale);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const tensor_list g = lsq_backward(ctx, grads[0]);
    return {g[0], g[1], g[2], Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

Tensor ste_round(const Tensor& x) {
  check_floating(x, "ste_round", "x");
  return SteRoundFn::apply(x);
}

Tensor ste_floor(const Tensor& x) {
  check_floating(x, "ste_floor", "x");
  return SteFloorFn::apply(x);
}

QuantRange lsq_range(int bits, bool is_signed, const char* what) {
  const int lo = is_signed ? 2 : 1;
  if (bits < lo || bits > 16) {
    throw Error(fmt::format("{} = {} is out of range; allowed: {}..16 for a {} quantiser", what,
                            bits, lo, is_signed ? "signed" : "unsigned"));
  }
  if (is_signed) return {std::ldexp(1.0, bits - 1), std::ldexp(1.0, bits - 1) - 1.0};
  return {0.0, std::ldexp(1.0, bits) - 1.0};
}

double lsq_grad_scale(int64_t n_elements, double q_p) {
  return 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(n_elements, 1)) * q_p);
}

Tensor minmax_scale(const Tensor& x, int bits, bool is_signed, int64_t per_channel_dim) {
  check_floating(x, "fake_quant_minmax", "x");
  check_dim(x, per_channel_dim, "fake_quant_minmax");
  const QuantRange r = lsq_range(bits, is_signed, "fake_quant_minmax: bits");
  const double top = r.q_p;  // signed: 2^(b−1) − 1 (symmetric); unsigned: 2^b − 1
  const Tensor rows = rows_of(x, per_channel_dim);
  const Tensor peak = is_signed ? rows.abs().amax(1) : rows.amax(1);
  Tensor scale = positive_or_one(peak / top);
  return per_channel_dim < 0 ? scale.reshape({}) : scale;
}

Tensor fake_quant_minmax(const Tensor& x, int bits, bool is_signed, int64_t per_channel_dim) {
  Tensor scale = minmax_scale(x, bits, is_signed, per_channel_dim);
  const QuantRange r = lsq_range(bits, is_signed);
  if (per_channel_dim >= 0) {
    std::vector<int64_t> shape(x.dim(), 1);
    shape[per_channel_dim] = x.size(per_channel_dim);
    scale = scale.reshape(shape);
  }
  const double lo = is_signed ? -r.q_p : 0.0;
  return MinMaxFn::apply(x, scale, lo, r.q_p);
}

Tensor lsq_quantize(const Tensor& x, const Tensor& step, double q_n, double q_p,
                    double grad_scale) {
  check_floating(x, "lsq_quantize", "x");
  check_param(step, x, "lsq_quantize", "step", true);
  check_range(q_n, q_p, "lsq_quantize");
  return LsqFn::apply(x, step, q_n, q_p, grad_scale);
}

Tensor lsqplus_quantize(const Tensor& x, const Tensor& step, const Tensor& offset, double q_n,
                        double q_p, double grad_scale) {
  check_floating(x, "lsqplus_quantize", "x");
  check_param(step, x, "lsqplus_quantize", "step", true);
  check_param(offset, x, "lsqplus_quantize", "offset", false);
  check_range(q_n, q_p, "lsqplus_quantize");
  return LsqPlusFn::apply(x, step, offset, q_n, q_p, grad_scale);
}

}  // namespace cimkit::nn
