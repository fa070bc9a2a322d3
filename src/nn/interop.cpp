#include "nn/interop.hpp"

#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "nn/quantizer.hpp"
#include "nn/torch_file.hpp"

namespace cimkit::nn {
namespace {

// ---- files -------------------------------------------------------------------------------------

std::string shape_text(torch::IntArrayRef s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

void collect(torch::nn::Module& m, const std::string& prefix,
             std::vector<std::pair<std::string, torch::Tensor>>& out) {
  for (const auto& p : m.named_parameters(/*recurse=*/false)) {
    if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value());
  }
  for (const auto& b : m.named_buffers(/*recurse=*/false)) {
    if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value());
  }
  for (const auto& c : m.named_children()) collect(*c.value(), prefix + c.key() + ".", out);
}

void collect_quantizers(torch::nn::Module& m, const std::string& prefix,
                        std::vector<std::pair<std::string, QuantizerImpl*>>& out) {
  if (auto* q = dynamic_cast<QuantizerImpl*>(&m)) out.emplace_back(prefix, q);
  for (const auto& c : m.named_children()) {
    collect_quantizers(*c.value(), prefix.empty() ? c.key() : prefix + "." + c.key(), out);
  }
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// `<layer>.wq.step` etc., or `wq.step` for a bare analog layer.
bool is_quantizer_key(const std::string& key) {
  for (const char* tail :
       {".wq.step", ".xq.step", ".xq.offset", ".wq.initialized", ".xq.initialized"}) {
    if (ends_with("." + key, tail)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> state_dict(torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  collect(m, "", out);
  for (auto& kv : out) kv.second = kv.second.detach();
  return out;
}

void save_state_dict(torch::nn::Module& m, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : state_dict(m)) dict.insert(name, t.cpu().contiguous());
  const std::vector<char> bytes = torch::jit::pickle_save(dict);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

std::vector<std::pair<std::string, torch::Tensor>> read_state_dict_file(const std::string& path) {
  const c10::IValue v = read_torch_file(path, "state dict");
  if (!v.isGenericDict()) {
    throw DataError(path,
                    "holds " + describe_ivalue(v) + ", expected a dict {name: tensor} (a state_dict)");
  }
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& kv : v.toGenericDict()) {
    if (!kv.key().isString()) {
      throw DataError(path, "has a key that is " + describe_ivalue(kv.key()) + ", expected strings");
    }
    const std::string& name = kv.key().toStringRef();
    if (!kv.value().isTensor()) {
      throw DataError(path, "'" + name + "' holds " + describe_ivalue(kv.value()) + ", expected a tensor");
    }
    require_finite(kv.value().toTensor(), path, name);
    out.emplace_back(name, kv.value().toTensor());
  }
  return out;
}

std::string ImportReport::summary() const {
  std::string s = fmt::format("loaded {} tensors", loaded.size());
  if (!missing.empty()) s += fmt::format("; missing {}: {}", missing.size(), join(missing));
  if (!unexpected.empty())
    s += fmt::format("; unexpected {}: {}", unexpected.size(), join(unexpected));
  if (!reinitialized.empty()) {
    s += fmt::format("; {} quantisers re-initialise from data: {}", reinitialized.size(),
                     join(reinitialized));
  }
  return s;
}

ImportReport load_state_dict(torch::nn::Module& m, const std::string& path,
                             const ImportOptions& opt) {
  const auto file = read_state_dict_file(path);
  std::map<std::string, torch::Tensor> found(file.begin(), file.end());
  std::vector<std::pair<std::string, torch::Tensor>> own;
  collect(m, "", own);

  ImportReport report;
  std::vector<std::string> missing_hard, mismatches;
  std::set<std::string> own_names;
  for (const auto& [name, t] : own) {
    own_names.insert(name);
    const auto it = found.find(name);
    if (it == found.end()) {
      if (opt.allow_missing_quantizers && is_quantizer_key(name)) {
        report.missing.push_back(name);
      } else {
        missing_hard.push_back(name);
      }
    } else if (it->second.sizes() != t.sizes()) {
      mismatches.push_back(fmt::format("{}: expected {}, found {}", name, shape_text(t.sizes()),
                                       shape_text(it->second.sizes())));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : file) {
    if (!own_names.count(name)) unexpected.push_back(name);
  }
  const bool bad_keys = opt.strict && (!missing_hard.empty() || !unexpected.empty());
  if (bad_keys || !mismatches.empty()) {
    std::string msg = "does not match the module";
    if (opt.strict && !missing_hard.empty()) {
      msg += fmt::format("\n  {} missing keys (in the module, not in the file): {}",
                         missing_hard.size(), join(missing_hard));
    }
    if (opt.strict && !unexpected.empty()) {
      msg += fmt::format("\n  {} unexpected keys (in the file, not in the module): {}",
                         unexpected.size(), join(unexpected));
    }
    if (!mismatches.empty()) {
      msg += fmt::format("\n  {} shape mismatches: {}", mismatches.size(), join(mismatches, "; "));
    }
    throw DataError(path, msg);
  }
  report.missing.insert(report.missing.end(), missing_hard.begin(), missing_hard.end());
  report.unexpected = unexpected;

  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : own) {
      const auto it = found.find(name);
      if (it == found.end()) continue;
      t.copy_(it->second);  // converts dtype and device; keeps the tensor (optimizers stay valid)
      report.loaded.push_back(name);
    }
  }

  // Quantisers: a loaded step is in force (mark it initialised when the file has no flag); a
  // missing learned step or offset is initialised from the next batch.
  std::vector<std::pair<std::string, QuantizerImpl*>> quantizers;
  collect_quantizers(m, "", quantizers);
  for (const auto& [qpath, q] : quantizers) {
    if (!q->step.defined()) continue;
    const std::string pre = qpath.empty() ? "" : qpath + ".";
    const bool has_step = found.count(pre + "step") > 0;
    const bool has_offset = !q->offset.defined() || found.count(pre + "offset") > 0;
    if (has_step && has_offset) {
      if (!found.count(pre + "initialized")) q->initialized_.fill_(true);
    } else {
      q->request_init();
      report.reinitialized.push_back(qpath);
    }
  }
  return report;
}

}  // namespace cimkit::nn
