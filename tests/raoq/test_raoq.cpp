// Paper 003's RAOQ mechanisms: eq. 3's step, W-reshape's kurtosis and its gradient, BitAug's
// schedule, pass and resume, ADC-LoRA's warm-up and frozen weights, and digital layers.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "train/adc_lora.hpp"
#include "train/bitaug.hpp"
#include "train/kurtosis.hpp"
#include "train/trainer.hpp"
#include "../train/fixtures.hpp"

using namespace cimkit;
using namespace cimkit::train;
using namespace cimkit::train_test;

namespace {

std::shared_ptr<const Chip> raoq_chip(bool a_shift, int adc_bits = 5, const std::string& encoding = "unsigned",
                                      int dac_bits = 4) {
  return Chip::from_config(
      load_yaml_string("{crossbar: {rows: 16, cols: 64, cell_bits: 3, weight_bits: 4, input_bits: 4, subtract: analog, "
                       "input_encoding: " + encoding + ", a_shift: " + (a_shift ? "true" : "false") +
                       "}, device: {impl: ideal}, dac: {impl: linear, bits: " + std::to_string(dac_bits) + "}, adc: {impl: linear, bits: " +
                       std::to_string(adc_bits) + ", range: clipped, clip_k: 4, rounding: floor}}",
                       "raoq_chip.yaml"),
      "chip");
}

// A digital first conv (8 bits), batch norm, and two linear layers on the arrays (4 bits, 5-bit ADC).
struct RaoqNet : nn::Network {
  nn::AnalogConv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  nn::AnalogLinear fc1{nullptr}, fc2{nullptr};
  RaoqNet() {
    conv = register_module("conv", nn::AnalogConv2d(nn::AnalogConv2dOptions(1, 4, 3).padding(1).precision({8, 8, 5})
                                                        .quant(nn::QuantMode::lsqplus).signed_input(true)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
    fc1 = register_module("fc1", nn::AnalogLinear(nn::AnalogLinearOptions(64, 16).precision({4, 4, 5}).quant(nn::QuantMode::lsqplus)));
    fc2 = register_module("fc2", nn::AnalogLinear(nn::AnalogLinearOptions(16, 4).precision({4, 4, 5}).quant(nn::QuantMode::lsqplus)));
    conv->set_digital(true);
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    const torch::Tensor h = torch::max_pool2d(torch::relu(bn(conv->forward(x))), 2).flatten(1);
    return fc2->forward(torch::relu(fc1->forward(h)));
  }
};

std::shared_ptr<RaoqNet> raoq_net(uint64_t seed, bool a_shift = true) {
  torch::manual_seed(seed);
  auto net = std::make_shared<RaoqNet>();
  auto ctx = std::make_shared<nn::AnalogContext>(raoq_chip(a_shift), 1);
  ctx->training.adc_model = nn::SurrogateAdc::Tile;
  net->set_context(ctx);
  return net;
}

// One linear layer of 16 inputs with both steps 1 (codes = values) and weight (w, 0, ..., 0).
double one_output(bool a_shift, bool signed_input, double w, double x, const std::string& encoding = "unsigned") {
  // Bipolar inputs: b_x − 1 = 3 magnitude bits on a 3-bit DAC (whole codes, eq. 3's signed variant).
  auto ctx = std::make_shared<nn::AnalogContext>(raoq_chip(a_shift, 6, encoding, encoding == "bipolar" ? 3 : 4), 1);
  ctx->training.adc_model = nn::SurrogateAdc::Tile;
  nn::AnalogLinear lin(nn::AnalogLinearOptions(16, 1).precision({4, 4, 6}).bias(false).signed_input(signed_input));
  lin->set_context(ctx);
  lin->set_mode(nn::LayerMode::Quantised);
  lin->forward(torch::ones({1, 16}));  // initialises the steps
  {
    torch::NoGradGuard no_grad;
    lin->wq->step.fill_(1.0);
    lin->xq->step.fill_(1.0);
    lin->weight.zero_();
    lin->weight[0][0] = w;
  }
  lin->set_mode(nn::LayerMode::Analog);
  lin->train();
  const torch::Tensor x_in = torch::zeros({1, 16}) + x;
  return lin->forward(x_in).item<double>();
}

}  // namespace

// Eq. 2-3 on one 16-row tile, 4-bit weights and inputs, a 6-bit ADC, k = 4 (steps of 1: codes).
TEST(Raoq, Eq3StepAgainstHandValues) {
  // Unsigned inputs: Δ = 2·16·15·7 / (2^6·4) = 13.125; 7·14 = 98 → ⌊98/13.125⌋ = 7 → 91.875.
  EXPECT_DOUBLE_EQ(one_output(false, false, 7, 14), 7 * 13.125);
  EXPECT_DOUBLE_EQ(one_output(false, false, 7, 15), 105.0);  // 8 steps exactly
  // A-shift: Δ = 2·16·8·7 / 256 = 7; 5·(14 − 8) = 30 → ⌊30/7⌋ = 4 → 28, plus 8·5 digitally.
  EXPECT_DOUBLE_EQ(one_output(true, false, 5, 14), 28.0 + 40.0);
  // Signed inputs (bipolar, eq. 3's signed variant): Δ = 2·16·7·7 / 256 = 6.125; 5·(−5) = −25 →
  // ⌊−4.08⌋ = −5 → −30.625.
  EXPECT_DOUBLE_EQ(one_output(false, true, 5, -5, "bipolar"), -5 * 6.125);
  // Clipping at n_a = −32: 7·(−7) per row is far inside; 16 rows of the same are not (one row here).
}

// The ADC's error reaches the weight step through y = s_x·s_w·acc with LSQ's gradient scale g:
// the step gradients with a lossy and a lossless ADC differ by exactly g·Σ(y_lossy − y_lossless)/s_w
// (the straight-through paths are the same; loss Σy).
TEST(Raoq, AdcErrorReachesTheStepsWithLsqsScale) {
  auto grad_and_out = [](int adc_bits) {
    torch::manual_seed(12);
    auto ctx = std::make_shared<nn::AnalogContext>(raoq_chip(false, adc_bits), 1);
    ctx->training.adc_model = nn::SurrogateAdc::Tile;
    nn::AnalogLinear lin(nn::AnalogLinearOptions(48, 6).precision({4, 4, adc_bits}).bias(false));
    lin->set_context(ctx);
    const torch::Tensor x = torch::rand({10, 48}) * 2;
    lin->set_mode(nn::LayerMode::Quantised);
    lin->forward(x);
    lin->set_mode(nn::LayerMode::Analog);
    lin->train();
    const torch::Tensor y = lin->forward(x);
    y.sum().backward();
    return std::make_tuple(lin->wq->step.grad().item<double>(), y.detach().to(torch::kFloat64),
                           lin->wq->step.item<double>(), lin->wq->grad_scale());
  };
  const auto [g_lossy, y_lossy, s, g] = grad_and_out(4);
  const auto [g_exact, y_exact, s2, g2] = grad_and_out(16);
  ASSERT_EQ(s, s2);
  const double expected = g * (y_lossy - y_exact).sum().item<double>() / s;
  EXPECT_GT(std::abs(expected), 1e-3 * std::abs(g_exact));  // the ADC's error is not negligible here
  EXPECT_NEAR(g_lossy - g_exact, expected, 1e-3 * std::abs(expected) + 1e-6);
  EXPECT_LT(g, 0.05);  // LSQ's 1/sqrt(N·Q_P): 1/sqrt(288·7)
}

TEST(Raoq, KurtosisAndItsGradient) {
  EXPECT_NEAR(kurtosis(torch::tensor({1.0, -1.0, 1.0, -1.0})).item<double>(), 1.0, 1e-12);
  torch::manual_seed(3);
  EXPECT_NEAR(kurtosis(torch::randn({400000}, torch::kFloat64)).item<double>(), 3.0, 0.05);  // Gaussian
  EXPECT_NEAR(kurtosis(torch::rand({400000}, torch::kFloat64)).item<double>(), 1.8, 0.02);   // uniform: 9/5
  EXPECT_THROW(kurtosis(torch::ones({1})), ShapeError);
  // Gradient against central differences, in float64.
  const torch::Tensor x = torch::randn({12}, torch::kFloat64).requires_grad_(true);
  kurtosis(x).backward();
  const torch::Tensor g = x.grad();
  const double h = 1e-6;
  for (int64_t i = 0; i < 12; ++i) {
    torch::Tensor xp = x.detach().clone(), xm = x.detach().clone();
    xp[i] += h;
    xm[i] -= h;
    const double fd = (kurtosis(xp).item<double>() - kurtosis(xm).item<double>()) / (2 * h);
    EXPECT_NEAR(g[i].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd))) << i;
  }
}

