// A CLI a newcomer can explore (issue 10 §3): `cimkit list` covers everything a user can name,
// `cimkit describe` resolves presets and knows every section, `--set arch.KEY` refines the
// default architecture, a file given in the wrong place gets a hint, summaries tell the truth,
// and the heat map is readable.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <png.h>

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/run_cimkit.hpp"
#include "cli/run_config.hpp"
#include "core/paths.hpp"
#include "core/plot.hpp"
#include "core/registry.hpp"
#include "core/text.hpp"
#include "cost/architecture.hpp"
#include "crossbar/chip.hpp"
#include "data/dataset.hpp"
#include "nn/zoo.hpp"
#include "support/scratch.hpp"
#include "thermal/report.hpp"

namespace fs = std::filesystem;
using cimkit::testing::CliRun;
using cimkit::testing::run_cimkit;

namespace {

const std::string kSource = CIMKIT_SOURCE_DIR;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> preset_files(const std::string& kind) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kSource + "/configs/presets/" + kind))
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  return out;
}

// The line of `text` that starts (after spaces) with `key`, or "".
std::string line_of(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto p = line.find_first_not_of(' ');
    if (p != std::string::npos && line.compare(p, key.size(), key) == 0) return line;
  }
  return "";
}

// The lines under "  <section>:", up to the next line indented less.
std::string block_of(const std::string& text, const std::string& section) {
  std::istringstream in(text);
  std::string line, out;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "  " + section + ":") {
      inside = true;
    } else if (inside) {
      if (line.rfind("    ", 0) != 0) break;
      out += line + "\n";
    }
  }
  return out;
}

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

std::pair<int, int> png_size(const std::string& path) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str())) return {0, 0};
  const std::pair<int, int> wh{int(img.width), int(img.height)};
  png_image_free(&img);
  return wh;
}

bool have_fashion_mnist() { return cimkit::data::dataset_files_present("fashion_mnist"); }

}  // namespace

TEST(Explore, ListWithoutAKindNamesEveryKind) {
  CliRun r = run_cimkit("list");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* kind : {"arch", "model", "dataset", "chip", "device", "dac", "adc", "pulse_device"}) {
    EXPECT_NE(line_of(r.output, kind), "") << kind << "\n" << r.output;
  }
  for (const auto& a : preset_files("arch")) EXPECT_TRUE(contains(line_of(r.output, "arch"), a)) << a;
  for (const auto& m : cimkit::nn::zoo_names()) EXPECT_TRUE(contains(line_of(r.output, "model"), m)) << m;
  for (const auto& d : cimkit::data::dataset_names()) EXPECT_TRUE(contains(line_of(r.output, "dataset"), d)) << d;
  // Every fixed section is named, not only the first three.
  for (const char* s : {"run", "crossbar", "operating", "model", "data", "train", "eval", "arch.timing", "arch.mnsim",
                        "cost", "thermal"}) {
    EXPECT_TRUE(contains(line_of(r.output, "Config sections"), s)) << s;
  }
}

TEST(Explore, ListArchModelDatasetChip) {
  CliRun a = run_cimkit("list arch");
  ASSERT_EQ(a.code, 0) << a.output;
  for (const auto& p : preset_files("arch")) {
    const auto arch = cimkit::cost::Architecture::preset(p);
    const std::string l = line_of(a.output, p);
    EXPECT_TRUE(contains(l, cimkit::format_double(arch.technology_nm()) + " nm")) << l;
  }
  EXPECT_TRUE(contains(line_of(a.output, cimkit::cost::Architecture::kDefaultPreset), "(the default)")) << a.output;

  CliRun m = run_cimkit("list model");
  ASSERT_EQ(m.code, 0) << m.output;
  for (const auto& name : cimkit::nn::zoo_names()) {
    cimkit::nn::ZooOptions o;
    o.name = name, o.in_channels = 3, o.image_size = 32, o.n_classes = 10;
    auto net = cimkit::nn::make_model(o);
    const std::string l = line_of(m.output, name + " ");
    EXPECT_TRUE(contains(l, std::to_string(cimkit::nn::count_parameters(*net)) + " (" +
                                std::to_string(net->analog_layers().size()) + " analog layers)"))
        << name << ": " << l;
  }

  CliRun d = run_cimkit("list dataset");
  ASSERT_EQ(d.code, 0) << d.output;
  for (const auto& name : cimkit::data::dataset_names()) {
    const std::string l = line_of(d.output, name + " ");
    EXPECT_TRUE(contains(l, cimkit::data::default_data_dir(name))) << l;
    EXPECT_TRUE(contains(l, cimkit::data::dataset_files_present(name) ? "installed" : "not found")) << l;
  }

  CliRun c = run_cimkit("list chip");
  ASSERT_EQ(c.code, 0) << c.output;
  for (const auto& p : preset_files("chip")) {
    cimkit::ConfigNode n = cimkit::ConfigNode::map();
    n.set("preset", cimkit::ConfigNode::scalar(p));
    const auto chip = cimkit::Chip::from_config(n);
    EXPECT_TRUE(contains(line_of(c.output, p + " "), std::to_string(chip->spec().rows) + "x" +
                                                         std::to_string(chip->spec().cols) + " arrays"))
        << p;
  }
}

