// The evaluation of one candidate (ChipEvaluator): called again with one layer's precision
// changed, it does not trace again and reprograms only that layer; cost, thermal and the
// accuracy with the heat are there when enabled.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/search_eval.hpp"
#include "search/bits.hpp"
#include "search/space_rules.hpp"
#include "pipeline/synthetic.hpp"

namespace cimkit::pipeline {
namespace {

struct Three : nn::Network {
  nn::AnalogConv2d conv1{nullptr}, conv2{nullptr};
  nn::AnalogLinear fc{nullptr};
  Three() {
    conv1 = register_module("conv1", nn::AnalogConv2d(nn::AnalogConv2dOptions(1, 4, 3).padding(1).signed_input(true)));
    conv2 = register_module("conv2", nn::AnalogConv2d(nn::AnalogConv2dOptions(4, 4, 3).padding(1)));
    fc = register_module("fc", nn::AnalogLinear(nn::AnalogLinearOptions(4 * 8 * 8, 3)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor h = torch::relu(conv2->forward(torch::relu(conv1->forward(x))));
    return fc->forward(h.flatten(1));
  }
};

// Generated images (nothing is read from files).
data::DataLoader synthetic_test(int64_t n) { return data::DataLoader(testing::synthetic(n, 7), 16, false, 0); }

std::shared_ptr<const Chip> chip_from(const std::string& yaml) {
  return Chip::from_config(load_yaml_string(yaml, "test_chip.yaml"), "chip");
}

const char* kReram =
    "{crossbar: {rows: 64, cols: 64}, device: {impl: reram, g_on_us: 40, g_off_us: 4, d2d_std: 0.1}, "
    "dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 8, range: full_scale}}";

struct Fixture {
  std::shared_ptr<Three> net;
  std::shared_ptr<nn::AnalogContext> ctx;
  explicit Fixture(const char* chip = kReram) {
    torch::manual_seed(4);
    net = std::make_shared<Three>();
    ctx = std::make_shared<nn::AnalogContext>(chip_from(chip), 5);
  }
  std::vector<const CrossbarLayer*> engines() {
    std::vector<const CrossbarLayer*> e;
    for (auto& l : net->analog_layers()) e.push_back(&l.layer->engine());
    return e;
  }
};

// One device instance, priced on the default architecture, solved for heat with feedback.
EvaluatorOptions priced_and_heated(const Fixture& f) {
  EvaluatorOptions opt;
  opt.eval.device_seeds = 1;
  opt.arch = cost::Architecture::preset(cost::Architecture::kDefaultPreset);
  opt.thermal.default_ambient(f.ctx->operating().temperature_k);
  return opt;
}

TEST(ChipEvaluator, OnlyTheLayerWhosePrecisionChangedReprograms) {
  Fixture f;
  EvaluatorOptions opt;
  opt.eval.device_seeds = 1;
  ChipEvaluator ev(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, opt);
  const Evaluation first = ev.evaluate();
  EXPECT_EQ(first.chip.n_samples, 32);
  EXPECT_FALSE(first.cost);  // no architecture: no cost, no heat
  EXPECT_FALSE(first.thermal);
  EXPECT_FALSE(first.hot);
  const auto before = f.engines();

  std::vector<nn::Precision> p = f.net->precisions();
  p[1] = {6, 6, 8};  // the ADC stays lossless for the ideal chip below
  const Evaluation second = ev.evaluate({p, nullptr, std::nullopt});
  const auto after = f.engines();
  EXPECT_EQ(after[0], before[0]);
  EXPECT_NE(after[1], before[1]);
  EXPECT_EQ(after[2], before[2]);
  EXPECT_EQ(second.chip.layers[1].precision, p[1]);
  EXPECT_EQ(f.net->conv2->precision(), p[1]);

  // The same precisions again: nothing reprograms.
  ev.evaluate({p, nullptr, std::nullopt});
  EXPECT_EQ(f.engines(), after);
  EXPECT_EQ(ev.trace_count(), 0);  // nothing priced, nothing traced

  // Another chip: a context of its own (every layer reprograms: set_context drops the engines,
  // so a new one may take the freed address); results on that chip.
  auto ideal = chip_from("{crossbar: {rows: 64, cols: 64}, device: {impl: ideal}, dac: {impl: linear, bits: 1}, "
                         "adc: {impl: linear, bits: 8}}");  // lossless for 64 rows of 1-bit cells
  const Evaluation on_ideal = ev.evaluate({std::nullopt, ideal, std::nullopt});
  for (auto& l : f.net->analog_layers()) EXPECT_EQ(l.layer->context()->base_chip(), ideal) << l.name;
  EXPECT_NE(f.net->conv1->context(), f.ctx);
  EXPECT_DOUBLE_EQ(on_ideal.chip.analog_mean, on_ideal.chip.digital_accuracy);  // ideal cells, lossless ADC
  ev.evaluate();  // back on the evaluator's own chip and context
  EXPECT_EQ(f.net->fc->context(), f.ctx);

  EXPECT_THROW(ev.evaluate({std::vector<nn::Precision>(2), nullptr, std::nullopt}), Error);  // one per layer
}

TEST(ChipEvaluator, CostThermalAndHeatWhenEnabled) {
  Fixture f;
  const EvaluatorOptions opt = priced_and_heated(f);
  ChipEvaluator ev(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, opt);
  const Evaluation a = ev.evaluate();
  ASSERT_TRUE(a.cost);
  ASSERT_TRUE(a.thermal);
  ASSERT_TRUE(a.hot);
  EXPECT_EQ(a.cost->layers.size(), 3u);
  EXPECT_EQ(a.cost->totals.n_arrays, a.chip.n_arrays);
  EXPECT_TRUE(a.cost->layers[0].measured_read_energy);
  EXPECT_EQ(a.thermal->array_temperature_k.size(), 3u);
  EXPECT_GT(a.thermal->steady.stats.peak_k, f.ctx->operating().temperature_k);
  EXPECT_EQ(a.hot->analog_accuracy.size(), 1u);
  EXPECT_GE(a.seconds.total, a.seconds.chip_eval + a.seconds.cost + a.seconds.thermal + a.seconds.hot_eval - 1e-9);
  const auto before = f.engines();

  std::vector<nn::Precision> p = f.net->precisions();
  p[2].weight_bits = 4;
  const Evaluation b = ev.evaluate({p, nullptr, std::nullopt});
  ASSERT_TRUE(b.cost && b.thermal && b.hot);
  EXPECT_EQ(ev.trace_count(), 1);  // traced once, its bits follow the precisions
  EXPECT_EQ(ev.shape().layers[2].weight_bits, 4);
  EXPECT_EQ(b.cost->layers[2].weight_bits, 4);
  EXPECT_EQ(b.cost->layers[0].weight_bits, p[0].weight_bits);
  const auto after = f.engines();  // the heat of the first evaluation did not reprogram anything
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[1], before[1]);
  EXPECT_NE(after[2], before[2]);
}

TEST(ChipEvaluator, FloatAccuracyKeepsTheModes) {
  Fixture f;
  f.net->set_mode(nn::LayerMode::Quantised);
  ChipEvaluator ev(f.net, f.ctx, synthetic_test(16), "three", {1, 8, 8}, EvaluatorOptions{});
  const double acc = ev.float_accuracy();
  EXPECT_GE(acc, 0.0);
  EXPECT_LE(acc, 1.0);
  EXPECT_EQ(f.net->conv1->mode(), nn::LayerMode::Quantised);
}


// A search compares candidates: the same candidate evaluated again, after another one, gives
// the same numbers, read noise included (kept engines restart their read streams).
TEST(ChipEvaluator, TheSameCandidateGivesTheSameNumbers) {
  Fixture f("{crossbar: {rows: 64, cols: 64}, device: {impl: reram, g_on_us: 40, g_off_us: 4, d2d_std: 0.1, "
            "read_noise_std: 0.05}, dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 8}}");
  EvaluatorOptions opt;
  opt.eval.device_seeds = 1;
  ChipEvaluator ev(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, opt);
  const std::vector<nn::Precision> a = {{8, 8, 8}, {8, 8, 8}, {8, 8, 8}}, b = {{8, 8, 8}, {8, 6, 5}, {6, 8, 8}};
  const Evaluation first = ev.evaluate({a, nullptr, std::nullopt});
  ev.evaluate({b, nullptr, std::nullopt});
  const Evaluation again = ev.evaluate({a, nullptr, std::nullopt});
  ASSERT_EQ(first.chip.layers.size(), again.chip.layers.size());
  for (size_t i = 0; i < first.chip.layers.size(); ++i) {
    EXPECT_EQ(first.chip.layers[i].sqnr_db, again.chip.layers[i].sqnr_db) << first.chip.layers[i].name;
  }
  EXPECT_EQ(first.chip.analog_accuracy, again.chip.analog_accuracy);
}


// eval.fidelity: the evaluation reads the same programmed cells at another rung (no layer
// reprograms), says which rung it used, and on an ideal chip with a lossless ADC every rung is
// the digital result.
TEST(ChipEvaluator, FidelityRungsReadTheSameCells) {
  Fixture f("{crossbar: {rows: 64, cols: 64}, device: {impl: ideal}, adc: {impl: linear, bits: 8}}");
  EvaluatorOptions opt;
  opt.eval.device_seeds = 1;
  opt.eval.keep_programmed = true;
  ChipEvaluator ev(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, opt);
  const Evaluation exact = ev.evaluate();
  const auto engines = f.engines();
  data::DataLoader test = synthetic_test(32);  // the same generated images
  for (const Fidelity rung : {Fidelity::Tile, Fidelity::Weight}) {
    ChipEvalOptions o = opt.eval;
    o.fidelity = rung;
    const ChipEvalResult r = evaluate_on_chip(*f.net, test, f.ctx, o);
    EXPECT_EQ(r.fidelity, rung);
    EXPECT_EQ(r.to_json()["fidelity"], to_string(rung));
    EXPECT_EQ(r.analog_accuracy, exact.chip.analog_accuracy) << to_string(rung);
    EXPECT_EQ(r.digital_accuracy, r.analog_mean);
    EXPECT_EQ(f.engines(), engines) << to_string(rung);  // nothing reprogrammed
    // The same rung asked of the evaluator for one request (a search's inner loop).
    const Evaluation asked = ev.evaluate({std::nullopt, nullptr, rung});
    EXPECT_EQ(asked.chip.fidelity, rung);
    EXPECT_EQ(asked.chip.analog_accuracy, exact.chip.analog_accuracy);
    EXPECT_EQ(f.engines(), engines) << to_string(rung);
    EXPECT_GT(asked.chip.analog_seconds, 0.0);
    EXPECT_GT(asked.chip.digital_seconds, 0.0);
    EXPECT_LE(asked.chip.digital_seconds + asked.chip.analog_seconds, asked.chip.seconds);
  }
  EXPECT_EQ(ev.evaluate().chip.fidelity, Fidelity::BitExact);  // the options' rung again
  const Params p = parse_params(load_yaml_string("{fidelity: weight}", "run.yaml"), ChipEvalOptions::schema(), "eval");
  EXPECT_EQ(ChipEvalOptions::from_params(p).fidelity, Fidelity::Weight);
}

}  // namespace
}  // namespace cimkit::pipeline

namespace cimkit::pipeline {
namespace {

// Device instances stay programmed between evaluations (AnalogContext::keep_instances): a
// second pass over the seeds, at other read conditions too, reads exactly what freshly
// programmed layers read, at every rung, without programming again.
TEST(ChipEvaluator, KeptDeviceInstancesReadAsFreshOnes) {
  for (const Fidelity rung : {Fidelity::BitExact, Fidelity::Tile}) {
    Fixture f("{crossbar: {rows: 64, cols: 64}, device: {impl: reram, g_on_us: 40, g_off_us: 4, d2d_std: 0.1, "
              "c2c_std: 0.05, read_noise_std: 0.05}, dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 5}}");
    EvaluatorOptions opt;
    opt.eval.device_seeds = 3;
    opt.eval.sqnr = false;
    opt.eval.fidelity = rung;
    ChipEvaluator ev(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, opt);
    const Evaluation first = ev.evaluate();
    auto programs = [&] {
      std::vector<int64_t> n;
      for (auto& l : f.net->analog_layers()) n.push_back(l.layer->engine().tile_model_fits());
      return n;
    };
    const auto engines = f.engines();  // those of the last seed
    for (auto& l : f.net->analog_layers()) l.layer->set_temperature(330.0);
    const Evaluation warm = ev.evaluate();
    EXPECT_EQ(f.engines(), engines) << to_string(rung);  // seed 2's engines again: nothing reprogrammed
    EXPECT_NE(warm.chip.analog_accuracy, std::vector<double>{}) << to_string(rung);
    // The same reads from freshly programmed layers at 330 K.
    data::DataLoader test = synthetic_test(32);
    ChipEvalOptions fresh = opt.eval;
    fresh.keep_programmed = false;
    auto other = std::make_shared<nn::AnalogContext>(f.ctx->base_chip(), f.ctx->seed());
    other->set_operating(f.ctx->operating());
    const ChipEvalResult again = evaluate_on_chip(*f.net, test, other, fresh);
    EXPECT_EQ(again.analog_accuracy, warm.chip.analog_accuracy) << to_string(rung);
    if (rung == Fidelity::Tile) {
      EXPECT_EQ(programs(), std::vector<int64_t>(3, 1));  // one fit per fresh engine
    }
    EXPECT_EQ(first.chip.analog_accuracy.size(), 3u);
  }
}

}  // namespace
}  // namespace cimkit::pipeline

namespace cimkit::pipeline {
namespace {

// A requested precision keeps each learned quantiser's trained clipping range (step · q_p), but
// for fewer weight bits than trained takes the least-error step; the trained precision gives the
// trained steps back bit for bit.
TEST(ChipEvaluator, PrecisionChangesKeepTheTrainedQuantiserRanges) {
  for (const bool keep : {true, false}) {
    Fixture f;
    EvaluatorOptions opt;
    opt.eval.device_seeds = 1;
    opt.eval.sqnr = false;
    opt.keep_quantiser_ranges = keep;
    ChipEvaluator ev(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, opt);
    ev.evaluate();  // the quantisers initialise on the first batch: the trained state
    const torch::Tensor w8 = f.net->conv2->weight_quantizer()->step.detach().clone();
    const torch::Tensor x8 = f.net->conv2->input_quantizer()->step.detach().clone();
    std::vector<nn::Precision> p = f.net->precisions();
    const nn::Precision trained = p[1];
    p[1] = {3, 4, 8};
    ev.evaluate({p, nullptr, std::nullopt});
    const torch::Tensor w3 = f.net->conv2->weight_quantizer()->step.detach();
    const torch::Tensor x4 = f.net->conv2->input_quantizer()->step.detach();
    if (keep) {
      // Activations keep the trained range (unsigned inputs: q_p = 2^b - 1); weights below the
      // trained width take the step of least quantisation error, better than the trained range
      // (q_p = 2^(b-1) - 1) and than its neighbours.
      EXPECT_TRUE(torch::allclose(x4, x8 * (255.0 / 15.0)));
      const torch::Tensor w = f.net->conv2->weight_matrix().detach().to(torch::kFloat64);
      auto err = [&](double step) { return ((w / step).round().clamp(-3, 3) * step - w).square().sum().item<double>(); };
      const double s = w3.item<double>();
      EXPECT_LT(err(s), err(w8.item<double>() * 127.0 / 3.0));
      EXPECT_LE(err(s), err(s * 1.05));
      EXPECT_LE(err(s), err(s * 0.95));
      p[1] = {10, 8, 8};  // more weight bits than trained: the trained range
      ev.evaluate({p, nullptr, std::nullopt});
      EXPECT_TRUE(torch::allclose(f.net->conv2->weight_quantizer()->step.detach(), w8 * (127.0 / 511.0)));
    } else {
      EXPECT_TRUE(torch::equal(w3, w8));
      EXPECT_TRUE(torch::equal(x4, x8));
    }
    p[1] = trained;
    ev.evaluate({p, nullptr, std::nullopt});
    EXPECT_TRUE(torch::equal(f.net->conv2->weight_quantizer()->step.detach(), w8));
    EXPECT_TRUE(torch::equal(f.net->conv2->input_quantizer()->step.detach(), x8));
  }
}

}  // namespace
}  // namespace cimkit::pipeline

namespace cimkit::pipeline {
namespace {

// A precision search's candidate evaluation: the fixed 8-bit reference, the refinement, the
// reward of paper 000 eq. 7-8 and the record the driver logs.
TEST(CandidateEvaluator, RewardsAgainstTheFixedReference) {
  Fixture f;
  const EvaluatorOptions opt = priced_and_heated(f);
  ChipEvaluator ev(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, opt);
  const search::SearchSpace space = search::space_from_shape(ev.shape(), search::LayerRules{}, "search.layers");
  ASSERT_EQ(space.layers.size(), 3u);
  CandidateEvalOptions co;
  co.refine = false;
  co.reward.origin_accuracy_pct = 50.0;
  CandidateEvaluator ce(ev, space, co);
  const search::RewardTerms& ref = ce.reference();
  ASSERT_EQ(ref.ones.size(), 3u);
  for (size_t l = 0; l < 3; ++l) {
    EXPECT_GT(ref.ones[l], 0.0);
    EXPECT_GE(ref.delta_t_k[l], 0.0);
  }
  // The reference itself as a candidate: cost_n = 1, so R = 0.1 x (acc - 50 + 1).
  search::Candidate eight;
  eight.weight_bits = {8, 8, 8};
  eight.act_bits = {8, 8, 8};
  const search::Evaluation e8 = ce(eight);
  EXPECT_NEAR(e8.reward, 0.1 * (e8.record["acc_heat_pct"].get<double>() - 50.0 + 1.0), 1e-9);
  EXPECT_NEAR(e8.record["acc_heat_pct"].get<double>(), ref.accuracy_pct, 1e-9);
  EXPECT_EQ(e8.record["fidelity"], "tile");
  for (const char* key : {"energy_j", "latency_s", "crossbars", "peak_k", "std_k", "delta_t_k_per_layer", "ones"}) {
    EXPECT_TRUE(e8.record.contains(key)) << key;
  }
  // Other widths: the '1' bits counted are those of the codes the layers now program (not
  // necessarily fewer: at fewer bits the least-error step clips, and clipped codes are all ones).
  search::Candidate low = eight;
  low.weight_bits = {4, 3, 6};
  const search::Evaluation el = ce(low);
  EXPECT_EQ(el.record["refined_weight_bits"], "4 3 6");
  double ones = 0;
  for (auto& l : f.net->analog_layers()) ones += search::count_one_bits(l.layer->weight_codes().first);
  EXPECT_EQ(el.record["ones"].get<double>(), ones);
  EXPECT_NE(ones, e8.record["ones"].get<double>());
  // With refinement the evaluated widths never exceed the proposed ones.
  co.refine = true;
  CandidateEvaluator refining(ev, space, co);
  const std::vector<nn::Precision> p = refining.refined_precisions(low);
  for (size_t l = 0; l < 3; ++l) {
    EXPECT_LE(p[l].weight_bits, low.weight_bits[l]);
    EXPECT_GE(p[l].weight_bits, 2);
  }
  // Without the heat there is no reward to give.
  EvaluatorOptions cold = opt;
  cold.thermal.feedback = false;
  ChipEvaluator ev_cold(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, cold);
  EXPECT_THROW(CandidateEvaluator(ev_cold, space, co), Error);
}

// HAQ's short fine-tune per candidate: the record carries its loss, the same candidate gives the
// same record twice (fixed batches), and the base weights come back after each candidate.
TEST(CandidateEvaluator, FineTunesEachCandidateFromTheBaseModel) {
  Fixture f;
  const EvaluatorOptions opt = priced_and_heated(f);
  ChipEvaluator ev(f.net, f.ctx, synthetic_test(32), "three", {1, 8, 8}, opt);
  const search::SearchSpace space = search::space_from_shape(ev.shape(), search::LayerRules{}, "search.layers");
  FinetuneOptions fo;
  fo.steps = 3;
  fo.lr = 0.05;
  Finetuner tuner(f.net, data::DataLoader(synthetic_test(48).dataset(), 16, /*shuffle=*/true, 5), fo);
  CandidateEvalOptions co;
  co.reward.origin_accuracy_pct = 50.0;
  co.finetune = &tuner;
  CandidateEvaluator ce(ev, space, co);
  search::Candidate c;
  c.weight_bits = {5, 3, 6};
  c.act_bits = {6, 6, 8};
  ce.reference();
  ce.refined_precisions(c);  // the candidate's bits and quantiser steps, before any fine-tune
  std::vector<torch::Tensor> base;
  for (const auto& p : f.net->parameters()) base.push_back(p.detach().clone());
  const search::Evaluation a = ce(c);
  ASSERT_TRUE(a.record.contains("finetune_loss"));
  EXPECT_GT(a.record["finetune_loss"].get<double>(), 0.0);
  const auto params = f.net->parameters();
  for (size_t i = 0; i < base.size(); ++i) EXPECT_TRUE(torch::equal(params[i], base[i])) << "parameter " << i;
  const search::Evaluation b = ce(c);
  EXPECT_EQ(a.record["finetune_loss"], b.record["finetune_loss"]);
  EXPECT_EQ(a.record["acc_heat_pct"], b.record["acc_heat_pct"]);
  EXPECT_EQ(a.reward, b.reward);
  // The fine-tune changed what was evaluated: the '1' bits differ from the untuned candidate's.
  co.finetune = nullptr;
  CandidateEvaluator plain(ev, space, co);
  EXPECT_NE(plain(c).record["ones"], a.record["ones"]);
}

}  // namespace
}  // namespace cimkit::pipeline
