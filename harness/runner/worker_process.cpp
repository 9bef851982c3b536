#include "runner/worker_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runner/interrupt.hpp"

namespace ckpt {

namespace {
// Why the kernel sends the signals that enforce a worker's limits.
const char* limit_reason(int signal) {
  switch (signal) {
    case SIGXFSZ:
      return ": a file it wrote reached the worker's file size limit";
    case SIGXCPU:
      return ": it used up the CPU time it may spend on one unit";
    default:
      return "";
  }
}
}  // namespace

std::string signal_text(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return std::string(abbrev ? std::string("SIG") + abbrev : "signal") + " (signal " + std::to_string(signal) +
         limit_reason(signal) + ")";
}

namespace {
void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
}

// Sets both limits of `resource` to `value` (0: leaves it), capped by the inherited hard
// limit, which an unprivileged process cannot raise.
void set_limit(int resource, std::uint64_t value) {
  rlimit current{};
  if (value == 0 || ::getrlimit(resource, &current) != 0) return;
  const rlim_t capped = std::min<rlim_t>(value, current.rlim_max);
  const rlimit wanted{capped, capped};
  ::setrlimit(resource, &wanted);
}

// In the child between fork and exec: only async-signal-safe calls.
// `environment`: the worker's, prepared before fork (worker_environment).
[[noreturn]] void exec_child(const char* exe, int request_read, int reply_write, int log_write, int reply_fd,
                             const char* reply_fd_text, char* const* environment, pid_t supervisor,
                             const WorkerLimits& limits) {
  ::setpgid(0, 0);
  // A supervisor killed with SIGKILL cannot end its workers: the kernel does (the setting
  // survives exec). Checked after: the supervisor may already be gone.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != supervisor) ::_exit(126);
  // Dispositions set to "ignore" survive exec: the supervisor ignores SIGPIPE and SIGXFSZ,
  // but a worker must die of SIGXFSZ and SIGXCPU when it reaches its limits.
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGXFSZ, SIGXCPU}) ::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
#ifndef __SANITIZE_ADDRESS__
  set_limit(RLIMIT_DATA, limits.memory_bytes);
#endif  // AddressSanitizer maps terabytes of shadow memory: an instrumented worker has no memory limit
  set_limit(RLIMIT_FSIZE, limits.file_bytes);
  set_limit(RLIMIT_NOFILE, limits.open_files);
  // The pipes are first moved above every target descriptor, so that no dup2 below
  // overwrites a source still to be copied, and none is its own target (dup2 of a descriptor
  // onto itself would keep FD_CLOEXEC). dup2 clears FD_CLOEXEC on the targets; this
  // process's own descriptors close at exec, and any it inherited without FD_CLOEXEC are
  // closed here: a worker starts with 0-3 and its reply descriptor only.
  const int above = std::max(reply_fd, protocol::kRequestFd) + 1;
  request_read = ::fcntl(request_read, F_DUPFD_CLOEXEC, above);
  reply_write = ::fcntl(reply_write, F_DUPFD_CLOEXEC, above);
  log_write = ::fcntl(log_write, F_DUPFD_CLOEXEC, above);
  const int devnull = ::open("/dev/null", O_RDONLY);
  if (request_read < 0 || reply_write < 0 || log_write < 0 || devnull < 0 || ::dup2(devnull, 0) < 0 ||
      ::dup2(log_write, 1) < 0 || ::dup2(log_write, 2) < 0 || ::dup2(request_read, protocol::kRequestFd) < 0 ||
      ::dup2(reply_write, reply_fd) < 0) {
    ::_exit(126);
  }
  ::close_range(protocol::kRequestFd + 1, reply_fd - 1, 0);
  ::close_range(reply_fd + 1, ~0U, 0);
  const char* argv[] = {exe, "serve", "--reply-fd", reply_fd_text, nullptr};
  ::execve(exe, const_cast<char* const*>(argv), environment);
  const char message[] = "cannot execute the worker\n";
  (void)!::write(2, message, sizeof message - 1);
  ::_exit(127);
}
// This process's environment, with OMP_NUM_THREADS set to the worker's share of the cores
// unless the user set it: LibTorch's OpenMP pool reads it when it starts. (at::set_num_threads
// in the worker was not enough: LibTorch 2.6 reset a plugin thread's pool to one thread per core.)
std::vector<std::string> worker_environment(int cpu_threads) {
  std::vector<std::string> out;
  bool user_set = false;
  for (char** e = environ; *e != nullptr; ++e) {
    out.emplace_back(*e);
    user_set = user_set || out.back().rfind("OMP_NUM_THREADS=", 0) == 0;
  }
  if (cpu_threads > 0 && !user_set) out.push_back("OMP_NUM_THREADS=" + std::to_string(cpu_threads));
  return out;
}
}  // namespace

