// PyTorch state_dict interop (nn/interop.hpp): C++ round trips, fixtures written by Python's
// torch.save(model.state_dict()) (OrderedDicts, tests/data/make_state_dict_fixtures.py), the
// mismatch listing, options, file errors, and Python reading what we write.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.hpp"
#include "nn/interop.hpp"
#include "nn/zoo.hpp"
#include "support/scratch.hpp"

using namespace cimkit;
using namespace cimkit::nn;
namespace fs = std::filesystem;

namespace {

const std::string kData = CIMKIT_TEST_DATA_DIR;

// Scratch files live in <tmp>/cimkit_test_interop_<pid>/, removed when the program exits.
std::string tmp_dir(const std::string& name) { return cimkit::testing::fresh_dir("interop", name); }

using cimkit::testing::error_of;

ZooOptions opts(const std::string& name, int64_t channels, int64_t size, double width = 1.0) {
  ZooOptions o;
  o.name = name;
  o.in_channels = channels;
  o.image_size = size;
  o.width = width;
  return o;
}

void save_dict(const std::string& path,
               const std::vector<std::pair<std::string, torch::Tensor>>& items) {
  c10::Dict<std::string, torch::Tensor> d;
  for (const auto& [k, t] : items) d.insert(k, t.detach().cpu().contiguous());
  const auto bytes = torch::jit::pickle_save(d);
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

torch::Tensor entry(const std::string& path, const std::string& key) {
  for (const auto& [k, t] : read_state_dict_file(path)) {
    if (k == key) return t;
  }
  ADD_FAILURE() << path << " has no " << key;
  return {};
}

// Random BN statistics and affine parameters, so a key mix-up changes the output.
void randomize_batchnorm(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (const auto& mod : m.modules()) {
    if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(mod.get())) {
      bn->running_mean.normal_(0.0, 0.2);
      bn->running_var.uniform_(0.5, 1.5);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0.0, 0.2);
    }
  }
}

// ---- C++ round trip ----------------------------------------------------------------------------

TEST(Interop, RoundTripKeepsEveryTensorAndTheTensorIdentities) {
  const std::string dir = tmp_dir("round_trip");
  auto o = opts("resnet20", 3, 32, 0.25);
  o.quant = QuantMode::lsqplus;
  torch::manual_seed(1);
  auto a = make_model(o);
  randomize_batchnorm(*a);
  a->set_mode(LayerMode::Quantised);
  a->forward(torch::randn({2, 3, 32, 32}));  // initialises the quantisers, updates BN statistics
  a->eval();
  save_state_dict(*a, dir + "/a.pt");
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();

  torch::manual_seed(2);
  auto b = make_model(o);
  b->eval();
  std::vector<const void*> ptrs;
  for (const auto& p : b->parameters()) ptrs.push_back(p.data_ptr());
  const auto report = load_state_dict(*b, dir + "/a.pt");
  const auto sa = state_dict(*a), sb = state_dict(*b);
  ASSERT_EQ(sa.size(), sb.size());
  EXPECT_EQ(report.loaded.size(), sa.size());
  EXPECT_TRUE(report.missing.empty() && report.unexpected.empty() && report.reinitialized.empty())
      << report.summary();
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_EQ(sa[i].second.dtype(), sb[i].second.dtype()) << sa[i].first;
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
  size_t i = 0;
  for (const auto& p : b->parameters()) EXPECT_EQ(p.data_ptr(), ptrs[i++]);
  b->set_mode(LayerMode::Quantised);
  const auto x = torch::randn({2, 3, 32, 32});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
}

TEST(Interop, StateDictOrderIsPyTorchs) {
  auto net = make_model(opts("lenet5", 1, 28));
  std::vector<std::string> keys;
  for (const auto& [k, t] : state_dict(*net)) keys.push_back(k);
  // Per module: parameters, then buffers, then the children (quantisers) in registration order.
  const std::vector<std::string> head = {
      "conv1.weight",  "conv1.bias",           "conv1.wq.step", "conv1.wq.initialized",
      "conv1.xq.step", "conv1.xq.initialized", "conv2.weight"};
  ASSERT_GE(keys.size(), head.size());
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + head.size()), head);
}

