#include "schema/checkpoint_schema.hpp"

#include "engine/saved_optimizer.hpp"
#include "engine/state_dict.hpp"

namespace ckpt {

namespace {
// A state dict: a non-empty dict of string keys whose values are all tensors.
bool is_state_dict(const Value& v) {
  const auto* members = members_of(v);
  if (!members || members->empty()) return false;
  for (const auto& e : *members) {
    if (e.key->kind != ValueKind::kStr || e.value->kind != ValueKind::kTensor) return false;
  }
  return true;
}

void add_module(ModelSchema& schema, const std::string& name, const Value& state_dict) {
  ModuleSchema m;
  m.name = name;
  for (const auto& e : *members_of(state_dict)) m.tensors.push_back({e.key->text, e.value->tensor.dtype, e.value->tensor.sizes, false});
  schema.modules.push_back(std::move(m));
  if (const Value* metadata = state_dict.metadata()) {
    StateDict read;
    read_state_dict_versions(*metadata, read);
    ModuleVersions& versions = schema.versions[name];
    versions.known = true;
    for (const auto& [prefix, version] : read.versions) {
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
}  // namespace

ModelSchema schema_of_checkpoint(const Checkpoint& checkpoint) {
  ModelSchema schema;
  schema.source = "checkpoint " + checkpoint.file();
  schema.tensor_kinds_known = false;
  const Value& root = checkpoint.root();
  if (is_state_dict(root)) {
    add_module(schema, "model", root);
    return schema;
  }
  if (const auto* members = members_of(root)) {
    for (const auto& e : *members) {
      if (e.key->kind != ValueKind::kStr) continue;
      OptimizerSchema optimizer;
      if (is_state_dict(*e.value)) {
        add_module(schema, e.key->text, *e.value);
      } else if (optimizer_of(e.key->text, *e.value, optimizer)) {
        schema.optimizers.push_back(std::move(optimizer));
      }
    }
  }
  if (schema.modules.empty()) {
    throw SchemaError(checkpoint.file() + ": holds no state dict, neither as the whole file nor under a top-level key "
                                          "(expected a dict of tensors, or a dict of them such as {'generator': ..., "
                                          "'discriminator': ...})");
  }
  return schema;
}

}  // namespace ckpt
