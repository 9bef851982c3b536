#include "schema/checkpoint_schema.hpp"

#include "engine/saved_optimizer.hpp"
#include "engine/state_dict.hpp"

namespace ckpt {

namespace {
void add_module(ModelSchema& schema, const std::string& name, const StateDict& state) {
  ModuleSchema m;
  m.name = name;
  for (const auto& e : state.entries) m.tensors.push_back({e.key, e.value->tensor.dtype, e.value->tensor.sizes, false});
  schema.modules.push_back(std::move(m));
  if (state.has_metadata) {
    ModuleVersions& versions = schema.versions[name];
    versions.known = true;
    for (const auto& [prefix, version] : state.versions) {
      if (version != 1) versions.by_prefix[prefix] = version;
    }
  }
}

// Parameter names are not saved with optimizer state: only group sizes, class and hyper-parameters.
bool optimizer_of(const std::string& name, const Value& saved, OptimizerSchema& out) {
  SavedOptimizerState state;
  try {
    state = read_saved_optimizer(saved);
  } catch (const std::invalid_argument&) {
    return false;
  }
  out.name = name;
  out.class_name = implied_optimizer_class(state);
  for (const auto& g : state.groups) {
    OptimizerGroupSchema group;
    group.size = g.positions.size();
    group.hyper = saved_hyper(g);
    out.groups.push_back(std::move(group));
  }
  return true;
}

// Whether the component's source is in the checkpoint (its file is read, and so checked).
const Value* present(CheckpointSet& files, const ComponentSource& source) {
  const Checkpoint& file = files.get(source.file);
  return resolve_path(file, source.path);
}
}  // namespace

ModelSchema schema_of_checkpoint(CheckpointSet& files, const LocatorSpec& spec, const ComponentNames* names) {
  ModelSchema schema;
  schema.source = "checkpoint " + files.main_file();
  schema.tensor_kinds_known = false;
  ComponentNames discovered;
  const bool discovering = !names;
  if (discovering) {
    discovered = discover_components(spec, files);
    names = &discovered;
  }
  LocatorSpec fitted = spec;
  if (!names->layout.empty()) fitted.layout = names->layout;
  const CheckpointLayout layout = locate_components(fitted, names->modules, names->optimizers, files.main_file());
  for (const auto& name : names->modules) {
    const auto source = layout.modules.find(name);
    if (source == layout.modules.end() || !present(files, source->second)) continue;
    add_module(schema, name, extract_state_dict(files, source->second, layout.key_rules));
  }
  for (const auto& name : names->optimizers) {
    const auto source = layout.optimizers.find(name);
    const Value* saved = source == layout.optimizers.end() ? nullptr : present(files, source->second);
    OptimizerSchema optimizer;
    if (saved && optimizer_of(name, *saved, optimizer)) schema.optimizers.push_back(std::move(optimizer));
  }
  if (schema.modules.empty() && discovering) {
    throw SchemaError(files.main_file() + ": holds no state dict " +
                      (spec.preset_only() && spec.layout == "gan"
                           ? std::string("neither as the whole file nor under a top-level key (expected a dict of "
                                         "tensors, or a dict of them such as {'generator': ..., 'discriminator': ...})")
                           : "where layout '" + spec.layout + "'" + (spec.preset_only() ? "" : " with its maps and files") +
                                 " looks (where they are: --map NAME=PATH, or another --layout)"));
  }
  return schema;
}

}  // namespace ckpt
