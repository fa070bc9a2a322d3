#include "pipeline/raoq.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "pipeline/chip_eval.hpp"
#include "train/bitaug.hpp"

namespace cimkit::pipeline {
namespace fs = std::filesystem;

namespace {

// "a, b, c" -> items (whitespace trimmed, empty items dropped).
std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

void append_shape(const std::string& csv, const std::string& stage, int64_t epoch,
                  const std::vector<train::WeightShape>& shape) {
  if (csv.empty()) return;
  const bool fresh = !fs::exists(csv);
  std::ofstream f(csv, std::ios::app);
  if (!f) throw Error("cannot write " + csv);
  if (fresh) f << "stage,epoch,layer,kurtosis,var_codes\n";
  for (const auto& w : shape) f << fmt::format("{},{},{},{:.6g},{:.6g}\n", stage, epoch, w.layer, w.kurtosis, w.var_codes);
}

nlohmann::json shape_json(const std::vector<train::WeightShape>& v) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& w : v) j.push_back({{"layer", w.layer}, {"kurtosis", w.kurtosis}, {"var_codes", w.var_codes}});
  return j;
}

}  // namespace

Schema RaoqOptions::schema() {
  Schema s("raoq",
           "Paper 003's RAOQ recipe (Algorithm 1): W-reshape in the run's QAT training, then a stage with the ADC in the "
           "loop (A-shift is chip.crossbar.a_shift) with BitAug and ADC-LoRA (docs/training.md)");
  s.boolean("enabled", "Run the RAOQ stage after the run's training (and the W-reshape term during it)").def(false);
  s.integer("epochs", "Epochs of the RAOQ stage (ADC in the loop)").range(0, 100000).def(int64_t{5});
  s.real("lr", "Peak learning rate of the RAOQ stage (the run's optimiser and schedule)").above(0).at_most(100).def(1e-3);
  s.real("kurtosis", "W-reshape: λ_κ of the kurtosis term in the QAT stage (eq. 7; 0: off; paper: 5e-4 to 2e-3)")
      .at_least(0)
      .def(0.0);
  s.real("kurtosis_late_weight", "W-reshape: the later layers' factor c_l (eq. 13: 4)").at_least(0).def(1.0);
  s.real("kurtosis_late_from", "W-reshape: the later layers start at ceil(late_from x L) of the L layers on the arrays")
      .range(0, 1)
      .def(0.5);
  s.boolean("bitaug", "BitAug: a second pass per batch at an ADC resolution drawn from bitaug_offsets (eq. 10)").def(false);
  s.string("bitaug_offsets", "BitAug's candidate set as offsets from the target ADC bits, comma-separated (App. D: -1, 1, 2)")
      .def(std::string("-1, 1, 2"));
  s.boolean("lora", "ADC-LoRA: low-rank adaptors on the frozen weights, warmed up by eq. 12").def(false);
  s.integer("lora_rank", "ADC-LoRA: rank r of A [out, r] and B [r, in]").range(1, 4096).def(int64_t{4});
  s.string("lora_layers", "ADC-LoRA: the layers adapted (module paths, comma-separated; empty: every layer on the arrays)")
      .def(std::string(""));
  s.integer("lora_warmup_steps", "ADC-LoRA: τ, the warm-up's steps (eq. 12)").range(0, 1000000).def(int64_t{50});
  s.real("lora_warmup_lr", "ADC-LoRA: the warm-up's Adam learning rate (A is scaled by the weight's std, so W moves by about lr x std(W) per step)").above(0).at_most(1).def(1e-2);
  return s;
}

RaoqOptions RaoqOptions::from_params(const Params& p) {
  RaoqOptions o;
  o.enabled = p.get_bool("enabled");
  o.epochs = p.get_int("epochs");
  o.lr = p.get_real("lr");
  o.kurtosis = {p.get_real("kurtosis"), p.get_real("kurtosis_late_weight"), p.get_real("kurtosis_late_from")};
  o.bitaug = p.get_bool("bitaug");
  o.bitaug_offsets.clear();
  for (const std::string& item : split_list(p.get_string("bitaug_offsets"))) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v == 0 || v < -16 || v > 16) {
      p.fail("bitaug_offsets", "'" + item + "' is not a non-zero integer offset in [-16, 16]; allowed: e.g. '-1, 1, 2'");
    }
    if (std::find(o.bitaug_offsets.begin(), o.bitaug_offsets.end(), v) != o.bitaug_offsets.end()) {
      p.fail("bitaug_offsets", "offset " + item + " is repeated");
    }
    o.bitaug_offsets.push_back(v);
  }
  if (o.bitaug && o.bitaug_offsets.empty()) p.fail("bitaug_offsets", "BitAug needs at least one offset");
  o.lora = p.get_bool("lora");
  o.lora_options.rank = p.get_int("lora_rank");
  o.lora_options.layers = split_list(p.get_string("lora_layers"));
  o.lora_options.warmup_steps = p.get_int("lora_warmup_steps");
  o.lora_options.warmup_lr = p.get_real("lora_warmup_lr");
  return o;
}

