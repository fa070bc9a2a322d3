// The crossbar engine: one weight matrix W[out, in] programmed onto ReRAM arrays, and the
// matrix-vector products the chip computes with it, bit-accurately.
//
// Pipeline (docs/architecture.md, "The crossbar engine"):
//   quantise W -> signed scheme -> weight slices (slicing.hpp) -> cells on arrays of
//   rows x cols, row tiles of `rows` inputs; inputs -> codes -> DAC slices; per (row tile,
//   input slice, weight slice, polarity) column partial sum -> ADC -> shift-add -> digital
//   offset corrections -> dequantise.
// Two paths share this class:
//   integer     ideal cells and a linear DAC: partial sums are small-integer GEMMs, exact in
//               float32 (chip.cpp checks rows (2^dac-1)(2^cell-1) < 2^24).
//   conductance cell conductances from the device model (D2D, C2C, faults, drift, temperature,
//               read noise). The HRS current is cancelled before the ADC (G - G_off), removed
//               by a reference column of HRS cells per array (G - G_ref of the same row, before
//               the ADC), or converted with the signal and subtracted digitally after the ADC
//               (`digital`); each is folded into one effective matrix, so a read is still one
//               GEMM per row tile.
// With ideal cells and a lossless ADC both paths equal the integer product x_q . w_q exactly;
// the engine detects that case and takes one GEMM (`lossless_shortcut`), with identical output.
// Inputs are processed in chunks of rows so the working memory stays under chunk_mb. Tensors
// live on the weight's device; the code is device-agnostic (a fused CPU kernel is used for the
// ADC stage when the tensors are on the CPU).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>

#include "crossbar/chip.hpp"
#include "crossbar/counts.hpp"
#include "crossbar/layer_mapping.hpp"
#include "crossbar/slicing.hpp"

namespace cimkit {

// How faithfully a read follows the chip (eval.fidelity). Every rung reads the same programmed
// cells (device traits, drift, temperature, faults, read-noise variance) with the same seeds:
//   bit_exact  every (row tile, input slice, column group) partial sum through the ADC, then
//              shift-add: what the chip computes.
//   tile       per row tile, one GEMM of the input codes (as the DACs drive them, summed over
//              slices) against the cells folded across slices and polarities into one matrix,
//              one against the ideal cells, the read noise's variance through a third, and a
//              behavioural model of what the sliced ADCs make of the row-tile partial sum: per
//              (row tile, output) y = a·ideal + b·(cells - ideal) + c + e, e ~ N(0, λ·var + s²),
//              fitted by least squares against the bit-exact read of the same tile on a sample of
//              the first input rows after every (re)programming, change of read conditions
//              (drift time, temperature) or of the ADC and input slicing (engine_folded.cpp). Paper 003's single ADC per row-tile partial sum
//              (eq. 2-3) models arrays that hold whole codes; on a bit-sliced chip each slice's
//              ADC spans that slice's small range, so one ADC at the same resolution over the
//              tile's full scale is ~2^(b_x+b_w) times coarser than the chip (docs/results).
//              Without an ADC that quantises (an ideal ADC) the model is the identity.
//   weight     the same folded matrix and noise over all rows in one GEMM, no ADC (aihwkit's
//              level of abstraction).
// With ideal cells and a lossless ADC every rung returns the integer product exactly.
enum class Fidelity { BitExact, Tile, Weight };
// "bit_exact", "tile", "weight"; cimkit::Error naming `key` and the allowed names otherwise.
Fidelity parse_fidelity(const std::string& name, const std::string& key = "fidelity");
std::string to_string(Fidelity f);

struct MvmResult {
  torch::Tensor y;      // [n, out] float32: dequantised output (x_scale * w_scale * y_int)
  torch::Tensor y_int;  // [n, out] float64: the result in integer code units
  ActionCounts counts;
};

class CrossbarLayer {
 public:
  struct Options {
    bool integer_codes = false;  // W and x are already integer codes (no quantisation)
    // With integer_codes: the inputs are whole numbers by construction (a quantiser rounded
    // them), so a read checks only their range (one pass), not that each is an integer.
    bool rounded_inputs = false;
    uint64_t seed = 0;           // run seed; streams derive from (seed, layer_id)
    uint64_t layer_id = 0;
    OperatingConditions operating;
  };

  // Maps and programs W [out, in] (float; or integer codes with integer_codes).
  CrossbarLayer(std::shared_ptr<const Chip> chip, const torch::Tensor& weight, Options options);

  // Reprograms every cell: fresh cycle-to-cycle draws, same device-to-device traits.
  void program();
  // Moves the programmed layer to `chip`, which may differ from the current one only in what
  // the cells do not hold: input bits and encoding, and the ADC (a precision change of act_bits
  // or adc_bits, Chip::with_precision). The cells, their draws and their read conditions stay;
  // the mapping, the ADC transfer and a calibrated range are redone. Error otherwise.
  void retarget(std::shared_ptr<const Chip> chip);
  const std::shared_ptr<const Chip>& chip() const { return chip_; }
  // Reads draw their noise from streams numbered by read; this restarts the numbering, so the
  // reads that follow repeat those after programming (evaluations of one candidate repeat).
  void restart_reads() { read_count_ = 0; }
  void set_time_since_program(double seconds);
  void set_temperature(double kelvin);                    // every array
  void set_temperature(const torch::Tensor& per_array_k); // [n_arrays]

