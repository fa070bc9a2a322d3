// Stages 4 and 5 of `cimkit nas` (nas_stages.hpp): the joint search over per-layer bits and the
// chip, read on the chip, and the winner's fine-tune and final evaluation.
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <numeric>
#include <ostream>

#include "cli/nas_stages.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"
#include "nas/evolve.hpp"
#include "nas/fitness.hpp"
#include "nas/spread.hpp"
#include "nn/interop.hpp"
#include "pipeline/evaluator.hpp"
#include "search/driver.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

pipeline::EvaluatorOptions evaluator_options(const NasSetup& s, const std::string& fidelity, const std::string& key) {
  pipeline::EvaluatorOptions o;
  o.eval = pipeline::ChipEvalOptions::from_params(s.js.eval);
  o.eval.fidelity = parse_fidelity(fidelity, key);
  o.eval.sqnr = false;
  o.arch = s.js.arch;
  o.cost = cost::CostOptions::from_params(s.js.cost);
  o.thermal.enabled = false;  // the fitness is accuracy and EDP (paper 004); heat is `cimkit search`'s
  o.thermal.feedback = false;
  return o;
}

double mean_bits(const std::vector<nn::Precision>& p, bool weights) {
  double sum = 0;
  for (const auto& x : p) sum += weights ? x.weight_bits : x.act_bits;
  return p.empty() ? 0.0 : sum / static_cast<double>(p.size());
}

}  // namespace

ChipStageResult chip_search_stage(NasSetup& s, QuantStage& q, std::ostream* log) {
  ChipStageResult r;
  nas::QuantChipSpace space;
  for (const auto& l : q.net->analog_layers()) space.layers.push_back(l.name);
  space.bits = s.ns.quant_bits;
  space.xbar = s.ns.xbar_sizes;
  space.adc = s.ns.adc_bits;
  space.dac = s.ns.dac_bits;
  space.quant_scale = s.ns.quant_mutation_scale;
  space.chip_scale = s.ns.chip_mutation_scale;

  const auto [vx, vy] = std::pair{s.val_x, s.val_y};
  const int64_t n_val = s.ns.chip_val_images > 0 ? std::min(s.ns.chip_val_images, s.jd->val_size()) : s.jd->val_size();
  data::DataLoader val(s.jd->val->dataset().subset(torch::arange(n_val)), 256, false, 0);
  pipeline::ChipEvaluator ev(q.net, q.ctx, val, q.arch.key(),
                             {s.ns.space.in_channels, s.ns.space.image_size, s.ns.space.image_size},
                             evaluator_options(s, s.ns.chip_fidelity, "nas.chip_search.fidelity"));
  std::map<std::pair<int64_t, int>, std::shared_ptr<const Chip>> chips;
  auto chip_of = [&](int64_t xbar, int dac) {
    auto& c = chips[{xbar, dac}];
    if (!c) c = chip_variant(*s.rc.chip, xbar, dac);
    return c;
  };

  // The reference: every layer at the widest bits on the config's chip (its crossbar, ADC, DAC).
  const int top_bits = *std::max_element(s.ns.quant_bits.begin(), s.ns.quant_bits.end());
  std::vector<nn::Precision> ref(space.layers.size(), nn::Precision{top_bits, top_bits, s.zoo.precision.adc_bits});
  {
    pipeline::EvalRequest req;
    req.precisions = ref;
    const pipeline::Evaluation e = ev.evaluate(req);
    r.reference_edp_js = e.cost->totals.edp_js;
    r.reference_accuracy_pct = 100.0 * e.chip.analog_mean;
  }
  nas::EdpNormalisation norm;
  norm.reference_edp_js = r.reference_edp_js;
  norm.check("nas.chip_search");
  if (log) {
    *log << fmt::format("4. bits and chip: {} cycles of {} over {} layers x bits [{}], crossbar [{}], ADC [{}], DAC [{}] "
                        "(mutation x{} / x{}); read at the {} rung on {} validation images; reference (all {}-bit, the "
                        "config's chip): {:.2f} %, EDP {:.4g} J·s\n",
                        s.ns.chip_evolution.cycles, s.ns.chip_evolution.population, space.layers.size(),
                        fmt::join(space.bits, ", "), fmt::join(space.xbar, ", "), fmt::join(space.adc, ", "),
                        fmt::join(space.dac, ", "), space.quant_scale, space.chip_scale, s.ns.chip_fidelity, n_val, top_bits,
                        r.reference_accuracy_pct, r.reference_edp_js)
         << std::flush;
  }
  search::Evolution evo(space.genes(), s.ns.chip_evolution, derive_seed(s.rc.seed, "chip_search", s.ns.chip_search_seed), {}, "nas.chip_search");
  const nas::ScoreOne one = [&](const search::Genome& g) {
    const nas::QuantChipChoice c = space.decode(g);
    pipeline::EvalRequest req;
    req.precisions = c.precisions;
    req.chip = chip_of(c.xbar, c.dac_bits);
    const pipeline::Evaluation e = ev.evaluate(req);
    const double acc = 100.0 * e.chip.analog_mean;
    nas::GenomeScore gs;
    gs.fitness = nas::crossnas_fitness(acc, e.cost->totals.edp_js, s.ns.chip_w_acc, norm);
    gs.record = {{"choice", c.key()},
                 {"xbar", c.xbar},
                 {"adc_bits", c.adc_bits},
                 {"dac_bits", c.dac_bits},
                 {"mean_weight_bits", mean_bits(c.precisions, true)},
                 {"mean_act_bits", mean_bits(c.precisions, false)},
                 {"digital_pct", 100.0 * e.chip.digital_accuracy},
                 {"accuracy_pct", acc},
                 {"energy_j", e.cost->totals.energy_j},
                 {"latency_s", e.cost->totals.latency_s},
                 {"edp_js", e.cost->totals.edp_js},
                 {"edp_norm", norm.normalise(e.cost->totals.edp_js)},
                 {"area_mm2", e.cost->totals.area_m2 * 1e6}};
    return gs;
  };
  const nas::EvolveOptions eo = search_options(s, "chip_search.pt", s.chip_fingerprint, "bits-and-chip search");
  double best = -1e300;
  const nas::EvolveLog el = nas::evolve(evo, nas::spread_scores(s.group, one), eo, [&](const ordered_json& rec) {
    best = std::max(best, rec["fitness"].get<double>());
    if (log) {
      *log << fmt::format("   cycle {:2d}  x{:<4} adc {:2d} dac {}  bits w {:.1f} a {:.1f}  acc {:6.2f} %  EDP {:6.1f} %  "
                          "fitness {:+8.3f}  best {:+8.3f}\n",
                          rec["cycle"].get<int64_t>(), rec["xbar"].get<int64_t>(), rec["adc_bits"].get<int>(),
                          rec["dac_bits"].get<int>(), rec["mean_weight_bits"].get<double>(),
                          rec["mean_act_bits"].get<double>(), rec["accuracy_pct"].get<double>(),
                          rec["edp_norm"].get<double>(), rec["fitness"].get<double>(), best)
           << std::flush;
    }
  });
  if (s.writer) write_file_atomic((fs::path(s.out) / "chip_candidates.csv").string(), search::records_csv(el.records));
  r.winner = space.decode(evo.top().front().genome);
  r.candidates = static_cast<int64_t>(el.records.size());
  r.fitness = evo.top().front().fitness;
  for (const auto& rec : el.records) {
    if (rec["choice"].get<std::string>() != r.winner.key()) continue;
    r.accuracy_pct = rec["accuracy_pct"].get<double>();
    r.edp_js = rec["edp_js"].get<double>();
    break;
  }
  return r;
}