// ---- files written by Python -------------------------------------------------------------------

TEST(Interop, LoadsPythonLeNet5AndReproducesItsOutput) {
  auto net = make_model(opts("lenet5", 1, 28));
  const auto report = load_state_dict(*net, kData + "/state_dict_lenet5.pt");
  EXPECT_EQ(report.loaded.size(), 10u);
  EXPECT_EQ(report.missing.size(), 20u);  // 5 layers x {wq, xq} x {step, initialized}
  EXPECT_EQ(report.reinitialized.size(), 10u);
  EXPECT_EQ(report.reinitialized.front(), "conv1.wq");
  net->eval();
  torch::NoGradGuard no_grad;
  const auto io = kData + "/state_dict_lenet5_io.pt";
  const auto y = net->forward(entry(io, "x"));
  const auto expected = entry(io, "y");
  // float32 conv/linear in two libraries: summation order differs in the last bits.
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-5))
      << (y - expected).abs().max().item<double>();
}

TEST(Interop, LoadsPythonResNet20WithBatchNormStatistics) {
  auto net = make_model(opts("resnet20", 3, 32, 0.25));
  const auto report = load_state_dict(*net, kData + "/state_dict_resnet20.pt");
  EXPECT_EQ(report.loaded.size(), 128u);
  const auto sd = state_dict(*net);
  for (const auto& [k, t] : sd) {
    if (k == "bn1.num_batches_tracked") {
      EXPECT_EQ(t.item<int64_t>(), 3);
    }
  }
  net->eval();
  torch::NoGradGuard no_grad;
  const auto io = kData + "/state_dict_resnet20_io.pt";
  const auto y = net->forward(entry(io, "x"));
  const auto expected = entry(io, "y");
  EXPECT_TRUE(torch::allclose(y, expected, 1e-4, 1e-5))
      << (y - expected).abs().max().item<double>();
}

// Python pickles a one-entry dict with SETITEM, which LibTorch 1.13's unpickler lacks.
TEST(Interop, LoadsAOneEntryStateDict) {
  AnalogLinear lin(AnalogLinearOptions(4, 3).bias(false));
  const auto report = load_state_dict(*lin, kData + "/state_dict_single.pt");
  EXPECT_EQ(report.loaded, (std::vector<std::string>{"weight"}));
  EXPECT_EQ(report.reinitialized, (std::vector<std::string>{"wq", "xq"}));
  EXPECT_TRUE(torch::equal(lin->weight, torch::arange(12.0).reshape({3, 4})));
}

// A quantiser whose step is in the file but whose flag is not keeps the loaded step.
TEST(Interop, LoadedStepsAreNotOverwrittenByLazyInitialisation) {
  const std::string dir = tmp_dir("steps");
  torch::manual_seed(3);
  auto a = make_model(opts("mlp", 1, 28, 0.25));
  a->set_mode(LayerMode::Quantised);
  a->forward(torch::randn({4, 1, 28, 28}));
  std::vector<std::pair<std::string, torch::Tensor>> items;
  for (const auto& [k, t] : state_dict(*a)) {
    if (k.find(".initialized") == std::string::npos) items.emplace_back(k, t);
  }
  save_dict(dir + "/no_flags.pt", items);
  auto b = make_model(opts("mlp", 1, 28, 0.25));
  const auto report = load_state_dict(*b, dir + "/no_flags.pt");
  EXPECT_EQ(report.missing.size(), 6u);  // the 6 flags
  EXPECT_TRUE(report.reinitialized.empty());
  b->set_mode(LayerMode::Quantised);
  b->forward(torch::randn({4, 1, 28, 28}) * 10);  // would give other steps if re-initialised
  auto la = a->analog_layers(), lb = b->analog_layers();
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_TRUE(lb[i].layer->input_quantizer()->initialized());
    EXPECT_TRUE(
        torch::equal(la[i].layer->input_quantizer()->step, lb[i].layer->input_quantizer()->step));
    EXPECT_TRUE(
        torch::equal(la[i].layer->weight_quantizer()->step, lb[i].layer->weight_quantizer()->step));
  }
}

