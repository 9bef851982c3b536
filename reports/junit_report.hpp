#pragma once
// JUnit XML for every CI system: valid against the strict Ant (windyroad) schema and
// Jenkins xUnit's junit-10.xsd. One <testsuite> per unit (plugin version x checkpoint);
// classname "<plugin>@<version>.<checkpoint>" with dots made underscores, so Jenkins'
// split at the last '.' gives plugin version -> checkpoint -> case; <failure> for an
// incompatibility, <error> for a crash, timeout or unreadable input, <skipped> with its
// reason; expected failures pass and are listed in the suite's <system-out>.
#include <ostream>

#include "results/result_model.hpp"

namespace ckpt {

void write_junit_report(const RunResult& run, std::ostream& out);

}  // namespace ckpt
