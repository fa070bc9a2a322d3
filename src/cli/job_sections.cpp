#include "cli/job_sections.hpp"

#include "cost/cost_model.hpp"
#include "nn/zoo.hpp"
#include "pipeline/chip_eval.hpp"
#include "pipeline/job.hpp"
#include "pipeline/job_data.hpp"

namespace cimkit::cli {

JobSections parse_job_sections(RunConfig& rc) {
  const ConfigNode& arch_node = rc.sections.at("arch");
  JobSections j{parse_params(rc.sections.at("data"), pipeline::data_schema(), "data"),
                parse_params(rc.sections.at("model"), nn::ZooOptions::schema(), "model"),
                parse_params(rc.sections.at("train"), pipeline::train_schema(), "train"),
                parse_params(rc.sections.at("eval"), pipeline::ChipEvalOptions::schema(), "eval"),
                parse_params(rc.sections.at("cost"), cost::CostOptions::schema(), "cost"),
                pipeline::ChipThermalOptions::from_config(rc.sections.at("thermal"), "thermal"),
                arch_node.is_null() ? cost::Architecture::preset(cost::Architecture::kDefaultPreset)
                                    : cost::Architecture::from_config(arch_node, "arch"),
                {}};
  j.thermal.default_ambient(rc.operating.temperature_k);
  const Params pre = parse_params(rc.sections.at("pretrain"), pipeline::PretrainOptions::schema(), "pretrain");
  j.pretrain = pipeline::PretrainOptions::from_params(pre);
  rc.resolved.set("pretrain", pre.to_node());
  const Params raoq = parse_params(rc.sections.at("raoq"), pipeline::RaoqOptions::schema(), "raoq");
  j.raoq = pipeline::RaoqOptions::from_params(raoq);
  rc.resolved.set("raoq", raoq.to_node());
  rc.resolved.set("model", j.model.to_node());
  rc.resolved.set("data", j.data.to_node());
  rc.resolved.set("train", j.train.to_node());
  rc.resolved.set("eval", j.eval.to_node());
  rc.resolved.set("cost", j.cost.to_node());
  if (!rc.sections.at("thermal").is_null()) rc.resolved.set("thermal", rc.sections.at("thermal"));
  if (!arch_node.is_null()) {
    rc.resolved.set("arch", arch_node);
  } else {
    ConfigNode an = ConfigNode::map({"<default>", 0});
    an.set("preset", ConfigNode::scalar(cost::Architecture::kDefaultPreset, {"<default>", 0}));
    rc.resolved.set("arch", an);
  }
  return j;
}

}  // namespace cimkit::cli
