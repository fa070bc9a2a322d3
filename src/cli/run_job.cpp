#include "cli/run_job.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/file_kind.hpp"
#include "cli/job_sections.hpp"
#include "cli/run_config.hpp"
#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "cost/cost_model.hpp"
#include "nn/interop.hpp"
#include "nn/zoo.hpp"
#include "pipeline/chip_eval.hpp"
#include "pipeline/chip_thermal.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_data.hpp"
#include "train/checkpoint.hpp"
#include "train/metrics.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// "1 epoch", "3 epochs".
std::string plural(int64_t n, const std::string& noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }

std::string pct(double fraction) { return fmt::format("{:.2f} %", 100.0 * fraction); }

std::string si(double v, const char* unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::abs(v) >= 1000.0 && i < 4) {
    v /= 1000.0;
    ++i;
  }
  std::string text = fmt::format("{:.3g} {}{}", v, prefixes[i], unit);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string energy(double joules) {
  if (joules == 0) return "0 J";
  const char* prefixes[] = {"", "m", "u", "n", "p", "f"};
  int i = 0;
  while (std::abs(joules) < 1.0 && i < 5) {
    joules *= 1000.0;
    ++i;
  }
  return fmt::format("{:.3g} {}J", joules, prefixes[i]);
}

std::string layers_csv(const pipeline::ChipEvalResult& r, const cost::CostReport* cost) {
  std::ostringstream o;
  o << "layer,kind,weight_bits,act_bits,adc_bits,in_features,out_features,row_tiles,input_slices,"
       "weight_slices,polarities,arrays,utilisation,sqnr_db,inputs_per_inference,dac_conversions,"
       "array_activations,adc_conversions,shift_adds,read_energy_j"
    << (cost ? ",n_pes,n_tiles,energy_j,latency_s,area_m2,edp_js" : "") << "\n";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    const auto& m = l.mapping;
    o << l.name << ',' << l.kind << ',' << l.precision.weight_bits << ',' << l.precision.act_bits << ','
      << l.precision.adc_bits << ',' << m.in_features << ',' << m.out_features << ',' << m.row_tiles << ','
      << m.input_slices << ',' << m.weight_slices << ',' << m.polarities << ',' << m.n_arrays << ','
      << fmt::format("{:.6g}", m.utilisation) << ',' << fmt::format("{:.6g}", l.sqnr_db) << ','
      << l.counts.n_inputs << ',' << l.counts.dac_conversions << ',' << l.counts.array_activations << ','
      << l.counts.adc_conversions << ',' << l.counts.shift_adds << ',' << fmt::format("{:.6g}", l.counts.read_energy_j());
    // The cost model's layer of the same name (digital layers are not in r.layers).
    const auto c_it = cost ? std::find_if(cost->layers.begin(), cost->layers.end(),
                                          [&](const auto& c) { return c.name == l.name; })
                           : decltype(cost->layers.begin()){};
    if (cost && c_it != cost->layers.end()) {
      const auto& c = *c_it;
      o << fmt::format(",{},{},{:.6g},{:.6g},{:.6g},{:.6g}", c.pes, c.tiles, c.energy_j, c.latency_s, c.area_m2,
                       c.energy_j * c.latency_s);
    }
    o << '\n';
  }
  return o.str();
}

}  // namespace