TEST(Explore, ListUnknownKindSuggests) {
  CliRun r = run_cimkit("list modle");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "did you mean 'model'")) << r.output;
  EXPECT_TRUE(contains(r.output, "known: arch, model, dataset, chip, device")) << r.output;
}

TEST(Explore, DatasetFilesPresentLooksForEveryFile) {
  const std::string dir = cimkit::testing::fresh_dir("test_cli", "datasets");
  EXPECT_FALSE(cimkit::data::dataset_files_present("mnist", dir));
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"})
    write(dir + "/" + f, "");
  EXPECT_FALSE(cimkit::data::dataset_files_present("mnist", dir));  // one file missing
  write(dir + "/t10k-labels-idx1-ubyte.gz", "");
  EXPECT_TRUE(cimkit::data::dataset_files_present("mnist", dir));
  fs::create_directories(dir + "/cifar-100-binary");
  write(dir + "/cifar-100-binary/train.bin", "");
  EXPECT_FALSE(cimkit::data::dataset_files_present("cifar100", dir));
  write(dir + "/cifar-100-binary/test.bin", "");
  EXPECT_TRUE(cimkit::data::dataset_files_present("cifar100", dir));  // the release's subdirectory
}

TEST(Explore, DescribeChipPresetShowsResolvedValuesAndSources) {
  CliRun r = run_cimkit("describe chip.default");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto chip = cimkit::Chip::default_chip();
  const cimkit::ConfigNode resolved = chip->resolved();
  for (const char* section : {"crossbar", "device", "dac", "adc"}) {
    const std::string block = block_of(r.output, section);
    ASSERT_NE(block, "") << section << "\n" << r.output;
    for (const auto& [k, v] : resolved.find(section)->items()) {
      const std::string l = line_of(block, k + ":");
      EXPECT_TRUE(std::regex_search(l, std::regex(k + ":\\s+" + std::regex_replace(v.value(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + "$")))
          << section << "." << k << " = " << v.value() << ": '" << l << "'";
    }
  }
  EXPECT_TRUE(contains(r.output, "sources:")) << r.output;
  EXPECT_TRUE(contains(r.output, "paper 000")) << r.output;              // the chip preset's own
  EXPECT_TRUE(contains(r.output, "device preset realistic_reram")) << r.output;  // and its device preset's
  EXPECT_TRUE(contains(r.output, "MNSIM 2.0 Device_Resistance")) << r.output;
}

TEST(Explore, DescribeRegistryAndArchPresets) {
  // A preset that sets some keys: those say "preset", the others their default.
  CliRun r = run_cimkit("describe device.mnsim_default");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "impl reram")) << r.output;
  const cimkit::ConfigNode preset = cimkit::load_yaml_file(kSource + "/configs/presets/device/mnsim_default.yaml");
  const std::string g_on = line_of(r.output, "g_on_us ");
  EXPECT_TRUE(contains(g_on, cimkit::format_double(std::stod(preset.find("g_on_us")->value())) + " uS")) << g_on;
  const cimkit::RegistryBase* reg = cimkit::find_registry("device");
  ASSERT_NE(reg, nullptr);
  int defaults = 0;
  for (const auto& spec : reg->find("reram")->schema.specs()) {
    const std::string l = line_of(r.output, spec.name + " ");
    const bool from_preset = preset.has(spec.name);
    defaults += !from_preset;
    EXPECT_TRUE(std::regex_search(l, std::regex(from_preset ? "  preset$" : "  default$"))) << spec.name << ": " << l;
  }
  EXPECT_GT(defaults, 0);
  EXPECT_TRUE(contains(r.output, "Device_Variation")) << r.output;  // its sources
  CliRun rr = run_cimkit("describe device.realistic_reram");
  EXPECT_TRUE(contains(rr.output, "stuck 0.1 %")) << rr.output;

  CliRun a = run_cimkit("describe arch.isaac");
  ASSERT_EQ(a.code, 0) << a.output;
  const auto isaac = cimkit::cost::Architecture::preset("isaac");
  EXPECT_TRUE(contains(line_of(a.output, "technology_nm:"), cimkit::format_double(isaac.technology_nm()))) << a.output;
  for (const auto& l : isaac.levels()) EXPECT_NE(line_of(a.output, l.name + " (role"), "") << l.name << a.output;
  for (const auto& s : isaac.sources()) EXPECT_TRUE(contains(a.output, s)) << s;
  // arch.mnsim names the section of MNSIM parameters and the preset mnsim: both are shown.
  std::ostringstream m;
  ASSERT_EQ(cimkit::cli::describe_command("arch.mnsim", m), 0);
  EXPECT_TRUE(contains(m.str(), "subarray_rows")) << m.str();
  EXPECT_TRUE(contains(m.str(), "arch.mnsim: architecture preset")) << m.str();
}

