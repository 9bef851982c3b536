#include "engine/compare.hpp"

#include <set>
#include <unordered_map>

#include "engine/key_rules.hpp"
#include "engine/norm_migrations.hpp"

namespace ckpt {

std::string format_torch_size(const std::vector<std::int64_t>& shape) {
  return "torch.Size(" + format_shape(shape) + ")";
}

bool ModuleComparison::strictly_loadable() const {
  return missing.empty() && unexpected.empty() && shape_mismatches.empty() && non_tensors.empty() && uncopyable.empty();
}

bool ModuleComparison::identical() const { return strictly_loadable() && dtype_mismatches.empty(); }

std::string ModuleComparison::pytorch_message() const {
  std::vector<std::string> errors;
  auto quoted = [](const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "\"" : ", \"") + k + "\"";
    return out;
  };
  if (!missing.empty()) errors.push_back("Missing key(s) in state_dict: " + quoted(missing) + ". ");
  if (!unexpected.empty()) errors.push_back("Unexpected key(s) in state_dict: " + quoted(unexpected) + ". ");
  for (const auto& m : shape_mismatches) {
    errors.push_back("size mismatch for " + m.key + ": copying a param with shape " + format_torch_size(m.checkpoint) +
                     " from checkpoint, the shape in current model is " + format_torch_size(m.model) + ".");
  }
  for (const auto& n : non_tensors) {
    errors.push_back("While copying the parameter named \"" + n.key +
                     "\", expected torch.Tensor or Tensor-like object from checkpoint but received " + n.found);
  }
  for (const auto& u : uncopyable) {
    errors.push_back("While copying the parameter named \"" + u.key + "\", whose dimensions in the model are " +
                     format_torch_size(u.model) + " and whose dimensions in the checkpoint are " + format_torch_size(u.checkpoint) +
                     ", an exception occurred : ('" + u.reason + "',).");
  }
  if (errors.empty()) return "";
  std::string out = "Error(s) in loading state_dict for " + module + ":";
  for (const auto& e : errors) out += "\n\t" + e;
  return out;
}

