// Analog layers: AnalogLinear and AnalogConv2d, in the LibTorch module style
// (…Options / …Impl / TORCH_MODULE). Each holds float weights, a weight quantiser, an input
// (activation) quantiser, and a per-layer precision {weight bits, activation bits, ADC bits}
// that can be changed at run time (set_precision: no parameter is re-registered, so optimizers
// and state dicts stay valid while a search flips bits thousands of times).
//
// Modes (set_mode, per layer or for a whole network through Network::set_mode):
//   float      y = W·x + b.
//   quantised  fake-quant QAT: y = Q_w(W)·Q_x(x) + b, straight-through gradients (quantizer.hpp).
//   analog     evaluation (no grad, or eval()): the layer's integer weight codes are programmed
//              onto the chip (CrossbarLayer with integer_codes) once, and every forward reads the
//              chip: inputs -> codes -> DAC slices -> arrays -> ADC -> shift-add, bit-accurate,
//              with drift and temperature applied at read time. Reprogrammed when the weights,
//              quantiser steps, precision or device seed change, or on program().
//              training (grad enabled and is_training()): a differentiable surrogate of the chip
//              with the ADC in the loop (AnalogTraining): by default the forward value is the
//              chip's digital result (the layer's codes through a replica of its chip with ideal
//              cells: same slicing, same ADC per slice) and the backward pass is straight-through;
//              or paper 003 §3.1's model, per row tile of `rows` inputs the partial sum of codes
//              y_t = <x̄, w̄> through ȳ = Δ_a·⌊clip(y_t/Δ_a, n_a, p_a)⌋ (eq. 2, straight-through
//              floor) with Δ_a from eq. 3. Optional Gaussian weight and output noise.
//
// Weights are quantised symmetrically (codes in ±(2^(b−1)−1)): the chip's differential pairs store
// magnitudes, so LSQ's extra code −2^(b−1) does not exist on it (paper 003 assumes symmetric
// weights too). Inputs use unsigned codes [0, 2^b−1] (post-ReLU layers, and the first layer, which
// reads pixels with the dataset normalisation folded in: set_input_normalisation) or, for layers
// whose input is signed (signed_input, e.g. a first layer with model.first_layer_input:
// normalised), symmetric signed codes ±(2^(b−1)−1), which every signed input encoding of the chip
// represents (offset, two_phase, bipolar; Chip::with_precision). An LSQ+ activation offset β is
// folded digitally: y = s_x·s_w·(x̄·w̄) + β·Σ(s_w·w̄) + b.
#pragma once
#include <torch/torch.h>

#include <functional>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "crossbar/chip.hpp"
#include "crossbar/engine.hpp"
#include "nn/quantizer.hpp"

