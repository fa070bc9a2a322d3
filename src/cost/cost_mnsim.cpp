#include "cost/cost_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "cost/cost_detail.hpp"
#include "cost/mnsim_placement.hpp"
#include "cost/mnsim_schedule.hpp"
#include "cost/mnsim_tables.hpp"
#include "crossbar/slicing.hpp"

namespace cimkit::cost {
using detail::accumulate;
using detail::ceil_div;
using detail::schedule;
using mapping::NetworkNode;

// ---------------------------------------------------------------------------------------------
// MNSIM 2.0 conventions (../shared/reference/mnsim.md §2-§3).

namespace {

// MNSIM PE.py:196-242 (area), 492-538 (power): transistors of an n:1 (de)multiplexer; every
// ratio up to 2, 1 included, takes the 2:1 entry.
double mux_transistors(int64_t ratio) {
  if (ratio <= 2) return 8;
  if (ratio <= 4) return 24;
  if (ratio <= 8) return 72;
  if (ratio <= 16) return 216;
  if (ratio <= 32) return 648;
  return 1944;
}

// MNSIM PE_latency.py:51-56, 62-67: decoder / mux levels, m = 1 and one more for every //8 step
// of the ratio until it is 0 (ratios 1-7: 2 levels, 8-63: 3).
int64_t mux_levels(int64_t ratio) {
  int64_t m = 1;
  for (int64_t x = ratio; x > 0; x /= 8) ++m;
  return m;
}

// MNSIM's node graph (Interface/interface.py get_structure): the layer list's conv, linear, pool
// and add nodes with their inputs. A network without a usable one (traced zoo models list no
// nodes) is the chain of its weight layers.
std::vector<mapping::NetworkNode> mnsim_graph(const mapping::NetworkShape& net) {
  size_t weights = 0;
  bool usable = !net.nodes.empty();
  for (const auto& n : net.nodes) {
    if (n.kind == mapping::NetworkNode::Kind::Weight) usable = usable && n.layer == static_cast<int64_t>(weights++);
    if (n.kind == mapping::NetworkNode::Kind::Pool) usable = usable && n.layer >= 0 && n.layer < static_cast<int64_t>(net.pools.size());
  }
  if (usable && weights == net.layers.size()) return net.nodes;
  std::vector<mapping::NetworkNode> chain;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const auto& l = net.layers[i];
    chain.push_back({mapping::NetworkNode::Kind::Weight, l.name, static_cast<int64_t>(i), {static_cast<int64_t>(i) - 1},
                     l.input, l.output, l.kernel, l.stride, l.padding});
  }
  return chain;
}

}  // namespace

