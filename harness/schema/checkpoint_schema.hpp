#pragma once
// The schema a checkpoint implies, from its tree alone (no tensor byte is read): each
// state dict it holds is a module named by its key ("generator"), each optimizer state an
// optimizer; a file that is one state dict is the module "model".
#include "reader/checkpoint.hpp"
#include "schema/model_schema.hpp"

namespace ckpt {

// Throws SchemaError when the checkpoint holds no state dict.
ModelSchema schema_of_checkpoint(const Checkpoint& checkpoint);

}  // namespace ckpt
