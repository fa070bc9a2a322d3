#include "train/progress.hpp"

#include <fmt/format.h>

#include <cmath>

namespace cimkit::train {
namespace {
constexpr int kBarWidth = 24;
constexpr double kRedrawS = 0.1;  // bar redraws at most this often (and on the last batch)

std::string val_text(const EpochMetrics& m) {
  if (std::isnan(m.val_acc)) return "";
  return fmt::format("  val loss {:.4f} acc {:.2f}%", m.val_loss, 100 * m.val_acc);
}
}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02d}", s / 60, s % 60);
}

Progress::Progress(ProgressMode mode, std::ostream* os, bool is_tty, int64_t log_every)
    : mode_(mode == ProgressMode::Auto ? (is_tty ? ProgressMode::Bar : ProgressMode::Plain) : mode),
      os_(os),
      log_every_(std::max<int64_t>(1, log_every)) {
  if (!os_) mode_ = ProgressMode::None;
}

void Progress::begin_epoch(int64_t epoch, int64_t n_epochs, int64_t n_batches,
                           int64_t start_batch) {
  epoch_ = epoch, n_epochs_ = n_epochs, n_batches_ = n_batches, start_batch_ = start_batch;
  t0_ = std::chrono::steady_clock::now();
  last_draw_ = t0_ - std::chrono::seconds(1);
}

void Progress::batch(int64_t batch, double loss, double acc, double images_per_s, double lr) {
  if (mode_ == ProgressMode::None) return;
  const auto now = std::chrono::steady_clock::now();
  const int64_t done = batch + 1;
  if (mode_ == ProgressMode::Plain) {
    if (done % log_every_ != 0 || done == n_batches_) return;  // the epoch line covers the last
    *os_ << fmt::format(
                "epoch {}/{} batch {}/{}  loss {:.4f} acc {:.2f}%  lr {:.4g}  {:.0f} img/s\n",
                epoch_, n_epochs_, done, n_batches_, loss, 100 * acc, lr, images_per_s)
         << std::flush;
    return;
  }
  if (std::chrono::duration<double>(now - last_draw_).count() < kRedrawS && done != n_batches_)
    return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - t0_).count();
  const int64_t run = done - start_batch_;
  const double eta = run > 0 ? elapsed / double(run) * double(n_batches_ - done) : NAN;
  const int filled = int(kBarWidth * done / std::max<int64_t>(1, n_batches_));
  const std::string bar = std::string(filled, '#') + std::string(kBarWidth - filled, '.');
  *os_ << fmt::format(
              "\repoch {}/{} [{}] {}/{}  loss {:.4f} acc {:.2f}%  {:.0f} img/s  ETA {}\x1b[K",
              epoch_, n_epochs_, bar, done, n_batches_, loss, 100 * acc, images_per_s,
              format_duration(eta))
       << std::flush;
  bar_open_ = true;
}

void Progress::end_epoch(const EpochMetrics& m, int64_t n_epochs) {
  if (mode_ == ProgressMode::None) return;
  end_bar();
  *os_ << fmt::format(
      "epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%{}  {:.1f} s  {:.0f} img/s", m.epoch,
      n_epochs, m.lr, m.train_loss, 100 * m.train_acc, val_text(m), m.seconds, m.images_per_s);
  for (const auto& [name, value] : m.terms) *os_ << fmt::format("  {} {:.4g}", name, value);
  *os_ << '\n' << std::flush;
}

void Progress::message(const std::string& text) {
  if (mode_ == ProgressMode::None) return;
  end_bar();
  *os_ << text << '\n' << std::flush;
}

void Progress::end_bar() {
  if (!bar_open_) return;
  *os_ << '\n';
  bar_open_ = false;
}

}  // namespace cimkit::train
