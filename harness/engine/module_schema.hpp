#pragma once
// What a model module expects from a state dict, as plain data: its parameters and
// buffers (key, dtype, shape) and the submodules whose loading PyTorch special-cases.
// Built from a LibTorch module by torch_schema.hpp; compare.hpp needs no LibTorch.
#include <cstdint>
#include <string>
#include <vector>

#include "reader/dtype.hpp"

namespace ckpt {

struct TensorSlot {
  std::string key;  // "main.1.running_mean"
  DType dtype{};
  std::vector<std::int64_t> shape;
  bool is_buffer = false;
};

struct SubmoduleInfo {
  std::string prefix;  // "main.1" ("" for the module itself)
  std::string type;    // "torch::nn::BatchNorm2d"
  bool is_batch_norm = false;
};

struct ModuleSchema {
  std::string name;  // "generator"
  std::vector<TensorSlot> tensors;
  std::vector<SubmoduleInfo> submodules;

  const TensorSlot* find(const std::string& key) const;
  std::uint64_t elements() const;
};

std::uint64_t element_count(const std::vector<std::int64_t>& shape);

}  // namespace ckpt
