#include "runner/plugin_catalogue.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "plugin_host/plugin_paths.hpp"
#include "protocol/unit_request.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace fs = std::filesystem;

std::vector<std::string> plugin_files(const HarnessConfig& config, const std::vector<std::string>& extra_dirs) {
  std::vector<std::string> files;
  if (!config.plugin_paths.empty()) {
    for (const Located& p : config.plugin_paths) {
      const std::string path = config_relative(config, p.value);
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        throw ConfigError(config.file, p.line, p.column,
                          "[plugins] paths: '" + p.value + "' " + (ec ? "cannot be read: " + ec.message() : "does not exist"));
      }
      for (auto& f : plugin_files_in(path)) {
        // A plugin in a configured directory is a path of the config too: no link out of
        // the repository, no link loop.
        const std::string shown = path == f ? p.value : (fs::path(p.value) / fs::path(f).filename()).string();
        if (auto why = config.confinement.violation(f, shown)) {
          throw ConfigError(config.file, p.line, p.column, "[plugins] paths: " + *why);
        }
        files.push_back(std::move(f));
      }
    }
  }
  for (const auto& dir : plugin_search_dirs(extra_dirs)) {
    if (!config.plugin_paths.empty() && std::find(extra_dirs.begin(), extra_dirs.end(), dir) == extra_dirs.end()) continue;
    for (auto& f : plugin_files_in(dir)) {
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(std::move(f));
    }
  }
  return files;
}

namespace {

bool needs_plugins(const HarnessConfig& config) {
  for (const auto& g : config.groups) {
    if (!g.plugins.empty()) return true;
  }
  return false;
}

// A plugin file that would not load (or killed its worker) fails as its own unit.
UnitResult plugin_failure_unit(const HarnessConfig& config, const DescribeOutcome& d) {
  const std::string file = shown_path(config, d.file);
  UnitResult u = error_unit(UnitKind::kPluginFile, "plugin/" + file, "plugin-load", d.error);
  u.plugin.file = file;
  return u;
}

// Adds `plugin`; two of one name and version are a config error (at `entry` when one is).
void add_described(PluginCatalogue& described, const HarnessConfig& config, DescribedPlugin plugin,
                   const ModelEntry* entry = nullptr) {
  for (const auto& p : described.plugins) {
    if (p.name == plugin.name && p.version == plugin.version) {
      const std::string message = "two plugins are " + p.name + "@" + p.version + ": " + shown_path(config, p.file) +
                                  " and " + (entry ? "the [[models]] entry" : shown_path(config, plugin.file)) +
                                  " (keep one; a [[models]] entry needs a name of its own)";
      if (entry) fail_config(entry->where, message);
      throw ConfigError(config.file, 0, 0, message);
    }
  }
  described.plugins.push_back(std::move(plugin));
}

bool selected_by_a_group(const HarnessConfig& config, const std::string& name, const std::string& version) {
  for (const auto& g : config.groups) {
    for (const auto& s : g.plugins) {
      if (s.matches(name, version)) return true;
    }
  }
  return false;
}

// The generic plugin file that builds `entry`: the newest described plugin of its name, or
// null when none was loaded.
const DescribedPlugin* generic_plugin_for(const ModelEntry& entry, const PluginCatalogue& described) {
  const DescribedPlugin* found = nullptr;
  for (const auto& p : described.plugins) {
    if (p.name == entry.plugin && (!found || compare_versions(found->version, p.version) < 0)) found = &p;
  }
  return found;
}

UnitResult entry_failure_unit(const HarnessConfig& config, const ModelEntry& entry, const std::string& file,
                              const std::string& error) {
  const std::string label = entry.name + "@" + entry.version;
  UnitResult u = error_unit(UnitKind::kPluginFile, "model/" + label, "plugin-load",
                            "[[models]] " + label + " (" + config.file + ":" + std::to_string(entry.where.line) +
                                "): " + with_shown_files(shown_model_files(config, entry.options), error));
  u.plugin = PluginRef{entry.name, entry.version, shown_path(config, file)};
  return u;
}

}  // namespace

PluginCatalogue build_plugin_catalogue(const HarnessConfig& config, const std::vector<std::string>& plugin_dirs,
                                       const DescribePlugins& describe, const std::function<bool()>& stop) {
  PluginCatalogue described;
  if (!needs_plugins(config)) return described;
  const std::vector<std::string> files = plugin_files(config, plugin_dirs);
  if (files.empty()) {
    throw ConfigError(config.file, 0, 0,
                      "no plugin files found: build them (cmake --build build) or name them in [plugins] paths");
  }
  nlohmann::json options = nlohmann::json::object();
  for (const auto& [name, settings] : config.plugin_settings) options[name] = settings.options;
  nlohmann::json selectors = nlohmann::json::array();
  for (const auto& g : config.groups) {
    for (const auto& sel : g.plugins) selectors.push_back({sel.name, sel.version_glob});
  }
  std::vector<protocol::DescribeRequest> requests;
  for (const auto& file : files) {
    protocol::DescribeRequest request;
    request.file = file;
    request.shown_file = shown_path(config, file);
    request.options = options;
    request.selectors = selectors;
    requests.push_back(std::move(request));
  }
  for (const DescribeOutcome& d : describe(requests)) {
    if (!d.plugin) {
      described.failures.push_back(plugin_failure_unit(config, d));
      continue;
    }
    DescribedPlugin plugin = *d.plugin;
    if (config.plugin_settings.count(plugin.name)) plugin.options = config.plugin_settings.at(plugin.name).options;
    add_described(described, config, std::move(plugin));
  }
  if (config.models.empty() || stop()) return described;

  std::vector<protocol::DescribeRequest> entry_requests;
  std::vector<const ModelEntry*> entries;
  for (const ModelEntry& entry : config.models) {
    const DescribedPlugin* generic = generic_plugin_for(entry, described);
    if (!selected_by_a_group(config, entry.name, entry.version)) {
      // Nothing to build it for; known all the same, so expectations may name it.
      const std::string file = generic ? generic->file : "";
      add_described(described, config, DescribedPlugin{file, entry.name, entry.version, "", {}, {}, entry.options}, &entry);
      continue;
    }
    if (!generic) {
      std::set<std::string> names;
      for (const auto& p : described.plugins) names.insert(p.name);
      const std::string found = comma_list(names);
      const std::string error = "no plugin named '" + entry.plugin + "' (found: " + (found.empty() ? "none" : found) + ")";
      if (described.failures.empty()) fail_config(entry.where, "[[models]] " + entry.name + "@" + entry.version + ": " + error);
      // A plugin file that could not be loaded may be it: the entry fails as its own unit.
      described.failures.push_back(entry_failure_unit(
          config, entry, "", error + "; a plugin file that could not be loaded may be it: " +
                                 described.failures.front().cases.front().message));
      continue;
    }
    protocol::DescribeRequest request;
    request.file = generic->file;
    request.shown_file = shown_path(config, generic->file);
    request.options = entry.options;
    request.as = std::make_pair(entry.name, entry.version);
    entry_requests.push_back(std::move(request));
    entries.push_back(&entry);
  }
  const std::vector<DescribeOutcome> outcomes = describe(entry_requests);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const ModelEntry& entry = *entries[i];
    if (!outcomes[i].plugin) {
      described.failures.push_back(entry_failure_unit(config, entry, outcomes[i].file, outcomes[i].error));
      continue;
    }
    DescribedPlugin plugin = *outcomes[i].plugin;
    plugin.options = entry.options;
    add_described(described, config, std::move(plugin), &entry);
  }
  return described;
}

}  // namespace ckpt
