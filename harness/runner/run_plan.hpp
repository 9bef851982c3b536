#pragma once
// What a run will do, decided before any unit starts: for every [[checkpoints]] group,
// every file, every plugin version it is meant for, one unit with its cases (a scenario
// per checkpoint, per module or per optimizer), narrowed by --filter and --shard.
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "protocol/unit_request.hpp"
#include "results/result_model.hpp"
#include "runner/case_filter.hpp"

namespace ckpt {

// A plugin as a worker described it (the supervisor never loads one itself): a plugin
// file, or a [[models]] entry built by a generic plugin file.
struct DescribedPlugin {
  std::string file;
  std::string name;
  std::string version;
  std::string description;
  std::vector<std::string> modules;
  std::vector<std::string> optimizers;
  // What every unit builds it with: [plugins.NAME] options, or the [[models]] entry's.
  std::map<std::string, std::string> options;
};

struct UnitPlan {
  UnitRequest request;
  UnitResult result;  // identity filled in; cases come from the worker
};

struct RunPlan {
  std::vector<UnitPlan> units;
  std::size_t cases = 0;
  std::size_t units_before_selection = 0;
};

// Every plugin the config names ([plugins.NAME], [[checkpoints]] plugins, expectations)
// must exist among `plugins`; throws ConfigError at the name's place otherwise. When some
// plugin files could not be loaded (their names are unknown: one may be the missing one),
// pass `unresolved` to collect those errors instead, so the run goes on and reports them.
void check_plugin_references(const HarnessConfig& config, const std::vector<DescribedPlugin>& plugins,
                             std::vector<std::string>* unresolved = nullptr);

RunPlan plan_run(const HarnessConfig& config, const std::vector<DescribedPlugin>& plugins, const CaseFilter& filter,
                 const Shard& shard);

// The units a group would have had with a plugin that no described plugin matches (a
// plugin file that could not be described may be it): one per selector and checkpoint, so
// the run reports each as an error instead of dropping it.
struct UnplannedUnit {
  std::string id;          // "tiny/runs/a.pt": the selector stands in for the plugin
  std::string checkpoint;  // as in a planned unit's result
  std::string group, label;
  PluginSelector selector;
};
std::vector<UnplannedUnit> unplanned_units(const HarnessConfig& config, const std::vector<DescribedPlugin>& plugins,
                                           const Shard& shard);

}  // namespace ckpt
