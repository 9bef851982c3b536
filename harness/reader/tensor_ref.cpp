#include "reader/tensor_ref.hpp"

#include "reader/read_error.hpp"

namespace ckpt {

namespace {
bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }
bool add_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) { return __builtin_add_overflow(a, b, &out); }
}  // namespace

std::uint64_t StorageRef::data_offset() const {
  if (!offset_) {
    if (!locate_) {
      throw ReadError(ReadErrorKind::kTensor, source ? source->name() : "", "storage '" + key + "'",
                      "storage has no bytes attached");
    }
    offset_ = locate_();
  }
  return *offset_;
}

std::uint64_t TensorRef::numel() const {
  std::uint64_t n = 1;
  for (auto s : sizes) n *= static_cast<std::uint64_t>(s);  // validated non-negative, no overflow
  return n;
}

std::uint64_t TensorRef::nbytes() const { return numel() * dtype_itemsize(dtype); }

bool TensorRef::is_contiguous() const {
  std::int64_t expected = 1;
  bool overflowed = false;  // an empty tensor's sizes may multiply past 64 bits
  for (std::size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] != 1 && (overflowed || strides[i] != expected)) return false;
    overflowed = overflowed || __builtin_mul_overflow(expected, sizes[i], &expected);
  }
  return true;
}

std::string format_shape(const std::vector<std::int64_t>& dims) {
  std::string out = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

std::string check_view_within_storage(const TensorRef& t) {
  if (t.sizes.size() != t.strides.size()) {
    return "size has " + std::to_string(t.sizes.size()) + " dimensions but stride has " +
           std::to_string(t.strides.size());
  }
  if (t.storage_offset < 0) return "negative storage offset " + std::to_string(t.storage_offset);
  std::uint64_t numel = 1;
  std::uint64_t max_index = static_cast<std::uint64_t>(t.storage_offset);  // highest element index addressed
  bool empty = false;
  for (std::size_t d = 0; d < t.sizes.size(); ++d) {
    if (t.sizes[d] < 0) return "negative size " + std::to_string(t.sizes[d]) + " in dimension " + std::to_string(d);
    if (t.strides[d] < 0) return "negative stride " + std::to_string(t.strides[d]) + " in dimension " + std::to_string(d);
    if (mul_overflows(numel, static_cast<std::uint64_t>(t.sizes[d]), numel)) return "element count overflows 64 bits";
    if (t.sizes[d] == 0) empty = true;
  }
  if (numel > (std::uint64_t{1} << 62) / 16) return "element count " + std::to_string(numel) + " is implausibly large";
  if (!t.storage) return "tensor has no storage";
  const std::uint64_t itemsize = dtype_itemsize(t.dtype);
  const std::uint64_t storage_elems = t.storage->nbytes / itemsize;
  if (empty) {
    if (static_cast<std::uint64_t>(t.storage_offset) > storage_elems) {
      return "storage offset " + std::to_string(t.storage_offset) + " is past the storage's " +
             std::to_string(storage_elems) + " elements";
    }
    return "";
  }
  for (std::size_t d = 0; d < t.sizes.size(); ++d) {
    std::uint64_t span = 0;
    if (mul_overflows(static_cast<std::uint64_t>(t.sizes[d] - 1), static_cast<std::uint64_t>(t.strides[d]), span) ||
        add_overflows(max_index, span, max_index)) {
      return "view extent overflows 64 bits";
    }
  }
  if (max_index >= storage_elems) {
    return "view reaches element " + std::to_string(max_index) + " but the storage holds " +
           std::to_string(storage_elems) + " elements (sizes and strides run past the storage)";
  }
  return "";
}

}  // namespace ckpt
