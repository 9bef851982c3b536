#include "runner/run_plan.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "text/suggest.hpp"
#include "plugin_host/plugin_paths.hpp"
#include "results/scenarios.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
std::string found_text(const std::vector<DescribedPlugin>& plugins) {
  const std::string out = comma_list(plugins, [](const DescribedPlugin& p) { return p.name + "@" + p.version; });
  return out.empty() ? "none" : out;
}

void check_selector(const PluginSelector& s, const std::vector<DescribedPlugin>& plugins, const std::string& what) {
  if (s.name == "*") return;
  for (const auto& p : plugins) {
    if (s.matches(p.name, p.version)) return;
  }
  std::vector<std::string> names;
  for (const auto& p : plugins) names.push_back(p.name);
  const std::string nearest = nearest_word(s.name, names);
  fail_config(s.where, what + ": no plugin matches '" + s.text() + "' (found: " + found_text(plugins) + ")" +
                           (nearest.empty() || nearest == s.name ? "" : "; did you mean '" + nearest + "'?"));
}

std::vector<PlannedCase> cases_for(const ScenarioSettings& settings, const DescribedPlugin* plugin) {
  std::vector<PlannedCase> out;
  for (const auto& name : settings.enabled) {
    const ScenarioInfo* s = find_scenario(name);
    if (!plugin) {
      if (!s->needs_plugin) out.push_back({name, ""});
      continue;
    }
    switch (s->scope) {
      case ScenarioScope::kCheckpoint: out.push_back({name, ""}); break;
      case ScenarioScope::kModule:
        for (const auto& m : plugin->modules) out.push_back({name, m});
        break;
      case ScenarioScope::kOptimizer:
        for (const auto& o : plugin->optimizers) out.push_back({name, o});
        break;
    }
  }
  return out;
}
}  // namespace

void check_plugin_references(const HarnessConfig& config, const std::vector<DescribedPlugin>& plugins,
                             std::vector<std::string>* unresolved) {
  auto check = [&](const std::function<void()>& one) {
    try {
      one();
    } catch (const ConfigError& e) {
      if (!unresolved) throw;
      unresolved->push_back(e.what());
    }
  };
  std::vector<std::string> names;
  for (const auto& p : plugins) names.push_back(p.name);
  for (const auto& [name, settings] : config.plugin_settings) {
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    const std::string nearest = nearest_word(name, names);
    check([&] {
      fail_config(settings.where, "[plugins." + name + "]: no plugin named '" + name + "' (found: " + found_text(plugins) +
                                      ")" + (nearest.empty() ? "" : "; did you mean '" + nearest + "'?"));
    });
  }
  for (const auto& g : config.groups) {
    for (const auto& s : g.plugins) check([&] { check_selector(s, plugins, "[[checkpoints]] '" + g.name + "' plugins"); });
  }
  for (const auto& e : config.expectations) check([&] { check_selector(e.plugin, plugins, "expectation"); });
}

RunPlan plan_run(const HarnessConfig& config, const std::vector<DescribedPlugin>& plugins, const CaseFilter& filter,
                 const Shard& shard) {
  std::vector<const DescribedPlugin*> sorted;
  for (const auto& p : plugins) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](const DescribedPlugin* a, const DescribedPlugin* b) {
    return a->name != b->name ? a->name < b->name : compare_versions(a->version, b->version) < 0;
  });
  RunPlan plan;
  std::map<std::string, std::string> group_of_unit;
  for (const CheckpointGroup& group : config.groups) {
    for (const std::string& file : expand_group(config, group)) {
      std::vector<const DescribedPlugin*> targets;
      for (const DescribedPlugin* p : sorted) {
        // A generic plugin file given no options builds nothing: only its [[models]] entries are checked.
        if (p->modules.empty() && p->optimizers.empty()) continue;
        for (const auto& s : group.plugins) {
          if (s.matches(p->name, p->version)) {
            targets.push_back(p);
            break;
          }
        }
      }
      if (group.plugins.empty()) targets.push_back(nullptr);
      for (const DescribedPlugin* p : targets) {
        UnitPlan unit;
        UnitResult& r = unit.result;
        r.checkpoint = shown_path(config, file);
        r.plugin = p ? PluginRef{p->name, p->version, shown_path(config, p->file)} : PluginRef{};
        r.id = (p ? p->name + "@" + p->version : std::string("format-only")) + "/" + r.checkpoint;
        r.group = group.name;
        r.label = group.label;
        auto [it, fresh] = group_of_unit.emplace(r.id, group.name);
        if (!fresh) {
          fail_config(group.where, "'" + r.checkpoint + "' is in [[checkpoints]] '" + it->second + "' and '" + group.name +
                                       "' for the same plugin " + r.plugin.label() + ": keep it in one group");
        }
        r.order = plan.units_before_selection++;
        if (!shard.selects(r.id)) continue;
        UnitRequest& q = unit.request;
        q.id = r.id;
        q.plugin_file = p ? p->file : "";
        q.shown_plugin_file = r.plugin.file;
        if (p) q.options = p->options;
        q.shown_files = shown_model_files(config, q.options);
        q.checkpoint = file;
        q.golden = golden_path_for(file);
        q.locator = group.locator;
        q.settings = group.scenarios;
        q.allowed_globals = config.allowed_globals;
        q.max_file_bytes = config.run.max_file_mib * 1024 * 1024;
        q.confine_to = config.confinement.roots();
        for (const PlannedCase& c : cases_for(group.scenarios, p)) {
          CaseResult probe;
          probe.scenario = c.scenario;
          probe.component = c.component;
          if (filter.selects(probe.id(r.id))) q.cases.push_back(c);
        }
        if (q.cases.empty()) continue;
        plan.cases += q.cases.size();
        plan.units.push_back(std::move(unit));
      }
    }
  }
  return plan;
}

std::vector<UnplannedUnit> unplanned_units(const HarnessConfig& config, const std::vector<DescribedPlugin>& plugins,
                                           const Shard& shard) {
  std::vector<UnplannedUnit> out;
  for (const CheckpointGroup& group : config.groups) {
    for (const PluginSelector& s : group.plugins) {
      const bool matched = std::any_of(plugins.begin(), plugins.end(),
                                       [&](const DescribedPlugin& p) { return s.matches(p.name, p.version); });
      if (matched) continue;
      for (const std::string& file : expand_group(config, group)) {
        UnplannedUnit u{s.text() + "/" + shown_path(config, file), shown_path(config, file), group.name, group.label, s};
        if (shard.selects(u.id)) out.push_back(std::move(u));
      }
    }
  }
  return out;
}

}  // namespace ckpt
