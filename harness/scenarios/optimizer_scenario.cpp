// optimizer-state: the saved state of one optimizer against the plugin's optimizer.
#include "scenarios/case_text.hpp"
#include "scenarios/scenario_functions.hpp"

namespace ckpt {

CaseResult run_optimizer_state(UnitContext& ctx, const std::string& optimizer) {
  const OptimizerResult& r = ctx.optimizer_result(optimizer);
  if (!r.error.empty()) {
    return make_case(Outcome::kFail, "the saved state of '" + optimizer + "' is unusable: " + r.error, r.error,
                     {{"error", r.error}});
  }
  const OptimizerComparison& c = r.comparison;
  nlohmann::json data{{"present", c.present},         {"source", c.source},
                      {"saved_class", c.saved_class}, {"model_class", c.model_class},
                      {"problems", c.problems},       {"hyper_differences", c.hyper_differences},
                      {"flag_notes", c.flag_notes}};
  if (!c.present) {
    const bool required = ctx.settings().optimizer_state == "required";
    data["warning"] = !required;
    const std::string message = "no saved state" + (c.source.empty() ? std::string() : " at " + c.source);
    if (required) {
      return make_case(Outcome::kFail, message + ", and optimizer_state is 'required'",
                       "training cannot resume where it stopped without it", data);
    }
    return make_case(Outcome::kPass, "warning: " + message + ": training would resume with a fresh " + c.model_class,
                     "optimizer_state is 'optional' (set it to 'required' to fail instead)", data);
  }
  const std::string hyper = bullet_list("hyper-parameters the checkpoint replaces on load (as Python's "
                                        "Optimizer.load_state_dict does)",
                                        c.hyper_differences) +
                           bullet_list("PyTorch 2.x flags the C++ optimizer has not", c.flag_notes);
  if (!c.loadable()) {
    return make_case(Outcome::kFail, c.problems.front(), bullet_list("problems", c.problems) + hyper, data);
  }
  ctx.resumed_model();  // loads it for real
  return make_case(Outcome::kPass,
                   c.saved_class + " state fits the model's " + c.model_class +
                       (c.hyper_differences.empty() ? "" : " (" + std::to_string(c.hyper_differences.size()) +
                                                               " hyper-parameter(s) differ)"),
                   hyper, data);
}

}  // namespace ckpt
