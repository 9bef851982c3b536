#include "runner/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <atomic>

namespace ckpt {

namespace {
std::atomic<bool> g_interrupted{false};
int g_pipe[2] = {-1, -1};

// Process groups of the workers: a signal one of them (a plugin) sends to the supervisor is
// not the person or CI system stopping the run. Slots hold 0 when free.
std::array<std::atomic<pid_t>, 256> g_worker_groups{};
std::atomic<pid_t> g_ignored_sender{0};
std::atomic<int> g_ignored_signal{0};

bool from_a_worker(pid_t sender) {
  if (sender <= 0) return false;
  const pid_t group = ::getpgid(sender);  // a system call, safe in a handler on Linux
  for (const auto& slot : g_worker_groups) {
    const pid_t g = slot.load();
    if (g != 0 && (g == sender || g == group)) return true;
  }
  return false;
}

void on_signal(int signal, siginfo_t* info, void*) {
  const int saved_errno = errno;  // the interrupted code may be about to read it
  if (info && info->si_code == SI_USER && from_a_worker(info->si_pid)) {
    g_ignored_sender = info->si_pid;
    g_ignored_signal = signal;
  } else {
    g_interrupted = true;
    const char byte = 1;
    (void)!::write(g_pipe[1], &byte, 1);
  }
  errno = saved_errno;
}
}  // namespace

void install_interrupt_handlers() {
  if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction action {};
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);  // the CI job's terminal or SSH session went away: stop as for SIGTERM
  ::signal(SIGPIPE, SIG_IGN);  // a worker that died mid-request must not kill the supervisor
}

bool interrupted() { return g_interrupted; }
int interrupt_fd() { return g_pipe[0]; }

void ignore_signals_from_group(pid_t group) {
  for (auto& slot : g_worker_groups) {
    pid_t free = 0;
    if (slot.compare_exchange_strong(free, group)) return;
  }
}

void stop_ignoring_group(pid_t group) {
  for (auto& slot : g_worker_groups) {
    pid_t g = group;
    slot.compare_exchange_strong(g, 0);
  }
}

std::optional<std::pair<pid_t, int>> take_ignored_signal() {
  const pid_t sender = g_ignored_sender.exchange(0);
  if (sender == 0) return std::nullopt;
  return std::make_pair(sender, g_ignored_signal.load());
}

}  // namespace ckpt
