#pragma once
// One worker process (`ckpt-harness-worker serve`) as the supervisor sees it: started
// fresh with fork+exec from this process, which never ran LibTorch (so forking is safe),
// in its own process group with resource limits; spoken to over two pipes (requests on
// fd 3, replies on a descriptor drawn at random, see protocol/messages.hpp); its stdout and
// stderr captured into a capped tail. Killing it kills everything it started.
#include <sys/types.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "protocol/messages.hpp"
#include "runner/log_tail.hpp"

namespace ckpt {

struct WorkerLimits {
  std::uint64_t memory_bytes = 0;  // RLIMIT_DATA; 0: none
  // RLIMIT_FSIZE: a worker reads checkpoints and writes nothing but pipes, so a plugin that
  // writes files without bound is stopped (SIGXFSZ) before it fills the CI machine's disk.
  std::uint64_t file_bytes = std::uint64_t{64} << 20;
  // RLIMIT_NOFILE: a worker needs about a dozen descriptors (its pipes, the checkpoint files
  // of a unit); a plugin that leaks them meets EMFILE here, and the worker asks to be
  // replaced (serve.cpp) before later units suffer.
  std::uint64_t open_files = 1024;
  // LibTorch's intra-op threads in the worker, as OMP_NUM_THREADS (0: LibTorch's default, one
  // per core; an OMP_NUM_THREADS of the user's stands). Workers in parallel share the cores:
  // LibTorch 2.6's thread pool, oversubscribed by two workers on two cores, made the default
  // run 3.6x slower than one thread each.
  int cpu_threads = 0;
};

// The processors this process may run on (its affinity mask, which CI containers narrow),
// at least 1.
int available_cpus();

class WorkerProcess {
 public:
  // Throws std::runtime_error when the process cannot be created.
  WorkerProcess(const std::string& executable, const WorkerLimits& limits);
  ~WorkerProcess();  // kills the group if still running
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }
  int reply_fd() const { return reply_fd_; }
  int log_fd() const { return log_fd_; }

  bool send(const std::string& line);        // an encoded request; false when the worker is gone
  void close_requests();                     // end of requests: an idle worker exits
  // Reads what is available; returns false at end of file (the worker closed its replies).
  // A line longer than protocol::kMaxLineBytes becomes a reply with a violation, and the
  // rest of it is dropped: what the supervisor holds per worker stays bounded.
  bool read_replies();
  void read_log();
  std::optional<protocol::Reply> next_message();  // parsed in arrival order
  LogTail& log() { return log_; }

  // Lets the worker use `seconds` more CPU time (all its threads) from now on: sets the
  // soft RLIMIT_CPU with prlimit(2) to what it used so far plus `seconds`, so SIGXCPU ends
  // it there. The hard limit stays as inherited: an unprivileged process cannot raise it
  // again for the next request. False when the worker is gone.
  bool limit_cpu_time(double seconds);

  void signal_group(int signal);
  // Waits for the exit (blocking up to `seconds`, then SIGKILL); describes how it ended:
  // "exited with status 0", "was killed by SIGSEGV (signal 11)", "did not end within 5 s
  // and was killed by SIGKILL (signal 9)".
  std::string reap(double seconds);
  bool exited() const { return reaped_; }
  bool exited_cleanly() const { return reaped_ && clean_exit_; }  // status 0, no signal
  // Killed by SIGKILL not sent by the supervisor: from outside (a person, the OOM killer).
  bool killed_from_outside() const { return reaped_ && killed_from_outside_; }
  bool replies_ended() const { return replies_ended_; }          // read_replies saw end of file
  // The signal that ended it (0: it exited, or is not reaped yet): a crash (SIGSEGV, SIGBUS,
  // SIGABRT, ...) is told apart from a kill.
  int term_signal() const { return term_signal_; }

 private:
  pid_t pid_ = -1;
  int request_fd_ = -1, reply_fd_ = -1, log_fd_ = -1;
  std::string pending_;
  bool skipping_long_line_ = false;  // dropping the rest of a line past the bound
  std::deque<protocol::Reply> messages_;
  LogTail log_;
  bool reaped_ = false, clean_exit_ = false, replies_ended_ = false, killed_from_outside_ = false;
  bool signalled_ = false;  // the supervisor signalled it (timeout, interrupt, replacement)
  int term_signal_ = 0;
  std::string exit_text_;
};

std::string signal_text(int signal);  // "SIGSEGV (signal 11)", with why for the limits' signals

}  // namespace ckpt