nlohmann::json RaoqOutcome::to_json() const {
  return {{"accuracy_no_adc", accuracy_no_adc},
          {"accuracy_chip_validation", std::isfinite(accuracy_adc) ? nlohmann::json(accuracy_adc) : nlohmann::json()},
          {"epochs", history.size()},
          {"history", nlohmann::json::parse(train::history_to_json(history))},
          {"weight_shape_before", shape_json(shape_before)},
          {"weight_shape_after", shape_json(shape_after)},
          {"lora_layers", lora_layers},
          {"parameters", parameters},
          {"trainable_parameters", trainable},
          {"lora_warmup_mse", warmup_mse},
          {"seconds", seconds}};
}

std::string RaoqOutcome::summary() const {
  std::string s = fmt::format("RAOQ stage: {} epochs, held-out accuracy without the ADC {:.2f} % before it, on the "
                              "chip after it {:.2f} % ({:.1f} s)\n",
                              history.size(), 100 * accuracy_no_adc, 100 * accuracy_adc, seconds);
  if (!lora_layers.empty()) {
    s += fmt::format("  ADC-LoRA on {} layers: {} of {} parameters trainable ({:.1f}x fewer){}\n", lora_layers.size(),
                     trainable, parameters, trainable > 0 ? double(parameters) / double(trainable) : 0.0,
                     warmup_mse.empty() ? ""
                                        : fmt::format("; warm-up MSE {:.4g} -> {:.4g} in {} steps", warmup_mse.front(),
                                                      warmup_mse.back(), warmup_mse.size()));
  }
  s += "  layer: kurtosis / Var[codes] before -> after the stage\n";
  for (size_t i = 0; i < shape_after.size() && i < shape_before.size(); ++i) {
    s += fmt::format("    {:<16} {:6.2f} / {:7.3f} -> {:6.2f} / {:7.3f}\n", shape_after[i].layer, shape_before[i].kurtosis,
                     shape_before[i].var_codes, shape_after[i].kurtosis, shape_after[i].var_codes);
  }
  return s;
}

void add_qat_stage_terms(train::Trainer& trainer, nn::Network& net, const RaoqOptions& o, const std::string& csv,
                         const std::string& stage) {
  auto shape = std::make_shared<train::WReshape>(net, o.kurtosis);
  if (o.kurtosis.lambda > 0) trainer.add_loss_term("kurtosis", [shape] { return shape->loss(); }, o.kurtosis.lambda);
  trainer.add_epoch_hook([shape, csv, stage](const train::EpochMetrics& m) { append_shape(csv, stage, m.epoch, shape->stats()); });
}

RaoqOutcome run_raoq(JobModel& jm, JobData& jd, const RaoqOptions& o, const train::TrainOptions& base, uint64_t seed,
                     const TrainingSettings& settings, const std::string& shape_csv) {
  RaoqOutcome out;
  nn::Network& net = *jm.net;
  data::DataLoader& held_out = jd.val ? *jd.val : jd.test;
  const bool resuming = !settings.resume_from.empty();
  net.set_mode(nn::LayerMode::Quantised);
  out.accuracy_no_adc = accuracy(net, held_out, -1);
  out.shape_before = train::WReshape(net, o.kurtosis).stats();

  jm.ctx->training.adc_in_loop = true;  // the stage's point: the ADC in the forward pass
  if (o.lora) out.lora_layers = train::enable_adc_lora(net, o.lora_options);
  out.parameters = train::all_parameters(net);
  out.trainable = train::trainable_parameters(net);
  if (o.lora && !resuming && o.lora_options.warmup_steps > 0) out.warmup_mse = train::lora_warmup(net, jd.train, o.lora_options);

  train::TrainOptions topt = base;
  topt.epochs = o.epochs;
  topt.lr = o.lr;
  TrainingSettings ts = settings;
  ts.configure = [&](train::Trainer& t) {
    if (o.bitaug) {
      train::BitAugOptions bo;
      bo.offsets = o.bitaug_offsets;
      bo.epochs = o.epochs;
      bo.seed = derive_seed(seed, "bitaug");
      bo.label_smoothing = base.label_smoothing;
      t.add_extra_pass("bitaug", train::bitaug_pass(jm.net, bo));
    }
    add_qat_stage_terms(t, net, RaoqOptions{}, shape_csv, "raoq");  // the log only: no W-reshape term here
  };
  const nn::LayerMode mode = jm.train_mode;
  jm.train_mode = nn::LayerMode::Analog;
  net.set_mode(nn::LayerMode::Analog);
  const TrainingOutcome tr = train_model(jm, jd, topt, derive_seed(seed, "raoq"), ts);
  jm.train_mode = mode;
  out.history = tr.history;
  out.interrupted = tr.interrupted;
  out.seconds = tr.seconds;
  // The last epoch's validation: eval mode reads the chip (the context's fidelity), ADC included.
  out.accuracy_adc = tr.history.empty() ? NAN : tr.history.back().val_acc;
  out.shape_after = train::WReshape(net, o.kurtosis).stats();
  return out;
}

}  // namespace cimkit::pipeline
