#include "cli/run_job.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <tuple>

#include "cli/file_kind.hpp"
#include "cli/run_config.hpp"
#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "data/dataset.hpp"
#include "data/loader.hpp"
#include "nn/interop.hpp"
#include "nn/zoo.hpp"
#include "cost/cost_model.hpp"
#include "nn/shape_trace.hpp"
#include "pipeline/chip_eval.hpp"
#include "pipeline/chip_thermal.hpp"
#include "train/checkpoint.hpp"
#include "train/signals.hpp"
#include "train/trainer.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;

Schema data_schema() {
  Schema s("data", "The dataset the job trains and evaluates on.");
  s.choice("name", data::dataset_names(), "Dataset").def(std::string("fashion_mnist"));
  s.string("dir", "Directory of the dataset files (empty: the default location, e.g. "
                  "/usr/share/datasets/fashion-mnist for Debian's dataset-fashion-mnist)")
      .def(std::string(""));
  s.real("val_fraction", "Fraction of the (limited) training set held out for validation, split with the run seed")
      .range(0.0, 0.9).def(0.1);
  s.integer("train_limit", "Use a seeded random subset of this many training images (0: all)").at_least(0).def(int64_t{0});
  s.integer("test_limit", "Evaluate on the first this many test images (0: all)").at_least(0).def(int64_t{0});
  s.choice("augment", {"auto", "on", "off"}, "Random crop + flip while training (auto: on for CIFAR, off otherwise)")
      .def(std::string("auto"));
  s.integer("eval_batch_size", "Images per batch when evaluating (digital and on the chip)").range(1, 65536).def(int64_t{256});
  return s;
}

Schema train_schema() {
  Schema s = train::TrainOptions::schema();
  s.choice("mode", {"float", "quantised", "analog"},
           "Layer mode while training: float, quantised (fake-quant QAT, straight-through) or analog (the chip "
           "surrogate: ADC in the loop with a straight-through floor, paper 003 eq. 2-3, and noise injection)")
      .def(std::string("quantised"));
  s.boolean("adc_in_loop", "analog mode: the layer's ADC in the forward pass (else the exact product of the codes)")
      .def(true);
  s.choice("adc_model", {"chip", "tile"},
           "analog mode: chip = the forward value is the chip's digital result (same slicing and ADC, ideal cells) with a "
           "straight-through backward; tile = paper 003 eq. 2-3 on un-sliced row-tile partial sums")
      .def(std::string("chip"));
  s.real("weight_noise", "analog mode: std of Gaussian noise added to the weight codes, as a fraction of the largest code")
      .range(0.0, 1.0).def(0.0);
  s.real("output_noise", "analog mode: std of Gaussian noise per partial sum in ADC steps (tile) or per output in output LSBs (chip)")
      .range(0.0, 100.0).def(0.0);
  s.string("pretrained", "state_dict file (Python torch.save or cimkit model.pt) loaded before training (empty: none)")
      .def(std::string(""));
  return s;
}

