#include "scenarios/unit_context.hpp"

#include "engine/locator.hpp"
#include "reader/read_error.hpp"

namespace ckpt {

namespace {
ReadOptions read_options_of(const UnitRequest& r) {
  ReadOptions o;
  if (r.max_file_bytes > 0) o.max_file_bytes = r.max_file_bytes;
  o.confine_to = r.confine_to;
  return o;
}
}  // namespace

UnitContext::UnitContext(const UnitRequest& request, std::shared_ptr<Plugin> plugin, std::optional<LoadedModel> prebuilt)
    : request_(request),
      plugin_(std::move(plugin)),
      files_(request.checkpoint, read_options_of(request)),
      model_(std::move(prebuilt)) {}

ReadOptions UnitContext::read_options() const { return read_options_of(request_); }

const Plugin& UnitContext::plugin() const {
  if (!plugin_) throw SkipCase("no plugin is meant for this checkpoint");
  return *plugin_;
}

const Checkpoint& UnitContext::checkpoint() { return files_.get(""); }

LoadedModel UnitContext::build() const { return plugin().build(request_.options); }

LoadedModel& UnitContext::described_model() {
  if (!model_) model_ = build();
  return *model_;
}

const CheckpointLayout& UnitContext::layout() {
  if (!layout_) {
    const Model& model = described_model().model();
    std::vector<std::string> modules, optimizers;
    for (const auto& m : model.modules) modules.push_back(m.name);
    for (const auto& o : model.optimizers) optimizers.push_back(o.name);
    layout_ = locate_components(request_.locator, modules, optimizers, request_.checkpoint);
  }
  return *layout_;
}

std::vector<std::string> UnitContext::files_read() {
  try {
    if (plugin_) return files_of(layout(), request_.checkpoint);
    const ComponentNames names = discover_components(request_.locator, files_);
    return files_of(locate_components(request_.locator, names.modules, names.optimizers, request_.checkpoint),
                    request_.checkpoint);
  } catch (const LayoutError&) {  // the file does not fit the layout: only it is read
    return {request_.checkpoint};
  }
}

const CompatibilityReport& UnitContext::compatibility() {
  if (!compatibility_) {
    const CheckpointLayout& l = layout();
    compatibility_ = check_compatibility(files_, plugin(), described_model(), l);
  }
  return *compatibility_;
}

void UnitContext::require_held(const std::string& component) const {
  if (!request_.locator.holds(component)) {
    throw SkipCase("the group's checkpoints hold only " + request_.locator.components_text() +
                   " ([[checkpoints]] components), not '" + component + "'");
  }
}

void UnitContext::require_every_module_held() {
  for (const auto& m : described_model().model().modules) {
    if (!request_.locator.holds(m.name)) {
      throw SkipCase("the group's checkpoints hold only " + request_.locator.components_text() +
                     " ([[checkpoints]] components): training does not resume from them");
    }
  }
}

const ModuleResult& UnitContext::module_result(const std::string& module) {
  require_held(module);
  for (const auto& m : compatibility().modules) {
    if (m.comparison.module == module) return m;
  }
  throw SkipCase("the plugin's model has no module '" + module + "'");
}

const OptimizerResult& UnitContext::optimizer_result(const std::string& optimizer) {
  require_held(optimizer);
  for (const auto& o : compatibility().optimizers) {
    if (o.comparison.optimizer == optimizer) return o;
  }
  throw SkipCase("the plugin's model has no optimizer '" + optimizer + "'");
}

void UnitContext::require_strict(const std::string& module) {
  const ModuleResult& m = module_result(module);
  if (!m.error.empty()) throw SkipCase("'" + module + "' could not be taken from the checkpoint: " + m.error);
  if (!m.comparison.strictly_loadable()) {
    throw SkipCase("'" + module + "' does not load strictly from this checkpoint (see strict-load)");
  }
}

bool UnitContext::schema_only() {
  if (!schema_only_) {
    bool meta = false;
    for (const auto& m : described_model().model().modules) {
      for (const auto& p : m.module->parameters()) meta = meta || p.is_meta();
      for (const auto& b : m.module->buffers()) meta = meta || b.is_meta();
    }
    schema_only_ = meta;
  }
  return *schema_only_;
}

void UnitContext::require_values(const std::string& scenario) {
  if (schema_only()) {
    throw SkipCase("the model is a schema (a manifest: shapes and dtypes, no values), and " + scenario +
                   " needs real tensors: check it with the model's C++ or TorchScript plugin");
  }
}

void UnitContext::load_modules(LoadedModel& model) {
  for (auto& m : model.model().modules) {
    if (!request_.locator.holds(m.name)) continue;  // keeps its initialisation
    const ModuleResult& r = module_result(m.name);
    if (r.error.empty() && r.comparison.strictly_loadable()) load_strict(*m.module, r.comparison, r.state);
  }
}

void UnitContext::load_optimizers(LoadedModel& model) {
  if (schema_only()) return;  // no parameters with values to hold optimizer state for
  for (auto& o : model.model().optimizers) {
    if (!request_.locator.holds(o.name)) continue;
    const OptimizerResult& r = optimizer_result(o.name);
    if (r.error.empty() && r.saved && r.comparison.loadable()) load_optimizer_state(o, *r.saved);
  }
}

LoadedModel& UnitContext::loaded_model() {
  compatibility();  // compares against the model before anything is loaded into it
  LoadedModel& model = described_model();
  if (!modules_loaded_) {
    modules_loaded_ = true;
    load_modules(model);
  }
  return model;
}

LoadedModel& UnitContext::resumed_model() {
  LoadedModel& model = loaded_model();
  if (!optimizers_loaded_) {
    optimizers_loaded_ = true;
    load_optimizers(model);
  }
  return model;
}

LoadedModel UnitContext::make_resumed() {
  LoadedModel model = build();
  load_modules(model);
  load_optimizers(model);
  for (auto& m : model.model().modules) m.module->train();
  return model;
}

DTypePolicy UnitContext::dtype_policy() const {
  const std::string& p = request_.settings.dtype_policy;
  if (p == "cast") return DTypePolicy::kCastLikePyTorch;
  if (p == "exact") return DTypePolicy::kExact;
  return DTypePolicy::kCastFloating;
}

}  // namespace ckpt
