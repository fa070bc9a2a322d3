// Column-current error of a crossbar under IR drop (issue 15 §2, first part): for square arrays
// of 32..512 rows and columns, wire resistances per segment and two conductance ranges, the
// relative error of the column currents against the ideal product x·G, with `circuit` (the
// network solved) and `fast` (first order), the error of `fast` against `circuit`, and the time
// each costs. Two kinds of inputs drive the rows (one DAC slice, 1-bit levels at 1 V):
//   random     every row on with probability 1/2;
//   realistic  bit planes of Fashion-MNIST pixel codes (consecutive pixels of test images, the
//              first layer's inputs: sparse, correlated; all 8 planes).
// Cells: 1-bit, LRS with probability 0.3 (a bit plane of 8-bit weights), otherwise HRS.
//   cimkit_ir_drop_sweep --out DIR [--sizes "32 64 128 256 512"] [--wires "0.5 1 2.82"] [--vectors 16]
// writes DIR/column_error.csv and DIR/column_error.md.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "circuit/ir_drop.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/dataset.hpp"

using namespace cimkit;
namespace fs = std::filesystem;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<double> numbers(const std::string& s) {
  std::vector<double> v;
  std::istringstream is(s);
  for (double x; is >> x;) v.push_back(x);
  return v;
}

double rel(const torch::Tensor& a, const torch::Tensor& ref) { return ((a - ref).norm() / ref.norm()).item<double>(); }

// [n, rows] bit planes of consecutive pixels of test images, from the image's sixth pixel row on
// (the top rows are background), continuing into the next image where an array is longer;
// planes that are all zero (nothing to read) are skipped.
torch::Tensor realistic_inputs(const data::Dataset& d, int64_t n, int64_t rows) {
  const torch::Tensor pix = d.images.reshape({d.size(), -1}).to(torch::kInt64);  // [N, 784]
  const int64_t skip = 6 * 28;
  torch::Tensor out = torch::empty({n, rows}, torch::kFloat64);
  int64_t filled = 0;
  for (int64_t k = 0; filled < n; ++k) {
    if (k > 64 * n) throw Error("ir_drop_sweep: the test images gave too few non-zero bit planes");
    const int64_t image = k / 8, plane = 7 - k % 8;  // most significant planes first
    torch::Tensor seq = pix[image % d.size()].narrow(0, skip, pix.size(1) - skip);
    for (int64_t next = image + 1; seq.size(0) < rows; ++next) seq = torch::cat({seq, pix[next % d.size()]});
    const torch::Tensor bits = torch::bitwise_and(torch::bitwise_right_shift(seq.narrow(0, 0, rows), plane), 1);
    if (bits.sum().item<int64_t>() == 0) continue;
    out[filled++] = bits.to(torch::kFloat64);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Column-current error of a crossbar under IR drop (docs/results/ir_drop.md)"};
  std::string out, sizes_s = "32 64 128 256 512", wires_s = "0.5 1 2.82";
  int64_t vectors = 16;
  app.add_option("--out", out, "Output folder")->required();
  app.add_option("--sizes", sizes_s, "Array sizes (rows = columns)");
  app.add_option("--wires", wires_s, "Wire resistance per segment, rows and columns (ohms)");
  app.add_option("--vectors", vectors, "Input vectors per case")->check(CLI::Range(1, 4096));
  CLI11_PARSE(app, argc, argv);
  try {
    set_threads(0);
    fs::create_directories(out);
    const data::Dataset test = data::load_mnist_like(data::default_data_dir("fashion_mnist"), false, "fashion_mnist");
    struct Range {
      const char* name;
      double g_on, g_off;
    };
    // LRS 10 kΩ / HRS 1 MΩ (MNSIM 2.0's default cell) and LRS 100 kΩ / HRS 10 MΩ (NeuroSim V2.0's
    // RRAM: 100 kΩ on, on/off 10 … here 100 for the same ratio as the first).
    const Range ranges[] = {{"10k-1M", 1e-4, 1e-6}, {"100k-10M", 1e-5, 1e-7}};
    std::ofstream csv(fs::path(out) / "column_error.csv");
    csv << "size,r_wire_ohm,range,inputs,err_circuit,err_fast,fast_vs_circuit,circuit_s,fast_s,sweeps\n";
    std::ostringstream md;
    md << "| size | wire (Ω/segment) | cells | inputs | error, circuit (%) | error, fast (%) | fast vs circuit (%) "
          "| circuit (s) | fast (s) | sweeps |\n|---|---|---|---|---|---|---|---|---|---|\n";
    for (double size_d : numbers(sizes_s)) {
      const int64_t n = static_cast<int64_t>(size_d);
      for (const Range& range : ranges) {
        auto gen = make_generator(static_cast<uint64_t>(n) * 7 + 1);
        const torch::Tensor lrs = at::rand({n, n}, gen, c10::nullopt, torch::kFloat64) < 0.3;
        const torch::Tensor g = torch::where(lrs, torch::full({}, range.g_on, torch::kFloat64),
                                             torch::full({}, range.g_off, torch::kFloat64));
        const torch::Tensor random_x =
            (at::rand({vectors, n}, gen, c10::nullopt, torch::kFloat64) < 0.5).to(torch::kFloat64);
        const torch::Tensor real_x = realistic_inputs(test, vectors, n);
        for (double r : numbers(wires_s)) {
          circuit::WireParasitics w;
          w.r_row_ohm = w.r_col_ohm = r;
          for (const auto& [inputs, x] : {std::pair<const char*, torch::Tensor>{"random", random_x}, {"realistic", real_x}}) {
            const torch::Tensor ideal = torch::mm(x, g);
            circuit::SolveStats st;
            const double t0 = now_s();
            const torch::Tensor exact = circuit::column_currents(g, x, w, {}, &st);
            const double t1 = now_s();
            const torch::Tensor fast = torch::mm(x, circuit::effective_conductance(g, w, circuit::IrDropMode::Fast));
            const double t2 = now_s();
            const double e_c = rel(exact, ideal), e_f = rel(fast, ideal), e_fc = rel(fast, exact);
            csv << fmt::format("{},{},{},{},{:.6g},{:.6g},{:.6g},{:.4g},{:.4g},{}\n", n, r, range.name, inputs, e_c, e_f,
                               e_fc, t1 - t0, t2 - t1, st.sweeps);
            md << fmt::format("| {} | {} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {:.3f} | {:.4f} | {} |\n", n, r, range.name,
                              inputs, 100 * e_c, 100 * e_f, 100 * e_fc, t1 - t0, t2 - t1, st.sweeps);
            std::cout << fmt::format("{}x{} r {} {} {}: circuit {:.3f} % fast {:.3f} % (fast vs circuit {:.3f} %), "
                                     "{:.2f} s / {:.4f} s, {} sweeps\n",
                                     n, n, r, range.name, inputs, 100 * e_c, 100 * e_f, 100 * e_fc, t1 - t0, t2 - t1, st.sweeps)
                      << std::flush;
          }
        }
      }
    }
    std::ofstream(fs::path(out) / "column_error.md") << md.str();
  } catch (const std::exception& e) {
    std::cerr << "cimkit_ir_drop_sweep: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