// Eq. 7 / 13 over the layers on the arrays: the digital conv is left out, the later half × 4.
TEST(Raoq, WReshapeTermOverTheLayersOnTheArrays) {
  auto net = raoq_net(1);
  net->set_mode(nn::LayerMode::Quantised);
  net->forward(torch::randn({8, 1, 8, 8}));  // initialise the steps
  WReshape term(*net, {1e-3, 4.0, 0.5});
  ASSERT_EQ(term.coefficients().size(), 2u);
  EXPECT_EQ(term.coefficients()[0], 1.0);
  EXPECT_EQ(term.coefficients()[1], 4.0);
  const double k1 = kurtosis(net->fc1->wq->forward(net->fc1->weight)).item<double>();
  const double k2 = kurtosis(net->fc2->wq->forward(net->fc2->weight)).item<double>();
  EXPECT_NEAR(term.loss().item<double>(), k1 + 4 * k2, 1e-4 * (k1 + 4 * k2));
  term.loss().backward();
  EXPECT_TRUE(net->fc1->weight.grad().defined());
  EXPECT_FALSE(net->conv->weight.grad().defined());
  const auto stats = term.stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].layer, "fc1");
  EXPECT_GT(stats[0].var_codes, 0.0);
}

TEST(Raoq, BitAugScheduleAndDraws) {
  EXPECT_DOUBLE_EQ(bitaug_weight(0, 100), 1.0);
  EXPECT_NEAR(bitaug_weight(50, 100), 0.5, 1e-12);
  EXPECT_NEAR(bitaug_weight(100, 100), 0.0, 1e-12);
  EXPECT_GT(bitaug_weight(25, 100), bitaug_weight(26, 100));
  const std::vector<int> offsets{-1, 1, 2};
  std::map<int, int> seen;
  for (int64_t s = 0; s < 3000; ++s) {
    const int o = bitaug_offset(7, s, offsets);
    EXPECT_EQ(o, bitaug_offset(7, s, offsets));  // a function of (seed, step)
    ++seen[o];
  }
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& [o, n] : seen) EXPECT_NEAR(n / 3000.0, 1.0 / 3, 0.04) << o;
  auto net = raoq_net(1);
  EXPECT_THROW(bitaug_pass(net, BitAugOptions{{0, 1}}), Error);
  EXPECT_THROW(bitaug_pass(net, BitAugOptions{{1, 1}}), Error);
  EXPECT_THROW(bitaug_pass(net, BitAugOptions{{-5}}), Error);  // 5 − 5 = 0 bits
}

