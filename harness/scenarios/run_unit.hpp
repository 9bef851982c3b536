#pragma once
// Runs the planned cases of one unit in order, each timed, each turned into a case
// whatever happens inside it (a plugin's exception, an unreadable tensor, a bad layout).
// Crashes and hangs are the supervisor's to catch: they end the worker process.
#include <functional>
#include <memory>

#include "protocol/unit_request.hpp"
#include "results/result_model.hpp"

namespace ckpt {

class Plugin;

struct UnitCallbacks {
  std::function<void(const PlannedCase&)> on_start;  // before each case: the supervisor's "phase"
  std::function<void(const CaseResult&)> on_case;
};

struct UnitOutcome {
  bool out_of_memory = false;  // the worker should be replaced
};

UnitOutcome run_unit(const UnitRequest& request, std::shared_ptr<Plugin> plugin, const UnitCallbacks& callbacks);

}  // namespace ckpt