namespace {
std::string python_type_of(const Value& v) {
  switch (v.kind) {
    case ValueKind::kNone: return "<class 'NoneType'>";
    case ValueKind::kObject: return "<class '" + v.text + "'>";
    default: return std::string("<class '") + to_string(v.kind) + "'>";
  }
}

// PyTorch's legacy type name of a CPU tensor ("FloatTensor"), which its copy_ errors print.
std::string legacy_tensor_type(DType dtype) {
  switch (dtype) {
    case DType::kFloat16: return "HalfTensor";
    case DType::kFloat32: return "FloatTensor";
    case DType::kFloat64: return "DoubleTensor";
    case DType::kBFloat16: return "BFloat16Tensor";
    case DType::kInt8: return "CharTensor";
    case DType::kInt16: return "ShortTensor";
    case DType::kInt32: return "IntTensor";
    case DType::kInt64: return "LongTensor";
    case DType::kUInt8: return "ByteTensor";
    case DType::kBool: return "BoolTensor";
    case DType::kComplex64: return "ComplexFloatTensor";
    case DType::kComplex128: return "ComplexDoubleTensor";
    default: return std::string(dtype_name(dtype)) + " tensor";
  }
}

// What `param.copy_(t)` refuses for a dense, unquantized parameter, in PyTorch's words (2.6
// and 1.13 alike); empty when it copies.
UncopyableTensor refused(std::string kind, std::string reason) {
  UncopyableTensor u;
  u.kind = std::move(kind);
  u.reason = std::move(reason);
  return u;
}

UncopyableTensor uncopyable_into(const TensorRef& t, DType model) {
  if (t.meta) return refused("meta", "Cannot copy out of meta tensor; no data!");
  if (t.layout == TensorLayout::kSparseCoo) {
    const std::string type = legacy_tensor_type(t.dtype);
    return refused("sparse_coo", "copy_() between dense and sparse Tensors is not implemented! Found self type = torch." + type +
                                     " and src type = torch.sparse." + type);
  }
  if (t.is_sparse()) {
    return refused(std::string(layout_name(t.layout)), "copy_sparse_compressed_ expected sparse compressed tensor layout but got Strided");
  }
  if (t.quantization && !dtype_is_quantized(model)) {
    return refused("quantized " + std::string(dtype_name(t.dtype)),
                   "Copying from quantized Tensor to non-quantized Tensor is not allowed, please use dequantize to get a float "
                   "Tensor from a quantized Tensor");
  }
  return {};
}

// PyTorch's _NormBase._load_from_state_dict: a state dict written before BatchNorm
// version 2 has no num_batches_tracked; loading adds it as 0 instead of calling it missing.
bool migrated_by_batch_norm(const ModuleSchema& schema, const StateDict& state, const std::string& key) {
  const std::string suffix = "num_batches_tracked";
  if (key.size() < suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  const std::string prefix = key.size() == suffix.size() ? "" : key.substr(0, key.size() - suffix.size() - 1);
  for (const auto& sub : schema.submodules) {
    if (sub.prefix != prefix || !sub.is_batch_norm) continue;
    auto version = state.versions.find(prefix);
    return version == state.versions.end() || version->second < 2;
  }
  return false;
}
}  // namespace

ModuleComparison compare_module(const ModuleSchema& schema, const StateDict& state) {
  ModuleComparison out;
  out.module = schema.name;
  out.source = state.source;
  out.applied_rules = state.applied_rules;
  out.model_tensors = schema.tensors.size();
  out.model_elements = schema.elements();

  std::unordered_map<std::string, const StateEntry*> by_key;  // large state dicts: no quadratic scan
  by_key.reserve(state.entries.size());
  for (const auto& e : state.entries) by_key.emplace(e.key, &e);
  std::set<std::string> model_keys;
  for (const auto& slot : schema.tensors) {
    model_keys.insert(slot.key);
    const auto found = by_key.find(slot.key);
    const StateEntry* entry = found == by_key.end() ? nullptr : found->second;
    if (!entry) {
      if (migrated_by_batch_norm(schema, state, slot.key)) {
        out.migrated.push_back(slot.key);
      } else {
        out.missing.push_back(slot.key);
      }
      continue;
    }
    const Value& v = *entry->value;
    if (v.kind != ValueKind::kTensor) {
      out.non_tensors.push_back({slot.key, python_type_of(v)});
      continue;
    }
    // PyTorch accepts a 1-d tensor for a 0-d parameter and loads its first element.
    const bool scalar_from_vector = slot.shape.empty() && v.tensor.sizes.size() == 1;
    if (v.tensor.sizes != slot.shape && !scalar_from_vector) {
      out.shape_mismatches.push_back({slot.key, v.tensor.sizes, slot.shape});
      continue;
    }
    if (UncopyableTensor u = uncopyable_into(v.tensor, slot.dtype); !u.reason.empty()) {
      u.key = slot.key;
      u.checkpoint = v.tensor.sizes;
      u.model = slot.shape;
      out.uncopyable.push_back(std::move(u));
      continue;
    }
    if (v.tensor.dtype != slot.dtype) out.dtype_mismatches.push_back({slot.key, v.tensor.dtype, slot.dtype});
  }
  std::set<std::string> submodule_names;
  for (const auto& sub : schema.submodules) submodule_names.insert(sub.prefix);
  std::vector<std::string> checkpoint_keys;
  for (const auto& e : state.entries) {
    checkpoint_keys.push_back(e.key);
    // PyTorch ignores a key that names a submodule itself; anything else unknown is unexpected.
    if (model_keys.count(e.key) == 0 && submodule_names.count(e.key) == 0) out.unexpected.push_back(e.key);
  }
  if (!out.missing.empty() && !out.unexpected.empty()) {
    // A norm that changed form names its layers; else keys that differ by a prefix.
    out.hint = explain_norm_migrations(out.missing, out.unexpected);
    if (out.hint.empty()) {
      out.hint = suggest_prefix_rule(checkpoint_keys, std::vector<std::string>(model_keys.begin(), model_keys.end()));
    }
  }
  return out;
}

}  // namespace ckpt