FinalResult final_stage(NasSetup& s, QuantStage& q, const nas::QuantChipChoice& winner, std::ostream* log) {
  FinalResult f;
  q.net->set_precisions(winner.precisions);
  train::TrainOptions ft = s.topt;
  ft.epochs = s.ns.finetune_epochs;
  ft.lr = s.ns.finetune_lr;
  ft.min_lr = std::min(ft.min_lr, ft.lr);
  ft.warmup_epochs = 0;
  if (log) *log << fmt::format("5. final: fine-tune {} epochs at lr {} with the winner's bits\n", ft.epochs, ft.lr);
  const pipeline::TrainingOutcome tr = train_stage(s, q.net, q.ctx, "finetune", ft, "finetune", log);
  if (tr.interrupted) {
    f.interrupted = true;
    return f;
  }
  if (s.writer) nn::save_state_dict(*q.net, (fs::path(s.out) / "model.pt").string());

  pipeline::ChipEvaluator ev(q.net, q.ctx, s.jd->test, q.arch.key(),
                             {s.ns.space.in_channels, s.ns.space.image_size, s.ns.space.image_size},
                             evaluator_options(s, s.ns.final_fidelity, "nas.finetune.final_fidelity"));
  const double float_pct = 100.0 * ev.float_accuracy();
  pipeline::EvalRequest req;
  req.precisions = winner.precisions;
  req.chip = chip_variant(*s.rc.chip, winner.xbar, winner.dac_bits);
  if (log) *log << fmt::format("   evaluating on the {} test images at the {} rung\n", s.jd->test_size(), s.ns.final_fidelity);
  const pipeline::Evaluation e = ev.evaluate(req);
  const auto& t = e.cost->totals;
  f.json = {{"architecture", q.arch.key()},
            {"choice", winner.key()},
            {"test_images", e.chip.n_samples},
            {"fidelity", s.ns.final_fidelity},
            {"float_pct", float_pct},
            {"digital_pct", 100.0 * e.chip.digital_accuracy},
            {"analog_pct", 100.0 * e.chip.analog_mean},
            {"analog_std_pct", 100.0 * e.chip.analog_std},
            {"device_seeds", e.chip.analog_accuracy.size()},
            {"energy_j", t.energy_j},
            {"latency_s", t.latency_s},
            {"edp_js", t.edp_js},
            {"area_mm2", t.area_m2 * 1e6},
            {"tops_per_w", t.tops_per_w}};
  f.line = fmt::format("test set ({} images, {} rung): float {:.2f} %, quantised {:.2f} %, on the chip {:.2f} ± {:.2f} %; "
                       "energy {:.4g} J, latency {:.4g} s, EDP {:.4g} J·s, area {:.2f} mm²",
                       e.chip.n_samples, s.ns.final_fidelity, float_pct, 100.0 * e.chip.digital_accuracy,
                       100.0 * e.chip.analog_mean, 100.0 * e.chip.analog_std, t.energy_j, t.latency_s, t.edp_js,
                       t.area_m2 * 1e6);
  return f;
}

}  // namespace cimkit::cli
