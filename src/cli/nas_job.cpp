#include "cli/nas_job.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <ostream>

#include "cli/nas_stages.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"
#include "nas/spread.hpp"

namespace cimkit::cli {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The files that say a run folder holds a CrossNAS run.
bool holds_run(const std::string& out) {
  return fs::exists(fs::path(out) / "supernet" / "checkpoint.pt") || fs::exists(fs::path(out) / "arch_search.pt");
}

}  // namespace

int nas_job(const JobArgs& args, const dist::GroupOptions& dist_flags, std::ostream& term) {
  if (args.config.empty()) throw Error("cimkit nas: give a config (configs/search/crossnas.yaml is the example)");
  const dist::GroupOptions go = dist::GroupOptions::resolve(dist_flags);
  const RunConfig probe = RunConfig::load(args.config, args.overrides);
  std::string out = !args.out.empty() ? args.out : probe.out;
  if (out.empty()) out = (fs::path("runs") / fs::path(args.config).stem()).string();
  if (go.rank == 0) {
    if (args.resume && !holds_run(out)) {
      throw Error(fmt::format("--resume: the run folder '{}' holds no CrossNAS run (no supernet/checkpoint.pt)", out));
    }
    if (!args.resume && holds_run(out)) {
      throw Error(fmt::format("run folder '{}' holds a CrossNAS run; pass --resume to continue it or --out DIR for a new one",
                              out));
    }
  }
  NasSetup s = load_nas(args.config, args.overrides, out);
  std::unique_ptr<dist::ProcessGroup> group;
  if (go.distributed()) {
    term << fmt::format("rank {} of {}: joining at {}:{}\n", go.rank, go.world_size, go.master_addr, go.master_port);
    group = std::make_unique<dist::ProcessGroup>(go);
    // Every rank must run the same search: the same settings, fingerprinted.
    const auto all = group->allgather(s.fingerprint);
    for (size_t r = 1; r < all.size(); ++r) {
      if (all[r] != all[0]) {
        throw Error(fmt::format("nas: rank {}'s config differs from rank 0's (give every rank the same config and --set "
                                "overrides)", r));
      }
    }
  }
  s.group = group.get();
  s.writer = !group || group->rank() == 0;
  s.resume = args.resume;
  std::ostream* log = s.writer ? &term : nullptr;
  auto say = [&](const std::string& line) {
    if (log) *log << line << std::flush;
  };
  if (s.writer) {
    fs::create_directories(out);
    write_file_atomic((fs::path(out) / "resolved_config.yaml").string(), to_yaml(s.rc.resolved));
  }
  say(fmt::format("cimkit nas {} -> {}  ({} threads{}; {} training, {} validation images)\n", args.config, out, s.threads,
                  group ? fmt::format(", {} processes", group->size()) : "", s.jd->train_size(), s.jd->val_size()));

  ordered_json stats = ordered_json::object();
  const auto t_all = std::chrono::steady_clock::now();

  // 1. The supernet.
  auto t0 = std::chrono::steady_clock::now();
  nas::Supernet supernet = train_supernet_stage(s, log);
  stats["seconds_supernet"] = seconds_since(t0);
  auto stop_here = [&](const char* stage) {
    if (args.until != stage) return false;
    say(fmt::format("stopped after the {} stage (--until); --resume continues from here\n", stage));
    return true;
  };
  if (stop_here("supernet")) return 0;

  // 2. The architecture search.
  t0 = std::chrono::steady_clock::now();
  const ArchStageResult arch = arch_search_stage(s, supernet, log);
  stats["seconds_arch_search"] = seconds_since(t0);
  say(fmt::format("architecture: {}  (accuracy {:.2f} % with inherited weights, EDP {:.4g} J·s = {:.1f} % of {}, fitness "
                  "{:.3f})\n",
                  arch.winner.key(), arch.score.accuracy_pct, arch.score.edp_js,
                  100.0 * arch.score.edp_js / arch.reference_edp_js, s.ns.reference_arch, arch.score.fitness));
  if (stop_here("arch_search")) return 0;

  // 3. The mixed-precision supernet of the winner.
  t0 = std::chrono::steady_clock::now();
  QuantStage q = quant_stage(s, supernet, arch.winner, log);
  if (q.interrupted) return 130;
  stats["seconds_quant"] = seconds_since(t0);
  if (stop_here("quant")) return 0;

  // 4. The joint search over bits and chip.
  t0 = std::chrono::steady_clock::now();
  const ChipStageResult chip = chip_search_stage(s, q, log);
  stats["seconds_chip_search"] = seconds_since(t0);
  say(fmt::format("chip and bits: {}  (accuracy on the chip {:.2f} %, EDP {:.1f} % of the 9-bit reference, fitness {:.3f})\n",
                  chip.winner.key(), chip.accuracy_pct, 100.0 * chip.edp_js / chip.reference_edp_js, chip.fitness));
  if (stop_here("chip_search")) return 0;

  // 5. Fine-tune and the final evaluation.
  t0 = std::chrono::steady_clock::now();
  const FinalResult fin = final_stage(s, q, chip.winner, log);
  if (fin.interrupted) return 130;
  stats["seconds_final"] = seconds_since(t0);
  stats["seconds_total"] = seconds_since(t_all);

  if (s.writer) {
    ordered_json j = ordered_json::object();
    j["architecture"] = arch.winner.key();
    j["arch_search"] = {{"accuracy_pct", arch.score.accuracy_pct}, {"edp_js", arch.score.edp_js},
                        {"reference_arch", s.ns.reference_arch}, {"reference_edp_js", arch.reference_edp_js},
                        {"fitness", arch.score.fitness}, {"candidates", arch.candidates}};
    j["chip_search"] = {{"choice", chip.winner.key()}, {"xbar", chip.winner.xbar}, {"adc_bits", chip.winner.adc_bits},
                        {"dac_bits", chip.winner.dac_bits}, {"accuracy_pct", chip.accuracy_pct},
                        {"edp_js", chip.edp_js}, {"reference_edp_js", chip.reference_edp_js},
                        {"reference_accuracy_pct", chip.reference_accuracy_pct}, {"fitness", chip.fitness},
                        {"candidates", chip.candidates}};
    ordered_json bits = ordered_json::array();
    for (const auto& p : chip.winner.precisions) bits.push_back({{"weight_bits", p.weight_bits}, {"act_bits", p.act_bits}});
    j["chip_search"]["precisions"] = bits;
    j["final"] = fin.json;
    j["seconds"] = stats;
    write_file_atomic((fs::path(out) / "final.json").string(), j.dump(1));
    const std::string summary = fmt::format(
        "CrossNAS on {} ({} threads{})\n"
        "  architecture   {}   accuracy with inherited weights {:.2f} %, EDP {:.1f} % of {}\n"
        "  bits and chip  {}\n"
        "                 on the chip ({} rung, validation): {:.2f} %; EDP {:.4g} J·s ({:.1f} % of the {}-bit reference)\n"
        "  final          {}\n"
        "  time           supernet {:.0f} s, architecture search {:.0f} s, mixed precision {:.0f} s, chip search {:.0f} s, "
        "final {:.0f} s; total {:.0f} s\n",
        s.jd->name, s.threads, group ? fmt::format(", {} processes", group->size()) : "", arch.winner.key(),
        arch.score.accuracy_pct, 100.0 * arch.score.edp_js / arch.reference_edp_js, s.ns.reference_arch,
        chip.winner.key(), s.ns.chip_fidelity, chip.accuracy_pct, chip.edp_js,
        100.0 * chip.edp_js / chip.reference_edp_js, *std::max_element(s.ns.quant_bits.begin(), s.ns.quant_bits.end()),
        fin.line, stats["seconds_supernet"].get<double>(), stats["seconds_arch_search"].get<double>(),
        stats["seconds_quant"].get<double>(), stats["seconds_chip_search"].get<double>(),
        stats["seconds_final"].get<double>(), stats["seconds_total"].get<double>());
    write_file_atomic((fs::path(out) / "summary.txt").string(), summary);
    term << summary;
    term << fmt::format("run folder: {} (summary.txt, final.json, arch_candidates.csv, chip_candidates.csv, model.pt, "
                        "checkpoints, resolved_config.yaml)\n", out);
  }
  return 0;
}

}  // namespace cimkit::cli
