// Ctrl-C and SIGTERM as a graceful stop of a training run.
//
// While a StopSignalGuard lives, the first SIGINT or SIGTERM calls trainer.request_stop(): the
// handler does nothing but store to the trainer's lock-free atomic flag (async-signal-safe), and
// the trainer polls the flag after every batch, writes its checkpoint and returns from fit()
// with `interrupted`. The handler is installed with SA_RESETHAND, so a second signal gets the
// default action (the process ends at once, as a user pressing Ctrl-C twice expects). The
// destructor restores the handlers that were there before. One guard at a time per process.
#pragma once

namespace cimkit::train {

class Trainer;

class StopSignalGuard {
 public:
  // Error when another guard is alive or a handler cannot be installed.
  explicit StopSignalGuard(Trainer& trainer);
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

  // The signal number that requested the stop while this guard lived, or 0.
  int signal_received() const;
};

}  // namespace cimkit::train
