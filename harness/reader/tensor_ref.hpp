#pragma once
// Tensor metadata as recorded in a checkpoint, without its bytes: the bytes stay in the
// file until a tensor is materialised (see tensor/materialize.hpp).
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
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

struct TensorRef {
  DType dtype{};
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
  std::int64_t storage_offset = 0;
  bool requires_grad = false;
  bool is_parameter = false;
  std::shared_ptr<const StorageRef> storage;

  std::uint64_t numel() const;   // product of sizes (0 for an empty tensor, 1 for 0-d)
  std::uint64_t nbytes() const;  // numel * itemsize: the bytes of the tensor's own elements
  bool is_contiguous() const;
};

// "[64, 3, 4, 4]": how shapes appear in every message and view.
std::string format_shape(const std::vector<std::int64_t>& dims);

// Checks that every element the view can address lies inside its storage, with
// overflow-checked arithmetic. Returns an empty string when valid, else what is wrong.
std::string check_view_within_storage(const TensorRef& tensor);

}  // namespace ckpt