namespace cimkit::nn {

enum class LayerMode { Float, Quantised, Analog };
// "float", "quantised" (also "quantized", "qat"), "analog"; cimkit::Error listing the allowed names.
LayerMode parse_layer_mode(const std::string& name, const std::string& key = "mode");
std::string to_string(LayerMode mode);

// Per-layer precision (crossbar/precision.hpp): applied to the chip by Chip::with_precision.
using cimkit::Precision;

// Analog-mode training: the surrogate's ADC and noise injection (ignored at evaluation).
// How the training surrogate models the ADC.
//   chip  the forward value is the chip's own digital result: the layer's integer codes read
//         through a replica of its chip with ideal cells (the engine's integer path: the same
//         weight and input slicing, the same ADC on every slice's partial sum, shift-add), so a
//         bit-sliced chip whose ADC is lossless costs nothing and a lossy one shows its real
//         error; the backward pass is straight-through (∂y/∂codes of the exact product x̄·w̄).
//   tile  paper 003 eq. 2–3 as written: each row tile's un-sliced partial sum of codes goes
//         through one signed ADC per column, the chip's ADC asked for its transfer (Adc::transfer)
//         at the tile's full scale M·x_top·(2^(b_w−1) − 1), x_top = 2^b_x − 1 (2^(b_x−1) − 1 for
//         symmetric signed inputs, eq. 3's signed variant; 2^(b_x−1) with crossbar.a_shift, whose
//         tiles see x̄ − 2^(b_x−1), the offset added back digitally, eq. 5): with a clipped range
//         that is Δ_a = 2M·x_top·(2^(b_w−1) − 1)/(2^b_a·k),
//         eq. 3, and the ADC's rounding (floor in
//         eq. 2), with a straight-through gradient. This is RAOQ's model of arrays whose cells and
//         DACs hold whole codes; on a bit-sliced chip it is far coarser than the chip.
enum class SurrogateAdc { Chip, Tile };

struct AnalogTraining {
  bool adc_in_loop = true;    // the ADC in the forward pass (else the exact product x̄·w̄)
  SurrogateAdc adc_model = SurrogateAdc::Chip;
  double weight_noise = 0.0;  // std of additive Gaussian noise on weight codes, × max code
  double output_noise = 0.0;  // tile: std of Gaussian noise on each partial sum, × ADC step;
                              // chip: std of Gaussian noise on each output, in output LSBs
};

// Shared by the analog layers of one network: the chip, the run seed, the device seed
// (Monte-Carlo over device instances), operating conditions and analog training settings.
class AnalogContext {
 public:
  explicit AnalogContext(std::shared_ptr<const Chip> chip, uint64_t seed = 0);

  const std::shared_ptr<const Chip>& base_chip() const { return chip_; }
  // The base chip at precision `p` (Chip::with_precision: weight and input bits, the ADC's
  // resolution, the encoding signed inputs need), with ideal cells when `ideal_cells` (the
  // training surrogate's replica); cached per (p, signed_input, ideal_cells).
  std::shared_ptr<const Chip> chip_for(const Precision& p, bool signed_input, bool ideal_cells = false) const;

  uint64_t seed() const { return seed_; }
  // A new device instance: every layer reads its cells for this seed on its next analog read,
  // programming them (fresh D2D traits) unless it keeps an engine for the seed (keep_instances).
  void set_device_seed(uint64_t s);
  uint64_t device_seed() const { return device_seed_; }
  // Incremented whenever something that invalidates programmed layers changes (not the device
  // seed: each layer's engine says which seed it holds).
  uint64_t generation() const { return generation_; }
  // Programmed device instances each layer keeps (the current one included): an evaluation
  // over device seeds that comes back to a seed (with heat, after the cool pass) reads the kept
  // cells instead of programming them again. Memory grows with it; 1 keeps only the current.
  int64_t keep_instances = 1;

  void set_operating(const OperatingConditions& op);
  const OperatingConditions& operating() const { return operating_; }

  AnalogTraining training;
  // The rung of the fidelity ladder analog reads use (CrossbarLayer::set_fidelity); changing it
  // reprograms nothing.
  Fidelity fidelity = Fidelity::BitExact;
  // Whether analog reads measure their read energy (the DAC levels each row drives): off for
  // reads whose counts nobody uses (the evaluation's later device instances); their counts then
  // carry no read energy.
  bool read_energy = true;

 private:
  std::shared_ptr<const Chip> chip_;
  uint64_t seed_ = 0, device_seed_ = 0, generation_ = 1;
  OperatingConditions operating_;
  mutable std::mutex mu_;
  mutable std::map<std::tuple<int, int, int, bool, bool>, std::shared_ptr<const Chip>> cache_;
};

// What every analog layer offers, whatever its shape (networks walk their modules and
// dynamic_cast to this).
class AnalogLayer {
 public:
  virtual ~AnalogLayer() = default;

