// Paper 000's thermal-aware pretraining stage (issue 14 §1): the bit representations start at the
// network's own quantisation, the regularisers push '1' bits and magnitudes down, and the written-
// back network holds exactly the trained codes in quantised mode, with no trace of the stage left.
#include <gtest/gtest.h>

#include "pipeline/pretrain.hpp"
#include "synthetic.hpp"

namespace cimkit::pipeline {
namespace {

struct Mlp : nn::Network {
  nn::AnalogLinear fc1{nullptr}, fc2{nullptr};
  Mlp() {
    fc1 = register_module("fc1", nn::AnalogLinear(nn::AnalogLinearOptions(64, 16).signed_input(true)));
    fc2 = register_module("fc2", nn::AnalogLinear(nn::AnalogLinearOptions(16, 3)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return fc2->forward(torch::relu(fc1->forward(x.flatten(1))));
  }
};

struct Stage {
  JobModel jm;
  JobData jd;
};

Stage setup() {
  torch::manual_seed(3);
  auto net = std::make_shared<Mlp>();
  net->set_mode(nn::LayerMode::Quantised);
  data::DataLoader train(testing::synthetic(256, 1), 32, true, 2);
  data::DataLoader test(testing::synthetic(64, 9), 32, false, 0);
  {
    torch::NoGradGuard no_grad;
    net->forward(train.batch(0).images);  // the quantisers' steps initialise from a batch
  }
  JobModel jm;
  jm.net = net;
  jm.train_mode = nn::LayerMode::Quantised;
  return {jm, JobData{train, test, std::nullopt, "synthetic", false, "", 0.0}};
}

train::TrainOptions quiet() {
  train::TrainOptions t;
  t.batch_size = 32;
  t.progress = train::ProgressMode::None;
  return t;
}

TEST(Pretrain, WritesBackExactlyTheTrainedCodes) {
  Stage s = setup();
  const auto keys_before = s.jm.net->named_parameters().keys();
  PretrainOptions po;
  po.enabled = true;
  po.epochs = 2;
  po.lr = 0.01;
  po.optimizer = "adam";  // moves the planes within a few steps: the effect shows on 256 images
  po.alpha = 0.05;  // strong, so the effect shows within two epochs on 256 images
  TrainingSettings ts;
  ts.progress = nullptr;
  ts.stop_on_signals = false;
  const PretrainOutcome out = pretrain(s.jm, s.jd, po, quiet(), 7, ts);
  EXPECT_EQ(out.history.size(), 2u);
  // Fewer '1' bits and a smaller Σ|w| (paper 000 Fig. 4), measured on the representations.
  EXPECT_LT(out.after.ones, out.before.ones);
  EXPECT_GT(out.after.bit_sparsity, out.before.bit_sparsity);
  EXPECT_LT(out.after.sum_abs, out.before.sum_abs);
  // No trace: the same parameters, no weight source, the layers' mode back.
  EXPECT_EQ(s.jm.net->named_parameters().keys(), keys_before);
  for (auto& l : s.jm.net->analog_layers()) {
    EXPECT_FALSE(l.layer->has_weight_source()) << l.name;
    EXPECT_EQ(l.layer->mode(), nn::LayerMode::Quantised) << l.name;
    // Quantised mode reproduces the weights exactly: every weight is an integer number of steps.
    const torch::Tensor w = l.layer->raw_matrix().detach();
    const torch::Tensor step = l.layer->weight_quantizer()->effective_step().detach();
    const torch::Tensor q = l.layer->weight_quantizer()->forward(w).detach();
    EXPECT_TRUE(torch::allclose(q, w, 1e-6, 1e-7)) << l.name;
    EXPECT_TRUE(torch::allclose(torch::round(w / step), w / step, 0, 1e-3)) << l.name;
  }
  // The '1' bits the chip would hold are what the stage reported.
  double ones = 0;
  for (auto& l : s.jm.net->analog_layers()) {
    const torch::Tensor m = l.layer->weight_codes().first.abs().to(torch::kInt64);
    for (int b = 0; b < 16; ++b) ones += m.bitwise_right_shift(b).bitwise_and(1).sum().item<double>();
  }
  EXPECT_EQ(ones, out.after.ones);
}

TEST(Pretrain, ALayerWithAWeightSourceRefusesQuantisedMode) {
  Stage s = setup();
  auto& layer = *s.jm.net->analog_layers()[0].layer;
  layer.set_weight_source([] { return torch::zeros({16, 64}); });
  EXPECT_THROW(s.jm.net->forward(s.jd.test.batch(0).images), Error);
  s.jm.net->set_mode(nn::LayerMode::Float);
  EXPECT_NO_THROW(s.jm.net->forward(s.jd.test.batch(0).images));
  layer.set_weight_source([] { return torch::zeros({3, 3}); });
  EXPECT_THROW(s.jm.net->forward(s.jd.test.batch(0).images), ShapeError);
}

}  // namespace
}  // namespace cimkit::pipeline

namespace cimkit::pipeline {
namespace {

// BSQ (issue 14 §3): the same representation with re-quantisation and precision adjustment after
// every epoch; each layer ends at its own weight bits, written back exactly.
TEST(Pretrain, BsqSetsEachLayersBits) {
  Stage s = setup();
  PretrainOptions po;
  po.enabled = true;
  po.method = "bsq";
  po.epochs = 3;
  po.requantize_every = 1;
  po.lr = 0.01;
  po.optimizer = "adam";  // moves the planes within a few steps: the effect shows on 256 images
  po.alpha = 0.5;
  po.beta = 0.0;
  TrainingSettings ts;
  ts.progress = nullptr;
  ts.stop_on_signals = false;
  const PretrainOutcome out = pretrain(s.jm, s.jd, po, quiet(), 7, ts);
  EXPECT_EQ(out.history.size(), 3u);
  auto layers = s.jm.net->analog_layers();
  ASSERT_EQ(out.layer_bits.size(), layers.size());
  bool fewer = false;
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].layer->precision().weight_bits, out.layer_bits[i]) << layers[i].name;
    EXPECT_LE(out.layer_bits[i], 8) << layers[i].name;
    fewer = fewer || out.layer_bits[i] < 8;
    const torch::Tensor w = layers[i].layer->raw_matrix().detach();
    EXPECT_TRUE(torch::allclose(layers[i].layer->weight_quantizer()->forward(w).detach(), w, 1e-6, 1e-7)) << layers[i].name;
  }
  EXPECT_TRUE(fewer);  // a strong group lasso empties some top planes
  EXPECT_LT(out.after.ones, out.before.ones);
  EXPECT_EQ(out.accuracy_after, out.accuracy_rounded);  // no fine-tune asked for
}

// BSQ's fine-tune with the fixed scheme: QAT epochs after the stage, at the bits it left.
TEST(Pretrain, FinetuneTrainsAtTheFoundBits) {
  Stage s = setup();
  PretrainOptions po;
  po.enabled = true;
  po.method = "bsq";
  po.epochs = 1;
  po.optimizer = "adam";
  po.alpha = 0.5;
  po.beta = 0.0;
  po.finetune_epochs = 2;
  TrainingSettings ts;
  ts.progress = nullptr;
  ts.stop_on_signals = false;
  train::TrainOptions base = quiet();
  base.lr = 0.01;
  const PretrainOutcome out = pretrain(s.jm, s.jd, po, base, 7, ts);
  EXPECT_EQ(out.history.size(), 3u);  // 1 epoch of BSQ, 2 of fine-tune
  auto layers = s.jm.net->analog_layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].layer->precision().weight_bits, out.layer_bits[i]) << layers[i].name;
  }
  EXPECT_NE(out.accuracy_after, out.accuracy_rounded);  // the fine-tune changed the network
  EXPECT_NE(out.summary().find("after the fine-tune"), std::string::npos) << out.summary();
  EXPECT_EQ(out.to_json()["accuracy_rounded"].get<double>(), out.accuracy_rounded);
}

}  // namespace
}  // namespace cimkit::pipeline
