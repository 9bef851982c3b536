#pragma once
// The scenarios as functions of a unit's context and one component ("" for checkpoint-wide
// ones); their catalogue (names, scopes, summaries) is results/scenarios.hpp. A scenario
// throws SkipCase when it cannot apply; every other exception is turned into a case by
// run_unit.
#include <string>

#include "results/result_model.hpp"
#include "scenarios/unit_context.hpp"

namespace ckpt {

CaseResult run_format(UnitContext& ctx, const std::string& component);
CaseResult run_strict_load(UnitContext& ctx, const std::string& module);
CaseResult run_relaxed_load(UnitContext& ctx, const std::string& module);
CaseResult run_shapes(UnitContext& ctx, const std::string& module);
CaseResult run_dtypes(UnitContext& ctx, const std::string& module);
CaseResult run_optimizer_state(UnitContext& ctx, const std::string& optimizer);
CaseResult run_eval_mode(UnitContext& ctx, const std::string& module);
CaseResult run_train_mode(UnitContext& ctx, const std::string& module);
CaseResult run_epoch_resume(UnitContext& ctx, const std::string& component);
CaseResult run_resume_determinism(UnitContext& ctx, const std::string& component);
CaseResult run_golden_output(UnitContext& ctx, const std::string& module);

}  // namespace ckpt
