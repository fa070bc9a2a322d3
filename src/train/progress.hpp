// Training progress on a stream: a one-line bar redrawn with '\r' on a terminal, or plain log
// lines (every log_every batches and one per epoch) otherwise.
#pragma once
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "train/metrics.hpp"
#include "train/options.hpp"

namespace cimkit::train {

class Progress {
 public:
  // `mode` Auto becomes Bar when `is_tty`, else Plain. A null stream prints nothing.
  Progress(ProgressMode mode, std::ostream* os, bool is_tty, int64_t log_every);

  // epoch is 1-based; batches [start_batch, n_batches) are about to run.
  void begin_epoch(int64_t epoch, int64_t n_epochs, int64_t n_batches, int64_t start_batch);
  // After batch `batch` (0-based): running means of the epoch so far, and the throughput.
  void batch(int64_t batch, double loss, double acc, double images_per_s, double lr);
  void end_epoch(const EpochMetrics& m, int64_t n_epochs);
  // A line of its own (resume, stop), ending any bar first.
  void message(const std::string& text);

 private:
  void end_bar();
  ProgressMode mode_;
  std::ostream* os_;
  int64_t log_every_;
  int64_t epoch_ = 0, n_epochs_ = 0, n_batches_ = 0, start_batch_ = 0;
  bool bar_open_ = false;
  std::chrono::steady_clock::time_point t0_, last_draw_;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace cimkit::train
