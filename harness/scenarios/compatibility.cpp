#include "scenarios/compatibility.hpp"

#include <set>

#include "engine/torch_schema.hpp"
#include "reader/read_error.hpp"

namespace ckpt {

bool CompatibilityReport::strictly_compatible() const {
  for (const auto& m : modules) {
    if (!m.error.empty() || !m.comparison.strictly_loadable()) return false;
  }
  for (const auto& o : optimizers) {
    if (!o.error.empty() || (o.comparison.present && !o.comparison.loadable())) return false;
  }
  return true;
}

Coverage relaxed_coverage(const ModuleSchema& schema, const ModuleComparison& c) {
  // Loaded means from the checkpoint: BatchNorm counters set to 0 by migration are not.
  std::set<std::string> not_loaded(c.missing.begin(), c.missing.end());
  not_loaded.insert(c.migrated.begin(), c.migrated.end());
  for (const auto& m : c.shape_mismatches) not_loaded.insert(m.key);
  for (const auto& n : c.non_tensors) not_loaded.insert(n.key);
  for (const auto& u : c.uncopyable) not_loaded.insert(u.key);
  Coverage out;
  for (const auto& slot : schema.tensors) {
    ++out.tensors_total;
    const std::uint64_t n = element_count(slot.shape);
    out.elements_total += n;
    if (!not_loaded.count(slot.key)) {
      ++out.tensors;
      out.elements += n;
    }
  }
  return out;
}

CompatibilityReport check_compatibility(CheckpointSet& files, const Plugin& plugin, const LoadedModel& model,
                                        const CheckpointLayout& layout) {
  CompatibilityReport report;
  report.checkpoint = files.main_file();
  report.plugin = plugin.info();
  report.layout = layout.name;
  for (const auto& module : model.model().modules) {
    ModuleResult result;
    result.comparison.module = module.name;
    auto source = layout.modules.find(module.name);
    try {
      if (source == layout.modules.end()) throw LayoutError("the layout does not say where '" + module.name + "' is");
      result.state = extract_state_dict(files, source->second, layout.key_rules);
      result.comparison = compare_module(schema_of(module.name, *module.module), result.state);
    } catch (const LayoutError& e) {
      result.error = e.what();
    } catch (const KeyRuleError& e) {
      result.error = e.what();
    } catch (const ReadError& e) {
      result.error = e.what();
    }
    report.modules.push_back(std::move(result));
  }
  for (const auto& optimizer : model.model().optimizers) {
    OptimizerResult result;
    result.comparison.optimizer = optimizer.name;
    try {
      auto source = layout.optimizers.find(optimizer.name);
      const Value* saved = nullptr;
      std::string where;
      if (source != layout.optimizers.end()) {
        const Checkpoint& ckpt = files.get(source->second.file);
        saved = resolve_path(ckpt, source->second.path);
        where = ckpt.file() + " " + format_path(source->second.path);
      }
      if (saved) {
        result.saved = read_saved_optimizer(*saved);
        result.comparison = compare_optimizer(optimizer, &*result.saved, where);
      } else {
        result.comparison = compare_optimizer(optimizer, nullptr, where);
      }
    } catch (const LayoutError& e) {
      result.error = e.what();
    } catch (const ReadError& e) {
      result.error = e.what();
    } catch (const std::invalid_argument& e) {
      result.error = std::string("optimizer state: ") + e.what();
    }
    report.optimizers.push_back(std::move(result));
  }
  std::vector<SavedOptimizerRef> saved;
  for (const auto& o : report.optimizers) {
    if (!o.saved) continue;
    std::optional<std::int64_t> steps;
    try {
      steps = saved_step_count(*o.saved);
    } catch (const ReadError&) {  // an unreadable step: the optimizer's own case says so
    }
    saved.push_back({o.comparison.optimizer, &*o.saved, steps});
  }
  try {
    report.schedulers = check_saved_schedulers(files.get("").root(), saved);
  } catch (const ReadError&) {  // the main file itself is unreadable: its modules say so
  }
  if (!layout.epoch.empty()) {
    try {
      const Value* epoch = resolve_path(files.get(""), layout.epoch);
      if (epoch && epoch->kind == ValueKind::kInt) report.epoch = epoch->integer;
    } catch (const LayoutError&) {
    }
  }
  return report;
}

}  // namespace ckpt
