#include "pipeline/job.hpp"

#include <chrono>

#include "core/rng.hpp"
#include "nn/interop.hpp"
#include "train/signals.hpp"
#include "train/trainer.hpp"

namespace cimkit::pipeline {

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

JobModel build_model(const Params& mp, const Params& tp, const JobData& data, std::shared_ptr<const Chip> chip,
                     const OperatingConditions& operating, uint64_t seed) {
  JobModel m;
  m.zoo = nn::ZooOptions::from_params(mp);
  m.zoo.in_channels = data.channels();
  m.zoo.image_size = data.image_size();
  m.zoo.n_classes = data.n_classes();
  m.zoo.input_mean = data.train.dataset().norm_mean;  // folded into the first layer (model.first_layer_input)
  m.zoo.input_std = data.train.dataset().norm_std;
  m.zoo.resolve_adc_bits(*chip, &mp);  // model.adc_bits 0: the chip's ADC resolution
  torch::manual_seed(derive_seed(seed, "model_init"));
  m.net = nn::make_model(m.zoo);
  m.ctx = std::make_shared<nn::AnalogContext>(std::move(chip), seed);
  m.ctx->set_operating(operating);
  m.ctx->training.adc_in_loop = tp.get_bool("adc_in_loop");
  m.ctx->training.weight_noise = tp.get_real("weight_noise");
  m.ctx->training.output_noise = tp.get_real("output_noise");
  m.ctx->training.adc_model = tp.get_string("adc_model") == "tile" ? nn::SurrogateAdc::Tile : nn::SurrogateAdc::Chip;
  m.net->set_context(m.ctx);
  const std::string pretrained = tp.get_string("pretrained");
  if (!pretrained.empty()) {
    const nn::ImportReport rep = nn::load_state_dict(*m.net, pretrained, nn::ImportOptions{});
    m.pretrained = pretrained + ": " + rep.summary();
  }
  m.train_mode = nn::parse_layer_mode(tp.get_string("mode"), "train.mode");
  m.net->set_mode(m.train_mode);
  return m;
}

TrainingOutcome train_model(JobModel& model, JobData& data, const train::TrainOptions& options, uint64_t seed,
                            const TrainingSettings& settings) {
  const auto t0 = std::chrono::steady_clock::now();
  train::Trainer trainer(model.net, options, seed, torch::kCPU, settings.out_dir);
  trainer.set_progress_stream(settings.progress, settings.progress_tty);
  if (settings.configure) settings.configure(trainer);
  if (!settings.resume_from.empty()) trainer.resume(settings.resume_from);
  TrainingOutcome out;
  out.epochs_before = trainer.history().size();  // trained in earlier sessions of this run
  if (options.epochs > 0) {
    if (settings.on_start) settings.on_start();
    // Ctrl-C / SIGTERM stop training gracefully (checkpoint, interrupted); outside training they
    // keep their default action.
    std::optional<train::StopSignalGuard> signals;
    if (settings.stop_on_signals) signals.emplace(trainer);
    out.interrupted = trainer.fit(data.train, data.val ? &*data.val : nullptr).interrupted;
  }
  out.history = trainer.history();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace cimkit::pipeline
