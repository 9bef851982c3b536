#pragma once
// The console: progress while the run goes (one updating line on a terminal, a plain line
// per unit in CI logs) and, at the end, the compatibility matrix, the failures with their
// first line, stale expectations and the verdict.
#include <ostream>

#include "results/run_listener.hpp"

namespace ckpt {

class ConsoleReporter : public RunListener {
 public:
  // `terminal`: one updating progress line, and colour unless NO_COLOR is set.
  ConsoleReporter(std::ostream& out, bool terminal, bool verbose = false);
  void on_run_start(const Environment& environment, std::size_t units, std::size_t cases) override;
  void on_unit_end(const UnitResult& unit, std::size_t done, std::size_t total) override;
  void on_run_end(const RunResult& run) override;

 private:
  static bool notable_unit(const UnitResult& unit);
  std::string painted(Outcome outcome, const std::string& text) const;
  std::ostream& out_;
  bool terminal_;
  bool verbose_;
  bool colour_;
};

// The matrix per plugin name: rows checkpoints, columns plugin versions, cells the worst
// outcome of the unit ("expected-fail" for a known incompatibility).
void write_console_matrix(const RunResult& run, std::ostream& out);

}  // namespace ckpt