  // Analog mode on a digital layer (set_digital) is quantised mode.
  void set_mode(LayerMode m) { mode_ = digital_ && m == LayerMode::Analog ? LayerMode::Quantised : m; }
  LayerMode mode() const { return mode_; }
  // A layer kept off the arrays (paper 003 App. J keeps the first and last layers digital at 8
  // bits): it computes as in quantised mode (its codes' exact product, no chip, no ADC) whenever
  // the network is in analog mode, in training and at evaluation, and chip evaluations and cost
  // skip it.
  void set_digital(bool on) {
    digital_ = on;
    if (on && mode_ == LayerMode::Analog) mode_ = LayerMode::Quantised;
  }
  bool digital() const { return digital_; }

  // ADC-LoRA (paper 003 eq. 11): the layer computes with W + A·B, A [out, r] Gaussian of std
  // `a_std`, B [r, in·k·k] zero (so W + A·B = W at the start), registered as the parameters
  // `lora_a`, `lora_b`; the weight W is frozen (requires_grad false; the bias and the quantiser
  // steps stay trainable). Every mode computes with W + A·B, and the chip is programmed with its
  // codes. Draws A from the global generator. Error when enabled twice or with rank < 1.
  void enable_lora(int64_t rank, double a_std);
  bool has_lora() const { return lora_a_.defined(); }
  int64_t lora_rank() const { return has_lora() ? lora_a_.size(1) : 0; }
  // A·B as [out, in·k·k] (undefined without LoRA).
  torch::Tensor lora_delta() const;
  // Eq. 12's warm-up: while on, every training forward in analog mode (the surrogate) also adds
  // the mean squared difference between its output and Q_x(X)·Q_w(W)ᵀ (the frozen weight, no
  // ADC, detached) to a sum that take_lora_mse() returns (a scalar tensor, undefined before any
  // forward) and clears.
  void set_lora_warmup(bool on) { lora_warmup_ = on; }
  torch::Tensor take_lora_mse();
  // Changes the precision in place (checked first; the quantisers keep their learned steps).
  void set_precision(const Precision& p);
  const Precision& precision() const { return precision_; }

  void set_context(std::shared_ptr<AnalogContext> ctx);
  const std::shared_ptr<AnalogContext>& context() const { return ctx_; }
  // Stream id of this layer's device draws (unique per network; set by Network).
  void set_layer_id(uint64_t id) { layer_id_ = id; }
  uint64_t layer_id() const { return layer_id_; }

  // The weight parameter as a matrix [out, in·k·k] (a view: it shares the parameter's version).
  virtual torch::Tensor raw_matrix() const = 0;
  // The matrix the arrays hold: raw_matrix(), with the dataset normalisation folded in when
  // set_input_normalisation() was called (columns divided by their channel's std).
  torch::Tensor weight_matrix() const;

  // Folds the dataset normalisation x = (pixel - mean_c) / std_c into this layer (the network's
  // first): outside float mode the layer un-normalises its input back to pixels in [0, 1] (what a
  // real chip is fed: unsigned pixel codes, no input offset), holds W' = W / std_c, and subtracts
  // Ŵ'·mean digitally; zero padding of the normalised image becomes padding with the mean
  // pixel. In exact arithmetic this is the same function as the unfolded layer. One value per
  // input channel; the layer's inputs must then be unsigned (signed_input() false).
  void set_input_normalisation(const std::vector<double>& mean, const std::vector<double>& std);
  bool folds_normalisation() const { return fold_mean_.defined(); }
  virtual std::string kind() const = 0;  // "linear" or "conv2d"
  // Whether the layer's input may be negative (then signed input codes are used).
  virtual bool signed_input() const = 0;
  // Input channels of a conv; 0 for a linear layer (a flattened [C, H, W] image: any C that
  // divides in_features).
  virtual int64_t input_channels() const = 0;

