#include "device/device_model.hpp"

namespace cimkit {

torch::TensorOptions float_options(const torch::TensorOptions& o) {
  const auto dtype = o.has_dtype() && at::isFloatingType(o.dtype().toScalarType())
                         ? o.dtype().toScalarType()
                         : torch::kFloat32;
  return torch::TensorOptions().device(o.device()).dtype(dtype);
}

torch::Tensor DeviceModel::nominal(const torch::Tensor& levels, int64_t n_levels) const {
  const double g_off = g_off_siemens();
  const double dg = n_levels > 1 ? (g_on_siemens() - g_off) / static_cast<double>(n_levels - 1) : 0.0;
  // Floating levels keep their precision (the engine programs in float64), others become float32.
  return levels.to(levels.is_floating_point() ? levels.scalar_type() : torch::kFloat32) * dg + g_off;
}

}  // namespace cimkit
