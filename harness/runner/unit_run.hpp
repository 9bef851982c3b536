#pragma once
// One call of Supervisor::run: the units, which worker runs which, and the loop that starts
// workers, gives idle ones a unit, waits for their messages and decides what each event
// means for its unit (a case's result, the unit's end, an error of the unit, a run again on
// a fresh worker). Only supervisor.cpp uses it.
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "runner/supervisor.hpp"
#include "runner/worker_slot.hpp"

namespace ckpt {

class Supervisor::UnitRun {
 public:
  UnitRun(Supervisor& supervisor, std::vector<UnitPlan> units, const std::function<void(UnitResult&)>& finish,
          RunListener& listener);
  // The loop; returns the finished units in plan order.
  std::vector<UnitResult> run();

 private:
  using Clock = WorkerSlot::Clock;

  // A pass of the loop, step by step.
  void end_orphans_of_replaced_workers();
  void dispatch();                       // starts workers where work is left, gives idle ones a unit
  void give_unit(WorkerSlot& slot);
  void fail_units_not_started();         // when no worker can start
  void wait_for_events() const;          // no longer than the nearest deadline
  void service(WorkerSlot& slot);        // its output, its messages, its end, its deadlines
  // Once the loop is over.
  void stop_interrupted_units();
  void dismiss_workers();

  // A worker's messages. Each returns false when the slot's worker was replaced.
  void take_messages(WorkerSlot& slot);
  bool take_ready(WorkerSlot& slot, const protocol::Reply& message);
  bool take_unit_message(WorkerSlot& slot, const protocol::Reply& message);
  bool take_done(WorkerSlot& slot, const protocol::Reply& message);
  void worker_ended(WorkerSlot& slot);

  // What happens to a unit.
  void complete(std::size_t index);
  void fail_unit(WorkerSlot& slot, const std::string& how, const std::string& what);
  void run_again(std::size_t index);
  void broke_protocol(WorkerSlot& slot, const std::string& violation, bool late);

  bool cannot_start() const;
  bool work_left() const { return next_ < total_ || !rerun_.empty(); }
  std::string other_plugins(const WorkerSlot& slot) const;  // loaded besides the unit's own
  bool crash_may_be_earlier(const WorkerSlot& slot) const;

  Supervisor& supervisor_;
  const SupervisorOptions& options_;
  std::vector<UnitPlan> units_;
  const std::function<void(UnitResult&)>& finish_;
  RunListener& listener_;
  const std::size_t total_;
  std::vector<bool> started_, done_;
  std::vector<Clock::time_point> unit_start_;
  std::size_t next_ = 0, finished_ = 0;
  int start_failures_ = 0, start_kills_ = 0;
  std::string start_failure_;
  // Units a worker was given but lost through no fault of theirs (its worker broke the
  // protocol for an earlier unit, or crashed when other plugins' code had run in it): run
  // again, first, each at most once.
  std::deque<std::size_t> rerun_;
  std::vector<bool> retried_;
  std::vector<pid_t> live_last_;  // workers alive at the last pass
};

}  // namespace ckpt
