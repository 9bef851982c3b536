#include "tensor/materialize.hpp"

#include <ATen/ops/empty.h>
#include <ATen/ops/empty_strided.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/_make_per_channel_quantized_tensor.h>
#include <ATen/ops/_make_per_tensor_quantized_tensor.h>
#include <ATen/ops/_sparse_compressed_tensor_unsafe.h>
#include <ATen/ops/_sparse_coo_tensor_unsafe.h>
#include <ATen/ops/_validate_sparse_compressed_tensor_args.h>
#include <ATen/ops/_validate_sparse_coo_tensor_args.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <algorithm>
#include <cstring>

#include "reader/chunked_tensor.hpp"
#include "reader/read_error.hpp"

namespace ckpt {

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kFloat16: return at::kHalf;
    case DType::kFloat32: return at::kFloat;
    case DType::kFloat64: return at::kDouble;
    case DType::kBFloat16: return at::kBFloat16;
    case DType::kInt8: return at::kChar;
    case DType::kInt16: return at::kShort;
    case DType::kInt32: return at::kInt;
    case DType::kInt64: return at::kLong;
    case DType::kUInt8: return at::kByte;
    case DType::kBool: return at::kBool;
    case DType::kComplex64: return at::kComplexFloat;
    case DType::kComplex128: return at::kComplexDouble;
    case DType::kComplex32: return at::kComplexHalf;
    case DType::kQInt8: return at::kQInt8;
    case DType::kQUInt8: return at::kQUInt8;
    case DType::kQInt32: return at::kQInt32;
    case DType::kQUInt4x2: return at::kQUInt4x2;
    case DType::kQUInt2x4: return at::kQUInt2x4;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    case DType::kUInt16: return at::ScalarType::UInt16;
    case DType::kUInt32: return at::ScalarType::UInt32;
    case DType::kUInt64: return at::ScalarType::UInt64;
    case DType::kFloat8E4M3FN: return at::ScalarType::Float8_e4m3fn;
    case DType::kFloat8E5M2: return at::ScalarType::Float8_e5m2;
    case DType::kFloat8E4M3FNUZ: return at::ScalarType::Float8_e4m3fnuz;
    case DType::kFloat8E5M2FNUZ: return at::ScalarType::Float8_e5m2fnuz;
    case DType::kBits8: return at::ScalarType::Bits8;
    case DType::kBits16: return at::ScalarType::Bits16;
    case DType::kBits1x8: return at::ScalarType::Bits1x8;
    case DType::kBits2x4: return at::ScalarType::Bits2x4;
    case DType::kBits4x2: return at::ScalarType::Bits4x2;
#else
    default: break;
#endif
  }
  // Read and shown by the reader core; only computing with it needs this LibTorch to know it.
  throw ReadError(ReadErrorKind::kUnsupported, "", "",
                  "dtype " + std::string(dtype_name(dtype)) + " cannot be computed with LibTorch " +
                      std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                      " (PyTorch 2.x saves it; a harness built with LibTorch 2.6 can)");
}

namespace {
// The integers under a quantized dtype, as they lie in the storage (quint4x2 and quint2x4
// pack several per byte: LibTorch cannot view them element by element).
DType integer_representation(DType dtype) {
  switch (dtype) {
    case DType::kQInt8: return DType::kInt8;
    case DType::kQUInt8: return DType::kUInt8;
    case DType::kQInt32: return DType::kInt32;
    case DType::kQUInt4x2: case DType::kQUInt2x4:
      throw ReadError(ReadErrorKind::kUnsupported, "", "",
                      "dtype " + std::string(dtype_name(dtype)) + " packs several values per byte; it is read and shown, not computed with");
    default: return dtype;
  }
}

// The whole storage as a 1-d tensor of `dtype` (the tensor's: a PyTorch 2.x untyped storage
// holds bytes, viewed as the dtype _rebuild_tensor_v3 names). Zero-copy when the bytes are suitably aligned and in
// native byte order; otherwise one copy (legacy files, big-endian archives).
at::Tensor storage_tensor(const StorageRef& storage, DType dtype, bool prefetch) {
  const auto options = at::TensorOptions().dtype(to_scalar_type(dtype)).device(at::kCPU);
  const std::size_t itemsize = dtype_itemsize(dtype);
  const auto numel = static_cast<std::int64_t>(storage.nbytes / itemsize);
  if (!storage.source) {
    throw ReadError(ReadErrorKind::kTensor, "", "storage '" + storage.key + "'", "storage has no bytes attached");
  }
  const std::uint64_t offset = storage.data_offset();
  std::uint8_t* bytes = storage.source->private_data() + offset;
  const bool aligned = reinterpret_cast<std::uintptr_t>(bytes) % itemsize == 0;
  if (aligned && !storage.big_endian && numel > 0) {
    if (prefetch) storage.source->prefetch(offset, storage.nbytes);
    std::shared_ptr<const ByteSource> keep_alive = storage.source;
    return at::from_blob(bytes, {numel}, [keep_alive](void*) {}, options);
  }
  at::Tensor copy = at::empty({numel}, options);
  if (numel == 0) return copy;
  auto* out = static_cast<std::uint8_t*>(copy.data_ptr());
  const std::size_t nbytes = static_cast<std::size_t>(numel) * itemsize;
  std::memcpy(out, bytes, nbytes);
  if (storage.big_endian && itemsize > 1) {
    // Complex numbers swap each of their two halves.
    const std::size_t unit = dtype_is_complex(dtype) ? itemsize / 2 : itemsize;
    for (std::size_t i = 0; i < nbytes; i += unit) std::reverse(out + i, out + i + unit);
  }
  return copy;
}
}  // namespace

