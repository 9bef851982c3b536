#pragma once
// A plugin's model as a checkpoint schema manifest: what `ckpt-harness schema --plugin P`
// writes, and what plugins/manifest/write_manifest.py writes for the same model in Python.
#include "plugin_host/plugin_host.hpp"
#include "schema/model_schema.hpp"

namespace ckpt {

ModelSchema schema_of_model(const PluginInfo& plugin, const LoadedModel& model);

}  // namespace ckpt