namespace {
// The worker's reply descriptor: at random below its open-file limit, high enough that the
// files a plugin opens (lowest free number first) do not reach it before the limit does.
int choose_reply_fd(const WorkerLimits& limits) {
  rlimit current{};
  std::uint64_t limit = limits.open_files;
  if (::getrlimit(RLIMIT_NOFILE, &current) == 0 && (limit == 0 || current.rlim_max < limit)) limit = current.rlim_max;
  limit = std::min<std::uint64_t>(limit == 0 ? 1024 : limit, 1u << 20);
  const std::uint64_t low = protocol::kReplyFdLow, high = limit > protocol::kReplyFdMargin ? limit - protocol::kReplyFdMargin : 0;
  if (high <= low) return protocol::kRequestFd + 1;  // a tiny limit: no room to hide it
  std::random_device random;
  return static_cast<int>(low + random() % (high - low));
}
}  // namespace

WorkerProcess::WorkerProcess(const std::string& executable, const WorkerLimits& limits) {
  int request[2], reply[2], log[2];
  make_pipe(request);
  make_pipe(reply);
  make_pipe(log);
  const int reply_fd = choose_reply_fd(limits);
  // Formatted before fork: the child only calls async-signal-safe functions.
  const std::string reply_fd_text = std::to_string(reply_fd);
  const std::vector<std::string> environment = worker_environment(limits.cpu_threads);
  std::vector<char*> envp;
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t supervisor = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("cannot start a worker: ") + std::strerror(errno));
  if (pid_ == 0) exec_child(executable.c_str(), request[0], reply[1], log[1], reply_fd, reply_fd_text.c_str(), envp.data(),
                             supervisor, limits);
  ::setpgid(pid_, pid_);  // also here: no race with a signal sent before the child ran
  ignore_signals_from_group(pid_);
  ::close(request[0]);
  ::close(reply[1]);
  ::close(log[1]);
  request_fd_ = request[1];
  reply_fd_ = reply[0];
  log_fd_ = log[0];
  ::fcntl(reply_fd_, F_SETFL, O_NONBLOCK);
  ::fcntl(log_fd_, F_SETFL, O_NONBLOCK);
}

WorkerProcess::~WorkerProcess() {
  if (!reaped_) {
    signal_group(SIGKILL);
    reap(1.0);
  }
  close_fd(request_fd_);
  close_fd(reply_fd_);
  close_fd(log_fd_);
  stop_ignoring_group(pid_);
}

