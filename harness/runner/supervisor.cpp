#include "runner/supervisor.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <thread>

#include "results/counted.hpp"
#include "runner/descendants.hpp"
#include "runner/interrupt.hpp"

namespace ckpt {

namespace {
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr int kMaxStartFailures = 3;
// Workers killed from outside while they start (a person, the OOM killer) say nothing about
// the executable: they count apart, against a higher bound.
constexpr int kMaxStartKills = 10;
constexpr std::size_t kLogLines = 30;
// For a worker told to exit. An instrumented build's worker runs LeakSanitizer's scan of
// LibTorch's heap at exit: seconds on a loaded machine, so it gets longer.
#if defined(__SANITIZE_ADDRESS__)
constexpr double kExitSeconds = 30;
#else
constexpr double kExitSeconds = 5;
#endif

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

// "the plugin left 1019 files open (...)" when a worker's reply says so, else "".
std::string files_left_open(int left, int limit) {
  if (left <= 0) return "";
  return "the plugin left " + std::to_string(left) + " files open (a worker may have " + std::to_string(limit) +
         "), so its worker was replaced";
}
}  // namespace

struct Supervisor::Slot {
  enum class State { kStarting, kIdle, kBusy };
  std::unique_ptr<WorkerProcess> worker;
  State state = State::kStarting;
  Clock::time_point since = Clock::now();  // start, or unit dispatch
  std::size_t unit = 0;
  std::size_t planned_done = 0;            // cases received for the unit
  std::string phase;                       // "strict-load/generator"
  Clock::time_point phase_start = Clock::now();
  std::vector<std::string> plugins;        // labels of the plugins the current worker loaded
  std::string nonce;                       // of the request in flight
  std::string finished_nonce;              // of the last unit this worker finished
  std::string finished_unit;               // its id: late messages of it are blamed on it

