#pragma once
// Tensor metadata as recorded in a checkpoint, without its bytes: the bytes stay in the
// file until a tensor is materialised (see tensor/materialize.hpp).
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reader/byte_source.hpp"
#include "reader/dtype.hpp"

namespace ckpt {

struct StorageRef {
  std::string key;       // record name in the archive ("0", "1", ...) or tensor name (safetensors)
  DType dtype{};         // element type of the storage
  std::uint64_t numel = 0;    // elements the pickle declares
  std::string location;  // device recorded at save time ("cpu", "cuda:0"); data is always read to CPU
  std::uint64_t nbytes = 0;   // bytes actually present for this storage
  bool big_endian = false;    // bytes need swapping on this (little-endian) machine
  std::shared_ptr<const ByteSource> source;

  // Absolute offset of the bytes in `source`. A zip record is located on first use (its
  // local header is read then), so opening a checkpoint reads only the central directory
  // and the pickle. Throws ReadError when the record turns out to be malformed.
  std::uint64_t data_offset() const;
  void set_data_offset(std::uint64_t offset) { offset_ = offset; }
  void set_data_locator(std::function<std::uint64_t()> locate) { locate_ = std::move(locate); }

 private:
  mutable std::optional<std::uint64_t> offset_;
  std::function<std::uint64_t()> locate_;
};

// How elements are laid out: dense (strided) or one of PyTorch's sparse formats.
enum class TensorLayout { kStrided, kSparseCoo, kSparseCsr, kSparseCsc, kSparseBsr, kSparseBsc };

std::string_view layout_name(TensorLayout layout);  // PyTorch's: "strided", "sparse_coo", ...
// "sparse_coo" or "torch.sparse_coo" -> the layout.
std::optional<TensorLayout> layout_from_torch_name(std::string_view name);

struct TensorRef;
struct ChunkedTensor;  // reader/chunked_tensor.hpp

// What a quantized tensor's integers stand for: real = (q - zero_point) * scale, with one
// scale and zero point for the tensor or one per slice along `axis` (PyTorch's qschemes).
struct Quantization {
  std::string scheme;  // "per_tensor_affine", "per_channel_affine", ...
  double scale = 0.0;
  std::int64_t zero_point = 0;
  std::shared_ptr<const TensorRef> scales, zero_points;  // per channel
  std::int64_t axis = 0;
  bool per_channel() const { return scales != nullptr; }
};

struct TensorRef {
  DType dtype{};
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
  std::int64_t storage_offset = 0;
  bool requires_grad = false;
  bool is_parameter = false;
  std::shared_ptr<const StorageRef> storage;

  // Sparse tensors: no storage of their own; `sizes` is the dense shape and `parts` the
  // tensors PyTorch saves, in its order (COO: indices, values; compressed layouts:
  // compressed indices, plain indices, values).
  TensorLayout layout = TensorLayout::kStrided;
  std::vector<TensorRef> parts;
  std::optional<bool> coalesced;  // COO, as saved by PyTorch >= 2.1
  std::shared_ptr<const Quantization> quantization;  // quantized dtypes only
  bool meta = false;          // saved from the meta device: dtype and shape, no data at all
  std::string python_class;   // a tensor subclass's "module.Class", empty for torch.Tensor
  // A torch.distributed.checkpoint tensor: no storage of its own; `sizes` is the global
  // shape (contiguous strides) and its values lie in chunks, records of the directory's files.
  std::shared_ptr<const ChunkedTensor> chunks;

  std::uint64_t numel() const;   // product of sizes (0 for an empty tensor, 1 for 0-d)
  // The bytes the tensor's data takes: numel * itemsize for a dense tensor, the parts' bytes
  // for a sparse one, 0 for a meta tensor.
  std::uint64_t nbytes() const;
  bool is_contiguous() const;
  bool is_sparse() const { return layout != TensorLayout::kStrided; }
  // "sparse_coo, 2 stored", "per_tensor_affine scale 0.05 zero point 3", "meta, no data",
  // "subclass x.Y": what sets the tensor apart from a dense torch.Tensor ("" when nothing).
  std::string kind_note() const;
};

// "[64, 3, 4, 4]": how shapes appear in every message and view.
std::string format_shape(const std::vector<std::int64_t>& dims);

// Checks that every element the view can address lies inside its storage, with
// overflow-checked arithmetic; for a sparse tensor, that its parts have the shapes its
// layout needs, and for a per-channel quantized one that scales and zero points match
// the axis. Returns an empty string when valid, else what is wrong.
std::string check_view_within_storage(const TensorRef& tensor);

}  // namespace ckpt
