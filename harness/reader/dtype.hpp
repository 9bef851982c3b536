#pragma once
// Element types of tensors and storages, with their PyTorch, storage-class and safetensors names.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ckpt {

enum class DType {
  kFloat16, kFloat32, kFloat64, kBFloat16,
  kInt8, kInt16, kInt32, kInt64, kUInt8, kBool,
  kComplex64, kComplex128,
  // PyTorch 2.x saves these through torch._utils._rebuild_tensor_v3 (no typed storage class).
  kComplex32, kUInt16, kUInt32, kUInt64,
  kFloat8E4M3FN, kFloat8E5M2, kFloat8E4M3FNUZ, kFloat8E5M2FNUZ,
  kBits8, kBits16, kBits1x8, kBits2x4, kBits4x2,
  // Quantized integers: the elements of a quantized tensor (torch._utils._rebuild_qtensor);
  // their meaning needs the tensor's scale and zero point (TensorRef::quantization).
  kQInt8, kQUInt8, kQInt32, kQUInt4x2, kQUInt2x4,
};

// Complex types are two floats per element: byte order swaps each half.
bool dtype_is_complex(DType dtype);
// Real floating-point types, float8 included: what a floating-point cast policy casts between.
bool dtype_is_floating(DType dtype);
// Quantized integer types (qint8, quint8, qint32, quint4x2, quint2x4).
bool dtype_is_quantized(DType dtype);

std::string_view dtype_name(DType dtype);  // PyTorch's name: "float32", "bfloat16", ...
std::size_t dtype_itemsize(DType dtype);

// "float32" / "float" / "half" ... (attribute names of torch.<dtype>)
std::optional<DType> dtype_from_torch_name(std::string_view name);
// "FloatStorage", "BFloat16Storage", ... (torch.<X>Storage classes used in persistent ids)
std::optional<DType> dtype_from_storage_class(std::string_view name);
// "F32", "BF16", "I64", "BOOL", ... (safetensors header dtype strings)
std::optional<DType> dtype_from_safetensors(std::string_view name);

}  // namespace ckpt
