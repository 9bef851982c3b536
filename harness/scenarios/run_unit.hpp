#pragma once
// Runs the planned cases of one unit in order, each timed, each turned into a case
// whatever happens inside it (a plugin's exception, an unreadable tensor, a bad layout).
// Crashes and hangs are the supervisor's to catch: they end the worker process.
#include <functional>
#include <memory>
#include <optional>

#include "plugin_host/plugin_host.hpp"
#include "protocol/unit_request.hpp"
#include "results/result_model.hpp"

namespace ckpt {

struct UnitCallbacks {
  std::function<void(const PlannedCase&)> on_start;  // before each case: the supervisor's "phase"
  std::function<void(const CaseResult&)> on_case;
};

struct UnitOutcome {
  bool out_of_memory = false;  // the worker should be replaced
};

// The scenarios this worker runs: each of results/scenarios.hpp's catalogue has a function
// here (a test keeps the two lists equal).
std::vector<std::string> runnable_scenarios();

// `prebuilt`: a model the plugin built with the unit's options that nothing has used yet
// (the worker's describe step), so the unit does not build its own.
UnitOutcome run_unit(const UnitRequest& request, std::shared_ptr<Plugin> plugin, const UnitCallbacks& callbacks,
                     std::optional<LoadedModel> prebuilt = std::nullopt);

}  // namespace ckpt
