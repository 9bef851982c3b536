#pragma once
// The schema a checkpoint implies, from its tree alone (no tensor byte is read): each
// component the locator finds is a module or an optimizer of it. By default (layout "gan",
// nothing mapped) each top-level state dict is a module named by its key ("generator"),
// each optimizer state an optimizer; a file that is one state dict is the module "model".
#include "engine/locator.hpp"
#include "schema/model_schema.hpp"

namespace ckpt {

// `names`: the model's components when known (schema-diff takes them from the new
// manifest); else discovered from the checkpoint (discover_components). A component the
// checkpoint does not hold is left out: for a known model that is a verdict (its modules are
// missing), so only a discovery that finds no module throws SchemaError. Throws
// LayoutError or KeyRuleError when the locator does not fit the file, ReadError.
ModelSchema schema_of_checkpoint(CheckpointSet& files, const LocatorSpec& spec = {},
                                 const ComponentNames* names = nullptr);

}  // namespace ckpt
