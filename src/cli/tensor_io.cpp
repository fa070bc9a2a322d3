#include "cli/tensor_io.hpp"

#include <torch/serialize.h>


#include "cli/run_config.hpp"
#include "core/error.hpp"
#include "nn/torch_file.hpp"

namespace cimkit {

torch::Tensor load_tensor_file(const std::string& path, const std::string& key) {
  const c10::IValue v = nn::read_torch_file(path, "tensor file");
  auto checked = [&](const torch::Tensor& t, const std::string& name) {
    if (t.is_complex())
      throw DataError(path, (name.empty() ? std::string("the tensor") : "tensor '" + name + "'") + " is complex (" + std::string(c10::toString(t.scalar_type())) +
                                "); the chip takes real values: save its real part, or real and imaginary parts separately");
    nn::require_finite(t, path, name);
    return t;
  };
  if (v.isTensor()) return checked(v.toTensor(), "");
  if (v.isGenericDict()) {
    std::vector<std::string> names;
    torch::Tensor found;
    std::string found_name;
    int n_tensors = 0;
    for (const auto& kv : v.toGenericDict()) {
      const std::string name = kv.key().isString() ? kv.key().toStringRef() : "?";
      names.push_back(name);
      if (!kv.value().isTensor()) continue;
      if (!key.empty() && name == key) return checked(kv.value().toTensor(), name);
      found = kv.value().toTensor();
      found_name = name;
      ++n_tensors;
    }
    if (key.empty() && n_tensors == 1) return checked(found, found_name);
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw DataError(path, key.empty() ? "holds a dict with " + std::to_string(n_tensors) +
                                            " tensors (keys: " + list + "); save a single tensor"
                                      : "has no tensor named '" + key + "' (keys: " + list + ")");
  }
  throw DataError(path, "holds " + nn::describe_ivalue(v) + ", expected a tensor (or a dict holding one tensor)");
}

static void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  write_text_file(path, std::string(bytes.begin(), bytes.end()));
}

void save_tensor_file(const std::string& path, const torch::Tensor& t) {
  write_bytes(path, torch::pickle_save(t.detach().cpu().contiguous()));
}

void save_tensor_dict(const std::string& path, const std::map<std::string, torch::Tensor>& dict) {
  c10::Dict<std::string, torch::Tensor> d;
  for (const auto& [k, t] : dict) d.insert(k, t.detach().cpu().contiguous());
  write_bytes(path, torch::pickle_save(d));
}

}  // namespace cimkit