int run_job(const JobArgs& args, std::ostream& term) {
  const auto t_start = Clock::now();
  std::string config = args.config;
  // Refused before anything is read or touched: --overwrite would delete the checkpoint --resume needs.
  if (args.resume && args.overwrite) {
    throw Error("--resume and --overwrite cannot be used together: --resume continues the run folder's "
                "checkpoints/last.pt, --overwrite deletes it; pass one of them");
  }
  if (config.empty()) config = (fs::path(config_dir()) / "quickstart.yaml").string();
  refuse_misplaced_file(config, FileKind::Config,
                        {{FileKind::Floorplan, "give it to cimkit thermal --floorplan " + config},
                         {FileKind::LayerList, "give it to cimkit cost --network " + config}});
  RunConfig rc = RunConfig::load(config, args.overrides);
  const int threads = set_threads(rc.threads);

  // Sections, validated (errors point at file:line and key).
  const JobSections js = parse_job_sections(rc);
  const Params& dp = js.data;
  const Params& mp = js.model;
  const Params& tp = js.train;
  const Params& ep = js.eval;
  const Params& costp = js.cost;
  const train::TrainOptions topt = train::TrainOptions::from_params(tp);
  const pipeline::ChipThermalOptions& thopt = js.thermal;
  const cost::Architecture& arch = js.arch;

  // The run folder. A folder holding a checkpoint is only reused on --resume or --overwrite.
  std::string out_dir = !args.out.empty() ? args.out : rc.out;
  if (out_dir.empty()) out_dir = (fs::path("runs") / fs::path(config).stem()).string();
  rc.resolved.set("out", ConfigNode::scalar(out_dir, {"<run>", 0}));
  const fs::path ckpt = fs::path(out_dir) / "checkpoints" / "last.pt";
  if (fs::exists(ckpt) && !args.resume && !args.overwrite) {
    throw Error(fmt::format("run folder '{}' already holds a checkpoint ({}); pass --resume to continue it, "
                            "--overwrite to start afresh, or --out DIR for a new folder",
                            out_dir, ckpt.string()));
  }
  if (args.resume && !fs::exists(ckpt)) {
    throw Error(fmt::format("--resume: no checkpoint at {} (the run folder is '{}')", ckpt.string(), out_dir));
  }
  if (args.resume) train::verify_checkpoint_file(ckpt.string());  // a corrupt one fails before anything is written
  if (args.overwrite && fs::exists(fs::path(out_dir) / "checkpoints")) fs::remove_all(fs::path(out_dir) / "checkpoints");
  if (args.overwrite) {
    fs::remove_all(fs::path(out_dir) / "raoq");
    fs::remove(fs::path(out_dir) / "weight_shape.csv");
  }
  fs::create_directories(out_dir);
  write_text_file((fs::path(out_dir) / "resolved_config.yaml").string(), to_yaml(rc.resolved));

  // Data.
  pipeline::JobData jd = pipeline::prepare_data(dp, topt.batch_size, rc.seed);
  const std::string& dname = jd.name;

  // Model.
  pipeline::JobModel jm = pipeline::build_model(mp, tp, jd, rc.chip, rc.operating, rc.seed);
  if (!jm.pretrained.empty()) term << "pretrained: " << jm.pretrained << "\n";
  const nn::ZooOptions& zo = jm.zoo;
  const std::shared_ptr<nn::Network>& net = jm.net;
  const nn::LayerMode train_mode = jm.train_mode;

  const auto& cs = rc.chip->spec();
  term << fmt::format("cimkit run {} -> {}  ({} threads)\n", config, out_dir, threads);
  term << fmt::format("data: {} — {} train / {} validation / {} test images{}\n", dname, jd.train_size(),
                      jd.val_size(), jd.test_size(), jd.augment ? " (crop + flip)" : "");
  term << jd.notes;
  // The ADC the layers really use: the chip's bits unless model.adc_bits sets them (one truth,
  // resolved in pipeline::build_model).
  const std::string layer_adc = zo.precision.adc_bits > 0 ? fmt::format("{}-bit ADC", zo.precision.adc_bits) : "ideal ADC";
  term << fmt::format("model: {} (width {}, {} parameters, {} analog layers), {}-bit weights / {}-bit activations / "
                      "{}, first and last layers {} bits{}\n",
                      zo.name, zo.width, nn::count_parameters(*net), net->analog_layers().size(),
                      zo.precision.weight_bits, zo.precision.act_bits, layer_adc,
                      zo.first_last_bits > 0 ? std::to_string(zo.first_last_bits) : std::string("the same"),
                      zo.folds_normalisation() ? "; first layer fed pixel codes" : "");
  const ConfigNode* adc_node = rc.resolved.find("chip")->find("adc");
  const std::string chip_adc =
      rc.chip->adc().has_resolution()
          ? fmt::format("{}-bit ADC ({}){}", rc.chip->adc().bits(),
                        adc_node->has("range") ? adc_node->find("range")->value() : adc_node->find("impl")->value(),
                        zo.precision.adc_bits != rc.chip->adc().bits()
                            ? fmt::format(", the layers' at {} bits (model.adc_bits)", zo.precision.adc_bits)
                            : "")
          : std::string("ideal ADC");
  term << fmt::format("chip: {}x{} arrays, {}-bit cells, {}-bit DAC, {}, device '{}'; read {} s after "
                      "programming at {} K\n",
                      cs.rows, cs.cols, cs.cell_bits, rc.chip->dac().bits(), chip_adc,
                      rc.resolved.find("chip")->find("device")->find("impl")->value(),
                      format_double(rc.operating.time_since_program_s), format_double(rc.operating.temperature_k));

  // Training.
  pipeline::TrainingSettings ts;
  ts.out_dir = out_dir;
  if (args.resume) ts.resume_from = ckpt.string();
  ts.progress = &std::cerr;
  ts.progress_tty = isatty(STDERR_FILENO) != 0;
  const std::string shape_csv = (fs::path(out_dir) / "weight_shape.csv").string();
  if (js.raoq.enabled) {
    ts.configure = [&](train::Trainer& t) { pipeline::add_qat_stage_terms(t, *net, js.raoq, shape_csv, "qat"); };
  }
  ts.on_start = [&] {
    term << fmt::format("training: {} in {} mode, {} {}, lr {}, batch {}\n", plural(topt.epochs, "epoch"),
                        to_string(train_mode), train::to_string(topt.optimizer), train::to_string(topt.schedule),
                        format_double(topt.lr), topt.batch_size);
  };
  const pipeline::TrainingOutcome tr = pipeline::train_model(jm, jd, topt, rc.seed, ts);
  if (tr.interrupted) {
    term << fmt::format("interrupted: checkpoint written to {}; continue with: cimkit run {} --resume{}\n",
                        ckpt.string(), config, args.out.empty() ? "" : " --out " + args.out);
    return 130;
  }
  // Paper 000's thermal-aware pretraining from the trained model (pretrain: section).
  std::optional<pipeline::PretrainOutcome> pre;
  if (js.pretrain.enabled) {
    pipeline::TrainingSettings pts;
    pts.out_dir = (fs::path(out_dir) / "pretrain").string();
    pts.progress = &std::cerr;
    pts.progress_tty = ts.progress_tty;
    fs::create_directories(fs::path(out_dir) / "plots");
    term << fmt::format("pretraining ({}): {}, α {}, β {}\n", js.pretrain.method == "bsq" ? "BSQ" : "paper 000", plural(js.pretrain.epochs, "epoch"),
                        format_double(js.pretrain.alpha), format_double(js.pretrain.beta));
    pre = pipeline::pretrain(jm, jd, js.pretrain, topt, derive_seed(rc.seed, "pretrain"), pts,
                             (fs::path(out_dir) / "plots" / "pretrain_weights.png").string());
    if (pre->interrupted) return 130;
    term << pre->summary();
  }
  // Paper 003's RAOQ stage (raoq: section): the ADC in the loop, in <run>/raoq/.
  std::optional<pipeline::RaoqOutcome> raoq;
  if (js.raoq.enabled) {
    pipeline::TrainingSettings rts;
    rts.out_dir = (fs::path(out_dir) / "raoq").string();
    const fs::path rckpt = fs::path(rts.out_dir) / "checkpoints" / "last.pt";
    if (args.resume && fs::exists(rckpt)) rts.resume_from = rckpt.string();
    rts.progress = &std::cerr;
    rts.progress_tty = ts.progress_tty;
    term << fmt::format("RAOQ stage: {}, lr {}, ADC in the loop ({} model){}{}{}\n", plural(js.raoq.epochs, "epoch"),
                        format_double(js.raoq.lr), tp.get_string("adc_model"), cs.a_shift ? ", A-shift" : "",
                        js.raoq.bitaug ? ", BitAug" : "", js.raoq.lora ? ", ADC-LoRA" : "");
    raoq = pipeline::run_raoq(jm, jd, js.raoq, topt, rc.seed, rts, shape_csv);
    if (raoq->interrupted) {
      term << fmt::format("interrupted: checkpoint written to {}; continue with: cimkit run {} --resume{}\n",
                          rckpt.string(), config, args.out.empty() ? "" : " --out " + args.out);
      return 130;
    }
    term << raoq->summary();
  }
  nn::save_state_dict(*net, (fs::path(out_dir) / "model.pt").string());

  // Evaluation: float, digital, analog over device instances; the hardware cost (array read
  // energy measured by the engine), the temperature from the power map and the analog accuracy
  // with every array read at its temperature.
  pipeline::EvaluatorOptions evo;
  evo.eval = pipeline::ChipEvalOptions::from_params(ep);
  if (costp.get_bool("enabled")) {
    evo.arch = arch;
    evo.cost = cost::CostOptions::from_params(costp);
  }
  evo.thermal = thopt;
  pipeline::ChipEvaluator evaluator(net, jm.ctx, jd.test, zo.name, jm.input_shape(), evo);
  const auto t_eval = Clock::now();
  const std::optional<double> float_acc = evaluator.float_accuracy();
  const double float_s = seconds_since(t_eval);
  const pipeline::Evaluation ev = evaluator.evaluate();
  const pipeline::ChipEvalOptions& co = evo.eval;
  const pipeline::ChipEvalResult& ce = ev.chip;
  const std::optional<cost::CostReport>& cost_rep = ev.cost;
  const std::optional<pipeline::ChipThermal>& heat = ev.thermal;
  const std::optional<pipeline::ChipEvalResult>& ce_hot = ev.hot;
  const double data_s = jd.seconds, train_s = tr.seconds, eval_s = float_s + ev.seconds.chip_eval;
  const double cost_heat_s = ev.seconds.total - ev.seconds.chip_eval;

  // Summary.
  std::ostringstream s;
  s << fmt::format("cimkit run {} — {} on {}, {}x{} arrays of {}-bit '{}' cells\n", config, zo.name, dname, cs.rows,
                   cs.cols, cs.cell_bits, rc.resolved.find("chip")->find("device")->find("impl")->value());
  if (!tr.history.empty()) {
    // Every epoch of the run, those of earlier sessions (before --resume) included.
    const auto& hist = tr.history;
    const auto& h = hist.back();
    double secs = 0, images = 0;
    for (const auto& e : hist) {
      secs += e.seconds;
      if (std::isfinite(e.images_per_s)) images += e.images_per_s * e.seconds;
    }
    const size_t epochs_before = tr.epochs_before;
    const size_t now = hist.size() - std::min(epochs_before, hist.size());
    const std::string sessions = epochs_before == 0 ? ""
                                 : now == 0         ? " (all before resuming)"
                                                    : fmt::format(" ({} before resuming, {} now)", epochs_before, now);
    s << fmt::format("training ({} mode): {}{}, final train accuracy {}, validation accuracy {}, {:.1f} s of training "
                     "({:.0f} images/s)\n",
                     to_string(train_mode), plural(h.epoch, "epoch"), sessions, pct(h.train_acc),
                     std::isnan(h.val_acc) ? std::string("n/a") : pct(h.val_acc), secs, secs > 0 ? images / secs : 0.0);
  }
  s << fmt::format("test accuracy on {} images:\n", ce.n_samples);
  if (float_acc) s << fmt::format("  float weights                       {}\n", pct(*float_acc));
  s << fmt::format("  digital (quantised, exact MVM)      {}\n", pct(ce.digital_accuracy));
  std::string per_seed;
  for (double a : ce.analog_accuracy) per_seed += (per_seed.empty() ? "" : ", ") + fmt::format("{:.2f}", 100 * a);
  if (ce.analog_accuracy.size() == 1) {
    s << fmt::format("  analog on the chip                  {:.2f} %  (1 device instance; fidelity {})\n", 100 * ce.analog_mean,
                     to_string(ce.fidelity));
  } else {
    s << fmt::format("  analog on the chip                  {:.2f} ± {:.2f} %  ({} device instances: {}; fidelity {})\n",
                     100 * ce.analog_mean, 100 * ce.analog_std, ce.analog_accuracy.size(), per_seed, to_string(ce.fidelity));
  }
  s << fmt::format("  loss from the chip                  {:.2f} points\n", 100 * (ce.digital_accuracy - ce.analog_mean));
  const auto& c = ce.counts_per_inference;
  s << fmt::format("arrays used: {} ({}x{}); per inference: {} array activations, {} DAC conversions, {} ADC "
                   "conversions, {} shift-adds, array read energy {}\n",
                   ce.n_arrays, cs.rows, cs.cols, si(static_cast<double>(c.array_activations), ""),
                   si(static_cast<double>(c.dac_conversions), ""), si(static_cast<double>(c.adc_conversions), ""),
                   si(static_cast<double>(c.shift_adds), ""), energy(c.read_energy_j()));
  // Column widths from the content; the SQNR column only when it was measured (eval.sqnr).
  size_t name_w = 14, kind_w = 7, prec_w = 10;  // at least the widths of the usual names
  for (const auto& l : ce.layers) {
    name_w = std::max(name_w, l.name.size()), kind_w = std::max(kind_w, l.kind.size());
    prec_w = std::max(prec_w, l.precision.str().size());
  }
  s << fmt::format("{:<{}} {:<{}} {:>{}} {:>6} {:>7}{} {:>12}\n", "layer", name_w, "kind", kind_w, "precision", prec_w,
                   "arrays", "util", co.sqnr ? fmt::format(" {:>9}", "SQNR dB") : "", "ADC conv/img");
  for (const auto& l : ce.layers) {
    s << fmt::format("{:<{}} {:<{}} {:>{}} {:>6} {:>6.1f}%{} {:>12}\n", l.name, name_w, l.kind, kind_w,
                     l.precision.str(), prec_w, l.mapping.n_arrays, 100 * l.mapping.utilisation,
                     co.sqnr ? fmt::format(" {:>9.1f}", l.sqnr_db) : "", si(static_cast<double>(l.counts.adc_conversions), ""));
  }
  if (!ce.worst_layer.empty()) s << "layer that hurts most (lowest SQNR): " << ce.worst_layer << "\n";
  if (cost_rep) s << cost_rep->summary_table() << "energy by component:\n" << cost_rep->component_table();
  if (heat) {
    s << heat->summary();
    if (ce_hot) {
      s << fmt::format("  analog accuracy with the heat        {}  (without: {:.2f} %; arrays at {:.2f}-{:.2f} K "
                       "instead of {} K)\n",
                       ce_hot->analog_accuracy.size() == 1
                           ? fmt::format("{:.2f} %", 100 * ce_hot->analog_mean)
                           : fmt::format("{:.2f} ± {:.2f} %", 100 * ce_hot->analog_mean, 100 * ce_hot->analog_std),
                       100 * ce.analog_mean,
                       heat->steady.stats.min_k, heat->steady.stats.peak_k, format_double(rc.operating.temperature_k));
    }
  }
  if (pre) s << pre->summary();
  if (raoq) s << raoq->summary();
  s << fmt::format("time: data {:.1f} s{}, evaluation {:.1f} s{}, total {:.1f} s\n", data_s,
                   topt.epochs > 0 ? fmt::format(", training {:.1f} s", train_s) : "", eval_s,
                   cost_rep ? fmt::format(", {} {:.1f} s", heat ? "cost and heat" : "cost", cost_heat_s) : "",
                   seconds_since(t_start));
  // The files of the folder: the trainer's only when it has trained (now or before a resume).
  std::string files = "summary.txt, stats.json, layers.csv, resolved_config.yaml, model.pt";
  for (const char* f : {"metrics.csv", "plots/training_curve.png", "checkpoints/", "pretrain/", "plots/pretrain_weights.png",
                        "raoq/", "weight_shape.csv"}) {
    if (fs::exists(fs::path(out_dir) / f)) files += std::string(", ") + f;
  }
  if (cost_rep) files += ", cost_reference.json";
  if (heat) files += ", thermal_grid.csv, plots/thermal_map.png";
  s << "run folder: " << out_dir << " (" << files << ")\n";
  term << s.str();

  // Files.
  write_text_file((fs::path(out_dir) / "summary.txt").string(), s.str());
  write_text_file((fs::path(out_dir) / "layers.csv").string(), layers_csv(ce, cost_rep ? &*cost_rep : nullptr));
  if (cost_rep) {
    write_text_file((fs::path(out_dir) / "cost_reference.json").string(), cost_rep->reference.dump(2) + "\n");
  }
  if (heat) {
    write_text_file((fs::path(out_dir) / "thermal_grid.csv").string(), thermal::grid_csv(heat->steady.field.die_k));
    fs::create_directories(fs::path(out_dir) / "plots");
    heat->write_map_png((fs::path(out_dir) / "plots" / "thermal_map.png").string(),
                        fmt::format("{} on {}: die temperature, peak {:.2f} K", zo.name, cost_rep->architecture,
                                    heat->steady.stats.peak_k));
  }
  nlohmann::json stats;
  stats["config"] = config;
  stats["seed"] = rc.seed;
  stats["threads"] = threads;
  stats["data"] = {{"name", dname},
                   {"train", jd.train_size()},
                   {"val", jd.val_size()},
                   {"test", jd.test_size()},
                   {"augment", jd.augment}};
  stats["model"] = {{"name", zo.name},
                    {"parameters", nn::count_parameters(*net)},
                    {"analog_layers", net->analog_layers().size()},
                    {"width", zo.width}};
  stats["training"] = nlohmann::json::parse(train::history_to_json(tr.history));
  if (pre) stats["pretrain"] = pre->to_json();
  if (raoq) stats["raoq"] = raoq->to_json();
  stats["accuracy"] = {{"float", float_acc ? nlohmann::json(*float_acc) : nlohmann::json()},
                       {"digital", ce.digital_accuracy},
                       {"analog_mean", ce.analog_mean},
                       {"analog_std", ce.analog_std},
                       {"analog_per_device_seed", ce.analog_accuracy},
                       {"analog_fidelity", to_string(ce.fidelity)}};
  stats["chip_eval"] = ce.to_json();
  if (cost_rep) stats["cost"] = cost_rep->to_json();
  if (heat) {
    stats["thermal"] = heat->to_json();
    if (ce_hot) {
      stats["accuracy"]["analog_with_heat_mean"] = ce_hot->analog_mean;
      stats["accuracy"]["analog_with_heat_std"] = ce_hot->analog_std;
      stats["accuracy"]["analog_with_heat_per_device_seed"] = ce_hot->analog_accuracy;
    }
  }
  stats["seconds"] = {{"data", data_s},
                      {"training", train_s},
                      {"evaluation", eval_s},
                      {"cost_and_heat", cost_heat_s},
                      {"total", seconds_since(t_start)}};
  write_text_file((fs::path(out_dir) / "stats.json").string(), stats.dump(2) + "\n");
  return 0;
}

}  // namespace cimkit::cli
