#pragma once
// The supervisor: runs units in worker processes and never loads a checkpoint or a plugin
// itself. A worker serves units in turn (it costs ~0.7 s and ~160 MB to start) and is
// replaced after a crash, a timeout or a memory failure; only the unit it was running is
// affected, and a worker that ends without sending its result never counts as a pass.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "results/run_listener.hpp"
#include "runner/run_plan.hpp"
#include "runner/worker_process.hpp"

namespace ckpt {

struct WorkerSlot;

struct SupervisorOptions {
  std::string worker_executable;
  int jobs = 1;
  double unit_timeout_seconds = 300;
  double start_timeout_seconds = 120;  // from fork to the worker's "ready"
  double grace_seconds = 2;            // between SIGTERM and SIGKILL
  // CPU time (all threads) a worker may spend on one unit, or on describing one plugin; past
  // it SIGXCPU ends the worker. 0: unit_timeout_seconds x cores, at least 10 s.
  double cpu_seconds_per_unit = 0;
  WorkerLimits limits;
};

struct DescribeOutcome {
  std::string file;
  std::optional<DescribedPlugin> plugin;
  std::string error;  // the plugin was refused or its worker died loading it
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options);
  ~Supervisor();

  // Sends each describe request to a worker, one at a time (the supervisor gives each its
  // nonce): the worker loads the plugin file and gives its name and version and, when the
  // request selects it, what it builds (only the plugins a run uses pay for building a
  // model; the worker keeps that model for its first unit).
  std::vector<DescribeOutcome> describe(std::vector<protocol::DescribeRequest> requests);

  // Runs the units (in parallel up to `jobs`), returns them in plan order. `finish` sees
  // each unit once complete, before the listener (expectations are applied there). Units
  // not started when the run is interrupted are left out.
  std::vector<UnitResult> run(std::vector<UnitPlan> units, const std::function<void(UnitResult&)>& finish,
                              RunListener& listener);

  // What the run's results cannot show, for RunResult::notes: a worker that crashed while
  // idle or while exiting (the results it sent stand), a plugin that left many files open.
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  class UnitRun;  // one call of run(): runner/unit_run.hpp
  enum class DescribeEnd { kDone, kKilledFromOutside };
  // Describes `d.file` in the slot's worker (started when needed), filling `d`.
  DescribeEnd describe_one(WorkerSlot& slot, DescribeOutcome& d, protocol::DescribeRequest request);
  void start_worker(WorkerSlot& slot);
  // Waits for the worker's `ready`, or for the `described` reply to `nonce`.
  std::optional<protocol::Reply> wait_for(WorkerSlot& slot, protocol::Op op, const std::string& nonce, double seconds,
                                          std::string& failure);
  void note(std::string text);
  // Ends what plugins left running: the descendants of a worker whose unit (or description)
  // ended, named in a note about `whose`; orphans of workers that are gone, likewise.
  void end_unit_leftovers(pid_t worker, const std::string& whose);
  void end_orphans(const std::string& whose);
  void note_ignored_signal();  // a signal a plugin sent the supervisor, which was ignored
  void note_worker_end(const WorkerSlot& slot, const std::string& how, const std::string& when);

  SupervisorOptions options_;
  double cpu_seconds_per_unit_;
  std::vector<std::unique_ptr<WorkerSlot>> slots_;
  std::vector<std::string> notes_;
};

}  // namespace ckpt
