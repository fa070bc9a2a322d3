#include "pipeline/pretrain.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "core/plot.hpp"
#include "core/rng.hpp"
#include "pipeline/chip_eval.hpp"

namespace cimkit::pipeline {

Schema PretrainOptions::schema() {
  Schema s("pretrain", "Paper 000's thermal-aware pretraining: bit-level group lasso and skewed L2 from the trained model (issue 14)");
  s.boolean("enabled", "Run the stage after training (its result is the model the job deploys or searches)").def(false);
  s.integer("epochs", "Epochs of the pretraining").range(1, 100000).def(int64_t{2});
  s.real("lr", "Peak learning rate (cosine schedule). SGD at 0.01 keeps lenet5's accuracy; Adam moves every plane by about lr per step whatever α is, and empties them on the full training set; SGD at BSQ's 0.1 diverges").above(0).def(1e-2);
  s.choice("optimizer", {"sgd", "adam"}, "Optimiser of the bit planes and the other parameters (SGD with the train section's momentum, as BSQ)").def(std::string("sgd"));
  s.real("alpha", "α of eq. 5: the bit-level group lasso (paper 000: 1e-5)").at_least(0).def(1e-5);
  s.real("beta", "β of eq. 5: the skewed L2 (paper 000: 0.0015)").at_least(0).def(0.0015);
  s.choice("method", {"thermal", "bsq"},
           "thermal: paper 000's pretraining at fixed bits; bsq: BSQ (Yang et al., ICLR 2021), the same bit "
           "representation and group lasso with periodic re-quantisation and precision adjustment, which sets "
           "each layer's weight bits")
      .def(std::string("thermal"));
  s.integer("requantize_every", "bsq: epochs between re-quantisations and precision adjustments (BSQ: 100 of 350)")
      .range(1, 100000)
      .def(int64_t{1});
  s.real("threshold", "bsq: a top bit plane with at most this fraction of '1's is dropped (BSQ: 0)").range(0, 1).def(0.0);
  s.integer("max_bits", "bsq: most magnitude bits a layer may grow to at re-quantisation (BSQ: 8)").range(1, 15).def(int64_t{7});
  s.integer("finetune_epochs",
            "Epochs of quantisation-aware training after the stage at the bits it leaves, with the train section's "
            "optimiser and learning rate (BSQ's fine-tune with the fixed scheme: the final re-quantisation rounds the "
            "continuous planes, which costs accuracy until the network is trained at those codes; 0: none)")
      .range(0, 100000)
      .def(int64_t{0});
  return s;
}

PretrainOptions PretrainOptions::from_params(const Params& p) {
  PretrainOptions o;
  o.enabled = p.get_bool("enabled");
  o.epochs = p.get_int("epochs");
  o.lr = p.get_real("lr");
  o.optimizer = p.get_string("optimizer");
  o.alpha = p.get_real("alpha");
  o.beta = p.get_real("beta");
  o.method = p.get_string("method");
  o.requantize_every = p.get_int("requantize_every");
  o.threshold = p.get_real("threshold");
  o.max_bits = static_cast<int>(p.get_int("max_bits"));
  o.finetune_epochs = p.get_int("finetune_epochs");
  return o;
}

namespace {

// The histogram of the layers' weight codes, each as a fraction of its full scale
// (code / (2^n − 1) in [−1, 1]), one bin per code of an n-bit layer: quantised weights of layers
// with different steps share the axis without aliasing.
Series histogram(const std::vector<train::BitLayer>& layers, const std::string& name, Rgb color) {
  torch::NoGradGuard no_grad;
  int n = 1;
  std::vector<torch::Tensor> parts;
  for (const auto& l : layers) {
    nn::BitWeights b = l.bits;
    n = std::max(n, b->bits());
    parts.push_back(b->codes() / (std::ldexp(1.0, b->bits()) - 1.0));
  }
  const torch::Tensor all = torch::cat(parts).to(torch::kFloat64);
  const int bins = static_cast<int>(std::ldexp(1.0, n + 1)) - 1;  // one per code −(2^n − 1) .. 2^n − 1
  const double half = 1.0 / (std::ldexp(1.0, n) - 1.0) / 2.0;
  const torch::Tensor h = torch::histc(all, bins, -1.0 - half, 1.0 + half) / static_cast<double>(all.numel());
  Series s{name, {}, {}, color};
  for (int i = 0; i < bins; ++i) {
    s.xs.push_back(-1.0 + 2.0 * half * i);
    s.ys.push_back(h[i].item<double>());
  }
  return s;
}

}  // namespace

nlohmann::json PretrainOutcome::to_json() const {
  auto stats = [](const train::BitStats& s) {
    return nlohmann::json{{"bit_sparsity", s.bit_sparsity}, {"sum_abs_w", s.sum_abs}, {"ones", s.ones}, {"bits", s.bits}};
  };
  return {{"before", stats(before)},
          {"after", stats(after)},
          {"accuracy_before", accuracy_before},
          {"accuracy_rounded", accuracy_rounded},
          {"accuracy_after", accuracy_after},
          {"epochs", history.size()},
          {"weight_bits", layer_bits},
          {"seconds", seconds}};
}

std::string PretrainOutcome::summary() const {
  std::string bits;
  for (size_t i = 0; i < layer_bits.size(); ++i) bits += (i ? " " : "") + std::to_string(layer_bits[i]);
  return fmt::format("weight bits per layer after the stage: [{}]\n", bits) + fmt::format("pretraining: bit sparsity {:.2f} % -> {:.2f} %, Σ|w| {:.4g} -> {:.4g}, '1' bits {:.0f} -> {:.0f}, "
                     "quantised accuracy {:.2f} % -> {:.2f} %{} ({:.1f} s)\n",
                     100 * before.bit_sparsity, 100 * after.bit_sparsity, before.sum_abs, after.sum_abs, before.ones,
                     after.ones, 100 * accuracy_before, 100 * accuracy_rounded,
                     accuracy_after != accuracy_rounded ? fmt::format(", after the fine-tune {:.2f} %", 100 * accuracy_after) : "",
                     seconds);
}

PretrainOutcome pretrain(JobModel& jm, JobData& jd, const PretrainOptions& po, const train::TrainOptions& base,
                         uint64_t seed, const TrainingSettings& settings, const std::string& histogram_png) {
  PretrainOutcome out;
  nn::Network& net = *jm.net;
  auto layers = net.analog_layers();
  if (layers.empty()) throw Error("pretrain: the network has no analog layers");
  data::DataLoader& held_out = jd.val ? *jd.val : jd.test;
  const nn::LayerMode mode = jm.train_mode;
  net.set_mode(nn::LayerMode::Quantised);
  out.accuracy_before = accuracy(net, held_out, -1);

  // Every layer's weight as its bit representation, started at its own quantisation.
  std::vector<train::BitLayer> bits;
  for (size_t i = 0; i < layers.size(); ++i) {
    nn::AnalogLayer& layer = *layers[i].layer;
    const int n = std::max(1, layer.precision().weight_bits - 1);
    auto& q = layer.weight_quantizer();
    const torch::Tensor w = layer.raw_matrix().detach();
    const torch::Tensor step = q->step.defined() && q->initialized()
                                   ? q->effective_step().detach()
                                   : (w.abs().max() / (std::ldexp(1.0, n) - 1.0)).reshape({1});
    // The parameter's own shape (a conv's weight is 4-D; raw_matrix() is its [out, in·k·k] view).
    const torch::Tensor param = w.view(dynamic_cast<torch::nn::Module&>(layer).named_parameters()["weight"].sizes());
    nn::BitWeights b(param, step, n);
    net.register_module(fmt::format("pretrain_bits_{}", i), b);
    layer.set_weight_source([b]() mutable { return b->forward(); });
    bits.push_back({layers[i].name, b, b->forward().detach().std().item<double>()});
  }
  out.before = train::bit_stats(bits);
  const Series codes_before = histogram(bits, "trained model", {31, 119, 180});

  train::TrainOptions topt = base;
  topt.epochs = po.epochs;
  topt.lr = po.lr;
  topt.optimizer = po.optimizer == "sgd" ? train::OptimizerKind::Sgd : train::OptimizerKind::Adam;
  topt.weight_decay = 0.0;  // the regularisers of eq. 5 are the penalty
  topt.schedule = train::Schedule::Cosine;
  TrainingSettings ts = settings;
  ts.configure = [&](train::Trainer& t) {
    t.add_loss_term("group_lasso", [&] { return train::group_lasso_loss(bits); }, po.alpha);
    t.add_loss_term("skewed_l2", [&] { return train::skewed_l2_loss(bits); }, po.beta);
    t.add_batch_hook([&](const train::BatchInfo&) {
      for (auto& l : bits) l.bits->clamp_planes();
    });
  };
  jm.train_mode = nn::LayerMode::Float;
  net.set_mode(nn::LayerMode::Float);
  if (po.method == "thermal") {
    const TrainingOutcome tr = train_model(jm, jd, topt, seed, ts);
    out.history = tr.history;
    out.interrupted = tr.interrupted;
    out.seconds = tr.seconds;
  } else {
    // BSQ: every `requantize_every` epochs (and at the end) the planes are re-quantised and the
    // precisions adjusted; the parameters change shape, so each interval trains with a fresh
    // optimiser and schedule (BSQ re-creates its optimiser there too) and writes no checkpoint.
    ts.out_dir.clear();
    ts.resume_from.clear();
    for (int64_t done = 0; done < po.epochs && !out.interrupted;) {
      topt.epochs = std::min(po.requantize_every, po.epochs - done);
      const TrainingOutcome tr = train_model(jm, jd, topt, derive_seed(seed, "bsq", static_cast<uint64_t>(done)), ts);
      out.history.insert(out.history.end(), tr.history.begin(), tr.history.end());
      out.interrupted = tr.interrupted;
      out.seconds += tr.seconds;
      done += topt.epochs;
      for (auto& l : bits) {
        l.bits->requantize(po.max_bits);
        l.bits->adjust_precision(po.threshold);
      }
    }
  }
  jm.train_mode = mode;
  out.after = train::bit_stats(bits);
  for (const auto& l : bits) out.layer_bits.push_back(l.bits->bits() + 1);
  const Series codes_after = histogram(bits, "after pretraining", {255, 127, 14});

  // The trained codes back into the layers; the representations removed.
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < layers.size(); ++i) {
      nn::AnalogLayer& layer = *layers[i].layer;
      auto& module = dynamic_cast<torch::nn::Module&>(layer);
      module.named_parameters()["weight"].copy_(bits[i].bits->forward());
      Precision p = layer.precision();
      p.weight_bits = bits[i].bits->bits() + 1;  // BSQ may have changed it; the sign is the pair
      layer.set_precision(p);
      auto& q = layer.weight_quantizer();
      if (q->step.defined()) q->step.copy_(bits[i].bits->step().expand_as(q->step));
      layer.set_weight_source({});
      net.unregister_module(fmt::format("pretrain_bits_{}", i));
    }
  }
  net.set_mode(nn::LayerMode::Quantised);
  out.accuracy_rounded = accuracy(net, held_out, -1);
  net.set_mode(mode);
  // BSQ's fine-tune with the fixed scheme: QAT at the codes' bits, the job's own optimiser.
  if (po.finetune_epochs > 0 && !out.interrupted) {
    train::TrainOptions fo = base;
    fo.epochs = po.finetune_epochs;
    TrainingSettings fs = settings;
    fs.configure = nullptr;
    fs.out_dir.clear();
    fs.resume_from.clear();
    const TrainingOutcome tr = train_model(jm, jd, fo, derive_seed(seed, "pretrain_finetune"), fs);
    out.history.insert(out.history.end(), tr.history.begin(), tr.history.end());
    out.interrupted = tr.interrupted;
    out.seconds += tr.seconds;
  }
  net.set_mode(nn::LayerMode::Quantised);
  out.accuracy_after = po.finetune_epochs > 0 ? accuracy(net, held_out, -1) : out.accuracy_rounded;
  net.set_mode(mode);
  if (!histogram_png.empty()) {
    LineChart c;
    c.title = "Weight codes before and after the thermal-aware pretraining";
    c.x_label = "weight code / full scale (one bin per code)";
    c.y_label = "fraction of the weights";
    c.series = {codes_before, codes_after};
    write_line_chart_png(histogram_png, c);
  }
  return out;
}

}  // namespace cimkit::pipeline