CostReport CostModel::evaluate_mnsim(const mapping::NetworkShape& net) const {
  const Params& P = arch_.mnsim();
  const int64_t R = chip_.spec.rows, C = chip_.spec.cols;
  const int64_t sub_rows = P.get_int("subarray_rows") > 0 ? P.get_int("subarray_rows") : R;
  if (R % sub_rows != 0) {
    throw Error(fmt::format("arch.mnsim.subarray_rows {} must divide the crossbar's {} rows", sub_rows, R));
  }
  const int64_t subarrays = R / sub_rows;
  const int64_t dac_num = P.get_int("dac_num"), adc_num = P.get_int("adc_num");
  const int64_t polarity = P.get_int("polarity"), groups = P.get_int("group_num");
  const int64_t pes_per_tile = P.get_int("pe_num_x") * P.get_int("pe_num_y");
  const int64_t tiles_avail = P.get_int("tile_num_x") * P.get_int("tile_num_y");
  const double Td = 1e3 / P.get_real("digital_mhz") * 1e-9;  // digital period, s
  const double inter_bw = P.get_real("inter_tile_gbps") * 1e9;  // bit/s between tiles
  const int64_t dac_per_group = dac_num * subarrays, adc_per_group = adc_num * subarrays;
  const int64_t input_demux = ceil_div(sub_rows, dac_num);
  const int64_t output_mux = ceil_div(C, adc_num);
  const double T_tr = P.get_real("transistor_tech_nm");

  // Component constants (MNSIM Hardware_Model, mnsim.md §2).
  const double s_kb = static_cast<double>(R * C) / 8192.0;
  const double t_xbar = (P.get_real("read_latency_ns") + 0.001 * (2e-4 * s_kb * s_kb + 5e-6 * s_kb + 4e-14)) * 1e-9;
  const double v1 = chip_.read_voltage_v, f1 = P.get_real("input_fraction_ones");
  const double v2 = f1 * v1 * v1;  // V^2 = 0.9 V0^2 + 0.1 V1^2 with V0 = 0
  const double inv_r = P.get_real("cell_fraction_hrs") * chip_.g_off_s + (1 - P.get_real("cell_fraction_hrs")) * chip_.g_on_s;
  const double p_cell = v2 * inv_r;
  const double a_xbar = (static_cast<double>(R * C) * P.get_real("device_area_um2") +
                         P.get_real("row_driver_area_um2") * static_cast<double>(R)) * 1e-12;
  const double sr_scale = std::pow(P.get_real("shiftreg_tech_nm") / 65.0, 2), reg_scale = std::pow(P.get_real("reg_tech_nm") / 65.0, 2);
  const double joint_scale = std::pow(P.get_real("joint_tech_nm") / 65.0, 2);
  const double p_sr = 8.1e-7 * sr_scale, a_sr = 1.42e-12 * sr_scale;
  const double p_reg = 18.8e-9 * reg_scale, a_reg = 1.4256e-12 * reg_scale;
  const double p_joint = 2.64e-4 * joint_scale, a_joint = 353.76e-12 * joint_scale;  // 8-bit node
  const double a_tr = 10.0 * T_tr * T_tr * 1e-6 * 1e-12;                            // one transistor
  const double a_demux = mux_transistors(input_demux) * a_tr, p_demux = mux_transistors(input_demux) * 1.2e-8;
  const double a_mux = mux_transistors(output_mux) * a_tr, p_mux = mux_transistors(output_mux) * 1.2e-8;
  const double t_decoder = 0.27933e-9 * static_cast<double>(mux_levels(input_demux));
  const double t_mux = 32.744e-12 * static_cast<double>(mux_levels(output_mux));
  const double pool_scale = std::pow(P.get_real("pooling_tech_nm") / 65.0, 2);
  const double a_pool = 91917.1562e-12 * static_cast<double>(P.get_int("pooling_units")) / 64.0 * pool_scale;
  const double p_pool = 3.082e-3 * pool_scale;
  const int adc_bits = priced_adc_bits(chip_.adc_bits);
  const Converter dac = dac_at(chip_.dac_bits);

  // TCG mapping of every layer (Mapping_Model/Tile_connection_graph.py, mnsim.md §3.1): whole
  // input channels per crossbar, magnitude bits on positive and negative crossbars.
  struct Tcg {
    int wbits = 0, ibits = 0, abits = 0;
    int64_t dup = 1, slices = 0, r_used = 0, c_used = 0, pe_num = 0, tiles = 0;
  };
  std::vector<Tcg> tcg(net.layers.size());
  double inbuf_kb = 0, outbuf_kb = 0;  // sized by the mapper unless given (mnsim.md §2.6)
  auto pow2_kb = [](double bytes) { return std::pow(2.0, std::ceil(std::log2(std::max(bytes, 1.0)))) / 1024.0; };
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const auto& l = net.layers[i];
    Tcg& m = tcg[i];
    const detail::LayerSetup ls = detail::layer_setup(*this, l);
    m.wbits = *ls.layer.weight_bits;
    m.ibits = *ls.layer.input_bits;
    m.abits = *ls.layer.adc_bits;
    m.dup = ls.duplication;
    const int64_t b_mag = polarity == 2 ? m.wbits - 1 : m.wbits;
    m.slices = ceil_div(b_mag, chip_.spec.cell_bits);  // MNSIM: 1 bit per cell
    const bool conv = l.kind == "conv2d";
    const int64_t k2 = conv ? l.kernel * l.kernel : 1;
    const int64_t c_in = l.in_features / k2;
    int64_t my = 0;
    if (conv) {
      const int64_t ch_per_xbar = R / k2;
      if (ch_per_xbar < 1) {
        throw Error(fmt::format("layer {}: a {}x{} kernel needs {} rows, more than the crossbar's {} (MNSIM maps whole "
                                "input channels per crossbar)",
                                l.name, l.kernel, l.kernel, k2, R));
      }
      my = ceil_div(c_in, ch_per_xbar);
      m.r_used = std::min(ch_per_xbar, c_in) * k2;
    } else {
      my = ceil_div(l.in_features, R);
      m.r_used = std::min(l.in_features, R);
    }
    const int64_t mx = ceil_div(m.slices, groups) * ceil_div(l.out_features, C);
    m.c_used = std::min(l.out_features, C);
    m.pe_num = mx * my * m.dup;
    m.tiles = ceil_div(m.pe_num, pes_per_tile);
    // Line buffer: K input rows of the layer (fc: its input vector), shared by its PEs; output
    // buffer: two (ping-pong) output vectors per tile.
    const double data_in = conv ? static_cast<double>(l.input.width * l.kernel * c_in * m.ibits) / 8.0
                                : static_cast<double>(l.in_features * m.ibits) / 8.0;
    inbuf_kb = std::max(inbuf_kb, pow2_kb(data_in / static_cast<double>(m.pe_num)));
    outbuf_kb = std::max(outbuf_kb, pow2_kb(2.0 * static_cast<double>(l.out_features * m.ibits) / 8.0 /
                                            static_cast<double>(m.tiles)));
  }
  // The node graph and its tiles on the Tile_Num grid: conv/fc nodes their TCG tiles, a pooling
  // node one, an element_sum none (Tile_connection_graph.py:461-463); hop distances from MNSIM's
  // spiral placement (mnsim_placement.hpp).
  using Node = NetworkNode;
  const std::vector<Node> graph = mnsim_graph(net);
  std::vector<mnsim::PlacedNode> placed(graph.size());
  std::vector<size_t> node_of_layer(net.layers.size());
  for (size_t k = 0; k < graph.size(); ++k) {
    const Node& n = graph[k];
    if (n.kind == Node::Kind::Weight) node_of_layer[static_cast<size_t>(n.layer)] = k;
    placed[k].tiles = n.kind == Node::Kind::Weight ? tcg[static_cast<size_t>(n.layer)].tiles : (n.kind == Node::Kind::Pool ? 1 : 0);
    placed[k].element_sum = n.kind == Node::Kind::Add;
    for (int64_t u : n.inputs) {
      if (u >= 0) placed[static_cast<size_t>(u)].consumers.push_back(static_cast<int64_t>(k));
    }
  }
  const std::vector<mnsim::Hops> hops = mnsim::tile_hops(placed, P.get_int("tile_num_x"), P.get_int("tile_num_y"));
  std::vector<mnsim::ScheduleNode> sched(graph.size());
  if (P.get_real("pe_inbuf_kb") > 0) inbuf_kb = P.get_real("pe_inbuf_kb");
  if (P.get_real("tile_outbuf_kb") > 0) outbuf_kb = P.get_real("tile_outbuf_kb");
  // SRAM figures (Buffer.py): table entry by technology, size and bus width; 20 ns cycles; an
  // access of n bytes takes ceil(8n / width) cycles at power E_dyn / 20 ns + leakage.
  struct Sram {
    double area_m2, read_w, write_w;
  };
  const double buf_tech = P.get_real("buffer_tech_nm");
  const int64_t bus = P.get_int("buffer_bitwidth");
  auto sram = [&](double kb, const std::string& what) {
    const int tech_bin = buf_tech >= 90 ? 0 : (buf_tech >= 65 ? 36 : 72);
    const double sizes[] = {2, 4, 8, 16, 32, 64, 128, 256};
    int size_bin = 8;
    for (int b = 0; b < 8; ++b)
      if (kb <= sizes[b]) {
        size_bin = b;
        break;
      }
    const int bus_bin = bus <= 64 ? 0 : (bus <= 128 ? 1 : (bus <= 256 ? 2 : 3));
    const int idx = tech_bin + 4 * size_bin + bus_bin;
    if (mnsim::kSramAreaMm2[idx] < 0) {
      throw Error(fmt::format("MNSIM's SRAM tables have no entry for the {} ({} KB, {} nm, {}-bit bus: index {})", what, kb,
                              buf_tech, bus, idx));
    }
    const double leak_w = mnsim::kSramLeakageMw[idx] * 1e-3, cycle = 20e-9;
    return Sram{mnsim::kSramAreaMm2[idx] * 1e-6, mnsim::kSramReadNj[idx] * 1e-9 / cycle + leak_w,
                mnsim::kSramWriteNj[idx] * 1e-9 / cycle + leak_w};
  };
  const Sram inbuf = sram(inbuf_kb, "PE input buffer"), outbuf = sram(outbuf_kb, "tile output buffer");
  auto access_s = [&](double bytes) { return std::ceil(8.0 * bytes / static_cast<double>(bus)) * 20e-9; };

  // Area of one PE and one tile (MNSIM PE.py / Tile.py), with ADCs of `abits` (a layer's tiles
  // carry its own; the chip's spare tiles the chip's).
  const int64_t pe_xbars = groups * polarity, pe_adcs = groups * adc_per_group, pe_dacs = groups * dac_per_group;
  const double pe_adder_bits = 8;
  const double a_adder_bit = 10.0 * 14.0 * std::pow(P.get_real("adder_tech_nm"), 2) / 1e6 * 1e-12;
  const int64_t pe_adders = groups > 1 ? groups - 1 : 0;
  const double joint_count = static_cast<double>((pes_per_tile - 1) * pe_adcs);
  struct Areas {
    std::map<std::string, double> pe;  // by component
    double pe_total = 0, tile = 0;
  };
  auto areas_at = [&](int abits) {
    Areas a;
    a.pe = {
        {"crossbar", static_cast<double>(pe_xbars) * a_xbar},
        {"adc", static_cast<double>(pe_adcs) * adc_at(abits).area_m2},
        {"dac", static_cast<double>(pe_dacs) * dac.area_m2},
        {"shift_reg", static_cast<double>(pe_adcs) * a_sr},
        {"input_reg", static_cast<double>(pe_dacs) * a_reg},
        {"output_reg", static_cast<double>(pe_adcs) * a_reg},
        {"input_demux", static_cast<double>(pe_dacs) * a_demux},
        {"output_mux", static_cast<double>(pe_adcs) * a_mux},
        {"adder", static_cast<double>(adc_per_group * pe_adders) * pe_adder_bits * a_adder_bit},
        {"pe_input_buffer", inbuf.area_m2},
    };
    for (const auto& [k, v] : a.pe) a.pe_total += v;
    a.tile = static_cast<double>(pes_per_tile) * a.pe_total + joint_count * a_joint + a_pool + outbuf.area_m2;
    return a;
  };
  const Areas chip_areas = areas_at(adc_bits);
  const double pe_total = chip_areas.pe_total, tile_area = chip_areas.tile;

  CostReport r;
  CostTotals& t = r.totals;
  r.geometry = {tiles_avail, pes_per_tile, pe_xbars, tile_area, pe_total};
  // Per layer, for its buffer energy: tiles T, PE line buffers T·P, and the summed tile-buffer
  // read and write times.
  struct BufLayer {
    double tiles, line_buffers, out_r_s, out_w_s;
  };
  std::vector<BufLayer> buf_layers;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const auto& l = net.layers[i];
    const Tcg& m = tcg[i];
    const int wbits = m.wbits, ibits = m.ibits, abits = m.abits;
    const int64_t dup = m.dup, slices = m.slices, r_used = m.r_used, c_used = m.c_used, pe_num = m.pe_num;
    const int64_t tiles = m.tiles, c_out = l.out_features;
    const bool conv = l.kind == "conv2d";
    const int64_t k2 = conv ? l.kernel * l.kernel : 1;
    const int64_t g = std::min(slices, groups), p = std::min(pe_num, pes_per_tile);

    // Per output pixel (MNSIM Latency_Model, mnsim.md §2.8).
    const double cycles = static_cast<double>(ceil_div(ibits, chip_.dac_bits));
    const double mt = cycles * static_cast<double>(ceil_div(r_used, dac_per_group)) * static_cast<double>(ceil_div(c_used, adc_num));
    const Converter adc_l = adc_at(abits);
    const double t_dac = mt * dac.conversion_s, t_x = mt * t_xbar, t_adc = mt * adc_l.conversion_s;
    const double col_reads = static_cast<double>(ceil_div(c_used, adc_num));
    const double t_ireg = static_cast<double>(ceil_div(r_used, dac_per_group)) * col_reads * Td + mt * Td;
    const double t_sr = mt * Td, t_dm = mt * t_decoder, t_mx = mt * t_mux;
    const double t_add = col_reads * std::ceil(std::log2(static_cast<double>(groups))) * Td;
    const double t_oreg = col_reads * Td;
    const double merge = p > 1 ? std::ceil(std::log2(static_cast<double>(p))) : 0.0;
    const double lv = pes_per_tile > 1 ? std::ceil(std::log2(static_cast<double>(pes_per_tile))) : 0.0;
    const double t_joint = merge * Td;
    const double intra_bits = (lv * (abits + merge) - merge * (merge + 1) / 2) * static_cast<double>(c_used);
    const double t_intra = intra_bits / (P.get_real("intra_tile_gbps") * 1e9);
    // Inter-tile hops of MNSIM's spiral placement (mnsim_placement.hpp): din hops of c x P merged
    // values to the aggregating tile, dtr hops of the C_out outputs to the consumers
    // (Model_latency.py:1012-1017).
    const mnsim::Hops& hop = hops[node_of_layer[i]];
    const double t_merge = hop.in_layer * (Td + static_cast<double>(c_used * p * ibits) / inter_bw);
    const double t_transfer = hop.transfer * static_cast<double>(c_out * ibits) / inter_bw;
    // Tile buffer per pixel: the tile writes its merged partial sums (Tile_latency.py:46-48) and
    // the merge reads the layer's output back (Model_latency.py:882-884, 1010-1011). The line
    // buffer's traffic depends on the pixel's position; the schedule sums it (mnsim_schedule.hpp).
    const double c_pe = static_cast<double>(r_used) / static_cast<double>(k2);
    const double t_out_w = access_s((abits + merge) * static_cast<double>(c_used * p) / 8.0);
    const double t_out_r = access_s(static_cast<double>(c_used * ibits * p) / 8.0);
    const double V = static_cast<double>(l.vectors);
    {  // Its node in the pixel schedule: every pixel's time but the line buffer's is the tile
       // latency (Tile_latency.py:45-51: PE computing and digital parts, joint module, intra-tile
       // transfer, tile-buffer write), the merge (tile-buffer read and din hops) and the transfer.
      mnsim::ScheduleNode& sn = sched[node_of_layer[i]];
      sn.kind = conv ? mnsim::NodeKind::Conv : mnsim::NodeKind::Fc;
      sn.copies = dup;
      sn.line_values = conv ? c_pe : static_cast<double>(r_used);  // fc: max_row inputs
      sn.bits = ibits;
      sn.outputs = c_out;
      sn.fixed_s = t_out_w + t_dac + t_x + t_adc + t_ireg + t_sr + t_dm + t_mx + t_add + t_oreg + t_joint + t_intra + t_out_r +
                   t_merge + t_transfer;
    }

    // Layer power by component (MNSIM Tile.calculate_tile_read_power_fast) x summed latency.
    const double n_pe = static_cast<double>(tiles * p);  // MNSIM: tiles x PEs of the fullest tile
    const double rows_active = std::ceil(static_cast<double>(r_used) / static_cast<double>(input_demux));
    const double cols_active = std::ceil(static_cast<double>(c_used) / static_cast<double>(output_mux));
    const double p_xbar = static_cast<double>(polarity * g) * static_cast<double>(r_used * c_used) * p_cell /
                          static_cast<double>(input_demux) / static_cast<double>(output_mux);
    const double pixels = V;  // every pixel of every PE copy
    LayerCost lc;
    auto add = [&](const std::string& name, double power_pe, double t_pixel) {
      ComponentCost& cc = lc.components[name];
      cc.busy_s += pixels * t_pixel;
      cc.energy_j += n_pe * power_pe * pixels * t_pixel;
      lc.energy_j += n_pe * power_pe * pixels * t_pixel;
    };
    add("crossbar", p_xbar, t_x);
    add("dac", static_cast<double>(g) * rows_active * dac.power_w, t_dac);
    add("adc", static_cast<double>(g) * cols_active * adc_l.power_w, t_adc);
    add("shift_reg", static_cast<double>(g) * cols_active * p_sr, t_sr);
    add("input_reg", static_cast<double>(g) * rows_active * p_reg, t_ireg);
    add("output_reg", static_cast<double>(g) * cols_active * p_reg, t_oreg);
    add("input_demux", static_cast<double>(g) * rows_active * p_demux, t_dm);
    add("output_mux", static_cast<double>(g) * cols_active * p_mux, t_mx);
    // Buffer energy: after the schedule, which sums the line buffer's per-position traffic.
    buf_layers.push_back({static_cast<double>(tiles), n_pe, pixels * t_out_r, pixels * t_out_w});
    lc.array_energy_j = lc.components["crossbar"].energy_j;
    lc.pe_energy_j = lc.energy_j - lc.array_energy_j;
    {  // joint modules: (p - 1) x columns per tile, for the tile's merge time
      const double e = static_cast<double>(tiles) * static_cast<double>(p - 1) * cols_active * p_joint * pixels * t_joint;
      lc.components["joint_module"].energy_j += e;
      lc.energy_j += e;
      lc.tile_energy_j += e;
    }
    lc.components["crossbar"].actions += static_cast<int64_t>(n_pe * static_cast<double>(polarity * g) * pixels * mt);
    lc.components["adc"].actions += static_cast<int64_t>(n_pe * static_cast<double>(g) * cols_active * pixels * mt);
    lc.components["dac"].actions += static_cast<int64_t>(n_pe * static_cast<double>(g) * rows_active * pixels * mt);
    lc.name = l.name;
    lc.kind = l.kind;
    lc.weight_bits = wbits;
    lc.input_bits = ibits;
    lc.adc_bits = abits;
    lc.macs = l.macs();
    lc.vectors = l.vectors;
    lc.duplication = dup;
    lc.arrays = pe_num * groups * polarity;  // physical crossbars (MNSIM prints PEnum)
    lc.pes = pe_num;
    lc.tiles = tiles;
    lc.cell_utilisation = static_cast<double>(l.in_features * l.out_features * slices * polarity) /
                          static_cast<double>(lc.arrays * R * C);
    lc.pe_utilisation = 1.0;
    lc.dac_conversions = lc.components["dac"].actions;
    lc.array_reads = lc.components["crossbar"].actions;
    lc.adc_conversions = lc.components["adc"].actions;
    const Areas layer_areas = abits == adc_bits ? chip_areas : areas_at(abits);
    lc.area_m2 = static_cast<double>(tiles) * layer_areas.tile;
    for (const auto& [k, v] : layer_areas.pe) lc.components[k].area_m2 += static_cast<double>(tiles * pes_per_tile) * v;
    lc.components["joint_module"].area_m2 += static_cast<double>(tiles) * joint_count * a_joint;
    lc.components["pooling"].area_m2 += static_cast<double>(tiles) * a_pool;
    lc.components["tile_output_buffer"].area_m2 += static_cast<double>(tiles) * outbuf.area_m2;
    r.layers.push_back(std::move(lc));
  }
  // Pooling layers (MNSIM Pooling.py): 100 ns x ceil(C / units) x ceil(k^2 / 9) per output pixel
  // at the unit's power; each pooling layer holds one tile of its own.
  for (const auto& pl : net.pools) {
    const double t_pix = 100e-9 * std::ceil(static_cast<double>(pl.channels) / static_cast<double>(P.get_int("pooling_units"))) *
                         std::ceil(static_cast<double>(pl.kernel * pl.kernel) / 9.0);
    const double e = p_pool * t_pix * static_cast<double>(pl.out_pixels);
    r.components["pooling"].energy_j += e;
    r.components["pooling"].area_m2 += tile_area;
    t.energy_j += e;
    t.area_m2 += tile_area;
    t.n_tiles += 1;
  }
  // Pooling and element_sum nodes of the schedule, at the chip's activation width.
  const double act_bits = static_cast<double>(chip_.spec.input_bits);
  for (size_t k = 0; k < graph.size(); ++k) {
    const Node& n = graph[k];
    if (n.kind == Node::Kind::Weight) continue;
    mnsim::ScheduleNode& sn = sched[k];
    sn.bits = act_bits;
    const double c_in = static_cast<double>(n.input.channels), c_out = static_cast<double>(n.output.channels);
    const double t_transfer = hops[k].transfer * c_out * act_bits / inter_bw;
    if (n.kind == Node::Kind::Pool) {
      // Pooling_latency.py:20-33, Pooling.py:75 and Model_latency.py:1218-1225: the pooling unit
      // (100 ns x ceil(C_in / units) x ceil(K^2 / 9)), the tile buffer's write of the C_in
      // inputs and read of the C_out outputs (counted in the pooling latency and again as the
      // merge), and the transfer.
      sn.kind = mnsim::NodeKind::Pool;
      sn.line_values = c_in;
      sn.fixed_s = 100e-9 * std::ceil(c_in / static_cast<double>(P.get_int("pooling_units"))) *
                       std::ceil(static_cast<double>(n.kernel * n.kernel) / 9.0) +
                   access_s(c_in * act_bits / 8.0) + 2 * access_s(c_out * act_bits / 8.0) + t_transfer;
    } else {
      // Model_latency.py:1306-1322: 10 ns, the global buffer's read and write of every input's
      // pixel, and the transfer.
      sn.kind = mnsim::NodeKind::Add;
      const double bytes = static_cast<double>(n.inputs.size()) * c_out * act_bits / 8.0;
      sn.fixed_s = 10e-9 + 2 * access_s(bytes) + t_transfer;
    }
  }
  for (size_t k = 0; k < graph.size(); ++k) {
    const Node& n = graph[k];
    mnsim::ScheduleNode& sn = sched[k];
    sn.inputs = n.inputs;
    sn.in_h = n.input.height, sn.in_w = n.input.width, sn.out_h = n.output.height, sn.out_w = n.output.width;
    sn.kernel = n.kernel, sn.stride = n.stride, sn.padding = n.padding;
  }
  // MNSIM's pixel schedule (mnsim_schedule.hpp) gives each layer its start, finish and busy time
  // (its busiest copy's) and the network its latency; without pipelining the layers run one
  // after another for their busy time.
  const mnsim::ScheduleResult timed = mnsim::schedule_pixels(sched, static_cast<double>(bus), 20e-9);
  const bool pipeline = arch_.timing().pipeline;
  for (size_t i = 0; i < r.layers.size(); ++i) {
    LayerCost& lc = r.layers[i];
    const mnsim::NodeTimes& nt = timed.nodes[node_of_layer[i]];
    {  // Buffers (Model_energy.py:102-103): a layer's buffer reads cost the summed read power of
       // all its buffers (Tile.py:242-268: T·P PE line buffers and T tile output buffers) times
       // the summed read time of both kinds over its pixels (Model_latency.py:179-180 conv,
       // 208-209 fc: the line buffer's rdata/indata by position, 1035-1139), and the writes
       // alike. Each buffer's share: its power x (both read times) + its power x (both write times).
      const BufLayer& b = buf_layers[i];
      const double t_r = nt.read_s + b.out_r_s, t_w = nt.write_s + b.out_w_s;
      const double e_in = b.line_buffers * (inbuf.read_w * t_r + inbuf.write_w * t_w);
      const double e_out = b.tiles * (outbuf.read_w * t_r + outbuf.write_w * t_w);
      lc.components["pe_input_buffer"].energy_j += e_in;
      lc.components["pe_input_buffer"].busy_s += nt.read_s + nt.write_s;
      lc.components["tile_output_buffer"].energy_j += e_out;
      lc.components["tile_output_buffer"].busy_s += b.out_r_s + b.out_w_s;
      lc.energy_j += e_in + e_out;
      lc.pe_energy_j += e_in + e_out;
    }
    lc.latency_s = nt.copy_busy_s;
    if (pipeline) {
      lc.start_s = nt.start_s;
      lc.finish_s = nt.finish_s;
    } else {
      schedule(lc, net.layers[i], i == 0 ? nullptr : &r.layers[i - 1], false);
    }
    accumulate(r, lc);
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (size_t k = 0; k < graph.size(); ++k) {
    const mnsim::NodeTimes& nt = timed.nodes[k];
    if (graph[k].kind == Node::Kind::Pool) {
      // A pooling layer's buffers (Model_energy.py:102-103): only its tile buffer is powered
      // (Tile.py:247-263 set the PE-buffer terms for conv/fc only), over its line-buffer traffic
      // (Model_latency.py:236-237, 1233-1274) and the tile buffer's write of the C_in inputs and
      // read of the C_out outputs per pixel (1218-1225). An element_sum has no tiles: no power.
      const double px = static_cast<double>(nt.pixels);
      const double t_r = nt.read_s + px * access_s(static_cast<double>(graph[k].output.channels) * act_bits / 8.0);
      const double t_w = nt.write_s + px * access_s(static_cast<double>(graph[k].input.channels) * act_bits / 8.0);
      const double e = outbuf.read_w * t_r + outbuf.write_w * t_w;
      r.components["tile_output_buffer"].energy_j += e;
      r.components["tile_output_buffer"].busy_s += t_r + t_w;
      t.energy_j += e;
    }
    const char* kind = graph[k].kind == Node::Kind::Pool ? "pool" : (graph[k].kind == Node::Kind::Add ? "add" : "weight");
    nodes.push_back({{"name", graph[k].name}, {"kind", kind}, {"tiles", placed[k].tiles}, {"din", hops[k].in_layer},
                     {"dtr", hops[k].transfer}, {"start_s", nt.start_s}, {"finish_s", nt.finish_s}, {"busy_s", nt.busy_s},
                     {"layer_latency_s", nt.layer_latency_s}});
    if (pipeline && graph[k].kind != Node::Kind::Weight) t.interval_s = std::max(t.interval_s, nt.copy_busy_s);
  }
  if (pipeline) {
    t.latency_s = timed.latency_s;
  } else {
    for (const auto& lc : r.layers) t.latency_s = std::max(t.latency_s, lc.finish_s);
    t.interval_s = t.latency_s;
  }
  r.reference["mnsim_schedule"] = nodes;
  if (t.n_tiles > tiles_avail) {
    throw Error(fmt::format("{} does not fit the chip ({}): MNSIM's mapping needs {} tiles ({} PEs, {} per tile, no tile "
                            "shared between layers), the chip has {}: {} tiles short ({:.1f}x the chip)",
                            net.name, arch_.name(), t.n_tiles, t.n_pes, pes_per_tile, tiles_avail, t.n_tiles - tiles_avail,
                            static_cast<double>(t.n_tiles) / static_cast<double>(tiles_avail)));
  }
  t.chip_area_m2 = t.area_m2 + static_cast<double>(tiles_avail - t.n_tiles) * tile_area;  // spare tiles: the chip's ADCs
  r.reference["mnsim_derived"] = {{"pe_area_m2", pe_total},     {"tile_area_m2", tile_area}, {"crossbar_area_m2", a_xbar},
                                  {"pe_input_buffer_kb", inbuf_kb}, {"tile_output_buffer_kb", outbuf_kb},
                                  {"cell_read_power_w", p_cell}, {"t_xbar_s", t_xbar},        {"input_demux", input_demux},
                                  {"output_mux", output_mux}};
  return r;
}

}  // namespace cimkit::cost