TEST(Interop, ConvertsDtypes) {
  const std::string dir = tmp_dir("dtypes");
  torch::manual_seed(4);
  auto a = make_model(opts("lenet5", 1, 28, 0.5));
  std::vector<std::pair<std::string, torch::Tensor>> items;
  for (const auto& [k, t] : state_dict(*a)) {
    items.emplace_back(k, t.is_floating_point() ? t.to(torch::kFloat64) : t);
  }
  save_dict(dir + "/f64.pt", items);
  auto b = make_model(opts("lenet5", 1, 28, 0.5));
  load_state_dict(*b, dir + "/f64.pt");
  const auto sa = state_dict(*a), sb = state_dict(*b);
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sb[i].second.dtype(), sa[i].second.dtype());
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
}

// ---- mismatches and options --------------------------------------------------------------------

TEST(Interop, MismatchesAreAllListed) {
  const std::string file = kData + "/state_dict_lenet5.pt";
  auto mlp = make_model(opts("mlp", 1, 28));
  const auto fc3_bias = mlp->named_parameters()["fc3.bias"].clone();  // its shape matches
  const std::string e = error_of([&] { load_state_dict(*mlp, file); });
  EXPECT_TRUE(torch::equal(mlp->named_parameters()["fc3.bias"], fc3_bias));  // nothing copied
  EXPECT_HAS(e, file + ": does not match the module");
  EXPECT_HAS(
      e,
      "4 unexpected keys (in the file, not in the module): conv1.weight, conv1.bias, conv2.weight, "
      "conv2.bias");
  EXPECT_HAS(
      e,
      "5 shape mismatches: fc1.weight: expected [256, 784], found [120, 400]; fc1.bias: expected "
      "[256], found [120]; fc2.weight: expected [128, 256], found [84, 120]; fc2.bias: expected "
      "[128], found [84]; fc3.weight: expected [10, 128], found [10, 84]");
  EXPECT_EQ(e.find("missing keys"), std::string::npos);  // quantiser keys may be missing

  auto vgg = make_model(opts("vgg8", 1, 28, 0.125));
  const std::string m = error_of([&] { load_state_dict(*vgg, file); });
  EXPECT_HAS(m,
             "missing keys (in the module, not in the file): features.0.weight, features.1.weight, "
             "features.1.bias, features.1.running_mean, features.1.running_var, "
             "features.1.num_batches_tracked, features.3.weight");
  EXPECT_HAS(m, "classifier.bias\n");
  EXPECT_HAS(m, "10 unexpected keys");

  auto cifar = make_model(opts("lenet5", 3, 32));
  EXPECT_HAS(error_of([&] { load_state_dict(*cifar, file); }),
             "1 shape mismatches: conv1.weight: expected [6, 3, 5, 5], found [6, 1, 5, 5]");
}