  // Sets a calibrated ADC's range from the partial sums of `x` (no-op for other ADCs).
  void calibrate(const torch::Tensor& x, std::optional<double> input_scale = {});

  // x: [n, in] (or [in]) -> y [n, out]. input_scale: float per code (max-based if absent).
  MvmResult forward(const torch::Tensor& x, std::optional<double> input_scale = {});
  // A convolution's read at a folded rung (engine_folded_conv.cpp): every k×k window of an
  // image of input codes [N, C, H, W] (integer codes, C·k·k = in, in the order of im2col's
  // rows) read as forward() reads that row, computed as convolutions instead of GEMMs over
  // unfolded rows. y and y_int are [N, H', W', out] (the rows im2col would give, as a view of
  // memory laid out [N, out, H', W']). Needs integer_codes and a folded rung; Error otherwise.
  struct Windows {
    int64_t kernel = 1, stride = 1, padding = 0;
  };
  MvmResult forward_windows(const torch::Tensor& codes, const Windows& windows);

  const LayerMapping& mapping() const { return map_; }
  const torch::Tensor& weight_codes() const { return w_codes_; }    // [out, in] int64
  const torch::Tensor& weight_scales() const { return w_scales_; }  // [out] float64
  bool integer_path() const { return integer_path_; }
  bool shortcut_active() const;
  // The rung forward() reads at (default bit_exact); changing it keeps the programmed cells.
  void set_fidelity(Fidelity f) { fidelity_ = f; }
  Fidelity fidelity() const { return fidelity_; }
  // false: reads skip the read-energy statistic (counts().read_energy_j_per_array is zero).
  void set_read_energy(bool on) { read_energy_ = on; }
  // Programmed conductances (siemens) of the data cells, [T, rows, K*P*out]; undefined on the
  // integer path.
  const torch::Tensor& programmed_conductance() const { return g_prog_; }
  // Writes each cell has had (int64; the device's endurance_prior_writes, then one per
  // programming): data cells [T, rows, K*P*out] as programmed_conductance, reference cells
  // [T, rows, arrays per tile]. A cell past its endurance wears (device/reram.cpp).
  const torch::Tensor& write_counts() const { return writes_; }
  const torch::Tensor& reference_write_counts() const { return ref_writes_; }
  // How often the tile rung fitted its ADC model (once per programming, read-condition or ADC
  // change that a tile read followed); rows of input it fits on at most.
  int64_t tile_model_fits() const { return tile_model_.fits; }
  static constexpr int64_t kTileModelRows = 256;
  // Fewer rows in the first chunk than this (a fully connected layer fed a small batch): no
  // model for that layer, which then reads as the weight rung does.
  static constexpr int64_t kTileModelMinRows = 16;

 private:
  enum class Mode { Convert, Calibrate };
  void check_calibrated() const;  // Error when the ADC's range is 'calibrated' and calibrate() was not called
  double plan_inputs(const torch::Tensor& x, std::optional<double> input_scale) const;
  torch::Tensor chunk_codes(const torch::Tensor& x, int64_t r0, int64_t nc, double scale) const;
  void check_chunk_codes(const torch::Tensor& x_full, const torch::Tensor& xc) const;
  int64_t chunk_rows(int64_t n, bool sliced) const;
  struct Calibration {  // bounded statistic of |partial sums|
    double quantile;
    int64_t stride;
    double max = 0.0;
    std::vector<torch::Tensor> samples;
    Calibration(double q, int64_t s) : quantile(q), stride(std::max<int64_t>(1, s)) {}
    void update(const torch::Tensor& partial);
    double result() const;
  };
  // only_tile >= 0: that row tile alone (the tile rung's calibration).
  void sliced_chunk(const torch::Tensor& stored, Mode mode, torch::Tensor& acc_c, torch::Tensor& level_sq,
                    torch::Tensor& partial, at::Generator& gen, Calibration* calib, int64_t only_tile = -1);
  void refresh_read_state();
  // The cells' conductances [T, R, G*out] and the reference cells' [T, R, A] as the columns see
  // them through the wires (chip.crossbar.ir_drop).
  std::pair<torch::Tensor, torch::Tensor> through_wires(const torch::Tensor& g, const torch::Tensor& g_ref) const;
  void plan_layer();
  void update_transfer();
  torch::Tensor subtract_pairs(const torch::Tensor& per_cell) const;
  torch::Tensor add_pairs(const torch::Tensor& per_cell) const;
  torch::Tensor dac_levels(const torch::Tensor& digits) const;
  ActionCounts count_actions(int64_t n, const torch::Tensor& row_level_sq) const;
  torch::Tensor shortcut_product(const torch::Tensor& x_codes) const;
  torch::Tensor row_level_sq(const torch::Tensor& stored) const;
  torch::Tensor row_level_sq_at(const torch::Tensor& idx) const;  // idx: stored - lo, int32
  const torch::Tensor& level_sq_lut() const;                        // [codes] float32, from lo
  torch::Tensor tiles_of_rows(torch::Tensor per_row) const;         // [in] -> [T, R]