TEST(Explore, DescribeKnowsEverySectionAndListsThemWhenUnknown) {
  for (const char* name : {"run", "crossbar", "operating", "model", "data", "train", "eval", "arch", "arch.timing",
                           "arch.mnsim", "cost", "thermal", "chip", "device", "dac", "adc", "pulse_device"}) {
    std::ostringstream out;  // in-process: one binary start per name would take seconds
    EXPECT_EQ(cimkit::cli::describe_command(name, out), 0) << name;
    EXPECT_GT(out.str().size(), std::strlen(name)) << name;
  }
  CliRun bad = run_cimkit("describe thermall");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(contains(bad.output, "did you mean 'thermal'")) << bad.output;
  for (const char* name : {"run", "crossbar", "operating", "model", "data", "train", "eval", "arch", "arch.timing",
                           "arch.mnsim", "cost", "thermal", "chip", "device", "pulse_device"}) {
    EXPECT_TRUE(contains(bad.output, std::string(name) + ",") || contains(bad.output, std::string(name) + " "))
        << name << ": " << bad.output;
  }
  CliRun preset = run_cimkit("describe arch.isac");
  EXPECT_EQ(preset.code, 2);
  EXPECT_TRUE(contains(preset.output, "did you mean 'isaac'")) << preset.output;
}

TEST(Explore, DescribeArchShowsListsAndSections) {
  CliRun r = run_cimkit("describe arch");
  ASSERT_EQ(r.code, 0) << r.output;
  // levels, timing, mnsim and sources are a list or a section, not strings defaulting to "".
  for (const char* k : {"levels", "timing", "mnsim", "sources"}) {
    std::istringstream in(r.output);
    std::string line, next;
    bool found = false;
    while (std::getline(in, line)) {
      if (line.rfind(std::string("  ") + k + " ", 0) == 0) {
        std::getline(in, next);
        found = true;
        EXPECT_TRUE(contains(next, "a list") || contains(next, "a section")) << k << ": " << next;
      }
    }
    EXPECT_TRUE(found) << k << "\n" << r.output;
  }
  EXPECT_TRUE(contains(r.output, std::string("preset ") + cimkit::cost::Architecture::kDefaultPreset + " is used"))
      << r.output;
}

TEST(Explore, SetArchKeyRefinesTheDefaultArchitecture) {
  CliRun base = run_cimkit("cost -n lenet5 --json");
  CliRun fast = run_cimkit("cost -n lenet5 --json --set arch.clock_ghz=2");
  ASSERT_EQ(base.code, 0) << base.output;
  ASSERT_EQ(fast.code, 0) << fast.output;
  const auto bj = nlohmann::json::parse(base.output), fj = nlohmann::json::parse(fast.output);
  EXPECT_EQ(fj["arch"], bj["arch"]);
  EXPECT_EQ(fj["totals"]["n_arrays"], bj["totals"]["n_arrays"]);
  EXPECT_NE(fj["totals"]["latency_s"], bj["totals"]["latency_s"]);  // a faster digital clock
  CliRun th = run_cimkit("thermal -n lenet5 --set arch.clock_ghz=2 --json");
  ASSERT_EQ(th.code, 0) << th.output;
  // cimkit run resolves the same way: the default preset refined by the override.
  const cimkit::RunConfig rc = cimkit::RunConfig::load("", {"arch.clock_ghz=2"});
  const auto arch = cimkit::cost::Architecture::from_config(rc.sections.at("arch"), "arch");
  EXPECT_EQ(arch.name(), cimkit::cost::Architecture::kDefaultPreset);
  EXPECT_DOUBLE_EQ(arch.clock_hz(), 2e9);
  EXPECT_FALSE(arch.levels().empty());
}

