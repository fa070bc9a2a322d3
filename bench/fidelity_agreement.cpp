// How far each rung of the fidelity ladder (crossbar/engine.hpp, Fidelity) is from the bit-exact
// engine, measured over random per-layer precision configurations of one trained network on the
// chip with heat (issue 12 §2; scripts/fidelity_agreement.sh runs it, docs/results/fidelity.md
// reports it).
//
// For each configuration (every analog layer: weight and activation bits drawn from 2..8, ADC bits
// from 4..8) the same ChipEvaluator evaluates the network at every rung, one after the other: the
// same test images, the same device seeds and so the same cells, the same power map and
// temperatures. Written to --out:
//   candidates.csv  one row per (configuration, rung): bits, accuracies without and with heat,
//                   seconds of the digital and the analog evaluation, peak temperature
//   summary.json    per rung: Spearman rank correlation of the accuracy with heat against
//                   bit_exact, mean and max |delta accuracy|, throughput and its ratios
//   table.md        the same as a Markdown table
//   agreement.png   accuracy of each rung against bit_exact, one point per configuration
//   model.pt        the trained network (reused by the next run unless --model is given)
// While it runs, every evaluated row is appended to candidates.partial.csv; the same command
// after a stop (Ctrl-C, kill -9) continues from there and loses at most the row in flight.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <memory>
#include <sstream>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "cli/job_sections.hpp"
#include "cli/run_config.hpp"
#include "core/error.hpp"
#include "core/plot.hpp"
#include "core/rng.hpp"
#include "core/stats.hpp"
#include "nn/interop.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_data.hpp"
#include "train/options.hpp"

using namespace cimkit;
namespace fs = std::filesystem;

namespace {

struct Row {
  int config = 0;
  std::string rung, bits;
  double digital = 0, cool = 0, hot = 0, hot_std = 0;
  std::vector<double> hot_seeds;  // with heat, per device instance
  double digital_s = 0, analog_s = 0, hot_s = 0, peak_k = 0;
  int64_t images = 0, seeds = 0;
};

std::string bits_string(const std::vector<nn::Precision>& ps) {
  std::string s;
  for (const auto& p : ps) s += fmt::format("{}{}/{}/{}", s.empty() ? "" : " ", p.weight_bits, p.act_bits, p.adc_bits);
  return s;
}

// Per layer: weight and activation bits uniform in [2, 8], ADC bits uniform in [4, 8].
std::vector<std::vector<nn::Precision>> draw_configs(int n, size_t layers, uint64_t seed) {
  std::mt19937_64 rng(derive_seed(seed, "fidelity_configs"));
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1)); };
  std::vector<std::vector<nn::Precision>> out;
  for (int c = 0; c < n; ++c) {
    std::vector<nn::Precision> ps;
    for (size_t l = 0; l < layers; ++l) {
      const int w = pick(2, 8), a = pick(2, 8), adc = pick(4, 8);
      ps.push_back({w, a, adc});
    }
    out.push_back(std::move(ps));
  }
  return out;
}

void write_file(const fs::path& p, const std::string& text) { write_text_file(p.string(), text); }

const char* kCsvHeader =
    "config,rung,bits_w/a/adc_per_layer,digital_acc,analog_acc,analog_acc_heat,analog_acc_heat_std,"
    "digital_s,analog_s,analog_heat_s,peak_k,images,seeds,analog_acc_heat_per_seed\n";

std::string csv_row(const Row& r) {
  return fmt::format("{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.4f},{:.4f},{:.4f},{:.3f},{},{},{:.6f}\n", r.config, r.rung,
                     r.bits, r.digital, r.cool, r.hot, r.hot_std, r.digital_s, r.analog_s, r.hot_s, r.peak_k, r.images,
                     r.seeds, fmt::join(r.hot_seeds, " "));
}

