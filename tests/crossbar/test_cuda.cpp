// CUDA smoke tests: the device-agnostic tensor code gives on a GPU what it gives on the CPU.
// Every test skips when LibTorch sees no CUDA device (Debian's CPU LibTorch, CI).
//   * crossbar engine: an ideal chip's MVM (integer and conductance paths, lossless and lossy
//     ADC) returns the same integer results on CUDA as on the CPU;
//   * AnalogLinear: quantised and analog modes give the CPU's output to float tolerance, and a
//     training step (QAT and the analog surrogate) runs on CUDA with the CPU's gradients;
//   * Trainer: last.pt records the CUDA default generator's state.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Context.h>

#include <mutex>

#include "circuit/adc.hpp"
#include "engine_fixtures.hpp"
#include "nn/analog.hpp"
#include "train/checkpoint.hpp"
#include "train/fixtures.hpp"
#include "train/trainer.hpp"

using namespace cimkit;
using namespace cimkit::testing;

namespace {

#define CIMKIT_REQUIRE_CUDA()                                               \
  do {                                                                      \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";     \
  } while (0)

const torch::Device kCuda(torch::kCUDA, 0);

// ---- crossbar engine ---------------------------------------------------------------------------

struct MvmCase {
  std::string name;
  std::string path;  // integer | conductance
  bool shortcut;
  int cell_bits, dac_bits, adc_bits;  // adc_bits 0: lossless for the array
  std::string scheme, inputs;
};

std::string mvm_chip_yaml(const MvmCase& c, int rows) {
  const int adc = c.adc_bits > 0 ? c.adc_bits : lossless_adc_bits(rows, c.dac_bits, c.cell_bits);
  return "crossbar: {rows: " + std::to_string(rows) + ", cols: 32, cell_bits: " + std::to_string(c.cell_bits) +
         ", weight_bits: 8, input_bits: 8, weight_scheme: " + c.scheme + ", input_encoding: " + c.inputs +
         ", path: " + c.path + ", lossless_shortcut: " + (c.shortcut ? "true" : "false") + "}\n" +
         "device: {impl: ideal, g_on_us: 38.5, g_off_us: 5}\n" +
         "dac: {impl: linear, bits: " + std::to_string(c.dac_bits) + "}\n" +
         "adc: {impl: linear, range: full_scale, bits: " + std::to_string(adc) + "}\n";
}

TEST(Cuda, CrossbarIdealChipSameIntegersAsCpu) {
  CIMKIT_REQUIRE_CUDA();
  const std::vector<MvmCase> cases = {
      {"integer_sliced", "integer", false, 1, 1, 0, "differential", "unsigned"},
      {"integer_shortcut", "integer", true, 2, 2, 0, "offset", "offset"},
      {"integer_lossy_adc", "integer", false, 2, 1, 4, "differential", "unsigned"},
      {"conductance_cancelled", "conductance", false, 1, 1, 0, "twos_complement", "unsigned"},
      {"conductance_lossy_adc", "conductance", false, 2, 2, 5, "differential", "offset"},
  };
  const int rows = 32;
  const int64_t in = 3 * rows - 7, out = 37, n = 29;
  for (const MvmCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto chip = chip_from(mvm_chip_yaml(c, rows));
    const int64_t wmin = c.scheme == "differential" ? -127 : -128;
    const int64_t xmin = c.inputs == "offset" ? -128 : 0, xmax = c.inputs == "offset" ? 127 : 255;
    const torch::Tensor w = random_codes(out, in, wmin, 127, 11);
    const torch::Tensor x = random_codes(n, in, xmin, xmax, 12);
    CrossbarLayer::Options opt;
    opt.integer_codes = true;
    CrossbarLayer cpu(chip, w, opt);
    CrossbarLayer gpu(chip, w.to(kCuda), opt);
    EXPECT_EQ(cpu.integer_path(), c.path == "integer");
    EXPECT_EQ(gpu.integer_path(), cpu.integer_path());
    EXPECT_EQ(gpu.shortcut_active(), cpu.shortcut_active());
    const MvmResult rc = cpu.forward(x);
    const MvmResult rg = gpu.forward(x.to(kCuda));
    ASSERT_TRUE(rg.y_int.is_cuda());
    const torch::Tensor yg = rg.y_int.cpu();
    EXPECT_TRUE(torch::equal(yg, rc.y_int)) << "max |diff| " << (yg - rc.y_int).abs().max().item<double>();
    EXPECT_TRUE(torch::equal(rg.y.cpu(), rc.y));
    if (c.adc_bits == 0) {
      EXPECT_TRUE(torch::equal(yg, integer_product(x, w)));
    }
    EXPECT_EQ(rg.counts.adc_conversions, rc.counts.adc_conversions);
    // Inputs on another device than the programmed weights are refused.
    EXPECT_THROW(gpu.forward(x), Error);
  }
}

// ---- AnalogLinear ------------------------------------------------------------------------------

std::shared_ptr<const Chip> ideal_chip(int rows) {
  return chip_from("{crossbar: {rows: " + std::to_string(rows) + ", cols: 128, cell_bits: 1}, device: {impl: ideal}, "
                   "dac: {impl: linear, bits: 1}, adc: {impl: linear, bits: 8, range: full_scale}}");
}

// Copies every parameter and buffer of `from` into `to` (same structure, any device).
void copy_state(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto pf = from.named_parameters(), bf = from.named_buffers();
  for (auto& kv : to.named_parameters()) kv.value().copy_(pf[kv.key()]);
  for (auto& kv : to.named_buffers()) kv.value().copy_(bf[kv.key()]);
}

struct LinearCase {
  std::string name;
  nn::QuantMode quant;
  bool per_channel, signed_input;
  nn::Precision precision;
};

// Quantised and analog (evaluation) outputs and one training step's gradients (QAT and the
// analog surrogate with the ADC in the loop), CPU vs CUDA.
TEST(Cuda, AnalogLinearMatchesCpu) {
  CIMKIT_REQUIRE_CUDA();
  const std::vector<LinearCase> cases = {
      {"lsq", nn::QuantMode::lsq, false, false, {8, 8, 8}},
      {"lsqplus", nn::QuantMode::lsqplus, false, false, {6, 5, 8}},
      {"minmax_signed_per_channel", nn::QuantMode::minmax, true, true, {5, 4, 6}},
  };
  for (const LinearCase& c : cases) {
    SCOPED_TRACE(c.name);
    const auto opts = nn::AnalogLinearOptions(100, 9)
                          .quant(c.quant)
                          .per_channel(c.per_channel)
                          .signed_input(c.signed_input)
                          .precision(c.precision);
    torch::manual_seed(5);
    nn::AnalogLinear cpu(opts), gpu(opts);
    cpu->set_context(std::make_shared<nn::AnalogContext>(ideal_chip(32), 7));
    gpu->set_context(std::make_shared<nn::AnalogContext>(ideal_chip(32), 7));
    const torch::Tensor x = c.signed_input ? torch::randn({13, 100}) : torch::rand({13, 100});
    const torch::Tensor xg = x.to(kCuda);

    // Quantisers initialise from the CPU's first batch; the CUDA layer gets the same state.
    cpu->eval();
    cpu->set_mode(nn::LayerMode::Quantised);
    const torch::Tensor yq = cpu->forward(x).detach();
    copy_state(*cpu, *gpu);
    gpu->to(kCuda);
    gpu->eval();
    gpu->set_mode(nn::LayerMode::Quantised);
    const torch::Tensor yq_g = gpu->forward(xg).detach();
    ASSERT_TRUE(yq_g.is_cuda());
    EXPECT_TRUE(torch::allclose(yq_g.cpu(), yq, 1e-5, 1e-5)) << (yq_g.cpu() - yq).abs().max().item<double>();

    cpu->set_mode(nn::LayerMode::Analog);
    gpu->set_mode(nn::LayerMode::Analog);
    const torch::Tensor ya = cpu->forward(x);
    const torch::Tensor ya_g = gpu->forward(xg);
    ASSERT_TRUE(ya_g.is_cuda());
    EXPECT_EQ(gpu->mapping().row_tiles, 4);
    EXPECT_TRUE(torch::allclose(ya_g.cpu(), ya, 1e-5, 1e-5)) << (ya_g.cpu() - ya).abs().max().item<double>();
    EXPECT_TRUE(torch::allclose(ya_g.cpu(), yq, 1e-4, 1e-4)) << (ya_g.cpu() - yq).abs().max().item<double>();
    EXPECT_EQ(gpu->counts().adc_conversions, cpu->counts().adc_conversions);

    // One training step in each of QAT and analog (surrogate) mode, on both devices.
    for (const nn::LayerMode mode : {nn::LayerMode::Quantised, nn::LayerMode::Analog}) {
      SCOPED_TRACE(nn::to_string(mode));
      for (auto* m : {&cpu, &gpu}) {
        (*m)->train();
        (*m)->set_mode(mode);
        (*m)->zero_grad();
      }
      torch::optim::SGD opt_g(gpu->parameters(), torch::optim::SGDOptions(0.01));
      const torch::Tensor w_before = gpu->weight.detach().clone();
      const torch::Tensor loss_c = cpu->forward(x).square().mean();
      const torch::Tensor loss_g = gpu->forward(xg).square().mean();
      loss_c.backward();
      loss_g.backward();
      EXPECT_NEAR(loss_g.item<double>(), loss_c.item<double>(), 1e-4 * std::abs(loss_c.item<double>()) + 1e-6);
      ASSERT_TRUE(gpu->weight.grad().defined());
      ASSERT_TRUE(gpu->weight.grad().is_cuda());
      EXPECT_TRUE(torch::isfinite(gpu->weight.grad()).all().item<bool>());
      EXPECT_TRUE(torch::allclose(gpu->weight.grad().cpu(), cpu->weight.grad(), 1e-3, 1e-6))
          << (gpu->weight.grad().cpu() - cpu->weight.grad()).abs().max().item<double>();
      if (gpu->wq->step.defined()) {
        // The step's gradient is a difference of two large terms (the output's scale and the
        // codes' 1/step) that nearly cancel in analog mode; compare it on the scale of one term,
        // 2·loss/|step| (∂(mean y²)/∂step through y ∝ step alone).
        ASSERT_TRUE(gpu->wq->step.grad().defined());
        const double g_c = cpu->wq->step.grad().sum().item<double>();
        const double g_g = gpu->wq->step.grad().sum().item<double>();
        const double term = 2.0 * loss_c.item<double>() / cpu->wq->effective_step().abs().min().item<double>();
        EXPECT_LE(std::abs(g_g - g_c), 1e-3 * (std::abs(g_c) + term))
            << "step grad cpu " << g_c << " cuda " << g_g << " term scale " << term;
      }
      opt_g.step();
      EXPECT_FALSE(torch::equal(gpu->weight.detach(), w_before));
      // Keep the two layers identical for the next mode.
      copy_state(*gpu, *cpu);
    }
  }
}

// ---- Trainer checkpoint ------------------------------------------------------------------------

torch::Tensor cuda_generator_state() {
  at::Generator gen = at::globalContext().defaultGenerator(kCuda);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

TEST(Cuda, TrainerCheckpointRecordsCudaGenerator) {
  CIMKIT_REQUIRE_CUDA();
  using namespace cimkit::train;
  using namespace cimkit::train_test;
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 32;
  o.progress = ProgressMode::None;
  const data::Dataset train_set = quadrant_dataset(64, 1);
  data::DataLoader loader = make_loader(train_set, 32, true, 7);
  const std::string out = fresh_dir("cuda_checkpoint");
  auto net = tiny_net(3);  // dropout draws from the CUDA generator
  Trainer trainer(net, o, 21, kCuda, out);
  const TrainResult r = trainer.fit(loader);
  const torch::Tensor state_after_fit = cuda_generator_state();  // before tiny_net() reseeds
  EXPECT_EQ(r.epochs_completed, 1);
  EXPECT_TRUE(net->fc->weight.is_cuda());
  EXPECT_TRUE(std::isfinite(r.history.back().train_loss));

  auto net2 = tiny_net(4);
  Trainer other(net2, o, 21, kCuda, "");
  const LastCheckpoint s = load_last_checkpoint(trainer.last_checkpoint_path(), *net2, other.optimizer(), {}, kCuda);
  ASSERT_TRUE(s.rng_cpu.defined());
  ASSERT_TRUE(s.rng_device.defined()) << "last.pt of a CUDA run has no cimkit_rng_device";
  EXPECT_EQ(s.rng_device.scalar_type(), torch::kUInt8);
  EXPECT_GT(s.rng_device.numel(), 0);
  EXPECT_TRUE(torch::equal(s.rng_device, state_after_fit))
      << "saved " << s.rng_device << " current " << state_after_fit;
  EXPECT_TRUE(same_state(*net, *net2));
}

}  // namespace
