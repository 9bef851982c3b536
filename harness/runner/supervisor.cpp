#include "runner/supervisor.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

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
std::string files_left_open(const json& reply) {
  const int left = reply.value("open_files_left", 0);
  if (left <= 0) return "";
  return "the plugin left " + std::to_string(left) + " files open (a worker may have " +
         std::to_string(reply.value("open_files_limit", 0)) + "), so its worker was replaced";
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

  void loaded(const PluginRef& plugin) {
    if (!plugin.name.empty() && std::find(plugins.begin(), plugins.end(), plugin.label()) == plugins.end()) {
      plugins.push_back(plugin.label());
    }
  }
};

Supervisor::Supervisor(SupervisorOptions options)
    : options_(std::move(options)), cpu_seconds_per_unit_(cpu_seconds_per_unit(options_)) {
  install_interrupt_handlers();
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
  std::string plugins;
  for (const auto& p : slot.plugins) plugins += (plugins.empty() ? "" : ", ") + p;
  note("a worker that loaded " + (plugins.empty() ? std::string("no plugin") : plugins) + " " + how + " " + when);
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

std::vector<DescribeOutcome> Supervisor::describe(const std::vector<json>& requests) {
  std::vector<DescribeOutcome> out;
  if (slots_.empty()) slots_.push_back(std::make_unique<Slot>());
  Slot& slot = *slots_.front();
  for (const json& request : requests) {
    DescribeOutcome d;
    d.file = request.at("file").get<std::string>();
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
  return out;
}

Supervisor::DescribeEnd Supervisor::describe_one(Slot& slot, DescribeOutcome& d, const json& request) {
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
    if (!wait_for(slot, "ready", options_.start_timeout_seconds, failure)) {
      return worker_lost("the worker (" + options_.worker_executable + ") did not start: it " + failure + "\n" +
                         slot.worker->log().last_lines(kLogLines));
    }
  }
  slot.worker->log().clear();
  slot.worker->limit_cpu_time(cpu_seconds_per_unit_);
  json message = request;
  message["op"] = "describe";
  slot.worker->send(message);
  auto reply = wait_for(slot, "described", options_.unit_timeout_seconds, failure);
  if (!reply) {
    const std::string log = slot.worker->log().last_lines(kLogLines);
    return worker_lost("the worker " + failure + " while loading this plugin" +
                       (log.empty() ? std::string(" (it wrote nothing)") : "\nits output ended with:\n" + log));
  }
  if (!reply->value("ok", false)) {
    d.error = reply->value("error", "refused");
  } else {
    d.plugin = DescribedPlugin{file,
                               reply->value("name", ""),
                               reply->value("version", ""),
                               reply->value("description", ""),
                               reply->value("modules", std::vector<std::string>{}),
                               reply->value("optimizers", std::vector<std::string>{}),
                               {}};  // options: the caller's (it knows which entry this is)
    slot.loaded({d.plugin->name, d.plugin->version, file});
  }
  // A plugin that left many files open while described: its error (EMFILE is then the likely
  // cause) or a note says so.
  if (const std::string left = files_left_open(*reply); !left.empty()) {
    if (d.plugin) {
      note(file + ": while it was described, " + left);
    } else {
      d.error += " [" + left + "]";
    }
  }
  if (reply->value("replace", false)) {
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

  auto handle_messages = [&](Slot& slot) {
    while (auto m = slot.worker->next_message()) {
      if (!m->is_object()) continue;
      const std::string op = m->value("op", "");
      if (op == "ready" && slot.state == Slot::State::kStarting) {
        slot.state = Slot::State::kIdle;
        start_failures = start_kills = 0;
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
        // The worker said so on the unit's cases; the note shows it in the run's summary.
        if (const std::string left = files_left_open(*m); !left.empty()) note(plan.result.id + ": " + left);
        if (plan.result.worst() == Outcome::kError) plan.result.worker_log = slot.worker->log().text();
        complete(slot.unit);
        slot.state = Slot::State::kIdle;
        if (replace) {  // after a memory failure or a descriptor leak the process is in doubt: start afresh
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
      if (slot.worker && slot.state == Slot::State::kIdle && next < total) {
        slot.unit = next++;
        slot.state = Slot::State::kBusy;
        slot.planned_done = 0;
        slot.phase.clear();
        slot.since = slot.phase_start = unit_start[slot.unit] = Clock::now();
        started[slot.unit] = true;
        slot.worker->log().clear();
        slot.loaded(units[slot.unit].result.plugin);
        listener.on_unit_start(units[slot.unit].result);
        slot.worker->limit_cpu_time(cpu_seconds_per_unit_);
        if (!slot.worker->send({{"op", "run"}, {"unit", to_json(units[slot.unit].request)}})) {
          const std::string how = slot.worker->reap(options_.grace_seconds);
          fail_unit(slot, how, "before it received the unit");
          abandon(slot);
        }
      }
    }
    if (cannot_start()) {
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
  std::vector<UnitResult> out;
  for (std::size_t i = 0; i < total; ++i) {
    if (done[i]) out.push_back(std::move(units[i].result));
  }
  return out;
}

}  // namespace ckpt
