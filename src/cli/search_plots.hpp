// The plots of a search's run folder (issue 13 §5; paper 000 Fig. 5a, 7, 8a, 8e): reward and
// accuracy per episode, the best candidate's bits per layer against fixed 8-bit, every
// candidate's mean weight bits against its accuracy with heat, and the arrays' temperature
// distribution of the finalists against fixed 8-bit.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace cimkit::cli {

// Writes DIR/search_progress.png, DIR/bits_per_layer.png and DIR/bits_vs_accuracy.png from the
// driver's records (episode, reward, acc_heat_pct, refined_weight_bits, refined_act_bits) and
// the index of the best. Returns the files written.
std::vector<std::string> write_search_plots(const std::string& dir, const std::vector<nlohmann::ordered_json>& records,
                                            int64_t best, const std::vector<std::string>& layer_names);

// Writes PATH: one box per model (records with array_t_min_k, array_t_p25_k, array_t_median_k,
// array_t_p75_k, array_t_max_k): the box from the 25th to the 75th percentile of the arrays'
// temperatures, a line at the median, whiskers to the coolest and the hottest array (Fig. 8e).
void write_temperature_boxes(const std::string& path, const std::vector<std::string>& names,
                             const std::vector<nlohmann::ordered_json>& records);

}  // namespace cimkit::cli