namespace {
at::Tensor dense(const TensorRef& ref, DType dtype, bool prefetch) {
  if (!ref.storage) throw ReadError(ReadErrorKind::kTensor, "", "", "tensor has no storage");
  at::Tensor base = storage_tensor(*ref.storage, dtype, prefetch);
  if (ref.numel() == 0) return at::empty_strided(ref.sizes, ref.strides, base.options());
  return base.as_strided(ref.sizes, ref.strides, ref.storage_offset);
}

at::Layout to_layout(TensorLayout layout) {
  switch (layout) {
    case TensorLayout::kStrided: return at::kStrided;
    case TensorLayout::kSparseCoo: return at::kSparse;
    case TensorLayout::kSparseCsr: return at::kSparseCsr;
    case TensorLayout::kSparseCsc: return at::kSparseCsc;
    case TensorLayout::kSparseBsr: return at::kSparseBsr;
    case TensorLayout::kSparseBsc: return at::kSparseBsc;
  }
  return at::kStrided;
}

// As torch.load does, the parts' invariants (indices within the shape, compressed indices
// sorted) are checked before the tensor is used: LibTorch would read out of bounds otherwise.
at::Tensor sparse(const TensorRef& ref, bool prefetch) {
  std::vector<at::Tensor> parts;
  for (const auto& part : ref.parts) parts.push_back(dense(part, part.dtype, prefetch));
  const auto options = parts.back().options().layout(to_layout(ref.layout));
  try {
    if (ref.layout == TensorLayout::kSparseCoo) {
      at::_validate_sparse_coo_tensor_args(parts[0], parts[1], ref.sizes);
      at::Tensor t = at::_sparse_coo_tensor_unsafe(parts[0], parts[1], ref.sizes, options);
      if (ref.coalesced.value_or(false)) t._coalesced_(true);
      return t;
    }
    at::_validate_sparse_compressed_tensor_args(parts[0], parts[1], parts[2], ref.sizes, to_layout(ref.layout));
    return at::_sparse_compressed_tensor_unsafe(parts[0], parts[1], parts[2], ref.sizes, options);
  } catch (const c10::Error& e) {
    throw ReadError(ReadErrorKind::kTensor, "", "",
                    "invalid " + std::string(layout_name(ref.layout)) + " tensor: " + e.what_without_backtrace());
  }
}

at::Tensor quantized(const TensorRef& ref, bool prefetch) {
  const at::Tensor integers = dense(ref, integer_representation(ref.dtype), prefetch);
  const Quantization& q = *ref.quantization;
  if (!q.per_channel()) return at::_make_per_tensor_quantized_tensor(integers, q.scale, q.zero_point);
  return at::_make_per_channel_quantized_tensor(integers, dense(*q.scales, q.scales->dtype, prefetch),
                                                dense(*q.zero_points, q.zero_points->dtype, prefetch), q.axis);
}
}  // namespace

namespace {
// A torch.distributed.checkpoint tensor's chunks, each read from its record and copied into
// its place in `target` (of the global shape), a record's pages released once copied: the
// tensor is assembled where it goes, with no second copy of it.
// Every chunk's record, read (its zip directory and pickle) and checked against its chunk
// before any memory is given to the tensor.
std::vector<TensorRef> chunk_records(const TensorRef& ref) {
  std::vector<TensorRef> parts;
  for (std::size_t i = 0; i < ref.chunks->chunks.size(); ++i) parts.push_back(ref.chunks->read_chunk(i, ref.dtype));
  return parts;
}

void copy_chunks(const TensorRef& ref, const std::vector<TensorRef>& parts, at::Tensor& target) {
  const ChunkedTensor& chunked = *ref.chunks;
  for (std::size_t i = 0; i < chunked.chunks.size(); ++i) {
    const TensorChunk& chunk = chunked.chunks[i];
    const TensorRef& part = parts[i];
    at::Tensor place = target;
    for (std::size_t d = 0; d < chunk.offsets.size(); ++d) {
      place = place.narrow(static_cast<std::int64_t>(d), chunk.offsets[d], chunk.sizes[d]);
    }
    copy_released(part, place);
  }
}

at::Tensor assembled(const TensorRef& ref) {
  const std::vector<TensorRef> parts = chunk_records(ref);
  at::Tensor out = at::empty(ref.sizes, at::TensorOptions().dtype(to_scalar_type(ref.dtype)));
  copy_chunks(ref, parts, out);
  return out;
}
}  // namespace

