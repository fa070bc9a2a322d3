#include "cli/tensor_io.hpp"

#include <torch/serialize.h>

#include <fstream>
#include <iterator>

#include "cli/run_config.hpp"
#include "core/error.hpp"

namespace cimkit {

torch::Tensor load_tensor_file(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "cannot read tensor file (does it exist and is it readable?)");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw DataError(path, "empty file; expected a tensor saved with Python's torch.save");
  c10::IValue v;
  try {
    v = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    throw DataError(path, "not a tensor file saved with Python's torch.save (" +
                              std::string(e.what()).substr(0, 200) + ")");
  }
  if (v.isTensor()) return v.toTensor();
  if (v.isGenericDict()) {
    std::vector<std::string> names;
    torch::Tensor found;
    int n_tensors = 0;
    for (const auto& kv : v.toGenericDict()) {
      const std::string name = kv.key().isString() ? kv.key().toStringRef() : "?";
      names.push_back(name);
      if (!kv.value().isTensor()) continue;
      if (!key.empty() && name == key) return kv.value().toTensor();
      found = kv.value().toTensor();
      ++n_tensors;
    }
    if (key.empty() && n_tensors == 1) return found;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw DataError(path, key.empty() ? "holds a dict with " + std::to_string(n_tensors) +
                                            " tensors (keys: " + list + "); save a single tensor"
                                      : "has no tensor named '" + key + "' (keys: " + list + ")");
  }
  throw DataError(path, "holds a " + v.tagKind() + ", expected a tensor");
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
