#include "runner/worker_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace ckpt {

std::string signal_text(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  const std::string why = signal == SIGXFSZ ? ": a file it wrote reached the worker's file size limit" : "";
  return std::string(abbrev ? std::string("SIG") + abbrev : "signal") + " (signal " + std::to_string(signal) + why + ")";
}

namespace {
void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
}

// In the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const char* exe, int request_read, int reply_write, int log_write, const WorkerLimits& limits) {
  ::setpgid(0, 0);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD}) ::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  if (limits.memory_bytes > 0) {
    const rlimit data{limits.memory_bytes, limits.memory_bytes};
    ::setrlimit(RLIMIT_DATA, &data);
  }
  if (limits.file_bytes > 0) {
    const rlimit file_size{limits.file_bytes, limits.file_bytes};
    ::setrlimit(RLIMIT_FSIZE, &file_size);
  }
  const int devnull = ::open("/dev/null", O_RDONLY);
  // dup2 clears FD_CLOEXEC on the targets; everything else closes at exec.
  if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(log_write, 1) < 0 || ::dup2(log_write, 2) < 0 ||
      ::dup2(request_read, 3) < 0 || ::dup2(reply_write, 4) < 0) {
    ::_exit(126);
  }
  const char* argv[] = {exe, "serve", nullptr};
  ::execv(exe, const_cast<char* const*>(argv));
  const char message[] = "cannot execute the worker\n";
  (void)!::write(2, message, sizeof message - 1);
  ::_exit(127);
}
}  // namespace

WorkerProcess::WorkerProcess(const std::string& executable, const WorkerLimits& limits) {
  int request[2], reply[2], log[2];
  make_pipe(request);
  make_pipe(reply);
  make_pipe(log);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("cannot start a worker: ") + std::strerror(errno));
  if (pid_ == 0) exec_child(executable.c_str(), request[0], reply[1], log[1], limits);
  ::setpgid(pid_, pid_);  // also here: no race with a signal sent before the child ran
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
}

bool WorkerProcess::send(const nlohmann::json& message) {
  if (request_fd_ < 0) return false;
  const std::string line = message.dump() + "\n";
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
  const bool open = drain(reply_fd_, [this](const char* data, std::size_t n) { pending_.append(data, n); });
  for (std::size_t nl; (nl = pending_.find('\n')) != std::string::npos;) {
    messages_.push_back(nlohmann::json::parse(pending_.substr(0, nl), nullptr, false));
    pending_.erase(0, nl + 1);
  }
  return open;
}

void WorkerProcess::read_log() {
  drain(log_fd_, [this](const char* data, std::size_t n) { log_.append(data, n); });
}

std::optional<nlohmann::json> WorkerProcess::next_message() {
  if (messages_.empty()) return std::nullopt;
  nlohmann::json m = std::move(messages_.front());
  messages_.pop_front();
  return m;
}

void WorkerProcess::signal_group(int signal) {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, signal);
}

std::string WorkerProcess::reap(double seconds) {
  if (reaped_) return exit_text_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  // Wait for the exit without reaping, so the group id stays reserved while whatever the
  // worker started and left behind is killed with it.
  for (;;) {
    siginfo_t info{};
    const int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid_) break;
    if (r < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid_, SIGKILL);
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
    exit_text_ = "was killed by " + signal_text(WTERMSIG(status));
  } else {
    exit_text_ = "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return exit_text_;
}

}  // namespace ckpt
