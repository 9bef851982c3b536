#pragma once
// Where plugins are found: explicit paths, --plugin-dir, $CKPT_HARNESS_PLUGIN_PATH, and the
// `plugins/` directory beside the executable (where the build and the install put them).
#include <string>
#include <vector>

#include "plugin_host/plugin_host.hpp"
#include "plugin_host/plugin_paths.hpp"

namespace ckpt {

// `name_or_path` is a plugin file, or NAME or NAME@VERSION-GLOB of a plugin in one of
// `dirs` (directories, or plugin files given by the config); of several versions, the
// newest is taken.
std::shared_ptr<Plugin> find_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs);

}  // namespace ckpt
