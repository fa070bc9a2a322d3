// The end of `cimkit search` (issue 13 §5): the best candidates and the fixed 8-bit model
// re-evaluated bit-exactly on the test set, then summary.txt, stats.json and the plots.
#pragma once
#include <string>

#include "cli/search_setup.hpp"
#include "search/driver.hpp"

namespace cimkit::cli {

struct SearchReport {
  std::string summary;  // summary.txt's text
  size_t plots = 0;     // charts written under plots/
};

// Writes OUT/summary.txt, stats.json and plots/. `s.ev` is switched to the test set.
SearchReport report_search(SearchSetup& s, const search::SearchLog& log, const std::string& out_dir);

}  // namespace cimkit::cli
