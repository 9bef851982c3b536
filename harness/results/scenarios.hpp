#pragma once
// The scenarios a unit (one plugin version x one checkpoint) runs, and what each one is a
// test case of: the checkpoint as a whole, each module, or each optimizer. Shared by the
// supervisor (planning, filters, config checks) and the worker (running them).
#include <string>
#include <vector>

namespace ckpt {

enum class ScenarioScope { kCheckpoint, kModule, kOptimizer };

struct ScenarioInfo {
  const char* name;
  ScenarioScope scope;
  bool needs_plugin;
  const char* summary;
};

const std::vector<ScenarioInfo>& all_scenarios();  // in run order
const ScenarioInfo* find_scenario(const std::string& name);
std::vector<std::string> scenario_names();

}  // namespace ckpt
