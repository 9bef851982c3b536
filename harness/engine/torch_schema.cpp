#include "engine/torch_schema.hpp"

#include <torch/version.h>

#include <stdexcept>

namespace ckpt {

DType dtype_of(c10::ScalarType type) {
  switch (type) {
    case c10::kHalf: return DType::kFloat16;
    case c10::kFloat: return DType::kFloat32;
    case c10::kDouble: return DType::kFloat64;
    case c10::kBFloat16: return DType::kBFloat16;
    case c10::kChar: return DType::kInt8;
    case c10::kShort: return DType::kInt16;
    case c10::kInt: return DType::kInt32;
    case c10::kLong: return DType::kInt64;
    case c10::kByte: return DType::kUInt8;
    case c10::kBool: return DType::kBool;
    case c10::kComplexFloat: return DType::kComplex64;
    case c10::kComplexDouble: return DType::kComplex128;
    case c10::ScalarType::ComplexHalf: return DType::kComplex32;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    case c10::ScalarType::UInt16: return DType::kUInt16;
    case c10::ScalarType::UInt32: return DType::kUInt32;
    case c10::ScalarType::UInt64: return DType::kUInt64;
    case c10::ScalarType::Float8_e4m3fn: return DType::kFloat8E4M3FN;
    case c10::ScalarType::Float8_e5m2: return DType::kFloat8E5M2;
    case c10::ScalarType::Float8_e4m3fnuz: return DType::kFloat8E4M3FNUZ;
    case c10::ScalarType::Float8_e5m2fnuz: return DType::kFloat8E5M2FNUZ;
#endif
    default: throw std::invalid_argument(std::string("tensor type ") + c10::toString(type) + " has no checkpoint dtype");
  }
}

ModuleSchema schema_of(const std::string& name, const torch::nn::Module& module) {
  ModuleSchema schema;
  schema.name = name;
  // Python's state_dict order: per module, its parameters then its buffers, depth first.
  for (const auto& item : module.named_modules()) {
    const torch::nn::Module& sub = *item.value();
    const std::string prefix = item.key();
    const std::string type = sub.name();
    schema.submodules.push_back({prefix, type, type.find("BatchNorm") != std::string::npos});
    const std::string key_prefix = prefix.empty() ? "" : prefix + ".";
    for (const auto& p : sub.named_parameters(/*recurse=*/false)) {
      if (!p.value().defined()) continue;
      schema.tensors.push_back({key_prefix + p.key(), dtype_of(p.value().scalar_type()), p.value().sizes().vec(), false});
    }
    for (const auto& b : sub.named_buffers(/*recurse=*/false)) {
      if (!b.value().defined()) continue;
      schema.tensors.push_back({key_prefix + b.key(), dtype_of(b.value().scalar_type()), b.value().sizes().vec(), true});
    }
  }
  return schema;
}

}  // namespace ckpt
