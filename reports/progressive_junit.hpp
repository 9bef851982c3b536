#pragma once
// junit.xml written pessimistically: at the start every planned case is an error "not
// run", and the file is replaced (atomically, at most once a second) as units finish. A
// run killed by the CI system's own timeout still leaves a valid report that says what ran.
#include <chrono>
#include <string>

#include "confine/confined_open.hpp"
#include "results/run_listener.hpp"

namespace ckpt {

class ProgressiveJunit : public RunListener {
 public:
  // `planned`: every unit with its planned cases; they are written as "not run" errors.
  // `confine_to`: directories the file must really lie in (empty: anywhere).
  ProgressiveJunit(std::string path, RunResult planned, AllowedDirs confine_to = {});
  void on_unit_end(const UnitResult& unit, std::size_t done, std::size_t total) override;
  void write_now();  // throws ReportWriteError

 private:
  std::string path_;
  RunResult run_;
  AllowedDirs confine_to_;
  std::chrono::steady_clock::time_point last_write_{};
};

// The planned unit with every case an error saying it did not run.
// Why a planned case has no result: the run has not reached it (yet), or was interrupted.
inline const std::string kNotRunYet =
    "not run: the run ended before this case (killed, or still running when this report was written)";
inline const std::string kNotRunInterrupted = "not run: the run was interrupted before this unit started";
UnitResult not_run_unit(const UnitResult& identity, const std::vector<std::pair<std::string, std::string>>& cases,
                        const std::string& why = kNotRunYet);

}  // namespace ckpt
