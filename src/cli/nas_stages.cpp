#include "cli/nas_stages.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <ostream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"
#include "cost/cost_model.hpp"
#include "nas/arch_eval.hpp"
#include "nas/evolve.hpp"
#include "nas/spos_trainer.hpp"
#include "nas/spread.hpp"
#include "search/driver.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

// What a stage's result depends on: the resolved config without the sections of later stages
// (`drop`: top-level keys, or nas sub-sections as "nas.X").
std::string nas_fingerprint(const RunConfig& rc, const std::vector<std::string>& drop) {
  ConfigNode f = ConfigNode::map();
  for (const char* key : {"seed", "chip", "operating", "model", "data", "train", "eval", "cost", "arch", "nas"}) {
    if (std::find(drop.begin(), drop.end(), key) != drop.end()) continue;
    if (const ConfigNode* n = rc.resolved.find(key)) f.set(key, *n);
  }
  if (ConfigNode* nas = f.find("nas")) {
    for (const auto& d : drop) {
      if (d.rfind("nas.", 0) == 0) nas->erase(d.substr(4));
    }
  }
  return to_yaml(f);
}

// The first `n` images of `loader`'s set (all for n = 0), normalised, with their labels.
std::pair<torch::Tensor, torch::Tensor> first_images(const data::DataLoader& loader, int64_t n) {
  const int64_t count = n > 0 ? std::min(n, loader.dataset().size()) : loader.dataset().size();
  data::DataLoader in_order(loader.dataset().subset(torch::arange(count)), 256, false, 0);
  std::vector<torch::Tensor> xs, ys;
  for (const data::Batch& b : in_order) {
    xs.push_back(b.images);
    ys.push_back(b.labels);
  }
  return {torch::cat(xs), torch::cat(ys)};
}

}  // namespace

NasSetup load_nas(const std::string& config, const std::vector<std::string>& overrides, const std::string& out) {
  NasSetup s;
  s.config = config;
  s.out = out;
  s.rc = RunConfig::load(config, overrides);
  s.threads = set_threads(s.rc.threads);
  s.js = parse_job_sections(s.rc);
  const ConfigNode& nas_node = s.rc.sections.at("nas");
  s.ns = nas::NasSettings::from_config(nas_node, "nas");
  s.rc.resolved.set("nas", s.ns.resolved);
  s.rc.resolved.set("out", ConfigNode::scalar(out, {"<run>", 0}));
  s.topt = train::TrainOptions::from_params(s.js.train);
  s.jd = pipeline::prepare_data(s.js.data, s.topt.batch_size, s.rc.seed);
  if (!s.jd->val) {
    throw Error(config + ": the searches score candidates on the validation split, but data.val_fraction leaves no "
                         "validation images; raise data.val_fraction (e.g. 0.1)");
  }
  s.ns.space.in_channels = s.jd->channels();
  s.ns.space.image_size = s.jd->image_size();
  s.ns.space.n_classes = s.jd->n_classes();
  s.ns.space.check("nas.space");
  // The reference network must be in the space: an error at its line otherwise.
  const ConfigNode* ref = nas_node.is_map() && nas_node.find("arch_search") ? nas_node.find("arch_search")->find("reference_arch")
                                                                          : nullptr;
  try {
    s.ns.space.parse(s.ns.reference_arch, "nas.arch_search.reference_arch");
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    std::string why = e.what();
    const std::string prefix = "nas.arch_search.reference_arch: ";
    if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
    throw ConfigError(ref ? ref->loc() : SourceLoc{config, 0}, "nas.arch_search.reference_arch",
                      fmt::format("not a network of the space: {}", why));
  }
  s.zoo = nn::ZooOptions::from_params(s.js.model);
  s.zoo.in_channels = s.jd->channels();
  s.zoo.image_size = s.jd->image_size();
  s.zoo.n_classes = s.jd->n_classes();
  s.zoo.input_mean = s.jd->train.dataset().norm_mean;
  s.zoo.input_std = s.jd->train.dataset().norm_std;
  s.zoo.resolve_adc_bits(*s.rc.chip, &s.js.model);
  s.fingerprint = nas_fingerprint(s.rc, {});
  // The architecture search does not depend on the stages after it (nor on `train:` and `eval:`,
  // which configure them), the bits-and-chip search not on the fine-tune.
  s.arch_fingerprint = nas_fingerprint(s.rc, {"train", "eval", "nas.quant", "nas.chip_search", "nas.finetune"});
  s.chip_fingerprint = nas_fingerprint(s.rc, {"nas.finetune"});

  std::tie(s.val_x, s.val_y) = first_images(*s.jd->val, s.ns.val_images);
  data::DataLoader recal(s.jd->train.dataset(), s.ns.supernet_batch, true, derive_seed(s.rc.seed, "nas_recalibration"));
  recal.set_epoch(0);
  for (int64_t i = 0; i < std::min(s.ns.recal_batches, recal.n_batches()); ++i) s.recal.push_back(recal.batch(i).images);
  return s;
}

