#include "runner/supervisor.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "text/counted.hpp"
#include "runner/descendants.hpp"
#include "runner/interrupt.hpp"
#include "runner/reply_rules.hpp"
#include "runner/unit_run.hpp"
#include "runner/worker_slot.hpp"

namespace ckpt {

namespace {
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// CKPT_WORKER_CPU_SECONDS overrides the CPU time per unit: a hook for the isolation tests
// (tests/cli/run_isolation_test.cpp), which need a budget of seconds; not a user setting.
double cpu_seconds_per_unit(const SupervisorOptions& options) {
  if (const char* text = std::getenv("CKPT_WORKER_CPU_SECONDS")) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (end != text && *end == '\0' && seconds > 0) return seconds;
  }
  if (options.cpu_seconds_per_unit > 0) return options.cpu_seconds_per_unit;
  // As much as the unit could use on every core until its timeout: by default the limit
  // only stops what the clock would stop too.
  return std::max(10.0, options.unit_timeout_seconds * std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

Supervisor::Supervisor(SupervisorOptions options)
    : options_(std::move(options)), cpu_seconds_per_unit_(cpu_seconds_per_unit(options_)) {
  install_interrupt_handlers();
  become_subreaper();  // orphans of workers come to the supervisor, which ends them
  // The `jobs` workers share the cores: each takes its part for LibTorch's threads.
  if (options_.limits.cpu_threads == 0) options_.limits.cpu_threads = std::max(1, available_cpus() / std::max(1, options_.jobs));
}

namespace {
std::string process_list(const std::vector<EndedProcess>& ended) {
  return comma_list(ended, [](const EndedProcess& e) { return std::to_string(e.pid) + " '" + e.command + "'"; }, 5);
}
}  // namespace

void Supervisor::end_unit_leftovers(pid_t worker, const std::string& whose) {
  const std::vector<EndedProcess> ended = end_descendants(worker);
  if (ended.empty()) return;
  note(whose + ": the plugin left " + std::to_string(ended.size()) + " process(es) running after the unit (" +
       process_list(ended) + "); they were ended");
}

void Supervisor::note_ignored_signal() {
  if (const auto ignored = take_ignored_signal()) {
    note("a plugin's process (pid " + std::to_string(ignored->first) + ") sent the supervisor " +
         signal_text(ignored->second) + "; only a signal from outside the run stops it, so it was ignored");
  }
}

void Supervisor::end_orphans(const std::string& whose) {
  std::vector<pid_t> workers;
  for (const auto& slot : slots_) {
    if (slot && slot->worker && !slot->worker->exited()) workers.push_back(slot->worker->pid());
  }
  const std::vector<EndedProcess> ended = end_adopted(workers);
  if (ended.empty()) return;
  note(whose + ": " + std::to_string(ended.size()) + " process(es) outlived their worker (" + process_list(ended) +
       "); they were ended");
}

Supervisor::~Supervisor() {
  for (auto& slot : slots_) {
    if (slot && slot->worker) slot->worker->signal_group(SIGKILL);
  }
}

void Supervisor::start_worker(WorkerSlot& slot) {
  slot.worker = std::make_unique<WorkerProcess>(options_.worker_executable, options_.limits);
  slot.plugins.clear();
}

void Supervisor::note(std::string text) {
  if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(std::move(text));
}

// A worker that ended outside a unit: the results it sent stand, but the run says how it
// ended and which plugins it had loaded (one of them is the likely cause).
void Supervisor::note_worker_end(const WorkerSlot& slot, const std::string& how, const std::string& when) {
  const std::string plugins = comma_list(slot.plugins);
  note("a worker that loaded " + (plugins.empty() ? std::string("no plugin") : plugins) + " " + how + " " + when);
}

// Waits for the worker's `ready` or the `described` reply to `nonce`; nullopt when the worker
// ended, timed out, broke the protocol or the run was interrupted (then `failure` says how).
std::optional<protocol::Reply> Supervisor::wait_for(WorkerSlot& slot, protocol::Op op, const std::string& nonce, double seconds,
                                                    std::string& failure) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  WorkerProcess& w = *slot.worker;
  // The next message must be the one awaited: anything else breaks the protocol.
  auto take = [&](protocol::Reply& m) -> int {  // 1 taken, 0 skipped, -1 broken
    // A process a plugin forked while it was described, which ended instead of answering
    // for the worker (serve.cpp): noted, as during a unit, and not a reply.
    if (m.violation.empty() && m.op == protocol::Op::kForked && m.envelope.pid != w.pid() &&
        (m.envelope.nonce == nonce || m.envelope.nonce == slot.finished_nonce)) {
      note("a plugin forked a process (pid " + std::to_string(m.envelope.pid) +
           ") while it was described; it was stopped before it could answer for the worker");
      return 0;
    }
    std::string violation = op == protocol::Op::kReady && m.violation.empty() && m.op == protocol::Op::kReady
                                ? (m.envelope.pid == w.pid() ? "" : "a 'ready' message written by another process")
                                : envelope_violation(m, w.pid(), nonce, "");
    if (violation.empty() && m.op == protocol::Op::kProtocolError) {
      violation = "'" + protocol::protocol_error_from(m).error + "' (it could not read its request)";
    } else if (violation.empty() && m.op != op) {
      violation = std::string("a '") + protocol::to_string(m.op) + "' message while the harness waited for '" +
                  protocol::to_string(op) + "'";
    }
    std::string mismatch;
    if (violation.empty() && op == protocol::Op::kReady) mismatch = version_mismatch(protocol::ready_from(m), options_.worker_executable);
    if (violation.empty() && mismatch.empty()) return 1;
    w.signal_group(SIGKILL);
    const std::string how = w.reap(options_.grace_seconds);
    failure = mismatch.empty() ? protocol_broken(violation) + "; it " + how : mismatch;
    return -1;
  };
  for (;;) {
    while (auto m = w.next_message()) {
      const int taken = take(*m);
      if (taken == 1) return m;
      if (taken < 0) return std::nullopt;
    }
    if (interrupted()) {
      failure = "interrupted";
      return std::nullopt;
    }
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) {
      w.signal_group(SIGTERM);
      failure = "timed out after " + std::to_string(static_cast<long>(seconds)) + " s and " + w.reap(options_.grace_seconds);
      return std::nullopt;
    }
    pollfd fds[3] = {{w.reply_fd(), POLLIN, 0}, {w.log_fd(), POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
    ::poll(fds, 3, static_cast<int>(std::min(left * 1000.0, 250.0)) + 1);
    w.read_log();
    if (!w.read_replies()) {
      while (auto m = w.next_message()) {
        const int taken = take(*m);
        if (taken == 1) return m;
        if (taken < 0) return std::nullopt;
      }
      failure = w.reap(options_.grace_seconds);
      return std::nullopt;
    }
  }
}

std::vector<DescribeOutcome> Supervisor::describe(std::vector<protocol::DescribeRequest> requests) {
  std::vector<DescribeOutcome> out;
  if (slots_.empty()) slots_.push_back(std::make_unique<WorkerSlot>());
  WorkerSlot& slot = *slots_.front();
  for (const protocol::DescribeRequest& request : requests) {
    DescribeOutcome d;
    d.file = request.file;
    // A worker killed from outside (not by its plugin) is replaced and the plugin described
    // again: the plugin is blamed only for what its own code does.
    for (int kills = 0; describe_one(slot, d, request) == DescribeEnd::kKilledFromOutside;) {
      if (++kills >= kMaxStartKills) break;
      d.error.clear();
    }
    if (interrupted()) break;  // the file in flight is not blamed for the interruption
    out.push_back(std::move(d));
  }
  if (slot.worker) slot.state = WorkerSlot::State::kIdle;
  end_orphans("a worker that described plugins");
  return out;
}

Supervisor::DescribeEnd Supervisor::describe_one(WorkerSlot& slot, DescribeOutcome& d, protocol::DescribeRequest request) {
  const std::string& file = d.file;
  std::string failure;
  // The worker is gone: `d.error` says how; whether from outside decides a retry.
  auto worker_lost = [&](const std::string& error) {
    d.error = error;
    const bool from_outside = slot.worker->killed_from_outside();
    slot.worker.reset();
    return from_outside ? DescribeEnd::kKilledFromOutside : DescribeEnd::kDone;
  };
  if (!slot.worker) {
    start_worker(slot);
    if (!wait_for(slot, protocol::Op::kReady, "", options_.start_timeout_seconds, failure)) {
      return worker_lost("the worker (" + options_.worker_executable + ") did not start: it " + failure + "\n" +
                         slot.worker->log().last_lines(kWorkerLogLines));
    }
  }
  slot.worker->log().clear();
  slot.worker->limit_cpu_time(cpu_seconds_per_unit_);
  request.nonce = slot.nonce = protocol::new_nonce();
  slot.worker->send(protocol::encode(request));
  auto message = wait_for(slot, protocol::Op::kDescribed, slot.nonce, options_.unit_timeout_seconds, failure);
  if (!message) {
    const std::string log = slot.worker->log().last_lines(kWorkerLogLines);
    return worker_lost("the worker " + failure + " while loading this plugin" +
                       (log.empty() ? std::string(" (it wrote nothing)") : "\nits output ended with:\n" + log));
  }
  protocol::Described described;
  try {
    described = protocol::described_from(*message);
  } catch (const json::exception& e) {
    slot.worker->signal_group(SIGKILL);
    return worker_lost("the worker " + protocol_broken(std::string("an unreadable 'described' message (") + e.what() + ")") +
                       "; it " + slot.worker->reap(options_.grace_seconds));
  }
  const protocol::Described* reply = &described;
  slot.finished_nonce = slot.nonce;  // a late 'forked' of this description is recognised
  end_unit_leftovers(slot.worker->pid(), file);
  if (!reply->ok) {
    d.error = reply->error;
  } else {
    d.plugin = DescribedPlugin{file,         reply->name,       reply->version, reply->description,
                               reply->modules, reply->optimizers, {}};  // options: the caller's (it knows which entry this is)
    slot.loaded({d.plugin->name, d.plugin->version, file});
  }
  // A plugin that left many files open while described: its error (EMFILE is then the likely
  // cause) or a note says so.
  if (const std::string left = files_left_open(reply->open_files_left, reply->open_files_limit); !left.empty()) {
    if (d.plugin) {
      note(file + ": while it was described, " + left);
    } else {
      d.error += " [" + left + "]";
    }
  }
  if (reply->replace) {
    slot.worker.reset();  // out of memory, or files left open: start afresh
  } else if (slot.worker->replies_ended()) {
    // It ended after its reply: the description stands, the next plugin gets a new worker.
    note_worker_end(slot, slot.worker->reap(options_.grace_seconds), "while idle, after describing " + file);
    slot.worker.reset();
  }
  return DescribeEnd::kDone;
}

std::vector<UnitResult> Supervisor::run(std::vector<UnitPlan> units, const std::function<void(UnitResult&)>& finish,
                                        RunListener& listener) {
  return UnitRun(*this, std::move(units), finish, listener).run();
}

}  // namespace ckpt
