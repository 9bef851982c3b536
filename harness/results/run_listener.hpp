#pragma once
// Run events, in the order they fire (as GoogleTest's listener): the console reporter
// streams on them; file reporters wait for on_run_end and the finished RunResult.
#include <cstddef>
#include <vector>

#include "results/result_model.hpp"

namespace ckpt {

class RunListener {
 public:
  virtual ~RunListener() = default;
  virtual void on_run_start(const Environment& environment, std::size_t units, std::size_t cases) {}
  virtual void on_unit_start(const UnitResult& unit) {}
  virtual void on_unit_end(const UnitResult& unit, std::size_t done, std::size_t total) {}
  virtual void on_run_end(const RunResult& run) {}
};

// Several listeners as one: start events front to back, end events back to front.
class RunListeners : public RunListener {
 public:
  void add(RunListener& listener) { listeners_.push_back(&listener); }
  void on_run_start(const Environment& e, std::size_t units, std::size_t cases) override {
    for (auto* l : listeners_) l->on_run_start(e, units, cases);
  }
  void on_unit_start(const UnitResult& unit) override {
    for (auto* l : listeners_) l->on_unit_start(unit);
  }
  void on_unit_end(const UnitResult& unit, std::size_t done, std::size_t total) override {
    for (auto it = listeners_.rbegin(); it != listeners_.rend(); ++it) (*it)->on_unit_end(unit, done, total);
  }
  void on_run_end(const RunResult& run) override {
    for (auto it = listeners_.rbegin(); it != listeners_.rend(); ++it) (*it)->on_run_end(run);
  }

 private:
  std::vector<RunListener*> listeners_;
};

}  // namespace ckpt
