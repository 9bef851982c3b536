#include "runner/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace ckpt {

namespace {
std::atomic<bool> g_interrupted{false};
int g_pipe[2] = {-1, -1};

void on_signal(int) {
  g_interrupted = true;
  const char byte = 1;
  (void)!::write(g_pipe[1], &byte, 1);
}
}  // namespace

void install_interrupt_handlers() {
  if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);  // the CI job's terminal or SSH session went away: stop as for SIGTERM
  ::signal(SIGPIPE, SIG_IGN);  // a worker that died mid-request must not kill the supervisor
}

bool interrupted() { return g_interrupted; }
int interrupt_fd() { return g_pipe[0]; }

}  // namespace ckpt
