#pragma once
// One (checkpoint, plugin model) pair compared component by component: the result the
// `diff` command prints and later scenarios build on.
#include <optional>
#include <string>
#include <vector>

#include "engine/compare.hpp"
#include "engine/layout.hpp"
#include "engine/optimizer_state.hpp"
#include "engine/saved_schedulers.hpp"
#include "plugin_host/plugin_host.hpp"

namespace ckpt {

struct ModuleResult {
  ModuleComparison comparison;
  StateDict state;    // what the layout and key rules took from the checkpoint
  std::string error;  // the component could not be found or read (layout, reader)
};

struct OptimizerResult {
  OptimizerComparison comparison;
  std::optional<SavedOptimizerState> saved;  // absent: no state saved (or unreadable)
  std::string error;
};

struct CompatibilityReport {
  std::string checkpoint;
  PluginInfo plugin;
  std::string layout;
  std::vector<ModuleResult> modules;
  std::vector<OptimizerResult> optimizers;
  std::optional<std::int64_t> epoch;
  std::vector<SchedulerCheck> schedulers;  // LR scheduler states beside the optimizers, checked against them
  bool strictly_compatible() const;  // every module strictly loadable, every saved optimizer loadable
};

CompatibilityReport check_compatibility(CheckpointSet& files, const Plugin& plugin, const LoadedModel& model,
                                        const CheckpointLayout& layout);

// Relaxed-load coverage from metadata alone: tensors and elements that would load.
struct Coverage {
  std::size_t tensors = 0, tensors_total = 0;
  std::uint64_t elements = 0, elements_total = 0;
};
Coverage relaxed_coverage(const ModuleSchema& schema, const ModuleComparison& comparison);

}  // namespace ckpt
