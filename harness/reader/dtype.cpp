#include "reader/dtype.hpp"

#include <array>

namespace ckpt {

namespace {
struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::string_view alias;  // second torch attribute name, e.g. torch.float
  std::string_view storage_class;
  std::string_view safetensors;
  std::size_t itemsize;
};

constexpr std::array<DTypeInfo, 30> kInfos{{
    {DType::kFloat16, "float16", "half", "HalfStorage", "F16", 2},
    {DType::kFloat32, "float32", "float", "FloatStorage", "F32", 4},
    {DType::kFloat64, "float64", "double", "DoubleStorage", "F64", 8},
    {DType::kBFloat16, "bfloat16", "", "BFloat16Storage", "BF16", 2},
    {DType::kInt8, "int8", "", "CharStorage", "I8", 1},
    {DType::kInt16, "int16", "short", "ShortStorage", "I16", 2},
    {DType::kInt32, "int32", "int", "IntStorage", "I32", 4},
    {DType::kInt64, "int64", "long", "LongStorage", "I64", 8},
    {DType::kUInt8, "uint8", "", "ByteStorage", "U8", 1},
    {DType::kBool, "bool", "", "BoolStorage", "BOOL", 1},
    {DType::kComplex64, "complex64", "cfloat", "ComplexFloatStorage", "C64", 8},
    {DType::kComplex128, "complex128", "cdouble", "ComplexDoubleStorage", "C128", 16},
    {DType::kComplex32, "complex32", "chalf", "ComplexHalfStorage", "", 4},
    {DType::kUInt16, "uint16", "", "", "U16", 2},
    {DType::kUInt32, "uint32", "", "", "U32", 4},
    {DType::kUInt64, "uint64", "", "", "U64", 8},
    {DType::kFloat8E4M3FN, "float8_e4m3fn", "", "", "F8_E4M3", 1},
    {DType::kFloat8E5M2, "float8_e5m2", "", "", "F8_E5M2", 1},
    {DType::kFloat8E4M3FNUZ, "float8_e4m3fnuz", "", "", "", 1},
    {DType::kFloat8E5M2FNUZ, "float8_e5m2fnuz", "", "", "", 1},
    {DType::kBits8, "bits8", "", "", "", 1},
    {DType::kBits16, "bits16", "", "", "", 2},
    {DType::kBits1x8, "bits1x8", "", "", "", 1},
    {DType::kBits2x4, "bits2x4", "", "", "", 1},
    {DType::kBits4x2, "bits4x2", "", "", "", 1},
    {DType::kQInt8, "qint8", "", "QInt8Storage", "", 1},
    {DType::kQUInt8, "quint8", "", "QUInt8Storage", "", 1},
    {DType::kQInt32, "qint32", "", "QInt32Storage", "", 4},
    {DType::kQUInt4x2, "quint4x2", "", "QUInt4x2Storage", "", 1},
    {DType::kQUInt2x4, "quint2x4", "", "QUInt2x4Storage", "", 1},
}};
static_assert(kInfos.back().dtype == DType::kQUInt2x4, "kInfos is indexed by DType: one row per enumerator, in order");

const DTypeInfo& info(DType dtype) { return kInfos[static_cast<std::size_t>(dtype)]; }
}  // namespace

std::string_view dtype_name(DType dtype) { return info(dtype).name; }
std::size_t dtype_itemsize(DType dtype) { return info(dtype).itemsize; }

std::optional<DType> dtype_from_torch_name(std::string_view name) {
  for (const auto& i : kInfos) {
    if (name == i.name || (!i.alias.empty() && name == i.alias)) return i.dtype;
  }
  return std::nullopt;
}

bool dtype_is_complex(DType dtype) {
  return dtype == DType::kComplex32 || dtype == DType::kComplex64 || dtype == DType::kComplex128;
}

bool dtype_is_floating(DType dtype) {
  switch (dtype) {
    case DType::kFloat16: case DType::kFloat32: case DType::kFloat64: case DType::kBFloat16:
    case DType::kFloat8E4M3FN: case DType::kFloat8E5M2: case DType::kFloat8E4M3FNUZ: case DType::kFloat8E5M2FNUZ:
      return true;
    default:
      return false;
  }
}

std::optional<DType> dtype_from_storage_class(std::string_view name) {
  for (const auto& i : kInfos) {
    if (!i.storage_class.empty() && name == i.storage_class) return i.dtype;
  }
  if (name == "UntypedStorage" || name == "storage.UntypedStorage") return DType::kUInt8;
  return std::nullopt;
}

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const auto& i : kInfos) {
    if (!i.safetensors.empty() && name == i.safetensors) return i.dtype;
  }
  return std::nullopt;
}

bool dtype_is_quantized(DType dtype) {
  return dtype == DType::kQInt8 || dtype == DType::kQUInt8 || dtype == DType::kQInt32 || dtype == DType::kQUInt4x2 ||
         dtype == DType::kQUInt2x4;
}

}  // namespace ckpt
