#pragma once
// The JSON report: the whole result model (schema "ckpt-harness.results", with
// schema_version), documented in reports/README.md. Input of `merge` and of other tools.
#include <ostream>

#include "results/result_model.hpp"

namespace ckpt {

void write_json_report(const RunResult& run, std::ostream& out);

}  // namespace ckpt