// The rows of a candidates.csv this program wrote (--replot), or of its journal
// candidates.partial.csv (a resumed run), where a last line cut short by a kill is dropped.
std::vector<Row> read_candidates(const fs::path& path, bool journal = false) {
  std::ifstream f(path);
  if (!f) throw Error("--replot: cannot read " + path.string() + " (run the experiment first)");
  std::vector<Row> rows;
  std::string line;
  std::getline(f, line);  // header
  for (int ln = 2; std::getline(f, line); ++ln) {
    std::vector<std::string> c;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) c.push_back(cell);
    const bool torn = f.eof();  // no newline after it: written only in part
    if (journal && torn) break;
    if (c.size() != 14) throw Error(fmt::format("{}:{}: expected 14 columns, got {}", path.string(), ln, c.size()));
    try {
      Row r;
      r.config = std::stoi(c[0]);
      r.rung = c[1];
      r.bits = c[2];
      r.digital = std::stod(c[3]);
      r.cool = std::stod(c[4]);
      r.hot = std::stod(c[5]);
      r.hot_std = std::stod(c[6]);
      r.digital_s = std::stod(c[7]);
      r.analog_s = std::stod(c[8]);
      r.hot_s = std::stod(c[9]);
      r.peak_k = std::stod(c[10]);
      r.images = std::stoll(c[11]);
      r.seeds = std::stoll(c[12]);
      std::stringstream seeds(c[13]);
      for (double v; seeds >> v;) r.hot_seeds.push_back(v);
      rows.push_back(std::move(r));
    } catch (const std::logic_error&) {
      throw Error(fmt::format("{}:{}: a number that does not parse", path.string(), ln));
    }
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"The fidelity ladder against the bit-exact engine over random per-layer precisions (issue 12)"};
  std::string config = "configs/quickstart.yaml", model, out = "runs/fidelity_agreement";
  std::vector<std::string> overrides;
  int n_configs = 20, seeds = 2, images = 1000;
  uint64_t sample_seed = 7;
  std::vector<std::string> rung_names = {"bit_exact", "tile", "weight"};
  app.add_option("--config", config, "Run config: network, data, chip, heat (default: configs/quickstart.yaml)");
  app.add_option("--set", overrides, "Override a config key: path.to.key=value (repeatable)");
  app.add_option("--model", model, "Trained state_dict (default: OUT/model.pt, trained by the config when absent)");
  app.add_option("--out", out, "Output folder");
  app.add_option("--configs", n_configs, "Random precision configurations")->check(CLI::Range(2, 10000));
  app.add_option("--seeds", seeds, "Device instances per evaluation")->check(CLI::Range(1, 1000));
  app.add_option("--images", images, "Test images (the first N)")->check(CLI::Range(1, 1000000));
  app.add_option("--sample-seed", sample_seed, "Seed of the configurations' draw");
  app.add_option("--rungs", rung_names, "Rungs to compare (the first is the reference)");
  bool replot = false;
  std::string profile;
  app.add_option("--profile", profile,
                 "Write a Chrome trace (chrome://tracing) of the evaluations, with the engine's named steps "
                 "(cimkit::program, fit_tile_model, folded_forward, ...), to this file");
  app.add_flag("--replot", replot, "Rewrite table.md, summary.json and agreement.png from OUT/candidates.csv");
  CLI11_PARSE(app, argc, argv);

  std::vector<Fidelity> rungs;
  for (const auto& r : rung_names) rungs.push_back(parse_fidelity(r, "--rungs"));
  fs::create_directories(out);
  const fs::path model_path = model.empty() ? fs::path(out) / "model.pt" : fs::path(model);
  if (!model.empty() && !fs::exists(model_path)) throw Error("--model: no file " + model);
  const bool trained = fs::exists(model_path);

  overrides.push_back(fmt::format("data.test_limit={}", images));
  overrides.push_back(fmt::format("eval.device_seeds={}", seeds));
  overrides.push_back("eval.sqnr=false");
  if (trained) {
    overrides.push_back("train.epochs=0");
    overrides.push_back("train.pretrained=" + model_path.string());
  }
  RunConfig rc = RunConfig::load(config, overrides);
  const int threads = set_threads(rc.threads);
  const cli::JobSections js = cli::parse_job_sections(rc);
  const train::TrainOptions topt = train::TrainOptions::from_params(js.train);
  pipeline::JobData jd = pipeline::prepare_data(js.data, topt.batch_size, rc.seed);
  pipeline::JobModel jm = pipeline::build_model(js.model, js.train, jd, rc.chip, rc.operating, rc.seed);
  if (!trained) {
    std::cerr << fmt::format("training {} ({} epochs) for {}\n", jm.zoo.name, topt.epochs, model_path.string());
    pipeline::TrainingSettings ts;
    pipeline::train_model(jm, jd, topt, rc.seed, ts);
    nn::save_state_dict(*jm.net, model_path.string());
  }

  pipeline::EvaluatorOptions evo;
  evo.eval = pipeline::ChipEvalOptions::from_params(js.eval);
  if (!js.cost.get_bool("enabled") || !js.thermal.enabled || !js.thermal.feedback) {
    throw Error(config + ": the experiment compares the rungs on the chip with heat; cost.enabled, thermal.enabled "
                         "and thermal.feedback must be true");
  }
  evo.arch = js.arch;
  evo.cost = cost::CostOptions::from_params(js.cost);
  evo.thermal = js.thermal;
  pipeline::ChipEvaluator ev(jm.net, jm.ctx, jd.test, jm.zoo.name, jm.input_shape(), evo);
  const size_t n_layers = jm.net->analog_layers().size();
  const auto configs = draw_configs(n_configs, n_layers, sample_seed);
  std::cerr << fmt::format("{} on {} test images, {} device seeds, {} configurations x {} rungs, {} threads\n",
                           jm.zoo.name, jd.test_size(), seeds, n_configs, rungs.size(), threads);

  std::vector<Row> rows;
  if (replot) {
    rows = read_candidates(fs::path(out) / "candidates.csv");
    n_configs = static_cast<int>(rows.size() / rungs.size());
    seeds = rows.empty() ? seeds : static_cast<int>(rows[0].seeds);
  }
  // Every evaluated row goes to the journal candidates.partial.csv at once; a run stopped (even
  // by kill -9) continues from it with the same command: rows already there are kept.
  const fs::path journal = fs::path(out) / "candidates.partial.csv";
  std::ofstream csv_progress;
  if (!replot) {
    if (fs::exists(journal)) {
      for (Row& r : read_candidates(journal, true)) {
        const bool ours = r.config >= 0 && r.config < n_configs && r.bits == bits_string(configs[r.config]) &&
                          r.images == jd.test_size() && r.seeds == seeds;
        if (!ours) {
          throw Error(fmt::format("{}: its rows come from another draw, image count or device seeds than this run's "
                                  "(config {} [{}]); delete it or use another --out",
                                  journal.string(), r.config, r.bits));
        }
        rows.push_back(std::move(r));
      }
      std::cerr << fmt::format("continuing {}: {} rows already evaluated\n", journal.string(), rows.size());
    }
    std::string kept = kCsvHeader;
    for (const auto& r : rows) kept += csv_row(r);
    write_file(journal, kept);  // atomically, without a torn last line
    csv_progress.open(journal, std::ios::app);
  }
  auto done = [&](int c, const std::string& rung) {
    return std::any_of(rows.begin(), rows.end(), [&](const Row& r) { return r.config == c && r.rung == rung; });
  };
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profiling;
  if (!profile.empty()) profiling = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
  for (int c = 0; c < n_configs && !replot; ++c) {
    for (Fidelity f : rungs) {
      if (done(c, to_string(f))) continue;
      pipeline::EvalRequest req;
      req.precisions = configs[c];
      req.fidelity = f;
      const pipeline::Evaluation e = ev.evaluate(req);
      Row r;
      r.config = c;
      r.rung = to_string(f);
      r.bits = bits_string(configs[c]);
      r.digital = e.chip.digital_accuracy;
      r.cool = e.chip.analog_mean;
      r.hot = e.hot->analog_mean;
      r.hot_std = e.hot->analog_std;
      r.hot_seeds = e.hot->analog_accuracy;
      r.digital_s = e.chip.digital_seconds + e.hot->digital_seconds;
      r.analog_s = e.chip.analog_seconds;
      r.hot_s = e.hot->analog_seconds;
      r.peak_k = e.thermal->steady.stats.peak_k;
      r.images = e.chip.n_samples;
      r.seeds = static_cast<int64_t>(e.chip.analog_accuracy.size());
      std::cerr << fmt::format("config {:2d} {:9s} [{}]  digital {:.2f} %  analog {:.2f} %  with heat {:.2f} %  "
                               "({:.2f} s + {:.2f} s)\n",
                               c, r.rung, r.bits, 100 * r.digital, 100 * r.cool, 100 * r.hot, r.analog_s, r.hot_s);
      csv_progress << csv_row(r) << std::flush;
      rows.push_back(r);
    }
  }

  profiling.reset();  // writes the trace

  // candidates.csv, in (configuration, rung) order whatever order a resumed run evaluated them in
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    auto rung_index = [&](const std::string& n) {
      return std::find(rung_names.begin(), rung_names.end(), n) - rung_names.begin();
    };
    return a.config != b.config ? a.config < b.config : rung_index(a.rung) < rung_index(b.rung);
  });
  std::string csv = kCsvHeader;
  for (const auto& r : rows) csv += csv_row(r);
  if (!replot) {
    write_file(fs::path(out) / "candidates.csv", csv);
    fs::remove(fs::path(out) / "candidates.partial.csv");
  }

  // Per rung: agreement with the reference rung (accuracy with heat) and throughput.
  auto of_rung = [&](const std::string& name) {
    std::vector<const Row*> v;
    for (const auto& r : rows)
      if (r.rung == name) v.push_back(&r);
    return v;
  };
  const auto ref = of_rung(to_string(rungs[0]));
  std::vector<double> ref_acc;
  for (const Row* r : ref) ref_acc.push_back(r->hot);
  // Live candidates: the reference above twice chance (a search ranks those; below, the
  // accuracies are chance plus noise and their order is the noise's).
  const double chance = 1.0 / static_cast<double>(jm.zoo.n_classes);
  std::vector<size_t> live;
  for (size_t i = 0; i < ref_acc.size(); ++i)
    if (ref_acc[i] >= 2 * chance) live.push_back(i);
  auto pick = [](const std::vector<double>& v, const std::vector<size_t>& idx) {
    std::vector<double> o;
    for (size_t i : idx) o.push_back(v[i]);
    return o;
  };
  auto rho_or_nan = [](const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() >= 2 ? spearman(a, b) : std::numeric_limits<double>::quiet_NaN();
  };
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json("nan"); };
  // The reference against itself: its first two device instances ranked against each other
  // (how much of the order is the devices' and not the candidates').
  double floor_all = std::numeric_limits<double>::quiet_NaN(), floor_live = floor_all;
  if (seeds >= 2) {
    std::vector<double> s0, s1;
    for (const Row* r : ref) {
      s0.push_back(r->hot_seeds[0]);
      s1.push_back(r->hot_seeds[1]);
    }
    floor_all = rho_or_nan(s0, s1);
    floor_live = rho_or_nan(pick(s0, live), pick(s1, live));
  }
  double digital_images = 0, digital_s = 0;
  for (const auto& r : rows) {
    digital_images += 2.0 * static_cast<double>(r.images);  // the evaluation and its hot repeat
    digital_s += r.digital_s;
  }
  const double digital_ips = digital_images / digital_s;
  nlohmann::json summary;
  summary["network"] = jm.zoo.name;
  summary["images"] = jd.test_size();
  summary["device_seeds"] = seeds;
  summary["configurations"] = n_configs;
  summary["sample_seed"] = sample_seed;
  summary["threads"] = threads;
  summary["digital_images_per_s"] = digital_ips;
  summary["live_configurations"] = live.size();
  summary["reference_instances_spearman"] = {{"all", num(floor_all)}, {"live", num(floor_live)}};
  double ref_ips = 0;
  std::string table =
      "| rung | Spearman vs " + to_string(rungs[0]) + " (all / live) | mean \\|Δacc\\| (pt) | max \\|Δacc\\| (pt) | mean acc "
      "with heat | analog images/s | × " + to_string(rungs[0]) + " | × digital |\n|---|---|---|---|---|---|---|---|\n";
  std::vector<Series> series;
  for (size_t k = 0; k < rungs.size(); ++k) {
    const std::string name = to_string(rungs[k]);
    const auto v = of_rung(name);
    std::vector<double> acc;
    double analog_images = 0, analog_s = 0, dsum = 0, dmax = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      acc.push_back(v[i]->hot);
      analog_images += 2.0 * static_cast<double>(v[i]->images * v[i]->seeds);
      analog_s += v[i]->analog_s + v[i]->hot_s;
      const double d = std::abs(v[i]->hot - ref_acc[i]);
      dsum += d;
      dmax = std::max(dmax, d);
    }
    const double ips = analog_images / analog_s;
    if (k == 0) ref_ips = ips;
    const double rho = spearman(ref_acc, acc), rho_live = rho_or_nan(pick(ref_acc, live), pick(acc, live));
    nlohmann::json j;
    j["spearman"] = num(rho);
    j["spearman_live"] = num(rho_live);
    j["mean_abs_delta_acc"] = dsum / static_cast<double>(v.size());
    j["max_abs_delta_acc"] = dmax;
    j["mean_acc_heat"] = mean_of(acc);
    j["analog_images_per_s"] = ips;
    j["throughput_vs_reference"] = ips / ref_ips;
    j["throughput_vs_digital"] = ips / digital_ips;
    summary["rungs"][name] = j;
    table += fmt::format("| {} | {:.3f} / {:.3f} | {:.2f} | {:.2f} | {:.2f} % | {:.1f} | {:.1f} | {:.4f} |\n", name, rho, rho_live,
                         100 * dsum / static_cast<double>(v.size()), 100 * dmax, 100 * mean_of(acc), ips, ips / ref_ips,
                         ips / digital_ips);
    if (k == 0) continue;
    Series s;
    s.name = name;
    s.color = palette_color(k - 1);
    for (size_t i = 0; i < v.size(); ++i) {  // NaN between points: dots, not a line
      if (i) {
        s.xs.push_back(std::numeric_limits<double>::quiet_NaN());
        s.ys.push_back(std::numeric_limits<double>::quiet_NaN());
      }
      s.xs.push_back(100 * ref_acc[i]);
      s.ys.push_back(100 * acc[i]);
    }
    series.push_back(std::move(s));
  }
  table += fmt::format("\ndigital (quantised, exact arithmetic): {:.1f} images/s. {} on {} test images, {} device "
                       "seeds, {} configurations (sample seed {}), {} live (the reference at least twice chance), {} "
                       "threads.\n{} device instance 0 against instance 1: Spearman {:.3f} (all) / {:.3f} (live).\n",
                       digital_ips, jm.zoo.name, jd.test_size(), seeds, n_configs, sample_seed, live.size(), threads,
                       to_string(rungs[0]), floor_all, floor_live);
  write_file(fs::path(out) / "summary.json", summary.dump(2) + "\n");
  write_file(fs::path(out) / "table.md", table);

  LineChart chart;
  chart.title = fmt::format("{}: accuracy with heat, each rung against {}", jm.zoo.name, to_string(rungs[0]));
  chart.x_label = to_string(rungs[0]) + " accuracy (%)";
  chart.y_label = "rung accuracy (%)";
  // Both axes over the same range: the accuracies' extent, to whole 5 %.
  double lo = 100, hi = 0;
  for (const auto& r : rows) {
    lo = std::min(lo, 100 * r.hot);
    hi = std::max(hi, 100 * r.hot);
  }
  chart.x_min = chart.y_min = std::max(0.0, 5 * std::floor(lo / 5 - 0.2));
  chart.x_max = chart.y_max = std::min(100.0, 5 * std::ceil(hi / 5 + 0.2));
  Series diag;
  diag.name = "y = x";
  diag.xs = {*chart.x_min, *chart.x_max};
  diag.ys = {*chart.x_min, *chart.x_max};
  diag.color = {160, 160, 160};
  series.insert(series.begin(), diag);
  chart.series = series;
  write_line_chart_png((fs::path(out) / "agreement.png").string(), chart);
  std::cout << table;
  return 0;
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
