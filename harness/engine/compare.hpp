#pragma once
// Compares a module's expected tensors with a state dict, from metadata alone (no tensor
// byte is read), the way PyTorch's load_state_dict decides, and more: dtype differences,
// values that are not tensors, BatchNorm version migration, and a prefix-rule hint.
#include <string>
#include <vector>

#include "engine/module_schema.hpp"
#include "engine/state_dict.hpp"

namespace ckpt {

struct ShapeMismatch {
  std::string key;
  std::vector<std::int64_t> checkpoint;
  std::vector<std::int64_t> model;
};

struct DTypeMismatch {
  std::string key;
  DType checkpoint{};
  DType model{};
};

struct NonTensorValue {
  std::string key;
  std::string found;  // "int", "str", "dict", ...
};

// A tensor of the right shape that PyTorch's `param.copy_(...)` still refuses: a sparse
// tensor into a dense parameter, a quantized one into a float parameter, a meta tensor.
struct UncopyableTensor {
  std::string key;
  std::string kind;    // "sparse_coo", "quantized qint8", "meta", ...
  std::string reason;  // the exception PyTorch's copy_ raises, in its words
  std::vector<std::int64_t> checkpoint;
  std::vector<std::int64_t> model;
};

struct ModuleComparison {
  std::string module;
  std::string source;
  std::vector<std::string> missing;      // model order, as PyTorch lists them
  std::vector<std::string> unexpected;   // checkpoint order
  std::vector<ShapeMismatch> shape_mismatches;
  std::vector<DTypeMismatch> dtype_mismatches;  // PyTorch casts these silently
  std::vector<NonTensorValue> non_tensors;
  std::vector<UncopyableTensor> uncopyable;
  std::vector<std::string> migrated;     // BatchNorm v1: num_batches_tracked added as 0, like PyTorch
  std::vector<std::string> applied_rules;
  std::string hint;                      // a norm that changed form, or a key rule that fixes a prefix
  std::size_t model_tensors = 0;
  std::uint64_t model_elements = 0;

  // What load_state_dict(strict=True) accepts: no missing, unexpected, size or type errors.
  bool strictly_loadable() const;
  bool identical() const;  // strictly loadable and no dtype difference
  // PyTorch's own error text, for people who search for it.
  std::string pytorch_message() const;
};

ModuleComparison compare_module(const ModuleSchema& schema, const StateDict& state);

std::string format_torch_size(const std::vector<std::int64_t>& shape);  // torch.Size([16, 3, 4, 4])

}  // namespace ckpt
