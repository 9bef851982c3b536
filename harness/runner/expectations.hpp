#pragma once
// Known differences: an expectation declares, per (plugin version, checkpoint glob,
// scenario, component), the outcome a case is expected to have and optionally the exact
// keys it finds missing or unexpected. A failure that happens exactly as declared becomes
// expected-fail; one that differs fails, saying how; one that no longer happens passes
// and is flagged stale so the baseline can be tightened.
#include <string>
#include <vector>

#include "config/config.hpp"
#include "results/result_model.hpp"

namespace ckpt {

void apply_expectations(const HarnessConfig& config, UnitResult& unit);

// Today's failures as a TOML baseline ([[expectations]] with exact keys), for
// `run --update-expectations`; cases matched by the config file's own inline expectations
// are left to those.
std::string expectations_baseline(const HarnessConfig& config, const std::vector<UnitResult>& units);

}  // namespace ckpt
