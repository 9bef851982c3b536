#include "scenarios/run_unit.hpp"

#include <c10/util/Exception.h>

#include <chrono>
#include <map>
#include <new>

#include "engine/key_rules.hpp"
#include "reader/read_error.hpp"
#include "scenarios/case_text.hpp"
#include "scenarios/scenario_functions.hpp"

namespace ckpt {

namespace {
using ScenarioFn = CaseResult (*)(UnitContext&, const std::string&);

const std::map<std::string, ScenarioFn>& scenario_functions() {
  static const std::map<std::string, ScenarioFn> kFunctions = {
      {"format", run_format},
      {"strict-load", run_strict_load},
      {"relaxed-load", run_relaxed_load},
      {"shapes", run_shapes},
      {"dtypes", run_dtypes},
      {"optimizer-state", run_optimizer_state},
      {"eval-mode", run_eval_mode},
      {"train-mode", run_train_mode},
      {"epoch-resume", run_epoch_resume},
      {"resume-determinism", run_resume_determinism},
      {"golden-output", run_golden_output},
  };
  return kFunctions;
}

}  // namespace

std::vector<std::string> runnable_scenarios() {
  std::vector<std::string> names;
  for (const auto& [name, fn] : scenario_functions()) names.push_back(name);
  return names;
}

namespace {
// One case, whatever it throws. A checkpoint that cannot be read fails `format` and skips
// the rest; a plugin's exception is an error (the check could not run); bad data in the
// checkpoint found while loading is a failure of that checkpoint.
CaseResult run_case(UnitContext& ctx, const PlannedCase& planned, bool& out_of_memory) {
  auto fn = scenario_functions().find(planned.scenario);
  if (fn == scenario_functions().end()) {
    return make_case(Outcome::kError, "this worker does not know the scenario '" + planned.scenario + "'");
  }
  try {
    if (planned.scenario != "format") {
      try {
        ctx.checkpoint();
      } catch (const ReadError& e) {
        throw SkipCase(std::string("the checkpoint cannot be read (see format): ") + e.what());
      }
    }
    return fn->second(ctx, planned.component);
  } catch (const SkipCase& e) {
    return make_case(Outcome::kSkipped, e.what());
  } catch (const ReadError& e) {
    return make_case(Outcome::kFail, std::string("unreadable [") + to_string(e.kind()) + "]: " + e.what(), e.what(),
                     {{"error_kind", to_string(e.kind())}});
  } catch (const LayoutError& e) {
    return make_case(Outcome::kFail, std::string("layout: ") + e.what(), e.what());
  } catch (const KeyRuleError& e) {
    return make_case(Outcome::kFail, std::string("key rules: ") + e.what(), e.what());
  } catch (const PluginError& e) {
    const std::string what = with_shown_files(ctx.request().shown_files, e.what());
    return make_case(Outcome::kError, "plugin: " + what, what);
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
    return make_case(Outcome::kError, "out of memory (the worker's memory limit, [run] memory_limit_mib)");
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("alloc") != std::string::npos && what.find("memory") != std::string::npos) out_of_memory = true;
    return make_case(Outcome::kError, "LibTorch: " + what.substr(0, what.find('\n')), what);
  } catch (const std::exception& e) {
    return make_case(Outcome::kError, std::string("exception: ") + e.what(), e.what());
  }
}
}  // namespace

UnitOutcome run_unit(const UnitRequest& request, std::shared_ptr<Plugin> plugin, const UnitCallbacks& callbacks,
                     std::optional<LoadedModel> prebuilt) {
  UnitOutcome outcome;
  UnitContext ctx(request, std::move(plugin), std::move(prebuilt));
  for (const PlannedCase& planned : request.cases) {
    if (callbacks.on_start) callbacks.on_start(planned);
    const auto start = std::chrono::steady_clock::now();
    // After running out of memory nothing this process does is trustworthy: the rest of
    // the unit is not run, and the supervisor replaces the worker.
    CaseResult c = outcome.out_of_memory
                       ? make_case(Outcome::kError, "not run: the worker ran out of memory earlier in this unit")
                       : run_case(ctx, planned, outcome.out_of_memory);
    c.scenario = planned.scenario;
    c.component = planned.component;
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (callbacks.on_case) callbacks.on_case(c);
  }
  return outcome;
}

}  // namespace ckpt
