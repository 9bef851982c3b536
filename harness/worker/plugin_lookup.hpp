#pragma once
// Where plugins are found: explicit paths, --plugin-dir, $CKPT_HARNESS_PLUGIN_PATH, and the
// `plugins/` directory beside the executable (where the build and the install put them).
#include <string>
#include <vector>

#include "config/config.hpp"
#include "plugin_host/plugin_host.hpp"
#include "plugin_host/plugin_paths.hpp"

namespace ckpt {

// `name_or_path` is a plugin file, or NAME or NAME@VERSION-GLOB of a plugin in one of
// `dirs` (directories, or plugin files given by the config); of several versions, the
// newest is taken.
std::shared_ptr<Plugin> find_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs);

// A plugin and the options to build its model with.
struct ConfiguredPlugin {
  std::shared_ptr<Plugin> plugin;
  Options options;
  // The plugin's name and version, or a [[models]] entry's: "dcgan-torchscript", "2.0.0".
  std::string name, version;
  std::string label() const { return name + "@" + version; }
};

// The options `config` gives plugin `name` ([plugins.NAME] options), then `overrides`.
Options configured_options(const HarnessConfig* config, const std::string& name, const Options& overrides);

// As find_plugin, with the options `config` gives ([plugins.NAME] options) and then
// `overrides`; NAME[@VERSION-GLOB] may also be a [[models]] entry of `config` (the newest
// version matching), built by its generic plugin with the entry's options.
ConfiguredPlugin configured_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs,
                                   const HarnessConfig* config, const Options& overrides);

}  // namespace ckpt