  // Restarts the programmed engine's read-noise stream (CrossbarLayer::restart_reads): the next
  // reads draw what a freshly programmed layer's would. No-op before programming.
  void restart_reads() {
    if (engine_) engine_->restart_reads();
  }
  // Programs the weights onto the chip now; when they are already programmed and nothing changed,
  // reprograms the same cells (fresh cycle-to-cycle draws, same device-to-device traits).
  void program();
  // The crossbar engine holding this layer (programs it first if needed; needs a context).
  CrossbarLayer& engine();
  bool programmed() const { return engine_ != nullptr; }
  // Integer codes and scales of the weight for the chip at the layer's current precision and
  // quantiser step: codes [out, in] float (integers), scale [out] float64 (the searches count
  // their '1' bits and refine their bit planes).
  std::pair<torch::Tensor, torch::Tensor> weight_codes();
  // Arrays, row tiles, slices of this layer on the chip at its current precision.
  const LayerMapping& mapping() { return engine().mapping(); }
  // Read conditions applied to the programmed arrays (kept across reprogramming).
  void set_time_since_program(double seconds);
  void set_temperature(double kelvin);
  void set_temperature(const torch::Tensor& per_array_k);  // [mapping().n_arrays]

  // Shape of the last forward, per sample: input vectors the arrays read (output pixels of a
  // conv, 1 for a linear layer) and the input shape without the batch dim (cost and mapping
  // code traces a network with one forward pass).
  int64_t last_vectors_per_sample() const { return last_vectors_; }
  const std::vector<int64_t>& last_input_shape() const { return last_input_shape_; }

  // Action counts accumulated by analog-mode reads since the last reset (or since a precision
  // change moved the layer onto a different number of arrays).
  const ActionCounts& counts() const { return counts_; }
  void reset_counts() { counts_ = ActionCounts{}; }

  // SQNR probe: while enabled, every analog read also computes the quantised-mode (digital)
  // output of the same input and accumulates Σ y_digital² and Σ (y_analog − y_digital)², so the
  // layer's own error is measured on the inputs it really sees on the chip.
  void enable_sqnr_probe(bool on) { probe_on_ = on; }
  void reset_sqnr_probe() { probe_signal_ = probe_noise_ = 0.0; }
  // 10·log10(signal / noise) in dB; +inf when the analog output equals the digital one, NaN
  // before any probed read.
  double sqnr_db() const;

  // Training through a reparametrisation of the weight (the bit representation of paper 000's
  // thermal-aware pretraining and of BSQ, nn/bit_weights.hpp): while set, float mode computes
  // with source() (a differentiable tensor of the weight parameter's shape) instead of the
  // parameter. Quantised and analog modes refuse to run with a source: the reparametrisation
  // quantises, and the chip programs the parameter (write the result back first). Empty: none.
  void set_weight_source(std::function<torch::Tensor()> source) { weight_source_ = std::move(source); }
  bool has_weight_source() const { return static_cast<bool>(weight_source_); }

  // Weight quantiser and input quantiser.
  virtual Quantizer& weight_quantizer() = 0;
  virtual Quantizer& input_quantizer() = 0;

