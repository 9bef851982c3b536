#pragma once
// Reads a LibTorch module's parameters, buffers and submodules into a ModuleSchema.
#include <torch/nn/module.h>

#include "engine/module_schema.hpp"

namespace ckpt {

ModuleSchema schema_of(const std::string& name, const torch::nn::Module& module);
DType dtype_of(c10::ScalarType type);  // throws for types checkpoints cannot hold

}  // namespace ckpt
