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

Options configured_options(const HarnessConfig* config, const std::string& name, const Options& overrides) {
  Options options;
  if (config && config->plugin_settings.count(name)) options = config->plugin_settings.at(name).options;
  for (const auto& [key, value] : overrides) options[key] = value;
  return options;
}

ConfiguredPlugin configured_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs,
                                   const HarnessConfig* config, const Options& overrides) {
  ConfiguredPlugin out;
  const ModelEntry* entry = nullptr;
  if (config && name_or_path.find('/') == std::string::npos) {
    const PluginSelector wanted = parse_plugin_selector(name_or_path, {});
    for (const auto& m : config->models) {
      if (m.name == wanted.name && wanted.matches(m.name, m.version) &&
          (!entry || compare_versions(entry->version, m.version) < 0)) {
        entry = &m;
      }
    }
  }
  if (entry) {
    out.plugin = find_plugin(entry->plugin, dirs);
    out.options = entry->options;
    for (const auto& [key, value] : overrides) out.options[key] = value;
    out.name = entry->name;
    out.version = entry->version;
  } else {
    out.plugin = find_plugin(name_or_path, dirs);
    const PluginInfo& info = out.plugin->info();
    out.options = configured_options(config, info.name, overrides);
    out.name = info.name;
    out.version = info.version;
  }
  return out;
}

}  // namespace ckpt
