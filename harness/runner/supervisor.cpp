#include "runner/supervisor.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "runner/interrupt.hpp"

namespace ckpt {

namespace {
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr int kMaxStartFailures = 3;
constexpr std::size_t kLogLines = 30;
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
};

Supervisor::Supervisor(SupervisorOptions options) : options_(std::move(options)) { install_interrupt_handlers(); }

Supervisor::~Supervisor() {
  for (auto& slot : slots_) {
    if (slot && slot->worker) slot->worker->signal_group(SIGKILL);
  }
}

std::unique_ptr<WorkerProcess> Supervisor::start_worker() {
  return std::make_unique<WorkerProcess>(options_.worker_executable, options_.limits);
}

// Waits for one message with `op` from the slot's worker; nullopt when the worker ended,
// timed out or the run was interrupted (then `failure` says how, with its output).
std::optional<json> Supervisor::wait_for(Slot& slot, const std::string& op, double seconds, std::string& failure) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  WorkerProcess& w = *slot.worker;
  for (;;) {
    while (auto m = w.next_message()) {
      if (m->is_object() && m->value("op", "") == op) return m;
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
        if (m->is_object() && m->value("op", "") == op) return m;
      }
      failure = w.reap(options_.grace_seconds);
      return std::nullopt;
    }
  }
}

std::vector<DescribeOutcome> Supervisor::describe(const std::vector<std::string>& files, const json& options_by_plugin,
                                                  const json& selectors) {
  std::vector<DescribeOutcome> out;
  if (slots_.empty()) slots_.push_back(std::make_unique<Slot>());
  Slot& slot = *slots_.front();
  for (const auto& file : files) {
    DescribeOutcome d;
    d.file = file;
    std::string failure;
    if (!slot.worker) {
      slot.worker = start_worker();
      if (!wait_for(slot, "ready", options_.start_timeout_seconds, failure)) {
        d.error = "the worker (" + options_.worker_executable + ") did not start: it " + failure + "\n" +
                  slot.worker->log().last_lines(kLogLines);
        slot.worker.reset();
        out.push_back(d);
        if (interrupted()) break;
        continue;
      }
    }
    slot.worker->log().clear();
    slot.worker->send({{"op", "describe"}, {"file", file}, {"options", options_by_plugin}, {"selectors", selectors}});
    auto reply = wait_for(slot, "described", options_.unit_timeout_seconds, failure);
    if (!reply) {
      const std::string log = slot.worker->log().last_lines(kLogLines);
      d.error = "the worker " + failure + " while loading this plugin" +
                (log.empty() ? std::string(" (it wrote nothing)") : "\nits output ended with:\n" + log);
      slot.worker.reset();
    } else if (!reply->value("ok", false)) {
      d.error = reply->value("error", "refused");
      if (reply->value("replace", false)) slot.worker.reset();  // out of memory: start afresh
    } else {
      d.plugin = DescribedPlugin{file,
                                 reply->value("name", ""),
                                 reply->value("version", ""),
                                 reply->value("description", ""),
                                 reply->value("modules", std::vector<std::string>{}),
                                 reply->value("optimizers", std::vector<std::string>{})};
    }
    out.push_back(std::move(d));
    if (interrupted()) break;
  }
  if (slot.worker) slot.state = Slot::State::kIdle;
  return out;
}

namespace {
CaseResult error_case(const PlannedCase& planned, std::string message, std::string details = {}) {
  CaseResult c;
  c.scenario = planned.scenario;
  c.component = planned.component;
  c.outcome = Outcome::kError;
  c.message = std::move(message);
  c.details = std::move(details);
  return c;
}

std::string case_label(const std::string& scenario, const std::string& component) {
  return component.empty() ? scenario : scenario + "[" + component + "]";
}
}  // namespace

