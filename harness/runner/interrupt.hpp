#pragma once
// SIGINT, SIGTERM and SIGHUP during a run: the first asks the supervisor to stop (kill the
// workers, keep every finished result, write the reports, exit 130); a self-pipe wakes
// its poll() at once. The same signals sent by a worker's process (a plugin) do not stop
// the run: they are ignored and can be reported (take_ignored_signal).
#include <sys/types.h>

#include <optional>
#include <utility>

namespace ckpt {

void install_interrupt_handlers();
bool interrupted();
int interrupt_fd();  // readable once interrupted

// A worker's process group, whose signals to the supervisor are a plugin's, not a stop.
void ignore_signals_from_group(pid_t group);
void stop_ignoring_group(pid_t group);
// The last ignored signal's sender and number, once (nullopt when none since last asked).
std::optional<std::pair<pid_t, int>> take_ignored_signal();

}  // namespace ckpt