at::Tensor materialize(const TensorRef& ref, bool prefetch) {
  if (ref.chunks) return assembled(ref);
  if (ref.meta) {
    throw ReadError(ReadErrorKind::kUnsupported, "", "", "tensor was saved from the meta device: it has a dtype and a shape, no data");
  }
  if (ref.is_sparse()) return sparse(ref, prefetch);
  if (ref.quantization) return quantized(ref, prefetch);
  return dense(ref, ref.dtype, prefetch);
}

namespace {
// A dense, unquantized tensor with data: what the zero-copy and slice-by-slice paths handle.
// Sparse and quantized tensors are built whole by LibTorch; a meta tensor has no data.
bool is_plain_dense(const TensorRef& ref) { return !ref.meta && !ref.is_sparse() && !ref.quantization; }
}  // namespace

void release_pages(const TensorRef& ref) {
  if (!ref.storage || !ref.storage->source || ref.storage->nbytes == 0) return;
  ref.storage->source->release(ref.storage->data_offset(), ref.storage->nbytes);
}

void copy_released(const TensorRef& ref, at::Tensor& target) {
  constexpr std::int64_t kSliceBytes = 8 << 20;
  if (ref.chunks) {
    if (target.sizes().vec() == ref.sizes) {
      copy_chunks(ref, chunk_records(ref), target);
    } else {
      target.copy_(assembled(ref));  // copy_ decides what it accepts, as for any other tensor
    }
    return;
  }
  if (!is_plain_dense(ref)) {  // small in practice, and LibTorch decides what copy_ accepts
    target.copy_(materialize(ref));
    return;
  }
  at::Tensor source = materialize(ref, /*prefetch=*/false);
  const std::int64_t itemsize = static_cast<std::int64_t>(dtype_itemsize(ref.dtype));
  const bool sliceable = source.is_contiguous() && target.is_contiguous() && source.numel() == target.numel() &&
                         source.numel() * itemsize > kSliceBytes && ref.storage->source;
  if (!sliceable) {
    if (ref.storage->source) ref.storage->source->prefetch(ref.storage->data_offset(), ref.storage->nbytes);
    target.copy_(source.dim() == 1 && target.dim() == 0 ? source[0] : source);  // 0-d as PyTorch loads it
    release_pages(ref);
    return;
  }
  at::Tensor from = source.view({-1}), to = target.view({-1});
  const std::int64_t step = kSliceBytes / itemsize;
  const std::uint64_t base = ref.storage->data_offset() + static_cast<std::uint64_t>(ref.storage_offset * itemsize);
  for (std::int64_t first = 0; first < from.numel(); first += step) {
    const std::int64_t n = std::min(step, from.numel() - first);
    const std::uint64_t at = base + static_cast<std::uint64_t>(first * itemsize);
    ref.storage->source->prefetch(at, static_cast<std::size_t>(n * itemsize));  // one fault per slice, not per page
    to.narrow(0, first, n).copy_(from.narrow(0, first, n));
    ref.storage->source->release(at, static_cast<std::size_t>(n * itemsize));
  }
}

at::Tensor materialize_owned(const TensorRef& ref) {
  constexpr std::uint64_t kMapFrom = 1 << 20;  // smaller tensors are copied: mappings are a bounded resource
  if (ref.chunks) return assembled(ref);  // assembled in memory of its own
  if (!is_plain_dense(ref)) return materialize(ref).clone();
  const StorageRef* storage = ref.storage.get();
  const std::size_t itemsize = dtype_itemsize(ref.dtype);
  if (storage && storage->source && !storage->big_endian && storage->nbytes >= kMapFrom && ref.dtype == storage->dtype &&
      ref.numel() > 0) {
    std::shared_ptr<std::uint8_t> bytes = storage->source->map_private(storage->data_offset(), storage->nbytes);
    if (bytes && reinterpret_cast<std::uintptr_t>(bytes.get()) % itemsize == 0) {
      const auto options = at::TensorOptions().dtype(to_scalar_type(storage->dtype)).device(at::kCPU);
      const auto numel = static_cast<std::int64_t>(storage->nbytes / itemsize);
      at::Tensor base = at::from_blob(bytes.get(), {numel}, [bytes](void*) {}, options);
      return base.as_strided(ref.sizes, ref.strides, ref.storage_offset);
    }
  }
  at::Tensor owned = at::empty(ref.sizes, at::TensorOptions().dtype(to_scalar_type(ref.dtype)));
  copy_released(ref, owned);
  return owned;
}

}  // namespace ckpt