// The second pass adds its gradient, and leaves the precisions and BatchNorm statistics as the
// target resolution's pass left them.
TEST(Raoq, BitAugPassAccumulatesAndRestores) {
  auto net = raoq_net(2);
  net->set_mode(nn::LayerMode::Quantised);
  const torch::Tensor x = torch::randn({16, 1, 8, 8});
  const torch::Tensor y = torch::randint(0, 4, {16});
  net->forward(x);
  net->set_mode(nn::LayerMode::Analog);
  net->train();
  torch::nn::functional::cross_entropy(net->forward(x), y).backward();
  const torch::Tensor g1 = net->fc1->weight.grad().clone();
  const torch::Tensor mean1 = net->bn->running_mean.clone();
  BitAugOptions o;
  o.epochs = 1;
  auto pass = bitaug_pass(net, o);
  const double ce = pass(x, y, BatchInfo{0, 0, 10, 0, 1e-3, 0.0});
  EXPECT_GT(ce, 0.0);
  EXPECT_FALSE(torch::equal(net->fc1->weight.grad(), g1));  // λ_b = 1 at step 0
  EXPECT_TRUE(torch::equal(net->bn->running_mean, mean1));
  EXPECT_EQ(net->fc1->precision().adc_bits, 5);
  EXPECT_EQ(net->conv->precision().adc_bits, 5);
}

