#include "train/checkpoint.hpp"

#include <ATen/core/ivalue.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "nn/torch_file.hpp"
#include "train/archive.hpp"

namespace cimkit::train {
namespace {

using nlohmann::json;
using torch::serialize::InputArchive;
using torch::serialize::OutputArchive;

std::string shape_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

// The model's tensors paired with the archive's, checked for presence, shape and dtype first.
void collect(InputArchive& ar, const torch::nn::Module& m, const std::string& prefix,
             const std::string& path, std::vector<std::pair<torch::Tensor, torch::Tensor>>& out) {
  auto take = [&](const std::string& key, const torch::Tensor& dst, bool is_buffer) {
    torch::Tensor src;
    if (!ar.try_read(key, src, is_buffer))
      throw DataError(
          path, fmt::format("has no {} '{}{}' of the model (expected every parameter and buffer of "
                            "the model being loaded)",
                            is_buffer ? "buffer" : "parameter", prefix, key));
    if (src.sizes() != dst.sizes() || src.scalar_type() != dst.scalar_type())
      throw DataError(path,
                      fmt::format("'{}{}' is {} {} in the file but {} {} in the model", prefix, key,
                                  c10::toString(src.scalar_type()), shape_text(src),
                                  c10::toString(dst.scalar_type()), shape_text(dst)));
    nn::require_finite(src, path, prefix + key);
    out.emplace_back(dst, src);
  };
  for (const auto& p : m.named_parameters(/*recurse=*/false)) take(p.key(), p.value(), false);
  for (const auto& b : m.named_buffers(/*recurse=*/false)) take(b.key(), b.value(), true);
  for (const auto& c : m.named_children()) {
    if (!c.value()->is_serializable()) continue;
    InputArchive sub;
    if (!ar.try_read(c.key(), sub))
      throw DataError(path, "has no submodule '" + prefix + c.key() + "' of the model");
    collect(sub, *c.value(), prefix + c.key() + ".", path, out);
  }
}

void load_model_from(InputArchive& ar, torch::nn::Module& model, const std::string& path) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs;
  collect(ar, model, "", path, pairs);
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : pairs) dst.copy_(src);
}

json position_json(const Position& p) {
  json terms = json::array();
  for (const auto& [name, sum] : p.term_sums) terms.push_back({name, sum});
  return {{"epoch", p.epoch},
          {"next_batch", p.next_batch},
          {"loss_sum", p.loss_sum},
          {"n_correct", p.n_correct},
          {"n_seen", p.n_seen},
          {"n_batches", p.n_batches},
          {"term_sums", terms},
          {"seconds", p.seconds},
          {"lr", p.lr},
          {"best_val_acc", p.best_val_acc},
          {"best_epoch", p.best_epoch}};
}

Position position_from_json(const std::string& text, const std::string& path) {
  Position p;
  try {
    const json j = json::parse(text);
    p.epoch = j.at("epoch").get<int64_t>();
    p.next_batch = j.at("next_batch").get<int64_t>();
    p.loss_sum = j.at("loss_sum").get<double>();
    p.n_correct = j.at("n_correct").get<int64_t>();
    p.n_seen = j.at("n_seen").get<int64_t>();
    p.n_batches = j.at("n_batches").get<int64_t>();
    for (const json& t : j.at("term_sums"))
      p.term_sums.emplace_back(t.at(0).get<std::string>(), t.at(1).get<double>());
    p.seconds = j.at("seconds").get<double>();
    p.lr = j.at("lr").get<double>();
    p.best_val_acc = j.at("best_val_acc").get<double>();
    p.best_epoch = j.at("best_epoch").get<int64_t>();
  } catch (const json::exception& e) {
    throw DataError(path, std::string("corrupt training position: ") + e.what());
  }
  if (p.epoch < 0 || p.next_batch < 0)
    throw DataError(path, "corrupt training position: negative epoch or batch");
  return p;
}

Fingerprint fingerprint_from_json(const std::string& text, const std::string& path) {
  Fingerprint f;
  try {
    for (const json& kv : json::parse(text))
      f.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
  } catch (const json::exception& e) {
    throw DataError(path, std::string("corrupt fingerprint: ") + e.what());
  }
  return f;
}

}  // namespace