Schema eval_schema() {
  Schema s("eval", "Evaluation on the chip after training.");
  s.integer("device_seeds", "Device instances (Monte-Carlo over D2D variation, faults, drift draws); "
                            "analog accuracy is reported as mean +- std over them")
      .range(1, 1000).def(int64_t{3});
  s.boolean("sqnr", "Measure each layer's SQNR (analog vs digital output on the same input)").def(true);
  return s;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A seeded random subset of `limit` samples (order kept), or the whole set.
data::Dataset limit_random(const data::Dataset& d, int64_t limit, uint64_t seed) {
  if (limit <= 0 || limit >= d.size()) return d;
  auto g = make_generator(derive_seed(seed, "train_limit"));
  torch::Tensor idx = std::get<0>(torch::randperm(d.size(), g, torch::kInt64).slice(0, 0, limit).sort());
  return d.subset(idx);
}

data::Dataset limit_first(const data::Dataset& d, int64_t limit) {
  if (limit <= 0 || limit >= d.size()) return d;
  return d.subset(torch::arange(limit, torch::kInt64));
}

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
    if (cost && i < cost->layers.size()) {
      const auto& c = cost->layers[i];
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
  const Params dp = parse_params(rc.sections.at("data"), data_schema(), "data");
  const Params mp = parse_params(rc.sections.at("model"), nn::ZooOptions::schema(), "model");
  const Params tp = parse_params(rc.sections.at("train"), train_schema(), "train");
  const Params ep = parse_params(rc.sections.at("eval"), eval_schema(), "eval");
  const train::TrainOptions topt = train::TrainOptions::from_params(tp);
  // The cost model (architecture and options) is validated up front, so a typo fails in seconds.
  const Params costp = parse_params(rc.sections.at("cost"), cost::CostOptions::schema(), "cost");
  pipeline::ChipThermalOptions thopt = pipeline::ChipThermalOptions::from_config(rc.sections.at("thermal"), "thermal");
  thopt.default_ambient(rc.operating.temperature_k);
  const ConfigNode& arch_node = rc.sections.at("arch");
  const cost::Architecture arch = arch_node.is_null() ? cost::Architecture::preset(cost::Architecture::kDefaultPreset)
                                                      : cost::Architecture::from_config(arch_node, "arch");
  rc.resolved.set("model", mp.to_node());
  rc.resolved.set("data", dp.to_node());
  rc.resolved.set("train", tp.to_node());
  rc.resolved.set("eval", ep.to_node());
  rc.resolved.set("cost", costp.to_node());
  if (!rc.sections.at("thermal").is_null()) rc.resolved.set("thermal", rc.sections.at("thermal"));
  if (!arch_node.is_null()) {
    rc.resolved.set("arch", arch_node);
  } else {
    ConfigNode an = ConfigNode::map({"<default>", 0});
    an.set("preset", ConfigNode::scalar(cost::Architecture::kDefaultPreset, {"<default>", 0}));
    rc.resolved.set("arch", an);
  }

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
  fs::create_directories(out_dir);
  write_text_file((fs::path(out_dir) / "resolved_config.yaml").string(), to_yaml(rc.resolved));

  // Data.
  const std::string dname = dp.get_string("name");
  const auto t_data = Clock::now();
  data::Dataset train_all = data::load_dataset(dname, dp.get_string("dir"), true);
  const data::Dataset test_all = data::load_dataset(dname, dp.get_string("dir"), false);
  std::string data_notes;  // a limit beyond the set's size uses the whole set, and says so
  const std::vector<std::tuple<std::string, std::string, int64_t>> limits = {
      {"train_limit", "training", train_all.size()}, {"test_limit", "test", test_all.size()}};
  for (const auto& [key, part, n] : limits) {
    if (dp.get_int(key) > n) {
      data_notes += fmt::format("note: data.{} {} is more than the {} {} images of {}; using all {}\n", key,
                                dp.get_int(key), n, part, dname, n);
    }
  }
  data::Dataset test = limit_first(test_all, dp.get_int("test_limit"));
  train_all = limit_random(train_all, dp.get_int("train_limit"), rc.seed);
  data::SplitResult parts = data::split(train_all, dp.get_real("val_fraction"), rc.seed);
  const std::string aug = dp.get_string("augment");
  const bool augment = aug == "on" || (aug == "auto" && dname.rfind("cifar", 0) == 0);
  data::DataLoaderOptions lo;
  lo.batch_size = topt.batch_size;
  lo.shuffle = true;
  lo.seed = derive_seed(rc.seed, "data");
  lo.augment = augment;
  data::DataLoader train_loader(parts.train, lo);
  data::DataLoaderOptions eo;
  eo.batch_size = dp.get_int("eval_batch_size");
  eo.shuffle = false;
  std::optional<data::DataLoader> val_loader;
  if (parts.val.size() > 0) val_loader.emplace(parts.val, eo);
  data::DataLoader test_loader(test, eo);
  const double data_s = seconds_since(t_data);

  // Model.
  nn::ZooOptions zo = nn::ZooOptions::from_params(mp);
  zo.in_channels = train_all.channels();
  zo.image_size = train_all.images.size(2);
  zo.n_classes = train_all.n_classes;
  zo.input_mean = train_all.norm_mean;
  zo.input_std = train_all.norm_std;
  zo.resolve_adc_bits(*rc.chip, &mp);
  torch::manual_seed(derive_seed(rc.seed, "model_init"));
  std::shared_ptr<nn::Network> net = nn::make_model(zo);
  auto ctx = std::make_shared<nn::AnalogContext>(rc.chip, rc.seed);
  ctx->set_operating(rc.operating);
  ctx->training.adc_in_loop = tp.get_bool("adc_in_loop");
  ctx->training.weight_noise = tp.get_real("weight_noise");
  ctx->training.output_noise = tp.get_real("output_noise");
  ctx->training.adc_model = tp.get_string("adc_model") == "tile" ? nn::SurrogateAdc::Tile : nn::SurrogateAdc::Chip;
  net->set_context(ctx);
  if (!tp.get_string("pretrained").empty()) {
    nn::ImportReport rep = nn::load_state_dict(*net, tp.get_string("pretrained"), nn::ImportOptions{});
    term << "pretrained: " << tp.get_string("pretrained") << ": " << rep.summary() << "\n";
  }
  const nn::LayerMode train_mode = nn::parse_layer_mode(tp.get_string("mode"), "train.mode");
  net->set_mode(train_mode);

  const auto& cs = rc.chip->spec();
  term << fmt::format("cimkit run {} -> {}  ({} threads)\n", config, out_dir, threads);
  term << fmt::format("data: {} — {} train / {} validation / {} test images{}\n", dname, parts.train.size(),
                      parts.val.size(), test.size(), augment ? " (crop + flip)" : "");
  term << data_notes;
  term << fmt::format("model: {} (width {}, {} parameters, {} analog layers), {}-bit weights / {}-bit activations / "
                      "{}-bit ADC, first and last layers {} bits\n",
                      zo.name, zo.width, nn::count_parameters(*net), net->analog_layers().size(),
                      zo.precision.weight_bits, zo.precision.act_bits, zo.precision.adc_bits,
                      zo.first_last_bits > 0 ? std::to_string(zo.first_last_bits) : std::string("the same"));
  term << fmt::format("chip: {}x{} arrays, {}-bit cells, {}-bit DAC, {}-bit ADC ({}), device '{}'; read {} s after "
                      "programming at {} K\n",
                      cs.rows, cs.cols, cs.cell_bits, rc.chip->dac().bits(), rc.chip->adc().bits(),
                      rc.resolved.find("chip")->find("adc")->has("range")
                          ? rc.resolved.find("chip")->find("adc")->find("range")->value()
                          : std::string("ideal"),
                      rc.resolved.find("chip")->find("device")->find("impl")->value(),
                      format_double(rc.operating.time_since_program_s), format_double(rc.operating.temperature_k));

  // Training.
  const auto t_train = Clock::now();
  train::Trainer trainer(net, topt, rc.seed, torch::kCPU, out_dir);
  trainer.set_progress_stream(&std::cerr, isatty(STDERR_FILENO) != 0);
  if (args.resume) trainer.resume(ckpt.string());
  const size_t epochs_before = trainer.history().size();  // trained in earlier sessions of this run
  train::TrainResult tr;
  if (topt.epochs > 0) {
    // Ctrl-C / SIGTERM stop training gracefully (checkpoint, exit 130); outside training they
    // keep their default action.
    train::StopSignalGuard signals(trainer);
    term << fmt::format("training: {} in {} mode, {} {}, lr {}, batch {}\n", plural(topt.epochs, "epoch"),
                        to_string(train_mode),
                        train::to_string(topt.optimizer), train::to_string(topt.schedule), format_double(topt.lr),
                        topt.batch_size);
    tr = trainer.fit(train_loader, val_loader ? &*val_loader : nullptr);
    if (tr.interrupted) {
      term << fmt::format("interrupted: checkpoint written to {}; continue with: cimkit run {} --resume{}\n",
                          ckpt.string(), config, args.out.empty() ? "" : " --out " + args.out);
      return 130;
    }
  }
  const double train_s = seconds_since(t_train);
  nn::save_state_dict(*net, (fs::path(out_dir) / "model.pt").string());

  // Evaluation: float (when trained in float), digital, analog over device instances.
  const auto t_eval = Clock::now();
  std::optional<double> float_acc;
  {
    net->set_mode(nn::LayerMode::Float);
    float_acc = pipeline::accuracy(*net, test_loader, -1);
  }
  pipeline::ChipEvalOptions co;
  co.device_seeds = ep.get_int("device_seeds");
  co.sqnr = ep.get_bool("sqnr");
  pipeline::ChipEvalResult ce = pipeline::evaluate_on_chip(*net, test_loader, ctx, co);
  const double eval_s = seconds_since(t_eval);

  // Hardware cost of this network on the architecture, the array read energy measured by the
  // engine during the evaluation (per inference, first device instance).
  std::optional<cost::CostReport> cost_rep;
  if (costp.get_bool("enabled")) {
    cost::CostOptions copt = cost::CostOptions::from_params(costp);
    for (const auto& l : ce.layers) copt.layers[l.name].read_energy_j = l.counts.read_energy_j();
    const mapping::NetworkShape shape =
        nn::trace_network(*net, zo.name, {zo.in_channels, zo.image_size, zo.image_size});
    cost_rep = cost::CostModel(arch, cost::ChipParams::from_chip(*rc.chip), copt).evaluate(shape);
  }

  // Temperature from the power map, and the accuracy with every array read at its temperature.
  std::optional<pipeline::ChipThermal> heat;
  std::optional<pipeline::ChipEvalResult> ce_hot;
  if (cost_rep && thopt.enabled) {
    std::vector<std::vector<double>> per_array;
    for (const auto& l : ce.layers) {
      std::vector<double> e;
      if (l.counts.read_energy_j_per_array.defined()) {
        const torch::Tensor t = l.counts.read_energy_j_per_array.to(torch::kFloat64).contiguous();
        e.assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
      }
      per_array.push_back(std::move(e));
    }
    heat = pipeline::solve_chip_thermal(pipeline::chip_floorplan(*cost_rep, per_array), thopt);
    if (thopt.feedback) {
      auto layers = net->analog_layers();
      for (size_t i = 0; i < layers.size() && i < heat->array_temperature_k.size(); ++i) {
        const int64_t n = layers[i].layer->mapping().n_arrays;  // the first copy of duplicated layers
        const auto& t = heat->array_temperature_k[i];
        layers[i].layer->set_temperature(torch::tensor(std::vector<double>(t.begin(), t.begin() + n), torch::kFloat64));
      }
      pipeline::ChipEvalOptions hot = co;
      hot.sqnr = false;
      ce_hot = pipeline::evaluate_on_chip(*net, test_loader, ctx, hot);
    }
  }
  const double eval_total_s = seconds_since(t_eval);

  // Summary.
  std::ostringstream s;
  s << fmt::format("cimkit run {} — {} on {}, {}x{} arrays of {}-bit '{}' cells\n", config, zo.name, dname, cs.rows,
                   cs.cols, cs.cell_bits, rc.resolved.find("chip")->find("device")->find("impl")->value());
  if (!trainer.history().empty()) {
    // Every epoch of the run, those of earlier sessions (before --resume) included.
    const auto& hist = trainer.history();
    const auto& h = hist.back();
    double secs = 0, images = 0;
    for (const auto& e : hist) {
      secs += e.seconds;
      if (std::isfinite(e.images_per_s)) images += e.images_per_s * e.seconds;
    }
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
    s << fmt::format("  analog on the chip                  {:.2f} %  (1 device instance)\n", 100 * ce.analog_mean);
  } else {
    s << fmt::format("  analog on the chip                  {:.2f} ± {:.2f} %  ({} device instances: {})\n",
                     100 * ce.analog_mean, 100 * ce.analog_std, ce.analog_accuracy.size(), per_seed);
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
  s << fmt::format("time: data {:.1f} s{}, evaluation {:.1f} s{}, total {:.1f} s\n", data_s,
                   topt.epochs > 0 ? fmt::format(", training {:.1f} s", train_s) : "", eval_s,
                   cost_rep ? fmt::format(", {} {:.1f} s", heat ? "cost and heat" : "cost", eval_total_s - eval_s) : "",
                   seconds_since(t_start));
  // The files of the folder: the trainer's only when it has trained (now or before a resume).
  std::string files = "summary.txt, stats.json, layers.csv, resolved_config.yaml, model.pt";
  for (const char* f : {"metrics.csv", "plots/training_curve.png", "checkpoints/"}) {
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
                   {"train", parts.train.size()},
                   {"val", parts.val.size()},
                   {"test", test.size()},
                   {"augment", augment}};
  stats["model"] = {{"name", zo.name},
                    {"parameters", nn::count_parameters(*net)},
                    {"analog_layers", net->analog_layers().size()},
                    {"width", zo.width}};
  stats["training"] = nlohmann::json::parse(train::history_to_json(trainer.history()));
  stats["accuracy"] = {{"float", float_acc ? nlohmann::json(*float_acc) : nlohmann::json()},
                       {"digital", ce.digital_accuracy},
                       {"analog_mean", ce.analog_mean},
                       {"analog_std", ce.analog_std},
                       {"analog_per_device_seed", ce.analog_accuracy}};
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
                      {"cost_and_heat", eval_total_s - eval_s},
                      {"total", seconds_since(t_start)}};
  write_text_file((fs::path(out_dir) / "stats.json").string(), stats.dump(2) + "\n");
  return 0;
}

}  // namespace cimkit::cli
