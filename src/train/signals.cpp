#include "train/signals.hpp"

#include <atomic>
#include <csignal>
#include <cstring>

#include "core/error.hpp"
#include "train/trainer.hpp"

namespace cimkit::train {
namespace {

static_assert(std::atomic<Trainer*>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the signal handler may only touch lock-free atomics");

std::atomic<Trainer*> g_trainer{nullptr};
std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;

extern "C" void on_stop_signal(int sig) {
  g_signal.store(sig);
  if (Trainer* t = g_trainer.load()) t->request_stop();
}

}  // namespace

StopSignalGuard::StopSignalGuard(Trainer& trainer) {
  Trainer* expected = nullptr;
  if (!g_trainer.compare_exchange_strong(expected, &trainer))
    throw Error("StopSignalGuard: another guard is already installed");
  g_signal.store(0);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  if (sigaction(SIGINT, &sa, &g_old_int) != 0) {
    g_trainer.store(nullptr);
    throw Error(std::string("StopSignalGuard: cannot install the SIGINT handler: ") +
                std::strerror(errno));
  }
  if (sigaction(SIGTERM, &sa, &g_old_term) != 0) {
    sigaction(SIGINT, &g_old_int, nullptr);
    g_trainer.store(nullptr);
    throw Error(std::string("StopSignalGuard: cannot install the SIGTERM handler: ") +
                std::strerror(errno));
  }
}

StopSignalGuard::~StopSignalGuard() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  g_trainer.store(nullptr);
}

int StopSignalGuard::signal_received() const {
  return g_signal.load();
}

}  // namespace cimkit::train