std::string fingerprint_mismatch(const Fingerprint& expected, const Fingerprint& found) {
  for (const auto& [key, value] : expected) {
    const auto it =
        std::find_if(found.begin(), found.end(), [&](const auto& kv) { return kv.first == key; });
    if (it == found.end())
      return fmt::format("{} is {} in this run but not recorded in the checkpoint", key, value);
    if (it->second != value)
      return fmt::format(
          "{} is {} in this run but {} in the checkpoint; resuming needs the same value", key,
          value, it->second);
  }
  return "";
}

void save_last_checkpoint(const std::string& path, const torch::nn::Module& model,
                          const torch::optim::Optimizer& optimizer, const LastCheckpoint& s) {
  OutputArchive ar;
  model.save(ar);
  ar.write("cimkit_format", c10::IValue(std::string(kLastFormat)));
  ar.write("cimkit_format_version", c10::IValue(kCheckpointVersion));
  json fp = json::array();
  for (const auto& [k, v] : s.fingerprint) fp.push_back({k, v});
  ar.write("cimkit_fingerprint", c10::IValue(fp.dump()));
  ar.write("cimkit_position", c10::IValue(position_json(s.position).dump()));
  ar.write("cimkit_history", c10::IValue(history_to_json(s.history)));
  OutputArchive opt(ar.compilation_unit());
  optimizer.save(opt);
  ar.write("cimkit_optimizer", opt);
  ar.write("cimkit_rng_cpu", s.rng_cpu, /*is_buffer=*/true);
  if (s.rng_device.defined()) ar.write("cimkit_rng_device", s.rng_device, /*is_buffer=*/true);
  save_archive(path, ar);
}

LastCheckpoint load_last_checkpoint(const std::string& path, torch::nn::Module& model,
                                    torch::optim::Optimizer& optimizer, const Fingerprint& expected,
                                    const torch::Device& device) {
  InputArchive ar = open_archive(path, device);
  check_format(ar, path, kLastFormat);
  const int64_t version = read_int(ar, "cimkit_format_version", path);
  if (version != kCheckpointVersion)
    throw DataError(path, fmt::format("checkpoint format version {}, this build reads version {}",
                                      version, kCheckpointVersion));
  LastCheckpoint s;
  s.fingerprint = fingerprint_from_json(read_string(ar, "cimkit_fingerprint", path), path);
  const std::string diff = fingerprint_mismatch(expected, s.fingerprint);
  if (!diff.empty()) throw DataError(path, "cannot resume: " + diff);
  s.position = position_from_json(read_string(ar, "cimkit_position", path), path);
  s.history = history_from_json(read_string(ar, "cimkit_history", path), path);
  if (!ar.try_read("cimkit_rng_cpu", s.rng_cpu, true))
    throw DataError(path, "missing entry 'cimkit_rng_cpu' (the CPU generator state)");
  s.rng_cpu = s.rng_cpu.cpu();
  if (ar.try_read("cimkit_rng_device", s.rng_device, true)) s.rng_device = s.rng_device.cpu();
  InputArchive opt;
  if (!ar.try_read("cimkit_optimizer", opt))
    throw DataError(path, "missing entry 'cimkit_optimizer' (optimizer state)");

  load_model_from(ar, model, path);
  try {
    optimizer.load(opt);
  } catch (const c10::Error& e) {
    throw DataError(path, std::string("optimizer state does not fit this optimizer: ") +
                              e.what_without_backtrace());
  }
  return s;
}

void save_best_checkpoint(const std::string& path, const torch::nn::Module& model, int64_t epoch,
                          double val_acc) {
  OutputArchive ar;
  model.save(ar);
  ar.write("cimkit_format", c10::IValue(std::string(kBestFormat)));
  ar.write("cimkit_format_version", c10::IValue(kCheckpointVersion));
  ar.write("cimkit_epoch", c10::IValue(epoch));
  ar.write("cimkit_val_acc", c10::IValue(val_acc));
  save_archive(path, ar);
}

void verify_checkpoint_file(const std::string& path) { nn::read_pt_bytes(path, "checkpoint"); }

void load_model_weights(const std::string& path, torch::nn::Module& model) {
  torch::Device device = torch::kCPU;
  const auto params = model.parameters();
  if (!params.empty()) device = params.front().device();
  InputArchive ar = open_archive(path, device);
  load_model_from(ar, model, path);
}

}  // namespace cimkit::train