bool WorkerProcess::send(const std::string& line) {
  if (request_fd_ < 0) return false;
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(request_fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // EPIPE: SIGPIPE is ignored by the supervisor
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void WorkerProcess::close_requests() { close_fd(request_fd_); }

namespace {
// Reads what a non-blocking pipe holds, at most `budget` bytes per call (a worker that
// writes without pause must not keep the supervisor here); false at end of file.
template <typename Sink>
bool drain(int fd, Sink&& sink, std::size_t budget = 4 << 20) {
  char buffer[65536];
  for (std::size_t taken = 0; taken < budget;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      sink(buffer, static_cast<std::size_t>(n));
      taken += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}
}  // namespace

bool WorkerProcess::read_replies() {
  const bool open = drain(reply_fd_, [this](const char* data, std::size_t n) {
    std::string_view bytes(data, n);
    while (!bytes.empty()) {
      const std::size_t nl = bytes.find('\n');
      const std::string_view part = bytes.substr(0, nl);
      if (!skipping_long_line_) pending_.append(part);
      if (!skipping_long_line_ && pending_.size() > protocol::kMaxLineBytes) {
        protocol::Reply over;
        over.violation = "a line longer than " + std::to_string(protocol::kMaxLineBytes >> 20) + " MiB";
        messages_.push_back(std::move(over));
        pending_.clear();
        pending_.shrink_to_fit();
        skipping_long_line_ = true;
      }
      if (nl == std::string_view::npos) break;
      if (!skipping_long_line_) messages_.push_back(protocol::parse_reply(pending_));
      pending_.clear();
      skipping_long_line_ = false;
      bytes.remove_prefix(nl + 1);
    }
  });
  if (!open) replies_ended_ = true;
  return open;
}

void WorkerProcess::read_log() {
  drain(log_fd_, [this](const char* data, std::size_t n) { log_.append(data, n); });
}

std::optional<protocol::Reply> WorkerProcess::next_message() {
  if (messages_.empty()) return std::nullopt;
  protocol::Reply m = std::move(messages_.front());
  messages_.pop_front();
  return m;
}

namespace {
// CPU time (user and system, all threads) a process has used so far; < 0 when it is gone.
double cpu_seconds_used(pid_t pid) {
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(stat_file, stat);
  const auto name_end = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (name_end == std::string::npos) return -1;
  // From field 3 (state) on; utime and stime are fields 14 and 15, in clock ticks.
  std::istringstream fields(stat.substr(name_end + 1));
  std::string skipped;
  for (int field = 3; field < 14; ++field) fields >> skipped;
  unsigned long long user_ticks = 0, system_ticks = 0;
  if (!(fields >> user_ticks >> system_ticks)) return -1;
  return static_cast<double>(user_ticks + system_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}
}  // namespace

bool WorkerProcess::limit_cpu_time(double seconds) {
  if (pid_ <= 0 || reaped_) return false;
  const double used = cpu_seconds_used(pid_);
  rlimit current{};
  if (used < 0 || ::prlimit(pid_, RLIMIT_CPU, nullptr, &current) != 0) return false;
  const rlimit wanted{std::min<rlim_t>(static_cast<rlim_t>(std::ceil(used + seconds)), current.rlim_max), current.rlim_max};
  return ::prlimit(pid_, RLIMIT_CPU, &wanted, nullptr) == 0;
}

void WorkerProcess::signal_group(int signal) {
  if (pid_ > 0 && !reaped_) {
    signalled_ = true;
    ::kill(-pid_, signal);
  }
}

std::string WorkerProcess::reap(double seconds) {
  if (reaped_) return exit_text_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  bool overdue = false;
  // Wait for the exit without reaping, so the group id stays reserved while whatever the
  // worker started and left behind is killed with it.
  for (;;) {
    siginfo_t info{};
    const int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid_) break;
    if (r < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid_, SIGKILL);
      overdue = true;
      break;
    }
    read_log();  // keep draining: a worker blocked on a full pipe would never exit
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  read_log();
  if (r != pid_) {
    exit_text_ = "ended (status unknown)";
  } else if (WIFSIGNALED(status)) {
    char waited[48] = "";
    if (overdue && WTERMSIG(status) == SIGKILL) std::snprintf(waited, sizeof waited, "did not end within %g s and ", seconds);
    exit_text_ = waited + ("was killed by " + signal_text(WTERMSIG(status)));
    term_signal_ = WTERMSIG(status);
    killed_from_outside_ = !overdue && WTERMSIG(status) == SIGKILL && !signalled_;
  } else {
    exit_text_ = "exited with status " + std::to_string(WEXITSTATUS(status));
    clean_exit_ = WEXITSTATUS(status) == 0;
  }
  return exit_text_;
}

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace ckpt
