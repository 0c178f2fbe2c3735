#include "pull/cancel.hpp"

#include <csignal>

namespace r1::pull {

static volatile std::sig_atomic_t g_cancel = 0;

extern "C" void r1_pull_on_signal(int sig) {
  g_cancel = 1;
  std::signal(sig, SIG_DFL);
}

void install_interrupt_handler() {
  std::signal(SIGINT, r1_pull_on_signal);
  std::signal(SIGTERM, r1_pull_on_signal);
}

bool cancel_requested() { return g_cancel != 0; }

}  // namespace r1::pull