TEST(Interop, NonStrictReportsWhatIsMissingAndUnexpected) {
  const std::string dir = tmp_dir("non_strict");
  auto net = make_model(opts("lenet5", 1, 28));
  save_dict(dir + "/partial.pt",
            {{"conv1.weight", torch::ones({6, 1, 5, 5})}, {"extra.weight", torch::ones({2})}});
  const std::string e = error_of([&] { load_state_dict(*net, dir + "/partial.pt"); });
  EXPECT_HAS(
      e,
      "9 missing keys (in the module, not in the file): conv1.bias, conv2.weight, conv2.bias, "
      "fc1.weight, fc1.bias, fc2.weight, fc2.bias, fc3.weight, fc3.bias");
  EXPECT_HAS(e, "1 unexpected keys (in the file, not in the module): extra.weight");

  ImportOptions lax;
  lax.strict = false;
  const auto report = load_state_dict(*net, dir + "/partial.pt", lax);
  EXPECT_EQ(report.loaded, (std::vector<std::string>{"conv1.weight"}));
  EXPECT_EQ(report.unexpected, (std::vector<std::string>{"extra.weight"}));
  EXPECT_EQ(report.missing.size(), 20u + 9u);
  EXPECT_TRUE(torch::equal(net->named_parameters()["conv1.weight"], torch::ones({6, 1, 5, 5})));
  EXPECT_HAS(report.summary(), "loaded 1 tensors; missing 29: ");

  ImportOptions no_quant;
  no_quant.allow_missing_quantizers = false;
  EXPECT_HAS(
      error_of([&] { load_state_dict(*net, kData + "/state_dict_lenet5.pt", no_quant); }),
      "20 missing keys (in the module, not in the file): conv1.wq.step, conv1.wq.initialized, "
      "conv1.xq.step, conv1.xq.initialized, conv2.wq.step");
}

// ---- bad files ---------------------------------------------------------------------------------

TEST(Interop, BadFilesNameTheFileAndWhatWasFound) {
  auto net = make_model(opts("lenet5", 1, 28));
  EXPECT_HAS(error_of([&] { load_state_dict(*net, kData + "/garbage.pt"); }),
             "garbage.pt: is not a state dict (a .pt file is the zip archive torch.save writes");
  EXPECT_HAS(error_of([&] { load_state_dict(*net, kData + "/not_a_tensor.pt"); }),
             "not_a_tensor.pt: holds a list, expected a dict {name: tensor} (a state_dict)");
  EXPECT_HAS(error_of([&] { load_state_dict(*net, kData + "/w_codes.pt"); }),
             "w_codes.pt: holds a tensor");
  EXPECT_HAS(error_of([&] { load_state_dict(*net, kData + "/state_dict_bad_value.pt"); }),
             "state_dict_bad_value.pt: 'epoch' holds a number (Int), expected a tensor");
  EXPECT_HAS(error_of([&] { load_state_dict(*net, kData + "/no_such_file.pt"); }),
             "no_such_file.pt: no such file (expected a state dict)");
  EXPECT_HAS(error_of([&] { save_state_dict(*net, "/nonexistent_dir/x.pt"); }),
             "/nonexistent_dir/x.pt: cannot open for writing: No such file or directory");
}

// ---- Python reads what we write ----------------------------------------------------------------

// Every zoo model (width 0.25, both input shapes, random BN statistics) is written with
// save_state_dict together with an input and its float-mode eval output; Python loads each file
// into the PyTorch twin of the model (make_state_dict_fixtures.py, quantiser keys removed,
// strict), checks the key order and reproduces the output (tolerance 1e-4 relative).
TEST(Python, TorchLoadsOurStateDictsIntoTwinModels) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "Python with torch not installed (Debian: python3-torch)";
  }
  const std::string dir = tmp_dir("python");
  torch::manual_seed(5);
  for (const auto& name : zoo_names()) {
    for (const auto& [c, s] : std::vector<std::pair<int64_t, int64_t>>{{1, 28}, {3, 32}}) {
      auto net = make_model(opts(name, c, s, 0.25));
      randomize_batchnorm(*net);
      net->set_mode(LayerMode::Quantised);
      net->forward(torch::randn({2, c, s, s}));  // quantiser steps become real values
      net->set_mode(LayerMode::Float);
      net->eval();
      const std::string stem = dir + "/" + name + "_" + std::to_string(c) + "x" + std::to_string(s);
      save_state_dict(*net, stem + ".pt");
      torch::NoGradGuard no_grad;
      const auto x = torch::randn({2, c, s, s});
      save_dict(stem + "_io.pt", {{"x", x}, {"y", net->forward(x)}});
    }
  }
  const std::string cmd =
      "/usr/bin/python3 " + kData + "/make_state_dict_fixtures.py check " + dir + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int rc = pclose(p);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_HAS(out, "ok resnet34_3x32");
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
}

}  // namespace
