#include "worker/plugin_schema.hpp"

#include <stdexcept>

#include "engine/optimizer_state.hpp"
#include "engine/torch_schema.hpp"

namespace ckpt {

ModelSchema schema_of_model(const PluginInfo& plugin, const LoadedModel& model) {
  ModelSchema schema;
  schema.name = plugin.name;
  schema.version = plugin.version;
  schema.source = "plugin " + plugin.path;
  for (const auto& m : model.model().modules) {
    schema.modules.push_back(schema_of(m.name, *m.module));
    // What Python's _metadata says of this model's checkpoints: norm layers are at version 2
    // (PyTorch's _NormBase), so loading adds no num_batches_tracked for them.
    ModuleVersions& versions = schema.versions[m.name];
    versions.known = true;
    for (const auto& sub : schema.modules.back().submodules) {
      if (sub.type.find("BatchNorm") != std::string::npos || sub.type.find("InstanceNorm") != std::string::npos) {
        versions.by_prefix[sub.prefix] = 2;
      }
    }
  }
  for (const auto& o : model.model().optimizers) {
    OptimizerSchema optimizer;
    optimizer.name = o.name;
    optimizer.class_name = optimizer_class(*o.optimizer);
    std::size_t next = 0;  // Optimizer::parameters lists every group's parameters in order
    for (const auto& g : o.optimizer->param_groups()) {
      OptimizerGroupSchema group;
      group.size = g.params().size();
      for (std::size_t i = 0; i < group.size && next < o.parameters.size(); ++i) group.parameters.push_back(o.parameters[next++]);
      if (group.parameters.size() != group.size) group.parameters.clear();  // the plugin names too few: unknown
      group.hyper = model_hyper(g.options());
      optimizer.groups.push_back(std::move(group));
    }
    schema.optimizers.push_back(std::move(optimizer));
  }
  return schema;
}

}  // namespace ckpt
