#pragma once
// The person-facing and JSON renderings of a CompatibilityReport.
#include <nlohmann/json.hpp>
#include <ostream>

#include "scenarios/compatibility.hpp"

namespace ckpt {

void write_diff_text(std::ostream& out, const CompatibilityReport& report, const LoadedModel& model);
nlohmann::ordered_json diff_json(const CompatibilityReport& report, const LoadedModel& model);

}  // namespace ckpt