TEST(Explore, FileInTheWrongPlaceGetsAHint) {
  const std::string fp = kSource + "/configs/examples/thermal_floorplan_example.yaml";
  const std::string net = kSource + "/networks/mnsim/lenet.yaml";
  const std::string cfg = kSource + "/configs/quickstart.yaml";
  CliRun r = run_cimkit("thermal " + fp);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, fp + " looks like a floorplan")) << r.output;
  EXPECT_TRUE(contains(r.output, "use --floorplan " + fp)) << r.output;
  EXPECT_FALSE(contains(r.output, "unknown key")) << r.output;
  r = run_cimkit("cost " + net);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "looks like a layer list")) << r.output;
  EXPECT_TRUE(contains(r.output, "use --network " + net)) << r.output;
  r = run_cimkit("thermal --floorplan " + cfg);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "looks like a config")) << r.output;
  EXPECT_TRUE(contains(r.output, "cimkit thermal " + cfg)) << r.output;
  r = run_cimkit("cost --network " + fp);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "looks like a floorplan")) << r.output;
  EXPECT_TRUE(contains(r.output, "--floorplan " + fp)) << r.output;
  r = run_cimkit("run " + fp);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "--floorplan " + fp)) << r.output;
}

TEST(Explore, TablesFitLongNames) {
  // resnet18's projection layers ("layer2.0.downsample.0") are longer than the old columns.
  CliRun r = run_cimkit("cost -n resnet18");
  ASSERT_EQ(r.code, 0) << r.output;
  std::istringstream in(r.output.substr(r.output.find("\nlayer ") + 1));
  std::string line;
  size_t width = 0;
  int rows = 0;
  while (std::getline(in, line)) {
    if (width == 0) width = line.size();
    EXPECT_EQ(line.size(), width) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 22);  // the header and 21 layers
}

TEST(Explore, HeatmapNameAndNotice) {
  const std::string dir = cimkit::testing::fresh_dir("test_cli", "heatmap");
  const std::string fp = kSource + "/configs/examples/thermal_floorplan_example.yaml";
  CliRun bad = run_cimkit("thermal -f " + fp + " --heatmap " + dir + "/map.txt");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(contains(bad.output, "--heatmap")) << bad.output;
  EXPECT_TRUE(contains(bad.output, ".png")) << bad.output;
  EXPECT_FALSE(fs::exists(dir + "/map.txt"));
  CliRun ok = run_cimkit("thermal -f " + fp + " --heatmap " + dir + "/map.png");
  ASSERT_EQ(ok.code, 0) << ok.output;
  EXPECT_TRUE(contains(ok.output, "heat map written to " + dir + "/map.png")) << ok.output;
  EXPECT_GT(png_size(dir + "/map.png").first, 512);
}

