#include "nn/torch_file.hpp"

#include <caffe2/serialize/in_memory_adapter.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/unpickler.h>

#include <cstring>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/zip_check.hpp"
#include "nn/pickle_rewrite.hpp"

namespace cimkit::nn {
namespace {

// The Python classes a pickle names with GLOBAL ('c' module '\n' name '\n'), in order.
std::vector<std::string> pickle_globals(const char* p, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < n && out.size() < 64; ++i) {
    if (p[i] != 'c') continue;
    const char* a = static_cast<const char*>(std::memchr(p + i + 1, '\n', n - i - 1));
    if (!a) break;
    const char* b = static_cast<const char*>(std::memchr(a + 1, '\n', n - size_t(a + 1 - p)));
    if (!b) break;
    const std::string module(p + i + 1, a), name(a + 1, b);
    auto ident = [](const std::string& s) {
      if (s.empty() || s.size() > 200) return false;
      for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
      return true;
    };
    if (ident(module) && ident(name)) out.push_back(module + "." + name);
  }
  return out;
}

// A class a plain tensor / dict / list pickle does not use: what the file holds instead.
std::string foreign_class(const std::vector<std::string>& globals) {
  for (const auto& g : globals) {
    if (g.rfind("torch._utils.", 0) == 0 || g.rfind("collections.", 0) == 0) continue;
    if (g.rfind("torch.", 0) == 0 && g.find("Storage") != std::string::npos) continue;
    if (g == "torch.device" || g == "torch.Size" || g.rfind("torch._tensor", 0) == 0) continue;
    return g;
  }
  return "";
}

std::string first_bytes(const std::vector<char>& b) {
  std::string s;
  for (size_t i = 0; i < std::min<size_t>(b.size(), 8); ++i)
    s += fmt::format("{}{:02x}", i ? " " : "", static_cast<uint8_t>(b[i]));
  return s;
}

}  // namespace

std::string short_torch_message(const std::exception& e, size_t max_chars) {
  std::string what = e.what();
  if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) what = ce->what_without_backtrace();
  const auto raised = what.find("Exception raised from");
  if (raised != std::string::npos) what = what.substr(0, raised);
  what = what.substr(0, what.find('\n'));
  while (!what.empty() && (what.back() == ' ' || what.back() == '.')) what.pop_back();
  if (what.size() > max_chars) what = what.substr(0, max_chars) + "...";
  return what;
}

std::vector<char> read_pt_bytes(const std::string& path, const std::string& what) {
  const std::string text = read_input_file(path, what);
  std::vector<char> bytes(text.begin(), text.end());
  if (bytes.empty()) throw DataError(path, "is empty; expected a " + what + " written by torch.save");
  // The legacy format starts with a protocol-2 pickle of its magic number, a 10-byte LONG1.
  const bool legacy = bytes.size() > 4 && static_cast<uint8_t>(bytes[0]) == 0x80 &&
                      static_cast<uint8_t>(bytes[2]) == 0x8a && bytes[3] == 0x0a;
  if (legacy) {
    throw DataError(path, "is a legacy (non-zip) torch.save file (PyTorch before 1.6, or "
                          "_use_new_zipfile_serialization=False); cimkit reads the zip format, PyTorch's default "
                          "since 1.6: re-save it in Python with torch.save(torch.load(path), path)");
  }
  if (static_cast<uint8_t>(bytes[0]) == 0x80) {
    throw DataError(path, "is a bare Python pickle (pickle.dump?), not a " + what +
                              " in torch.save's zip format; save it with torch.save");
  }
  if (!looks_like_zip(bytes.data(), bytes.size())) {
    throw DataError(path, fmt::format("is not a {} (a .pt file is the zip archive torch.save writes, starting "
                                      "'PK'; this file starts with bytes {})",
                                      what, first_bytes(bytes)));
  }
  verify_zip_archive(path, bytes.data(), bytes.size(), what);
  return bytes;
}

c10::IValue read_torch_file(const std::string& path, const std::string& what) {
  const std::vector<char> bytes = read_pt_bytes(path, what);
  std::string pickle, raw;
  try {
    caffe2::serialize::PyTorchStreamReader reader(
        std::make_shared<caffe2::serialize::MemoryReadAdapter>(bytes.data(), bytes.size()));
    if (!reader.hasRecord("data.pkl"))
      throw DataError(path, "is a zip archive without data.pkl: not written by torch.save; expected a " + what);
    if (reader.hasRecord("constants.pkl") || reader.hasRecord("code/__torch__.py")) {
      throw DataError(path, "is a TorchScript or C++ torch::save archive (a module, e.g. a cimkit checkpoint), "
                            "not a " + what + " written by Python's torch.save");
    }
    auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    raw.assign(static_cast<const char*>(pkl.get()), pkl_size);
    pickle = rewrite_pickle(raw.data(), raw.size());
    size_t offset = 0;
    auto read = [&](char* buf, size_t n) {
      const size_t k = std::min(n, pickle.size() - offset);
      std::memcpy(buf, pickle.data() + offset, k);
      offset += k;
      return k;
    };
    auto read_record = [&](const std::string& name) { return std::get<0>(reader.getRecord("data/" + name)); };
    torch::jit::Unpickler unpickler(read, nullptr, nullptr, read_record, c10::Device(c10::kCPU));
    unpickler.set_version(reader.version());
    return unpickler.parse_ivalue();
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& e) {
    // Explain a failure by the Python class the pickle names that a tensor pickle does not use
    // (scanned only now: the scan is heuristic and must never reject a readable file).
    const std::string foreign = foreign_class(pickle_globals(raw.data(), raw.size()));
    if (!foreign.empty()) {
      throw DataError(path, "holds a pickled Python object of class " + foreign + ", expected a " + what +
                                " (save tensors: torch.save(tensor, path) or torch.save(model.state_dict(), path))");
    }
    std::string why = short_torch_message(e);
    if (why.find("_rebuild_parameter") != std::string::npos)
      why += "; save tensors (model.state_dict()), not nn.Parameter objects";
    throw DataError(path, "cannot read the torch.save archive as a " + what + " (" + why + ")");
  }
}

std::string describe_ivalue(const c10::IValue& v) {
  if (v.isTensor()) return "a tensor";
  if (v.isList()) return "a list";
  if (v.isTuple()) return "a tuple";
  if (v.isNone()) return "None";
  if (v.isString()) return "a string";
  if (v.isInt() || v.isDouble() || v.isBool()) return "a number (" + v.tagKind() + ")";
  if (v.isGenericDict()) return "a dict";
  return "a " + v.tagKind();
}

void require_finite(const torch::Tensor& t, const std::string& path, const std::string& name) {
  if (!t.defined() || !(t.is_floating_point() || t.is_complex()) || t.numel() == 0) return;
  const torch::Tensor bad = t.isfinite().logical_not();
  const int64_t n_bad = bad.sum().item<int64_t>();
  if (n_bad == 0) return;
  const int64_t n_nan = t.isnan().sum().item<int64_t>();
  const int64_t first = bad.flatten().nonzero().flatten()[0].item<int64_t>();
  const std::string which = name.empty() ? "the tensor" : "tensor '" + name + "'";
  throw DataError(path, fmt::format("{} holds {} non-finite value{} ({} NaN, {} infinite; first at flat index {} "
                                    "of {}); it cannot be used",
                                    which, n_bad, n_bad == 1 ? "" : "s", n_nan, n_bad - n_nan, first, t.numel()));
}

}  // namespace cimkit::nn
