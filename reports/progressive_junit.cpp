#include "reports/progressive_junit.hpp"

#include "reports/atomic_file.hpp"
#include "reports/junit_report.hpp"

namespace ckpt {

UnitResult not_run_unit(const UnitResult& identity, const std::vector<std::pair<std::string, std::string>>& cases,
                        const std::string& why) {
  UnitResult u = identity;
  u.cases.clear();
  for (const auto& [scenario, component] : cases) u.cases.push_back(error_case(scenario, component, why));
  return u;
}

ProgressiveJunit::ProgressiveJunit(std::string path, RunResult planned, AllowedDirs confine_to)
    : path_(std::move(path)), run_(std::move(planned)), confine_to_(std::move(confine_to)) {}

void ProgressiveJunit::write_now() {
  write_file_atomically(path_, [this](std::ostream& out) { write_junit_report(run_, out); }, confine_to_);
  last_write_ = std::chrono::steady_clock::now();
}

void ProgressiveJunit::on_unit_end(const UnitResult& unit, std::size_t done, std::size_t total) {
  for (auto& u : run_.units) {
    if (u.id == unit.id) u = unit;
  }
  if (done < total && std::chrono::steady_clock::now() - last_write_ < std::chrono::seconds(1)) return;
  try {
    write_now();
  } catch (const ReportWriteError&) {
    // The final report says so; a progress write is only insurance.
  }
}

}  // namespace ckpt