 protected:
  // The module holding this layer's parameters (the Impl itself).
  virtual torch::nn::Module& as_module() = 0;
  // weight_matrix() without the LoRA term.
  torch::Tensor base_matrix() const;
  // y_matrix [n, out] from rows x_rows [n, in·k·k] in the current mode (no bias).
  torch::Tensor matmul_rows(const torch::Tensor& x_rows);
  // Input codes (integer-valued float tensor), scale and offset β for rows x [n, in].
  struct InputCodes {
    torch::Tensor codes;
    double scale = 1.0;
    double offset = 0.0;
  };
  InputCodes input_codes(const torch::Tensor& x_rows);
  torch::Tensor analog_read(const torch::Tensor& x_rows);       // exact engine, no grad
  // The same read from codes already computed: rows [n, in] -> [n, out]; or, with windows, an
  // image of codes [N, C, H, W] whose k×k windows are the rows -> [N, H', W', out] (a folded
  // rung reads them as convolutions, CrossbarLayer::forward_windows). The output in out_type.
  torch::Tensor read_codes(const InputCodes& ic, c10::ScalarType out_type,
                           const CrossbarLayer::Windows* windows = nullptr);
  // The context reads at a folded rung (tile, weight).
  bool reads_folded() const;
  // Whether a convolution may quantise its image before unfolding it (analog mode, no
  // surrogate, no SQNR probe, an initialised step quantiser: codes are then an elementwise
  // function of the input, so quantising and unfolding commute, k² fewer elements).
  bool codes_before_unfold();
  // Differentiable surrogate (training) on fake-quantised input rows x̂ [n, in].
  torch::Tensor analog_surrogate(const torch::Tensor& x_hat_rows);
  torch::Tensor warmup_capture(const torch::Tensor& x_hat_rows, const torch::Tensor& y);
  // The weight quantiser's symmetric settings follow precision_ (called by set_precision).
  void apply_precision();
  // The programmed cells no longer hold this layer's weight codes (weights, weight step, weight
  // bits or the context changed): the engine must be rebuilt.
  bool cells_stale() const;
  void build_engine();
  // After a change of act_bits or adc_bits only: moves the engine to the new chip, cells kept.
  void retarget_engine();
  // Analog mode, training, gradients on: the differentiable surrogate replaces the chip read.
  bool surrogate_active() const;
  // With a folded normalisation: pixels from normalised values, per channel ([n, C, ...] or rows
  // [n, in] for a linear layer), and the digital correction Ŵ'·mean [out] of the quantised
  // folded weights (differentiable when gradients are on).
  torch::Tensor to_pixels(const torch::Tensor& x) const;
  torch::Tensor fold_correction();

  // The weight float mode computes with: the source when set, else the parameter (its shape).
  torch::Tensor float_weight(const torch::Tensor& parameter) const;

  LayerMode mode_ = LayerMode::Float;
  bool digital_ = false;
  torch::Tensor lora_a_, lora_b_;  // [out, r], [r, in·k·k]; undefined without LoRA
  bool lora_warmup_ = false;
  torch::Tensor lora_mse_;
  uint32_t lora_version() const;
  std::function<torch::Tensor()> weight_source_;
  Precision precision_;
  torch::Tensor fold_mean_, fold_std_;  // [C] float32, undefined unless folded
  std::shared_ptr<AnalogContext> ctx_;
  uint64_t layer_id_ = 0;
  std::shared_ptr<CrossbarLayer> engine_;  // shared_ptr: Cloneable copies, and clone() calls reset(), which drops it
  // What the programmed engine was built from (to detect staleness).
  struct Programmed {
    Precision precision;
    uint64_t generation = 0, device_seed = 0;
    uint32_t weight_version = 0, step_version = 0, lora_version = 0;
    torch::Tensor codes;  // [out, in] weight codes programmed
    torch::Tensor scale;  // [out] float64
  } programmed_;
  // Engines of other device seeds (AnalogContext::keep_instances), with what they hold.
  struct Spare {
    std::shared_ptr<CrossbarLayer> engine;
    Programmed programmed;
    bool calibrated = false;
  };
  std::vector<Spare> spares_;
  void drop_engines();  // the engine and every spare
  bool holds_current_cells(const Programmed& p) const;  // weights, steps, weight bits, generation
  bool swap_in_spare();  // the kept engine of the context's device seed, if any
  std::optional<double> time_since_program_s_;
  std::optional<double> temperature_k_;
  torch::Tensor temperature_per_array_;
  int64_t last_vectors_ = 0;
  std::vector<int64_t> last_input_shape_;
  bool calibrated_ = false;
  bool probe_on_ = false;
  double probe_signal_ = 0.0, probe_noise_ = 0.0;  // a calibrated-range ADC is calibrated on the first read after programming
  ActionCounts counts_;
};

// ---- AnalogLinear ------------------------------------------------------------------------------

struct AnalogLinearOptions {
  AnalogLinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(Precision, precision) = Precision{};
  // Quantiser kind used by quantised and analog modes (weights: symmetric; inputs per signed_input).
  TORCH_ARG(QuantMode, quant) = QuantMode::lsq;
  // One weight step per output channel (else one per layer).
  TORCH_ARG(bool, per_channel) = false;
  // The input may be negative (no ReLU before this layer): signed input codes.
  TORCH_ARG(bool, signed_input) = false;
};

class AnalogLinearImpl : public torch::nn::Cloneable<AnalogLinearImpl>, public AnalogLayer {
 public:
  AnalogLinearImpl(int64_t in_features, int64_t out_features)
      : AnalogLinearImpl(AnalogLinearOptions(in_features, out_features)) {}
  explicit AnalogLinearImpl(AnalogLinearOptions options);
  void reset() override;
  void reset_parameters();  // Kaiming-uniform like torch::nn::Linear
  // x: [n, in] -> [n, out] (or [in] -> [out]).
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  torch::Tensor raw_matrix() const override { return weight; }
  std::string kind() const override { return "linear"; }
  bool signed_input() const override { return options.signed_input(); }
  int64_t input_channels() const override { return 0; }
  Quantizer& weight_quantizer() override { return wq; }
  Quantizer& input_quantizer() override { return xq; }
  torch::nn::Module& as_module() override { return *this; }

