#pragma once
// The run's plugin catalogue, decided before any unit is planned: every plugin file found
// (the config's [plugins] paths, else --plugin-dir, the environment and the directory beside
// the executable), described by a worker, then every [[models]] entry a group selects, built
// by its generic plugin. Two plugins of one name and version are a config error; a plugin
// file or an entry that cannot be used becomes a unit of its own, with one error case.
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "protocol/messages.hpp"
#include "results/result_model.hpp"
#include "runner/run_plan.hpp"
#include "runner/supervisor.hpp"

namespace ckpt {

struct PluginCatalogue {
  std::vector<DescribedPlugin> plugins;
  std::vector<UnitResult> failures;  // plugin files and [[models]] entries that could not be used, as units
};

// Describes plugin files in workers (Supervisor::describe; a test gives its own).
using DescribePlugins = std::function<std::vector<DescribeOutcome>(std::vector<protocol::DescribeRequest>)>;

// The plugin files of the run: the config's [plugins] paths (each checked as a config path),
// else the directories of --plugin-dir, the environment and beside the executable.
std::vector<std::string> plugin_files(const HarnessConfig& config, const std::vector<std::string>& extra_dirs);

// `stop`: asked between the plugin files and the [[models]] entries (an interrupted run
// builds no more).
PluginCatalogue build_plugin_catalogue(const HarnessConfig& config, const std::vector<std::string>& plugin_dirs,
                                       const DescribePlugins& describe, const std::function<bool()>& stop);

}  // namespace ckpt