  void loaded(const PluginRef& plugin) {
    if (!plugin.name.empty() && std::find(plugins.begin(), plugins.end(), plugin.label()) == plugins.end()) {
      plugins.push_back(plugin.label());
    }
  }
};

Supervisor::Supervisor(SupervisorOptions options)
    : options_(std::move(options)), cpu_seconds_per_unit_(cpu_seconds_per_unit(options_)) {
  install_interrupt_handlers();
  become_subreaper();  // orphans of workers come to the supervisor, which ends them
  // The `jobs` workers share the cores: each takes its part for LibTorch's threads.
  if (options_.limits.cpu_threads == 0) options_.limits.cpu_threads = std::max(1, available_cpus() / std::max(1, options_.jobs));
}

namespace {
std::string process_list(const std::vector<EndedProcess>& ended) {
  std::string text;
  for (std::size_t i = 0; i < ended.size() && i < 5; ++i) {
    text += (i ? ", " : "") + std::to_string(ended[i].pid) + " '" + ended[i].command + "'";
  }
  if (ended.size() > 5) text += ", ...";
  return text;
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

void Supervisor::start_worker(Slot& slot) {
  slot.worker = std::make_unique<WorkerProcess>(options_.worker_executable, options_.limits);
  slot.plugins.clear();
}

void Supervisor::note(std::string text) {
  if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(std::move(text));
}

// A worker that ended outside a unit: the results it sent stand, but the run says how it
// ended and which plugins it had loaded (one of them is the likely cause).
void Supervisor::note_worker_end(const Slot& slot, const std::string& how, const std::string& when) {
  const std::string plugins = comma_list(slot.plugins);
  note("a worker that loaded " + (plugins.empty() ? std::string("no plugin") : plugins) + " " + how + " " + when);
}

namespace {
// Why `reply` cannot be taken from the worker `pid` as the answer to `nonce` (and `unit`), or
// "" when it can. Shared by describing and running, so both hold replies to one rule.
std::string envelope_violation(const protocol::Reply& reply, pid_t pid, const std::string& nonce, const std::string& unit) {
  if (!reply.violation.empty()) return reply.violation;
  const std::string what = std::string("a '") + protocol::to_string(reply.op) + "' message";
  if (reply.envelope.pid != pid) {
    return what + " written by another process (pid " + std::to_string(reply.envelope.pid) + "; the worker is pid " +
           std::to_string(pid) + ")";
  }
  if (reply.op == protocol::Op::kReady) return "a second 'ready' message";
  if (reply.envelope.nonce != nonce) return what + " that does not answer the request in flight (its nonce is not the request's)";
  if (!unit.empty() && reply.op != protocol::Op::kProtocolError && reply.envelope.unit != unit) {
    return what + " about unit '" + reply.envelope.unit + "' during unit '" + unit + "'";
  }
  return "";
}

// A worker of another protocol version (a ckpt-harness and a ckpt-harness-worker of two
// builds) is refused with what to do; "" when the versions agree.
std::string version_mismatch(const protocol::Ready& ready, const std::string& executable) {
  if (ready.protocol == protocol::kVersion) return "";
  return "speaks protocol version " + std::to_string(ready.protocol) + " but this ckpt-harness speaks " +
         std::to_string(protocol::kVersion) + ": " + executable +
         " comes from another build; install or build ckpt-harness and its worker from the same source";
}

// How a worker that broke the protocol ended, for the unit's error.
std::string protocol_broken(const std::string& violation) {
  return "broke the protocol and was replaced: its reply channel, which only the harness writes, carried " + violation +
         " (a plugin writing to the channel, or a process it forked?)";
}
}  // namespace

// Waits for the worker's `ready` or the `described` reply to `nonce`; nullopt when the worker
// ended, timed out, broke the protocol or the run was interrupted (then `failure` says how).
std::optional<protocol::Reply> Supervisor::wait_for(Slot& slot, protocol::Op op, const std::string& nonce, double seconds,
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
  if (slots_.empty()) slots_.push_back(std::make_unique<Slot>());
  Slot& slot = *slots_.front();
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
  if (slot.worker) slot.state = Slot::State::kIdle;
  end_orphans("a worker that described plugins");
  return out;
}

Supervisor::DescribeEnd Supervisor::describe_one(Slot& slot, DescribeOutcome& d, protocol::DescribeRequest request) {
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
                         slot.worker->log().last_lines(kLogLines));
    }
  }
  slot.worker->log().clear();
  slot.worker->limit_cpu_time(cpu_seconds_per_unit_);
  request.nonce = slot.nonce = protocol::new_nonce();
  slot.worker->send(protocol::encode(request));
  auto message = wait_for(slot, protocol::Op::kDescribed, slot.nonce, options_.unit_timeout_seconds, failure);
  if (!message) {
    const std::string log = slot.worker->log().last_lines(kLogLines);
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

namespace {
CaseResult error_case(const PlannedCase& planned, std::string message, std::string details = {}) {
  return ckpt::error_case(planned.scenario, planned.component, std::move(message), std::move(details));
}

}  // namespace

std::vector<UnitResult> Supervisor::run(std::vector<UnitPlan> units, const std::function<void(UnitResult&)>& finish,
                                        RunListener& listener) {
  const std::size_t total = units.size();
  std::vector<bool> started(total, false), done(total, false);
  std::size_t next = 0, finished = 0;
  int start_failures = 0, start_kills = 0;
  std::string start_failure;
  auto cannot_start = [&] { return start_failures >= kMaxStartFailures || start_kills >= kMaxStartKills; };
  const int jobs = std::max(1, std::min<int>(options_.jobs, static_cast<int>(total)));
  while (static_cast<int>(slots_.size()) < jobs) slots_.push_back(std::make_unique<Slot>());
  std::vector<Clock::time_point> unit_start(total);

  auto complete = [&](std::size_t index) {
    UnitResult& r = units[index].result;
    r.seconds = seconds_since(unit_start[index]);
    finish(r);
    done[index] = true;
    ++finished;
    listener.on_unit_end(r, finished, total);
  };

  // The worker ended or was killed while running a unit: the case it was in and the
  // cases it had not reached become errors; those it finished stay.
  auto fail_unit = [&](Slot& slot, const std::string& how, const std::string& what) {
    UnitPlan& plan = units[slot.unit];
    UnitResult& r = plan.result;
    const std::string log = slot.worker ? slot.worker->log().last_lines(kLogLines) : "";
    r.worker_log = slot.worker ? slot.worker->log().text() : "";
    const std::string phase = !slot.phase.empty()      ? slot.phase
                              : slot.planned_done == 0 ? "the start of the unit"
                                                       : "the end of the unit";
    for (std::size_t i = slot.planned_done; i < plan.request.cases.size(); ++i) {
      const PlannedCase& p = plan.request.cases[i];
      if (i == slot.planned_done) {
        CaseResult c = error_case(p, "the worker " + how + (what.empty() ? "" : " " + what) + " during " + phase,
                                  "worker output (last lines):\n" + log);
        c.seconds = seconds_since(slot.phase_start);
        r.cases.push_back(std::move(c));
      } else {
        r.cases.push_back(error_case(p, "not run: the worker " + how + " earlier in this unit, during " + phase));
      }
    }
    complete(slot.unit);
  };

  // Units a worker was given but lost through no fault of theirs (its worker broke the
  // protocol for an earlier unit, or crashed when other plugins' code had run in it): run
  // again, first, each at most once.
  std::deque<std::size_t> rerun;
  std::vector<bool> retried(total, false);
  // The plugins the slot's worker loaded besides the unit's own.
  auto other_plugins = [&](const Slot& slot) {
    const std::string own = units[slot.unit].result.plugin.label();
    std::string text;
    for (const auto& p : slot.plugins) {
      if (p != own) text += (text.empty() ? "" : ", ") + p;
    }
    return text;
  };
  // A crash (not a kill, not an exit) in a worker where other plugins' code ran before.
  auto crash_may_be_earlier = [&](const Slot& slot) {
    const int s = slot.worker->term_signal();
    const bool crash = s == SIGSEGV || s == SIGBUS || s == SIGABRT || s == SIGFPE || s == SIGILL || s == SIGTRAP;
    return crash && !other_plugins(slot).empty();
  };

  // Kills the slot's worker after it broke the protocol. The unit in flight fails when the
  // message was its own; when it was a late message of the unit the worker finished before,
  // that unit gets a note (its results came before and stand) and the one in flight runs again.
  auto broke_protocol = [&](Slot& slot, const std::string& violation, bool late) {
    if (late) {
      note(slot.finished_unit + ": after its results were in, its worker " + protocol_broken(violation));
    }
    slot.worker->signal_group(SIGKILL);
    const std::string how = slot.worker->reap(options_.grace_seconds);
    if (slot.state == Slot::State::kBusy) {
      if (late && !retried[slot.unit]) {
        retried[slot.unit] = true;
        UnitResult& r = units[slot.unit].result;
        r.cases.clear();
        rerun.push_back(slot.unit);
      } else {
        fail_unit(slot, protocol_broken(violation) + "; it " + how, "");
      }
    }
    slot.worker.reset();
    slot.state = Slot::State::kStarting;
  };

  auto handle_messages = [&](Slot& slot) {
    while (auto m = slot.worker->next_message()) {
      const pid_t pid = slot.worker->pid();
      if (slot.state == Slot::State::kStarting) {
        std::string violation = m->violation.empty() && m->op == protocol::Op::kReady && m->envelope.pid == pid
                                    ? version_mismatch(protocol::ready_from(*m), options_.worker_executable)
                                    : protocol_broken(m->violation.empty() ? std::string("a '") + protocol::to_string(m->op) +
                                                                                          "' message before 'ready'"
                                                                                    : m->violation);
        if (!violation.empty()) {  // the worker cannot serve: every start would end alike
          start_failure = "it " + violation;
          start_failures = kMaxStartFailures;
          slot.worker->signal_group(SIGKILL);
          slot.worker->reap(options_.grace_seconds);
          slot.worker.reset();
          return;
        }
        slot.state = Slot::State::kIdle;
        start_failures = start_kills = 0;
        continue;
      }
      // A process the plugin forked that was about to answer for the worker, and ended
      // instead: the results are the worker's own, the unit it belongs to gets a note.
      if (m->violation.empty() && m->op == protocol::Op::kForked && m->envelope.pid != pid &&
          (m->envelope.nonce == slot.nonce || m->envelope.nonce == slot.finished_nonce)) {
        const std::string unit = m->envelope.nonce == slot.nonce && slot.state == Slot::State::kBusy ? units[slot.unit].result.id
                                                                                                     : slot.finished_unit;
        note(unit + ": the plugin forked a process (pid " + std::to_string(m->envelope.pid) +
             ") that went on with the worker's code; it was stopped before it could answer for the worker, so the "
             "unit's results are the worker's own");
        continue;
      }
      // Late: a well-formed message of the unit this worker finished last.
      const bool late = m->violation.empty() && m->envelope.pid == pid && !slot.finished_nonce.empty() &&
                        m->envelope.nonce == slot.finished_nonce;
      if (slot.state != Slot::State::kBusy) {
        broke_protocol(slot, envelope_violation(*m, pid, "", "").empty() ? "a message while it had no request"
                                                                          : envelope_violation(*m, pid, "", ""),
                       late);
        return;
      }
      UnitPlan& plan = units[slot.unit];
      const std::string violation = envelope_violation(*m, pid, slot.nonce, plan.result.id);
      if (!violation.empty()) {
        broke_protocol(slot, violation, late);
        return;
      }
      try {
        switch (m->op) {
          case protocol::Op::kPhase: {
            const protocol::Phase phase = protocol::phase_from(*m);
            slot.phase = case_label(phase.scenario, phase.component);
            slot.phase_start = Clock::now();
            break;
          }
          case protocol::Op::kCase: {
            if (slot.planned_done >= plan.request.cases.size()) {
              broke_protocol(slot, "more case results than the unit has cases (" +
                                       std::to_string(plan.request.cases.size()) + ")", false);
              return;
            }
            plan.result.cases.push_back(protocol::case_from(*m));
            ++slot.planned_done;
            slot.phase.clear();
            break;
          }
          case protocol::Op::kDone: {
            const protocol::Done done = protocol::done_from(*m);
            for (std::size_t i = slot.planned_done; i < plan.request.cases.size(); ++i) {
              plan.result.cases.push_back(error_case(plan.request.cases[i], "the worker finished the unit without this case's result"));
            }
            plan.result.checkpoint_sha256 = done.sha256;
            // The worker said so on the unit's cases; the note shows it in the run's summary.
            if (const std::string left = files_left_open(done.open_files_left, done.open_files_limit); !left.empty()) {
              note(plan.result.id + ": " + left);
            }
            if (plan.result.worst() == Outcome::kError) plan.result.worker_log = slot.worker->log().text();
            slot.finished_nonce = slot.nonce;
            slot.finished_unit = plan.result.id;
            end_unit_leftovers(pid, plan.result.id);
            complete(slot.unit);
            slot.state = Slot::State::kIdle;
            if (done.replace) {  // after a memory failure or a descriptor leak the process is in doubt: start afresh
              slot.worker->signal_group(SIGKILL);
              slot.worker->reap(options_.grace_seconds);
              slot.worker.reset();
              slot.state = Slot::State::kStarting;
              return;
            }
            break;
          }
          case protocol::Op::kProtocolError:
            slot.worker->signal_group(SIGKILL);
            fail_unit(slot, "could not read its request (" + protocol::protocol_error_from(*m).error +
                                "): the supervisor and the worker disagree about the protocol, and " +
                                slot.worker->reap(options_.grace_seconds),
                      "");
            slot.worker.reset();
            slot.state = Slot::State::kStarting;
            return;
          default:
            broke_protocol(slot, std::string("a '") + protocol::to_string(m->op) + "' message during a unit", false);
            return;
        }
      } catch (const json::exception& e) {
        broke_protocol(slot, std::string("an unreadable '") + protocol::to_string(m->op) + "' message (" + e.what() + ")", false);
        return;
      }
    }
  };

  auto abandon = [&](Slot& slot) {
    slot.worker.reset();
    slot.state = Slot::State::kStarting;
  };
  // Workers alive now, to notice the ones a pass ended (their orphans are then ended).
  auto live_workers = [&] {
    std::vector<pid_t> live;
    for (const auto& slot : slots_) {
      if (slot->worker) live.push_back(slot->worker->pid());
    }
    return live;
  };

  std::vector<pid_t> live_last;
  while (finished < total) {
    note_ignored_signal();
    // Workers gone since the last pass may have left orphans (adopted by this subreaper).
    const std::vector<pid_t> live_now = live_workers();
    if (std::any_of(live_last.begin(), live_last.end(),
                    [&](pid_t w) { return std::find(live_now.begin(), live_now.end(), w) == live_now.end(); })) {
      end_orphans("a worker that was replaced");
    }
    live_last = live_now;
    const bool stopping = interrupted();
    // Dispatch work.
    for (auto& slot_ptr : slots_) {
      Slot& slot = *slot_ptr;
      if (stopping) break;
      const bool work_left = next < total || !rerun.empty();
      if (!slot.worker && work_left) {
        if (cannot_start()) break;
        try {
          start_worker(slot);
          slot.state = Slot::State::kStarting;
          slot.since = Clock::now();
        } catch (const std::exception& e) {
          start_failure = e.what();
          ++start_failures;
          continue;
        }
      }
      if (slot.worker && slot.state == Slot::State::kIdle && work_left) {
        // A unit runs again only in a worker where no other plugin's code has run.
        const bool fresh_for_rerun = !rerun.empty() && std::all_of(slot.plugins.begin(), slot.plugins.end(), [&](const std::string& p) {
          return p == units[rerun.front()].result.plugin.label();
        });
        if (fresh_for_rerun) {
          slot.unit = rerun.front();
          rerun.pop_front();
        } else if (next < total) {
          slot.unit = next++;
        } else {  // only units to run again are left: this worker makes way for a fresh one
          slot.worker->close_requests();
          slot.worker->signal_group(SIGKILL);
          slot.worker->reap(options_.grace_seconds);
          abandon(slot);
          continue;
        }
        slot.state = Slot::State::kBusy;
        slot.planned_done = 0;
        slot.phase.clear();
        slot.since = slot.phase_start = unit_start[slot.unit] = Clock::now();
        started[slot.unit] = true;
        slot.worker->log().clear();
        slot.loaded(units[slot.unit].result.plugin);
        listener.on_unit_start(units[slot.unit].result);
        slot.worker->limit_cpu_time(cpu_seconds_per_unit_);
        slot.nonce = protocol::new_nonce();
        if (!slot.worker->send(protocol::encode(protocol::RunRequest{slot.nonce, units[slot.unit].request}))) {
          const std::string how = slot.worker->reap(options_.grace_seconds);
          fail_unit(slot, how, "before it received the unit");
          abandon(slot);
        }
      }
    }
    if (cannot_start()) {
      // The worker cannot start at all: every unit left would fail the same way.
      for (const std::size_t i : rerun) started[i] = false;
      rerun.clear();
      for (std::size_t i = 0; i < total; ++i) {
        if (started[i]) continue;
        started[i] = true;
        unit_start[i] = Clock::now();
        for (const auto& p : units[i].request.cases) {
          units[i].result.cases.push_back(error_case(p, "not run: the worker cannot start (" + options_.worker_executable +
                                                            "): " + start_failure));
        }
        complete(i);
      }
      next = total;
    }
    if (stopping) break;
    if (finished >= total) break;

    // Wait for anything to happen, no longer than the nearest deadline.
    std::vector<pollfd> fds;
    double wait = 0.25;
    for (auto& slot_ptr : slots_) {
      Slot& slot = *slot_ptr;
      if (!slot.worker) continue;
      fds.push_back({slot.worker->reply_fd(), POLLIN, 0});
      fds.push_back({slot.worker->log_fd(), POLLIN, 0});
      const double limit = slot.state == Slot::State::kBusy ? options_.unit_timeout_seconds
                           : slot.state == Slot::State::kStarting ? options_.start_timeout_seconds
                                                                  : 1e9;
      wait = std::min(wait, std::max(0.0, limit - seconds_since(slot.since)));
    }
    fds.push_back({interrupt_fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), static_cast<int>(std::ceil(wait * 1000.0)));

    for (auto& slot_ptr : slots_) {
      Slot& slot = *slot_ptr;
      if (!slot.worker) continue;
      slot.worker->read_log();
      const bool open = slot.worker->read_replies();
      handle_messages(slot);
      if (!slot.worker) continue;  // replaced after a memory failure
      if (!open) {
        const std::string how = slot.worker->reap(options_.grace_seconds);
        if (slot.state == Slot::State::kBusy && crash_may_be_earlier(slot) && !retried[slot.unit] && !interrupted()) {
          // The worker crashed, but it had run other plugins' code before, which may have left
          // a thread or a timer that crashed it now: the unit runs again on a fresh worker,
          // and the crash is its own only if it happens again.
          retried[slot.unit] = true;
          note(units[slot.unit].result.id + ": its worker " + how + " during this unit, after it had loaded " +
               other_plugins(slot) + "; the unit ran again on a fresh worker, and a crash counts against it only if it "
               "happens there too");
          units[slot.unit].result.cases.clear();
          rerun.push_back(slot.unit);
        } else if (slot.state == Slot::State::kBusy) {
          fail_unit(slot, how, "without sending its result");
        } else if (slot.state == Slot::State::kStarting) {
          start_failure = "it " + how + ": " + slot.worker->log().last_lines(5);
          ++(slot.worker->killed_from_outside() ? start_kills : start_failures);
        } else {
          note_worker_end(slot, how, "while idle between units (the results it sent stand)");
        }
        abandon(slot);
        continue;
      }
      if (slot.state == Slot::State::kBusy && seconds_since(slot.since) > options_.unit_timeout_seconds) {
        slot.worker->signal_group(SIGTERM);
        const std::string how = slot.worker->reap(options_.grace_seconds);
        char limit[32];
        std::snprintf(limit, sizeof limit, "%g", options_.unit_timeout_seconds);
        fail_unit(slot, "timed out (" + std::string(limit) + " s per unit, [run] timeout_seconds) and " + how, "");
        abandon(slot);
      } else if (slot.state == Slot::State::kStarting && seconds_since(slot.since) > options_.start_timeout_seconds) {
        slot.worker->signal_group(SIGKILL);
        start_failure = "it did not report ready within " + std::to_string(static_cast<int>(options_.start_timeout_seconds)) + " s";
        ++start_failures;
        abandon(slot);
      }
    }
  }

  if (interrupted()) {
    for (auto& slot_ptr : slots_) {
      Slot& slot = *slot_ptr;
      if (!slot.worker) continue;
      if (slot.state == Slot::State::kBusy && !done[slot.unit]) {
        slot.worker->signal_group(SIGTERM);
        const std::string how = slot.worker->reap(options_.grace_seconds);
        fail_unit(slot, "was stopped (the run was interrupted) and " + how, "");
      }
      abandon(slot);
    }
  }
  // Closing fd 3 tells idle workers to exit. Their results are all in; one that does not
  // exit cleanly (plugin code runs at exit too) is noted, not hidden.
  for (auto& slot_ptr : slots_) {
    if (slot_ptr->worker) slot_ptr->worker->close_requests();
  }
  for (auto& slot_ptr : slots_) {
    Slot& slot = *slot_ptr;
    if (!slot.worker) continue;
    const std::string how = slot.worker->reap(kExitSeconds);
    if (!slot.worker->exited_cleanly()) {
      note_worker_end(slot, how,
                      "after it was told to exit, once its units had finished (their results stand): plugin code "
                      "that runs at exit (static destructors, atexit handlers) may have failed");
    }
    slot.worker.reset();
  }
  end_orphans("the run's workers");
  note_ignored_signal();
  std::vector<UnitResult> out;
  for (std::size_t i = 0; i < total; ++i) {
    if (done[i]) out.push_back(std::move(units[i].result));
  }
  return out;
}

}  // namespace ckpt