// A run with BitAug stopped after one epoch and resumed ends bitwise where an uninterrupted one does.
TEST(Raoq, BitAugResumesBitwise) {
  const data::Dataset train_set = quadrant_dataset(64, 1);
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.optimizer = OptimizerKind::Adam;
  o.lr = 0.01;
  o.progress = ProgressMode::None;
  BitAugOptions bo;
  bo.epochs = 2;
  bo.seed = 5;
  auto run = [&](std::shared_ptr<RaoqNet> net, int64_t epochs, const std::string& dir, bool resume) {
    net->set_mode(nn::LayerMode::Analog);
    TrainOptions oo = o;
    Trainer t(net, oo, 3, torch::kCPU, dir);
    t.add_extra_pass("bitaug", bitaug_pass(net, bo));
    if (resume) t.resume(t.last_checkpoint_path());
    data::DataLoader loader = make_loader(train_set, 16, true, 7);
    if (epochs < 2) {
      int64_t batches = 0;
      t.add_batch_hook([&](const BatchInfo&) {
        if (++batches == 4) t.request_stop();  // one epoch of 4 batches
      });
    }
    return t.fit(loader);
  };
  auto full = raoq_net(4);
  run(full, 2, fresh_dir("bitaug_full"), false);
  const std::string dir = fresh_dir("bitaug_split");
  auto first = raoq_net(4);
  EXPECT_TRUE(run(first, 1, dir, false).interrupted);
  auto second = raoq_net(99);  // other initial weights: everything comes from the checkpoint
  EXPECT_FALSE(run(second, 2, dir, true).interrupted);
  EXPECT_TRUE(same_state(*full, *second));
}

// Eq. 12's warm-up lowers the MSE it minimises; the frozen weights never move, A and B do.
TEST(Raoq, AdcLoraWarmupAndFrozenWeights) {
  auto net = raoq_net(5);
  const data::Dataset d = quadrant_dataset(32, 2);
  data::DataLoader one_batch = make_loader(d, 32, false, 0);
  net->set_mode(nn::LayerMode::Quantised);
  net->forward(one_batch.batch(0).images);
  const int64_t before = trainable_parameters(*net);
  LoraOptions lo;
  lo.rank = 2;
  lo.warmup_steps = 40;
  EXPECT_THROW(enable_adc_lora(*net, LoraOptions{2, {"conv"}}), Error);  // digital
  EXPECT_THROW(enable_adc_lora(*net, LoraOptions{2, {"fc9"}}), Error);
  const auto names = enable_adc_lora(*net, lo);
  EXPECT_EQ(names, (std::vector<std::string>{"fc1", "fc2"}));
  // fc1 64x16 and fc2 16x4 frozen; A and B added: (16+64)·2 + (4+16)·2.
  EXPECT_EQ(trainable_parameters(*net), before - 64 * 16 - 16 * 4 + 160 + 40);
  const torch::Tensor w1 = net->fc1->weight.clone(), w2 = net->fc2->weight.clone();
  const std::vector<double> mse = lora_warmup(*net, one_batch, lo);
  ASSERT_EQ(mse.size(), 40u);
  EXPECT_LT(mse.back(), 0.5 * mse.front());  // 0.031 -> 0.0065 when written
  EXPECT_TRUE(torch::equal(net->fc1->weight, w1));
  // A training step against the labels moves A, B but not W.
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 32;
  o.progress = ProgressMode::None;
  net->set_mode(nn::LayerMode::Analog);
  Trainer t(net, o, 1);
  data::DataLoader loader = make_loader(d, 32, true, 1);
  const torch::Tensor b1 = net->named_parameters()["fc1.lora_b"].clone();
  t.fit(loader);
  EXPECT_TRUE(torch::equal(net->fc1->weight, w1));
  EXPECT_TRUE(torch::equal(net->fc2->weight, w2));
  EXPECT_FALSE(torch::equal(net->named_parameters()["fc1.lora_b"], b1));
}

// A digital layer computes its codes' exact product in analog mode and never programs a chip.
TEST(Raoq, DigitalLayerStaysOffTheArrays) {
  auto net = raoq_net(6);
  const torch::Tensor x = torch::randn({4, 1, 8, 8});
  net->set_mode(nn::LayerMode::Quantised);
  const torch::Tensor q = net->conv->forward(x).detach();
  net->set_mode(nn::LayerMode::Analog);
  EXPECT_EQ(net->conv->mode(), nn::LayerMode::Quantised);
  EXPECT_EQ(net->fc1->mode(), nn::LayerMode::Analog);
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(net->conv->forward(x), q));
  net->forward(x);
  EXPECT_FALSE(net->conv->programmed());
  EXPECT_TRUE(net->fc1->programmed());
}