nas::Supernet train_supernet_stage(NasSetup& s, std::ostream* log) {
  nas::Supernet net(s.ns.space, derive_seed(s.rc.seed, "supernet_init"));
  nas::SposTrainOptions o = s.ns.supernet;
  o.seed = derive_seed(s.rc.seed, "supernet_train");
  o.checkpoint_path = (fs::path(s.out) / "supernet" / "checkpoint.pt").string();
  o.resume = s.resume && fs::exists(o.checkpoint_path);
  o.group = s.group;
  if (s.writer) fs::create_directories(fs::path(s.out) / "supernet");
  data::DataLoader loader(s.jd->train.dataset(), s.ns.supernet_batch, true, derive_seed(s.rc.seed, "supernet_data"),
                          s.jd->augment);
  if (log) {
    *log << fmt::format("1. supernet: {} epochs of {} steps (batch {}), one architecture per step{}\n", o.epochs,
                        loader.n_batches(), s.ns.supernet_batch,
                        s.group && s.group->size() > 1 ? fmt::format(", data-parallel over {} ranks", s.group->size()) : "");
  }
  const auto t0 = std::chrono::steady_clock::now();
  const nas::SposTrainLog tl = nas::train_supernet(net, loader, o, [&](int64_t epoch, double loss) {
    if (!log) return;
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    *log << fmt::format("   epoch {:3d}/{}  loss {:.4f}  ({:.0f} s)\n", epoch + 1, o.epochs, loss, sec) << std::flush;
  });
  if (log && tl.first_epoch > 0) *log << fmt::format("   (resumed after epoch {})\n", tl.first_epoch);
  return net;
}

ArchStageResult arch_search_stage(NasSetup& s, nas::Supernet& supernet, std::ostream* log) {
  cost::CostModel cost(s.js.arch, cost::ChipParams::from_chip(*s.rc.chip), cost::CostOptions::from_params(s.js.cost));
  nas::ArchEvaluator ev(supernet, cost, s.zoo, s.recal, s.val_x, s.val_y);
  ArchStageResult r;
  const nas::ArchSpace& space = s.ns.space;
  nas::EdpNormalisation norm = s.ns.arch_norm;
  r.reference_edp_js = ev.cost_of(space.parse(s.ns.reference_arch, "nas.arch_search.reference_arch")).totals.edp_js;
  if (norm.kind == nas::EdpNormalisation::Kind::Reference) norm.reference_edp_js = r.reference_edp_js;
  norm.check("nas.arch_search");
  search::Evolution evo(space.genes(), s.ns.arch_evolution, derive_seed(s.rc.seed, "arch_search", s.ns.arch_search_seed),
                        [&](const search::Genome& g) { return space.valid(space.decode(g)); }, "nas.arch_search",
                        [&](const search::Genome& g) { return space.encode(space.decode(g)); });
  if (log) {
    *log << fmt::format("2. architecture search: {} cycles of {} ({} candidates at most), w_acc {}, EDP normalised by {} "
                        "({:.4g} J·s)\n",
                        s.ns.arch_evolution.cycles, s.ns.arch_evolution.population,
                        s.ns.arch_evolution.cycles * s.ns.arch_evolution.population, s.ns.arch_w_acc,
                        norm.kind == nas::EdpNormalisation::Kind::Reference ? s.ns.reference_arch : "min-max constants",
                        r.reference_edp_js);
  }
  const nas::ScoreOne one = [&](const search::Genome& g) {
    const nas::Arch a = space.decode(g);
    const nas::ArchScore sc = ev.evaluate(a, s.ns.arch_w_acc, norm);
    nas::GenomeScore gs;
    gs.fitness = sc.fitness;
    gs.record = {{"arch", a.key()},           {"depth", a.blocks.size()},       {"accuracy_pct", sc.accuracy_pct},
                 {"energy_j", sc.energy_j},   {"latency_s", sc.latency_s},      {"edp_js", sc.edp_js},
                 {"edp_norm", norm.normalise(sc.edp_js)}, {"area_mm2", sc.area_m2 * 1e6}};
    return gs;
  };
  const nas::EvolveOptions eo = search_options(s, "arch_search.pt", s.arch_fingerprint, "architecture search");
  double best = -1e300;
  const nas::EvolveLog el = nas::evolve(evo, nas::spread_scores(s.group, one), eo, [&](const ordered_json& rec) {
    best = std::max(best, rec["fitness"].get<double>());
    if (log) {
      *log << fmt::format("   cycle {:2d}  {:<40}  acc {:6.2f} %  EDP {:6.1f} %  fitness {:+8.3f}  best {:+8.3f}\n",
                          rec["cycle"].get<int64_t>(), rec["arch"].get<std::string>(), rec["accuracy_pct"].get<double>(),
                          rec["edp_norm"].get<double>(), rec["fitness"].get<double>(), best)
           << std::flush;
    }
  });
  if (s.writer) write_file_atomic((fs::path(s.out) / "arch_candidates.csv").string(), search::records_csv(el.records));
  const search::Genome& top = evo.top().front().genome;
  r.winner = space.decode(top);
  r.candidates = static_cast<int64_t>(el.records.size());
  for (const auto& rec : el.records) {
    if (rec["arch"].get<std::string>() != r.winner.key()) continue;
    r.score.accuracy_pct = rec["accuracy_pct"].get<double>();
    r.score.energy_j = rec["energy_j"].get<double>();
    r.score.latency_s = rec["latency_s"].get<double>();
    r.score.edp_js = rec["edp_js"].get<double>();
    r.score.area_m2 = rec["area_mm2"].get<double>() * 1e-6;
    r.score.fitness = rec["fitness"].get<double>();
    break;
  }
  return r;
}

