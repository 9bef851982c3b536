#include "worker/plugin_lookup.hpp"

#include <fnmatch.h>

#include <filesystem>

namespace ckpt {

namespace fs = std::filesystem;

std::shared_ptr<Plugin> find_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs) {
  if (name_or_path.find('/') != std::string::npos || fs::exists(name_or_path)) return Plugin::load(name_or_path);
  const auto at = name_or_path.find('@');
  const std::string name = name_or_path.substr(0, at);
  const std::string version_glob = at == std::string::npos ? "*" : name_or_path.substr(at + 1);
  std::string refused;
  std::string seen;
  std::shared_ptr<Plugin> best;
  for (const auto& dir : dirs) {
    for (const auto& candidate : plugin_files_in(dir)) {
      try {
        auto plugin = Plugin::load(candidate);
        const PluginInfo& info = plugin->info();
        seen += (seen.empty() ? "" : ", ") + info.name + "@" + info.version;
        if (info.name != name || ::fnmatch(version_glob.c_str(), info.version.c_str(), 0) != 0) continue;
        if (!best || compare_versions(info.version, best->info().version) > 0) best = plugin;
      } catch (const PluginError& e) {
        refused += std::string("\n  refused: ") + e.what();
      }
    }
  }
  if (best) return best;
  std::string searched;
  for (const auto& d : dirs) searched += (searched.empty() ? "" : ", ") + d;
  throw PluginError(name_or_path, "no plugin of that name in " + (searched.empty() ? std::string("(no plugin directory)") : searched) +
                                      " (found: " + (seen.empty() ? std::string("none") : seen) +
                                      "); give a path, NAME@VERSION, --plugin-dir or CKPT_HARNESS_PLUGIN_PATH" + refused);
}

}  // namespace ckpt