TEST(Explore, HeatmapCropsToTheUsedBlocks) {
  // A 10 x 10 mm die on a 100 x 100 grid with one 1 x 1 mm block in the south-west corner.
  cimkit::thermal::Grid2D t;
  t.nx = t.ny = 100;
  t.values.assign(100 * 100, 300.0);
  cimkit::thermal::Block b;
  b.x_m = 1e-3, b.y_m = 1e-3, b.width_m = 1e-3, b.height_m = 1e-3;
  const auto v = cimkit::thermal::crop_to_blocks(t, 10e-3, 10e-3, {b}, 0.5e-3);
  EXPECT_EQ(v.col0, 5);    // x from 0.5 mm
  EXPECT_EQ(v.cols, 20);   // to 2.5 mm
  EXPECT_EQ(v.row0, 75);   // y up to 2.5 mm (rows from the north)
  EXPECT_EQ(v.rows, 20);
  EXPECT_TRUE(contains(v.note, "of the 10.00 x 10.00 mm die")) << v.note;
  // Blocks over most of the die: no crop.
  b.x_m = b.y_m = 0, b.width_m = b.height_m = 9e-3;
  const auto all = cimkit::thermal::crop_to_blocks(t, 10e-3, 10e-3, {b}, 0.5e-3);
  EXPECT_EQ(all.rows, 0);
  EXPECT_TRUE(all.note.empty());
  // The cropped map is drawn at the window's resolution with axes.
  const std::string dir = cimkit::testing::fresh_dir("test_cli", "heatmap_crop");
  t.values[size_t(80) * 100 + 15] = 310.0;
  cimkit::thermal::MapView view = v;
  view.labels.push_back({80, 15, "block 310 K"});
  cimkit::thermal::write_temperature_png(dir + "/crop.png", "cropped", t, {{80, 15}}, view);
  cimkit::thermal::write_temperature_png(dir + "/whole.png", "whole", t, {{80, 15}});
  const auto crop = png_size(dir + "/crop.png"), whole = png_size(dir + "/whole.png");
  EXPECT_GT(crop.first, whole.first);  // the axes and the note take room
}

TEST(Explore, RunSummaryTellsTheTruth) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = cimkit::testing::fresh_dir("test_cli", "summary");
  const std::string cfg = write(dir + "/job.yaml",
                                "seed: 3\nthreads: 2\nout: " + dir + "/run\nchip: {preset: ideal}\n"
                                "model: {name: mlp, width: 0.25, weight_bits: 6, act_bits: 6, adc_bits: 8}\n"
                                "data: {name: fashion_mnist, train_limit: 256, test_limit: 100, val_fraction: 0.25}\n"
                                "train: {epochs: 1, batch_size: 64, optimizer: adam, lr: 0.003, progress: plain}\n"
                                "eval: {device_seeds: 1, sqnr: false}\ncost: {enabled: false}\n");
  CliRun r = run_cimkit("run " + cfg);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "±")) << r.output;
  EXPECT_TRUE(contains(r.output, "(1 device instance; fidelity bit_exact)")) << r.output;
  EXPECT_TRUE(contains(r.output, "1 epoch,")) << r.output;
  EXPECT_FALSE(contains(r.output, "nan")) << r.output;
  EXPECT_FALSE(contains(r.output, "SQNR")) << r.output;
  EXPECT_FALSE(contains(r.output, "cost and heat")) << r.output;
  EXPECT_FALSE(contains(r.output, ", cost ")) << r.output;
  // Two epochs, then resumed: both epochs counted, the throughput over both (not this session's).
  CliRun two = run_cimkit("run " + cfg + " --overwrite --set train.epochs=2");
  ASSERT_EQ(two.code, 0) << two.output;
  CliRun again = run_cimkit("run " + cfg + " --resume --set train.epochs=2");
  ASSERT_EQ(again.code, 0) << again.output;
  const std::string line = line_of(again.output, "training (");
  EXPECT_TRUE(contains(line, "2 epochs (all before resuming)")) << line;
  std::ifstream sf(dir + "/run/stats.json");
  const auto stats = nlohmann::json::parse(sf);
  double secs = 0, images = 0;
  for (const auto& e : stats["training"]) {
    secs += e["seconds"].get<double>();
    images += e["seconds"].get<double>() * e["images_per_s"].get<double>();
  }
  ASSERT_EQ(stats["training"].size(), 2u);
  EXPECT_TRUE(contains(line, fmt::format("{:.1f} s of training ({:.0f} images/s)", secs, images / secs))) << line;
  // A limit beyond the set's size says it uses the whole set.
  CliRun big = run_cimkit("run " + cfg + " --out " + dir + "/big --set data.train_limit=10000000 --set train.epochs=0");
  ASSERT_EQ(big.code, 0) << big.output;
  // Nothing trained: no training time, and the folder lists no trainer files.
  EXPECT_FALSE(contains(line_of(big.output, "time:"), "training")) << big.output;
  EXPECT_FALSE(contains(line_of(big.output, "run folder:"), "metrics.csv")) << big.output;
  EXPECT_FALSE(fs::exists(dir + "/big/metrics.csv"));
  EXPECT_TRUE(std::regex_search(big.output, std::regex("note: data.train_limit 10000000 is more than the [0-9]+ training "
                                                       "images of fashion_mnist; using all [0-9]+")))
      << big.output;
}