  AnalogLinearOptions options;
  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out] or undefined
  Quantizer wq{nullptr}, xq{nullptr};
};
TORCH_MODULE(AnalogLinear);

// ---- AnalogConv2d ------------------------------------------------------------------------------

struct AnalogConv2dOptions {
  AnalogConv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);  // square kernels
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(Precision, precision) = Precision{};
  TORCH_ARG(QuantMode, quant) = QuantMode::lsq;
  TORCH_ARG(bool, per_channel) = false;
  TORCH_ARG(bool, signed_input) = false;
};

class AnalogConv2dImpl : public torch::nn::Cloneable<AnalogConv2dImpl>, public AnalogLayer {
 public:
  AnalogConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : AnalogConv2dImpl(AnalogConv2dOptions(in_channels, out_channels, kernel_size)) {}
  explicit AnalogConv2dImpl(AnalogConv2dOptions options);
  void reset() override;
  void reset_parameters();
  // x: [n, C, H, W] -> [n, out, H', W']. Analog mode unfolds (im2col) to rows of C·k·k.
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  torch::Tensor raw_matrix() const override { return weight.reshape({weight.size(0), -1}); }
  std::string kind() const override { return "conv2d"; }
  bool signed_input() const override { return options.signed_input(); }
  int64_t input_channels() const override { return options.in_channels(); }
  Quantizer& weight_quantizer() override { return wq; }
  Quantizer& input_quantizer() override { return xq; }
  torch::nn::Module& as_module() override { return *this; }

  AnalogConv2dOptions options;
  torch::Tensor weight;  // [out, C, k, k]
  torch::Tensor bias;
  Quantizer wq{nullptr}, xq{nullptr};
};
TORCH_MODULE(AnalogConv2d);

// ---- Network -----------------------------------------------------------------------------------

// Base of every zoo model: a module with forward(), whose analog layers can be listed, switched
// and re-precisioned as a whole. Layer order is registration order (= forward order in the zoo).
class Network : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;

  struct NamedLayer {
    std::string name;  // module path, e.g. "features.0"
    AnalogLayer* layer;
  };
  // Every analog layer, in order.
  std::vector<NamedLayer> analog_layers();

  void set_mode(LayerMode m);
  // One context for every layer; assigns layer ids 0, 1, ... in order.
  void set_context(std::shared_ptr<AnalogContext> ctx);
  // Per-layer precision: one entry per analog layer (Error naming the count otherwise).
  void set_precisions(const std::vector<Precision>& p);
  std::vector<Precision> precisions();
  void reset_counts();
  ActionCounts total_counts();
};

}  // namespace cimkit::nn
