#pragma once
// Run events, in the order they fire (as GoogleTest's listener): the console reporter
// streams on them; file reporters wait for on_run_end and the finished RunResult.
#include <cstddef>

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

}  // namespace ckpt
