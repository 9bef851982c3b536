#include "runner/unit_run.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "runner/interrupt.hpp"
#include "text/counted.hpp"
#include "runner/reply_rules.hpp"

namespace ckpt {

namespace {
using nlohmann::json;

// For a worker told to exit. An instrumented build's worker runs LeakSanitizer's scan of
// LibTorch's heap at exit: seconds on a loaded machine, so it gets longer.
#if defined(__SANITIZE_ADDRESS__)
constexpr double kExitSeconds = 30;
#else
constexpr double kExitSeconds = 5;
#endif

double seconds_since(WorkerSlot::Clock::time_point t) {
  return std::chrono::duration<double>(WorkerSlot::Clock::now() - t).count();
}

CaseResult error_case(const PlannedCase& planned, std::string message, std::string details = {}) {
  return ckpt::error_case(planned.scenario, planned.component, std::move(message), std::move(details));
}

// Ends the slot's worker at once, waiting no longer than `grace` for it; says how it ended.
std::string kill_worker(WorkerSlot& slot, double grace) {
  slot.worker->signal_group(SIGKILL);
  return slot.worker->reap(grace);
}
}  // namespace

Supervisor::UnitRun::UnitRun(Supervisor& supervisor, std::vector<UnitPlan> units,
                             const std::function<void(UnitResult&)>& finish, RunListener& listener)
    : supervisor_(supervisor),
      options_(supervisor.options_),
      units_(std::move(units)),
      finish_(finish),
      listener_(listener),
      total_(units_.size()),
      started_(total_, false),
      done_(total_, false),
      unit_start_(total_),
      retried_(total_, false) {
  const int jobs = std::max(1, std::min<int>(options_.jobs, static_cast<int>(total_)));
  while (static_cast<int>(supervisor_.slots_.size()) < jobs) supervisor_.slots_.push_back(std::make_unique<WorkerSlot>());
}

std::vector<UnitResult> Supervisor::UnitRun::run() {
  while (finished_ < total_) {
    supervisor_.note_ignored_signal();
    end_orphans_of_replaced_workers();
    const bool stopping = interrupted();
    if (!stopping) dispatch();
    if (cannot_start()) fail_units_not_started();
    if (stopping || finished_ >= total_) break;
    wait_for_events();
    for (auto& slot : supervisor_.slots_) service(*slot);
  }
  if (interrupted()) stop_interrupted_units();
  dismiss_workers();
  supervisor_.end_orphans("the run's workers");
  supervisor_.note_ignored_signal();
  std::vector<UnitResult> out;
  for (std::size_t i = 0; i < total_; ++i) {
    if (done_[i]) out.push_back(std::move(units_[i].result));
  }
  return out;
}

// Workers gone since the last pass may have left orphans (adopted by the supervisor, a
// subreaper): they are ended.
void Supervisor::UnitRun::end_orphans_of_replaced_workers() {
  std::vector<pid_t> live_now;
  for (const auto& slot : supervisor_.slots_) {
    if (slot->worker) live_now.push_back(slot->worker->pid());
  }
  if (std::any_of(live_last_.begin(), live_last_.end(),
                  [&](pid_t w) { return std::find(live_now.begin(), live_now.end(), w) == live_now.end(); })) {
    supervisor_.end_orphans("a worker that was replaced");
  }
  live_last_ = std::move(live_now);
}

void Supervisor::UnitRun::dispatch() {
  for (auto& slot_ptr : supervisor_.slots_) {
    WorkerSlot& slot = *slot_ptr;
    if (!slot.worker && work_left()) {
      if (cannot_start()) break;
      try {
        supervisor_.start_worker(slot);
        slot.state = WorkerSlot::State::kStarting;
        slot.since = Clock::now();
      } catch (const std::exception& e) {
        start_failure_ = e.what();
        ++start_failures_;
        continue;
      }
    }
    if (slot.worker && slot.state == WorkerSlot::State::kIdle && work_left()) give_unit(slot);
  }
}

void Supervisor::UnitRun::give_unit(WorkerSlot& slot) {
  // A unit runs again only in a worker where no other plugin's code has run.
  const bool fresh_for_rerun = !rerun_.empty() && std::all_of(slot.plugins.begin(), slot.plugins.end(), [&](const std::string& p) {
    return p == units_[rerun_.front()].result.plugin.label();
  });
  if (fresh_for_rerun) {
    slot.unit = rerun_.front();
    rerun_.pop_front();
  } else if (next_ < total_) {
    slot.unit = next_++;
  } else {  // only units to run again are left: this worker makes way for a fresh one
    slot.worker->close_requests();
    kill_worker(slot, options_.grace_seconds);
    slot.abandon();
    return;
  }
  slot.state = WorkerSlot::State::kBusy;
  slot.planned_done = 0;
  slot.phase.clear();
  slot.since = slot.phase_start = unit_start_[slot.unit] = Clock::now();
  started_[slot.unit] = true;
  slot.worker->log().clear();
  slot.loaded(units_[slot.unit].result.plugin);
  listener_.on_unit_start(units_[slot.unit].result);
  slot.worker->limit_cpu_time(supervisor_.cpu_seconds_per_unit_);
  slot.nonce = protocol::new_nonce();
  if (!slot.worker->send(protocol::encode(protocol::RunRequest{slot.nonce, units_[slot.unit].request}))) {
    const std::string how = slot.worker->reap(options_.grace_seconds);
    fail_unit(slot, how, "before it received the unit");
    slot.abandon();
  }
}

// The worker cannot start at all: every unit left would fail the same way.
void Supervisor::UnitRun::fail_units_not_started() {
  for (const std::size_t i : rerun_) started_[i] = false;
  rerun_.clear();
  for (std::size_t i = 0; i < total_; ++i) {
    if (started_[i]) continue;
    started_[i] = true;
    unit_start_[i] = Clock::now();
    for (const auto& p : units_[i].request.cases) {
      units_[i].result.cases.push_back(
          error_case(p, "not run: the worker cannot start (" + options_.worker_executable + "): " + start_failure_));
    }
    complete(i);
  }
  next_ = total_;
}

void Supervisor::UnitRun::wait_for_events() const {
  std::vector<pollfd> fds;
  double wait = 0.25;
  for (const auto& slot : supervisor_.slots_) {
    if (!slot->worker) continue;
    fds.push_back({slot->worker->reply_fd(), POLLIN, 0});
    fds.push_back({slot->worker->log_fd(), POLLIN, 0});
    const double limit = slot->state == WorkerSlot::State::kBusy       ? options_.unit_timeout_seconds
                         : slot->state == WorkerSlot::State::kStarting ? options_.start_timeout_seconds
                                                                       : 1e9;
    wait = std::min(wait, std::max(0.0, limit - slot->seconds_in_state()));
  }
  fds.push_back({interrupt_fd(), POLLIN, 0});
  ::poll(fds.data(), fds.size(), static_cast<int>(std::ceil(wait * 1000.0)));
}

void Supervisor::UnitRun::service(WorkerSlot& slot) {
  if (!slot.worker) return;
  slot.worker->read_log();
  const bool open = slot.worker->read_replies();
  take_messages(slot);
  if (!slot.worker) return;  // replaced after a memory failure or a broken protocol
  if (!open) {
    worker_ended(slot);
    return;
  }
  if (slot.state == WorkerSlot::State::kBusy && slot.seconds_in_state() > options_.unit_timeout_seconds) {
    slot.worker->signal_group(SIGTERM);
    const std::string how = slot.worker->reap(options_.grace_seconds);
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", options_.unit_timeout_seconds);
    fail_unit(slot, "timed out (" + std::string(limit) + " s per unit, [run] timeout_seconds) and " + how, "");
    slot.abandon();
  } else if (slot.state == WorkerSlot::State::kStarting && slot.seconds_in_state() > options_.start_timeout_seconds) {
    slot.worker->signal_group(SIGKILL);
    start_failure_ = "it did not report ready within " + std::to_string(static_cast<int>(options_.start_timeout_seconds)) + " s";
    ++start_failures_;
    slot.abandon();
  }
}

void Supervisor::UnitRun::take_messages(WorkerSlot& slot) {
  while (slot.worker) {
    const auto message = slot.worker->next_message();
    if (!message) return;
    const bool kept = slot.state == WorkerSlot::State::kStarting ? take_ready(slot, *message) : take_unit_message(slot, *message);
    if (!kept) return;
  }
}

bool Supervisor::UnitRun::take_ready(WorkerSlot& slot, const protocol::Reply& m) {
  const std::string violation =
      m.violation.empty() && m.op == protocol::Op::kReady && m.envelope.pid == slot.worker->pid()
          ? version_mismatch(protocol::ready_from(m), options_.worker_executable)
          : protocol_broken(m.violation.empty() ? std::string("a '") + protocol::to_string(m.op) + "' message before 'ready'"
                                                : m.violation);
  if (!violation.empty()) {  // the worker cannot serve: every start would end alike
    start_failure_ = "it " + violation;
    start_failures_ = kMaxStartFailures;
    kill_worker(slot, options_.grace_seconds);
    slot.worker.reset();
    return false;
  }
  slot.state = WorkerSlot::State::kIdle;
  start_failures_ = start_kills_ = 0;
  return true;
}

bool Supervisor::UnitRun::take_unit_message(WorkerSlot& slot, const protocol::Reply& m) {
  const pid_t pid = slot.worker->pid();
  // A process the plugin forked that was about to answer for the worker, and ended
  // instead: the results are the worker's own, the unit it belongs to gets a note.
  if (m.violation.empty() && m.op == protocol::Op::kForked && m.envelope.pid != pid &&
      (m.envelope.nonce == slot.nonce || m.envelope.nonce == slot.finished_nonce)) {
    const std::string unit = m.envelope.nonce == slot.nonce && slot.state == WorkerSlot::State::kBusy
                                 ? units_[slot.unit].result.id
                                 : slot.finished_unit;
    supervisor_.note(unit + ": the plugin forked a process (pid " + std::to_string(m.envelope.pid) +
                     ") that went on with the worker's code; it was stopped before it could answer for the worker, so "
                     "the unit's results are the worker's own");
    return true;
  }
  // Late: a well-formed message of the unit this worker finished last.
  const bool late = m.violation.empty() && m.envelope.pid == pid && !slot.finished_nonce.empty() &&
                    m.envelope.nonce == slot.finished_nonce;
  if (slot.state != WorkerSlot::State::kBusy) {
    const std::string violation = envelope_violation(m, pid, "", "");
    broke_protocol(slot, violation.empty() ? "a message while it had no request" : violation, late);
    return false;
  }
  UnitPlan& plan = units_[slot.unit];
  if (const std::string violation = envelope_violation(m, pid, slot.nonce, plan.result.id); !violation.empty()) {
    broke_protocol(slot, violation, late);
    return false;
  }
  try {
    switch (m.op) {
      case protocol::Op::kPhase: {
        const protocol::Phase phase = protocol::phase_from(m);
        slot.phase = case_label(phase.scenario, phase.component);
        slot.phase_start = Clock::now();
        return true;
      }
      case protocol::Op::kCase:
        if (slot.planned_done >= plan.request.cases.size()) {
          broke_protocol(slot, "more case results than the unit has cases (" + std::to_string(plan.request.cases.size()) + ")",
                         false);
          return false;
        }
        plan.result.cases.push_back(protocol::case_from(m));
        ++slot.planned_done;
        slot.phase.clear();
        return true;
      case protocol::Op::kDone:
        return take_done(slot, m);
      case protocol::Op::kProtocolError:
        slot.worker->signal_group(SIGKILL);
        fail_unit(slot, "could not read its request (" + protocol::protocol_error_from(m).error +
                            "): the supervisor and the worker disagree about the protocol, and " +
                            slot.worker->reap(options_.grace_seconds),
                  "");
        slot.abandon();
        return false;
      default:
        broke_protocol(slot, std::string("a '") + protocol::to_string(m.op) + "' message during a unit", false);
        return false;
    }
  } catch (const json::exception& e) {
    broke_protocol(slot, std::string("an unreadable '") + protocol::to_string(m.op) + "' message (" + e.what() + ")", false);
    return false;
  }
}

bool Supervisor::UnitRun::take_done(WorkerSlot& slot, const protocol::Reply& m) {
  UnitPlan& plan = units_[slot.unit];
  const protocol::Done done = protocol::done_from(m);
  for (std::size_t i = slot.planned_done; i < plan.request.cases.size(); ++i) {
    plan.result.cases.push_back(error_case(plan.request.cases[i], "the worker finished the unit without this case's result"));
  }
  plan.result.checkpoint_sha256 = done.sha256;
  // The worker said so on the unit's cases; the note shows it in the run's summary.
  if (const std::string left = files_left_open(done.open_files_left, done.open_files_limit); !left.empty()) {
    supervisor_.note(plan.result.id + ": " + left);
  }
  if (plan.result.worst() == Outcome::kError) plan.result.worker_log = slot.worker->log().text();
  slot.finished_nonce = slot.nonce;
  slot.finished_unit = plan.result.id;
  supervisor_.end_unit_leftovers(slot.worker->pid(), plan.result.id);
  complete(slot.unit);
  slot.state = WorkerSlot::State::kIdle;
  if (done.replace) {  // after a memory failure or a descriptor leak the process is in doubt: start afresh
    kill_worker(slot, options_.grace_seconds);
    slot.abandon();
    return false;
  }
  return true;
}

// The worker's reply channel closed: it ended, or was killed.
void Supervisor::UnitRun::worker_ended(WorkerSlot& slot) {
  const std::string how = slot.worker->reap(options_.grace_seconds);
  if (slot.state == WorkerSlot::State::kBusy && crash_may_be_earlier(slot) && !retried_[slot.unit] && !interrupted()) {
    // The worker crashed, but it had run other plugins' code before, which may have left
    // a thread or a timer that crashed it now: the unit runs again on a fresh worker,
    // and the crash is its own only if it happens again.
    supervisor_.note(units_[slot.unit].result.id + ": its worker " + how + " during this unit, after it had loaded " +
                     other_plugins(slot) + "; the unit ran again on a fresh worker, and a crash counts against it only "
                     "if it happens there too");
    run_again(slot.unit);
  } else if (slot.state == WorkerSlot::State::kBusy) {
    fail_unit(slot, how, "without sending its result");
  } else if (slot.state == WorkerSlot::State::kStarting) {
    start_failure_ = "it " + how + ": " + slot.worker->log().last_lines(5);
    ++(slot.worker->killed_from_outside() ? start_kills_ : start_failures_);
  } else {
    supervisor_.note_worker_end(slot, how, "while idle between units (the results it sent stand)");
  }
  slot.abandon();
}

void Supervisor::UnitRun::stop_interrupted_units() {
  for (auto& slot_ptr : supervisor_.slots_) {
    WorkerSlot& slot = *slot_ptr;
    if (!slot.worker) continue;
    if (slot.state == WorkerSlot::State::kBusy && !done_[slot.unit]) {
      slot.worker->signal_group(SIGTERM);
      const std::string how = slot.worker->reap(options_.grace_seconds);
      fail_unit(slot, "was stopped (the run was interrupted) and " + how, "");
    }
    slot.abandon();
  }
}

// Closing fd 3 tells idle workers to exit. Their results are all in; one that does not exit
// cleanly (plugin code runs at exit too) is noted, not hidden.
void Supervisor::UnitRun::dismiss_workers() {
  for (auto& slot : supervisor_.slots_) {
    if (slot->worker) slot->worker->close_requests();
  }
  for (auto& slot_ptr : supervisor_.slots_) {
    WorkerSlot& slot = *slot_ptr;
    if (!slot.worker) continue;
    const std::string how = slot.worker->reap(kExitSeconds);
    if (!slot.worker->exited_cleanly()) {
      supervisor_.note_worker_end(slot, how,
                                  "after it was told to exit, once its units had finished (their results stand): plugin "
                                  "code that runs at exit (static destructors, atexit handlers) may have failed");
    }
    slot.worker.reset();
  }
}

void Supervisor::UnitRun::complete(std::size_t index) {
  UnitResult& r = units_[index].result;
  r.seconds = seconds_since(unit_start_[index]);
  finish_(r);
  done_[index] = true;
  ++finished_;
  listener_.on_unit_end(r, finished_, total_);
}

// The worker ended or was killed while running a unit: the case it was in and the cases it
// had not reached become errors; those it finished stay.
void Supervisor::UnitRun::fail_unit(WorkerSlot& slot, const std::string& how, const std::string& what) {
  UnitPlan& plan = units_[slot.unit];
  UnitResult& r = plan.result;
  const std::string log = slot.worker ? slot.worker->log().last_lines(kWorkerLogLines) : "";
  r.worker_log = slot.worker ? slot.worker->log().text() : "";
  const std::string phase = !slot.phase.empty()      ? slot.phase
                            : slot.planned_done == 0 ? "the start of the unit"
                                                     : "the end of the unit";
  for (std::size_t i = slot.planned_done; i < plan.request.cases.size(); ++i) {
    const PlannedCase& p = plan.request.cases[i];
    if (i == slot.planned_done) {
      CaseResult c = error_case(p, "the worker " + how + (what.empty() ? "" : " " + what) + " during " + phase,
                                "worker output (last lines):\n" + log);
      c.seconds = slot.seconds_in_phase();
      r.cases.push_back(std::move(c));
    } else {
      r.cases.push_back(error_case(p, "not run: the worker " + how + " earlier in this unit, during " + phase));
    }
  }
  complete(slot.unit);
}

void Supervisor::UnitRun::run_again(std::size_t index) {
  retried_[index] = true;
  units_[index].result.cases.clear();
  rerun_.push_back(index);
}

// Kills the slot's worker after it broke the protocol. The unit in flight fails when the
// message was its own; when it was a late message of the unit the worker finished before,
// that unit gets a note (its results came before and stand) and the one in flight runs again.
void Supervisor::UnitRun::broke_protocol(WorkerSlot& slot, const std::string& violation, bool late) {
  if (late) supervisor_.note(slot.finished_unit + ": after its results were in, its worker " + protocol_broken(violation));
  const std::string how = kill_worker(slot, options_.grace_seconds);
  if (slot.state == WorkerSlot::State::kBusy) {
    if (late && !retried_[slot.unit]) {
      run_again(slot.unit);
    } else {
      fail_unit(slot, protocol_broken(violation) + "; it " + how, "");
    }
  }
  slot.abandon();
}

bool Supervisor::UnitRun::cannot_start() const {
  return start_failures_ >= kMaxStartFailures || start_kills_ >= kMaxStartKills;
}

std::string Supervisor::UnitRun::other_plugins(const WorkerSlot& slot) const {
  const std::string own = units_[slot.unit].result.plugin.label();
  std::vector<std::string> others;
  std::copy_if(slot.plugins.begin(), slot.plugins.end(), std::back_inserter(others),
               [&](const std::string& p) { return p != own; });
  return comma_list(others);
}

// A crash (not a kill, not an exit) in a worker where other plugins' code ran before.
bool Supervisor::UnitRun::crash_may_be_earlier(const WorkerSlot& slot) const {
  const int s = slot.worker->term_signal();
  const bool crash = s == SIGSEGV || s == SIGBUS || s == SIGABRT || s == SIGFPE || s == SIGILL || s == SIGTRAP;
  return crash && !other_plugins(slot).empty();
}

}  // namespace ckpt