QuantStage quant_stage(NasSetup& s, nas::Supernet& supernet, const nas::Arch& winner, std::ostream* log) {
  QuantStage q;
  q.arch = winner;
  // The winner starts from the supernet's weights, its BatchNorm recalibrated for it.
  size_t k = 0;
  supernet->recalibrate(winner, [&] { return k < s.recal.size() ? s.recal[k++] : torch::Tensor(); });
  torch::manual_seed(derive_seed(s.rc.seed, "quant_init"));
  q.net = std::make_shared<nas::Subnet>(s.ns.space, winner, s.zoo);
  q.net->inherit(supernet);
  q.mp = std::make_shared<nas::MixedPrecisionNet>(q.net, s.ns.quant_bits, s.zoo.precision.adc_bits,
                                                  derive_seed(s.rc.seed, "quant_bits"));
  q.ctx = std::make_shared<nn::AnalogContext>(s.rc.chip, s.rc.seed);
  q.ctx->set_operating(s.rc.operating);
  q.ctx->training.adc_in_loop = s.js.train.get_bool("adc_in_loop");
  q.ctx->training.weight_noise = s.js.train.get_real("weight_noise");
  q.ctx->training.output_noise = s.js.train.get_real("output_noise");
  q.mp->set_context(q.ctx);
  if (log) {
    *log << fmt::format("3. mixed precision: {} trained {} epochs with weight and activation bits drawn from [{}] per layer "
                        "and step ({} quantiser)\n",
                        winner.key(), s.topt.epochs, fmt::join(s.ns.quant_bits, ", "), s.js.model.get_string("quant"));
  }
  const pipeline::TrainingOutcome tr = train_stage(s, q.mp, q.ctx, "quant", s.topt, "quant_train", log);
  q.interrupted = tr.interrupted;
  q.mp->eval();
  return q;
}

nas::EvolveOptions search_options(const NasSetup& s, const std::string& file, const std::string& fingerprint,
                                  const std::string& what) {
  nas::EvolveOptions eo;
  eo.checkpoint = (fs::path(s.out) / file).string();
  eo.write = s.writer;
  eo.resume = s.resume;
  eo.fingerprint = fingerprint;
  eo.what = what;
  return eo;
}

pipeline::TrainingOutcome train_stage(NasSetup& s, std::shared_ptr<nn::Network> net, std::shared_ptr<nn::AnalogContext> ctx,
                                      const std::string& folder, const train::TrainOptions& options,
                                      const std::string& stream, std::ostream* log) {
  pipeline::JobModel jm;
  jm.zoo = s.zoo;
  jm.net = std::move(net);
  jm.ctx = std::move(ctx);
  jm.train_mode = nn::parse_layer_mode(s.js.train.get_string("mode"), "train.mode");
  jm.net->set_mode(jm.train_mode);
  const fs::path dir = fs::path(s.out) / folder;
  const fs::path last = dir / "checkpoints" / "last.pt";
  pipeline::TrainingSettings ts;
  ts.out_dir = s.writer ? dir.string() : "";
  ts.resume_from = s.resume && fs::exists(last) ? last.string() : "";
  ts.progress = log;
  ts.progress_tty = false;
  return pipeline::train_model(jm, *s.jd, options, derive_seed(s.rc.seed, stream), ts);
}

std::shared_ptr<const Chip> chip_variant(const Chip& base, int64_t xbar, int dac_bits) {
  ConfigNode n = base.resolved();
  n.find("crossbar")->set("rows", ConfigNode::scalar(std::to_string(xbar)));
  n.find("crossbar")->set("cols", ConfigNode::scalar(std::to_string(xbar)));
  n.find("dac")->set("bits", ConfigNode::scalar(std::to_string(dac_bits)));
  return Chip::from_config(n, "chip");
}

}  // namespace cimkit::cli