  std::shared_ptr<const Chip> chip_;
  Options opt_;
  CrossbarSpec spec_;
  WeightLayout wl_;
  InputLayout il_;
  LayerMapping map_;
  bool integer_path_ = true;
  torch::Device device_{torch::kCPU};

  torch::Tensor w_codes_, w_scales_, w_row_sum_;  // [out,in] int64, [out] f64, [out] f64
  torch::Tensor levels_;     // [T, R, G*out] float32 target levels
  torch::Tensor coef_;       // [S, G] float64 shift-add weights (ADC step folded in)
  torch::Tensor col_array_;  // [G*out] int64: array column index of each data column

  // Conductance path state.
  CellTraits traits_, ref_traits_;
  torch::Tensor g_prog_, g_ref_prog_;  // [T,R,G*out], [T,R,arrays_per_tile] siemens
  torch::Tensor writes_, ref_writes_;  // the same shapes, int64 write counts
  int64_t program_count_ = 0;
  int64_t read_count_ = 0;
  Fidelity fidelity_ = Fidelity::BitExact;
  bool read_energy_ = true;
  // The folded rungs (engine_folded.cpp): cells folded across slices and polarities, [T, R, out]
  // float32, their read-noise variance (undefined without noise), rebuilt with the read state.
  MvmResult folded_forward(const torch::Tensor& x, double scale);
  void ensure_drive_luts() const;
  c10::ScalarType folded_gemm_type() const;
  void fit_tile_model_if_due(const torch::Tensor& first_chunk);
  torch::Tensor folded_matrix();            // [in, out] float32
  torch::Tensor folded_variance();          // [in, out] float32, undefined without read noise
  using RowSum = std::function<torch::Tensor(const torch::Tensor&)>;
  void finish_folded(torch::Tensor acc, torch::Tensor var, at::Generator& gen, const RowSum& row_sum,
                     const torch::Tensor& xv, const torch::Tensor& stored_f) const;
  void correct_offsets(torch::Tensor& acc, const torch::Tensor& stored) const;
  MvmResult finish(MvmResult r, int64_t n, double scale, const torch::Tensor& level_sq) const;
  void refresh_folded();
  torch::Tensor drive(const torch::Tensor& stored_f, const torch::Tensor& lut, bool identity) const;
  // The tile rung's ADC model, fitted on `stored` (a sample of input rows): [T, out] each.
  void fit_tile_model(const torch::Tensor& stored);
  bool tile_model_needed() const;
  torch::Tensor w_fold_, w_fold_ideal_, var_fold_;
  bool folded_dirty_ = true;
  struct TileModel {
    torch::Tensor a, b, c, lambda, s2;  // [T, out] float32
    int64_t fits = 0;                   // how often it was fitted (tests, docs)
  } tile_model_;
  bool tile_model_dirty_ = true;
  void build_tile_weights();
  torch::Tensor w_model_, var_model_;  // [T, R, out] float32: the tile model folded into the cells
  torch::Tensor c_total_, s2_total_;   // [out] float64: its offsets and residual variances, summed
  bool w_model_dirty_ = true;
  mutable torch::Tensor drive_lut_, drive_sq_lut_;  // per stored code: sum_s c_s level_s, sum_s c_s^2 level_s^2
  mutable bool drive_identity_ = false;             // drive_lut_[code] == code: no gather needed
  double time_s_ = 0.0;
  torch::Tensor temp_per_array_;       // [n_arrays] kelvin
  bool read_state_dirty_ = true;
  torch::Tensor w_eff_;      // [T, R, G*out] normalised effective matrix
  torch::Tensor noise_var_;  // [T, R, G*out] normalised read-noise variance (or undefined)
  torch::Tensor noise_std_;  // per_cell mode: [T, R, G*out] normalised std
  torch::Tensor ref_noise_var_, ref_noise_std_;  // the same for reference cells, [T, R, A]
  double hrs_levels_ = 0.0;     // G_off / dG: the HRS current of one cell in level units
  double wl_coef_sum_ = 0.0;    // sum of the shift-add coefficients of the weight slices
  torch::Tensor slice_coef_;    // [S] float64: shift-add weight of each input slice (signed)
  torch::Tensor row_g_sum_;  // [T, R, arrays_per_tile] siemens: conductance each row drives
  std::optional<double> calibrated_max_;
  mutable torch::Tensor level_sq_lut_;  // [codes]: sum over slices of level^2 per stored code
};

}  // namespace cimkit
