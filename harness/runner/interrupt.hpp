#pragma once
// SIGINT, SIGTERM and SIGHUP during a run: the first asks the supervisor to stop (kill the
// workers, keep every finished result, write the reports, exit 130); a self-pipe wakes
// its poll() at once.
namespace ckpt {

void install_interrupt_handlers();
bool interrupted();
int interrupt_fd();  // readable once interrupted

}  // namespace ckpt