std::vector<UnitResult> Supervisor::run(std::vector<UnitPlan> units, const std::function<void(UnitResult&)>& finish,
                                        RunListener& listener) {
  const std::size_t total = units.size();
  std::vector<bool> started(total, false), done(total, false);
  std::size_t next = 0, finished = 0;
  int start_failures = 0;
  std::string start_failure;
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

  auto handle_messages = [&](Slot& slot) {
    while (auto m = slot.worker->next_message()) {
      if (!m->is_object()) continue;
      const std::string op = m->value("op", "");
      if (op == "ready" && slot.state == Slot::State::kStarting) {
        slot.state = Slot::State::kIdle;
        start_failures = 0;
      } else if (op == "phase" && slot.state == Slot::State::kBusy) {
        slot.phase = case_label(m->value("scenario", ""), m->value("component", ""));
        slot.phase_start = Clock::now();
      } else if (op == "case" && slot.state == Slot::State::kBusy) {
        UnitPlan& plan = units[slot.unit];
        try {
          plan.result.cases.push_back(case_from_json(m->at("case")));
        } catch (const json::exception& e) {
          plan.result.cases.push_back(error_case(plan.request.cases.at(slot.planned_done),
                                                 std::string("the worker sent an unreadable result: ") + e.what()));
        }
        ++slot.planned_done;
        slot.phase.clear();
      } else if (op == "done" && slot.state == Slot::State::kBusy) {
        UnitPlan& plan = units[slot.unit];
        for (std::size_t i = slot.planned_done; i < plan.request.cases.size(); ++i) {
          plan.result.cases.push_back(error_case(plan.request.cases[i], "the worker finished the unit without this case's result"));
        }
        const bool replace = m->value("replace", false);
        plan.result.checkpoint_sha256 = m->value("sha256", "");
        if (plan.result.worst() == Outcome::kError) plan.result.worker_log = slot.worker->log().text();
        complete(slot.unit);
        slot.state = Slot::State::kIdle;
        if (replace) {  // a memory failure leaves the process in doubt: start afresh
          slot.worker->signal_group(SIGKILL);
          slot.worker->reap(options_.grace_seconds);
          slot.worker.reset();
          slot.state = Slot::State::kStarting;
          return;
        }
      }
    }
  };

  auto abandon = [&](Slot& slot) {
    slot.worker.reset();
    slot.state = Slot::State::kStarting;
  };

  while (finished < total) {
    const bool stopping = interrupted();
    // Dispatch work.
    for (auto& slot_ptr : slots_) {
      Slot& slot = *slot_ptr;
      if (stopping) break;
      if (!slot.worker && next < total) {
        if (start_failures >= kMaxStartFailures) break;
        try {
          slot.worker = start_worker();
          slot.state = Slot::State::kStarting;
          slot.since = Clock::now();
        } catch (const std::exception& e) {
          start_failure = e.what();
          ++start_failures;
          continue;
        }
      }
      if (slot.worker && slot.state == Slot::State::kIdle && next < total) {
        slot.unit = next++;
        slot.state = Slot::State::kBusy;
        slot.planned_done = 0;
        slot.phase.clear();
        slot.since = slot.phase_start = unit_start[slot.unit] = Clock::now();
        started[slot.unit] = true;
        slot.worker->log().clear();
        listener.on_unit_start(units[slot.unit].result);
        if (!slot.worker->send({{"op", "run"}, {"unit", to_json(units[slot.unit].request)}})) {
          const std::string how = slot.worker->reap(options_.grace_seconds);
          fail_unit(slot, how, "before it received the unit");
          abandon(slot);
        }
      }
    }
    if (start_failures >= kMaxStartFailures) {
      // The worker cannot start at all: every unit left would fail the same way.
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
        if (slot.state == Slot::State::kBusy) {
          fail_unit(slot, how, "without sending its result");
        } else if (slot.state == Slot::State::kStarting) {
          start_failure = "it " + how + ": " + slot.worker->log().last_lines(5);
          ++start_failures;
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
  // Closing fd 3 tells idle workers to exit.
  for (auto& slot_ptr : slots_) {
    if (slot_ptr->worker) slot_ptr->worker->close_requests();
  }
  for (auto& slot_ptr : slots_) {
    if (slot_ptr->worker) slot_ptr->worker->reap(5.0);
    slot_ptr->worker.reset();
  }
  std::vector<UnitResult> out;
  for (std::size_t i = 0; i < total; ++i) {
    if (done[i]) out.push_back(std::move(units[i].result));
  }
  return out;
}

}  // namespace ckpt
