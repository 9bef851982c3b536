#include "worker/plugin_lookup.hpp"

#include <filesystem>
#include <set>

#include "text/counted.hpp"

namespace ckpt {

namespace fs = std::filesystem;

namespace {
std::string ambiguous(const std::set<std::string>& names) {
  return "matches plugins of " + std::to_string(names.size()) + " names (" + comma_list(names) +
         "): give one name (the version may stay a glob, dcgan@2.*)";
}
}  // namespace

std::shared_ptr<Plugin> find_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs) {
  if (name_or_path.find('/') != std::string::npos || fs::exists(name_or_path)) return Plugin::load(name_or_path);
  // NAME@VERSION-GLOB as a config's plugin selectors read it: globs in both parts.
  const PluginSelector wanted = parse_plugin_selector(name_or_path, {});
  std::string refused;
  std::vector<std::string> seen;
  std::set<std::string> names;  // of the plugins it matches
  std::shared_ptr<Plugin> best;
  for (const auto& dir : dirs) {
    for (const auto& candidate : plugin_files_in(dir)) {
      try {
        auto plugin = Plugin::load(candidate);
        const PluginInfo& info = plugin->info();
        seen.push_back(info.name + "@" + info.version);
        if (!wanted.matches(info.name, info.version)) continue;
        names.insert(info.name);
        if (!best || compare_versions(info.version, best->info().version) > 0) best = plugin;
      } catch (const PluginError& e) {
        refused += std::string("\n  refused: ") + e.what();
      }
    }
  }
  if (names.size() > 1) throw PluginError(name_or_path, ambiguous(names));
  if (best) return best;
  const std::string searched = comma_list(dirs);
  throw PluginError(name_or_path, "no plugin of that name in " + (searched.empty() ? std::string("(no plugin directory)") : searched) +
                                      " (found: " + (seen.empty() ? std::string("none") : comma_list(seen)) +
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
    std::set<std::string> names;
    for (const auto& m : config->models) {
      if (!wanted.matches(m.name, m.version)) continue;
      names.insert(m.name);
      if (!entry || compare_versions(entry->version, m.version) < 0) entry = &m;
    }
    if (names.size() > 1) throw PluginError(name_or_path, "[[models]] entries: " + ambiguous(names));
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
