#include "reader/tensor_ref.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "reader/chunked_tensor.hpp"
#include "reader/read_error.hpp"
#include "text/counted.hpp"

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

std::uint64_t TensorRef::nbytes() const {
  if (meta) return 0;
  if (!is_sparse()) return numel() * dtype_itemsize(dtype);
  std::uint64_t n = 0;
  for (const auto& part : parts) n += part.nbytes();
  return n;
}

namespace {
constexpr std::array<std::string_view, 6> kLayoutNames{"strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"};

std::string shortest_double(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}
}  // namespace

std::string_view layout_name(TensorLayout layout) { return kLayoutNames[static_cast<std::size_t>(layout)]; }

std::optional<TensorLayout> layout_from_torch_name(std::string_view name) {
  if (name.substr(0, 6) == "torch.") name.remove_prefix(6);
  for (std::size_t i = 0; i < kLayoutNames.size(); ++i) {
    if (name == kLayoutNames[i]) return static_cast<TensorLayout>(i);
  }
  return std::nullopt;
}

std::string TensorRef::kind_note() const {
  std::vector<std::string> notes;
  if (is_sparse()) {
    const TensorRef* values = parts.empty() ? nullptr : &parts.back();
    std::string s(layout_name(layout));
    if (layout == TensorLayout::kSparseCoo && values && !values->sizes.empty()) {
      s += ", " + std::to_string(values->sizes[0]) + " stored";
    } else if (parts.size() == 3 && !parts[1].sizes.empty()) {
      s += ", " + std::to_string(parts[1].sizes.back()) + (layout == TensorLayout::kSparseBsr || layout == TensorLayout::kSparseBsc ? " blocks" : " stored");
    }
    notes.push_back(s);
  }
  if (quantization) {
    const Quantization& q = *quantization;
    notes.push_back(q.per_channel() ? q.scheme + " along dim " + std::to_string(q.axis)
                                    : q.scheme + " scale " + shortest_double(q.scale) + " zero point " + std::to_string(q.zero_point));
  }
  if (meta) notes.emplace_back("meta, no data");
  if (!python_class.empty()) notes.push_back("subclass " + python_class);
  if (chunks) notes.push_back(chunks->summary());
  std::string out;
  for (const auto& n : notes) out += (out.empty() ? "" : "; ") + n;
  return out;
}

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
  return "[" + comma_list(dims, [](std::int64_t d) { return std::to_string(d); }) + "]";
}

namespace {
std::string check_sparse_parts(const TensorRef& t);
std::string check_quantization(const TensorRef& t);
}  // namespace

std::string check_view_within_storage(const TensorRef& t) {
  if (t.is_sparse()) return check_sparse_parts(t);
  if (t.quantization) {
    if (std::string problem = check_quantization(t); !problem.empty()) return problem;
  } else if (dtype_is_quantized(t.dtype)) {
    return std::string("holds quantized ") + std::string(dtype_name(t.dtype)) +
           " data without a scale and zero point (expected torch._utils._rebuild_qtensor to rebuild it)";
  }
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
  if (t.meta || t.chunks) return "";  // a chunked tensor's chunks are checked against its shape when read
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

namespace {
std::string part_problem(const TensorRef& part, std::string_view name) {
  if (part.is_sparse() || part.quantization || part.meta) return std::string(name) + " is not a dense tensor";
  std::string problem = check_view_within_storage(part);
  return problem.empty() ? "" : std::string(name) + ": " + problem;
}

bool is_index_dtype(DType d) { return d == DType::kInt64 || d == DType::kInt32; }

// The shapes torch.sparse_coo_tensor / torch.sparse_compressed_tensor require of the parts;
// index values (in range, sorted) are checked by LibTorch when the tensor is materialised.
std::string check_sparse_parts(const TensorRef& t) {
  const std::string layout(layout_name(t.layout));
  for (auto s : t.sizes) {
    if (s < 0) return layout + " tensor has a negative size in " + format_shape(t.sizes);
  }
  if (t.layout == TensorLayout::kSparseCoo) {
    if (t.parts.size() != 2) return "sparse_coo tensor needs (indices, values), found " + std::to_string(t.parts.size()) + " parts";
    const TensorRef& indices = t.parts[0];
    const TensorRef& values = t.parts[1];
    for (auto [part, name] : {std::pair{&indices, "indices"}, std::pair{&values, "values"}}) {
      if (std::string p = part_problem(*part, name); !p.empty()) return "sparse_coo " + p;
    }
    if (indices.dtype != DType::kInt64 || indices.sizes.size() != 2) {
      return "sparse_coo indices are " + std::string(dtype_name(indices.dtype)) + " " + format_shape(indices.sizes) +
             ", expected int64 [sparse dims, stored elements]";
    }
    const std::int64_t sparse_dims = indices.sizes[0], nnz = indices.sizes[1];
    if (values.sizes.empty() || values.sizes[0] != nnz) {
      return "sparse_coo values have shape " + format_shape(values.sizes) + ", expected " + std::to_string(nnz) +
             " stored elements first (as indices " + format_shape(indices.sizes) + ")";
    }
    const std::size_t dense_dims = values.sizes.size() - 1;
    if (static_cast<std::size_t>(sparse_dims) + dense_dims != t.sizes.size() ||
        !std::equal(values.sizes.begin() + 1, values.sizes.end(), t.sizes.end() - static_cast<std::ptrdiff_t>(dense_dims))) {
      return "sparse_coo shape " + format_shape(t.sizes) + " does not match " + std::to_string(sparse_dims) +
             " sparse dims and values " + format_shape(values.sizes);
    }
    return "";
  }
  if (t.parts.size() != 3) {
    return layout + " tensor needs (compressed indices, plain indices, values), found " + std::to_string(t.parts.size()) + " parts";
  }
  const TensorRef& compressed = t.parts[0];
  const TensorRef& plain = t.parts[1];
  const TensorRef& values = t.parts[2];
  for (auto [part, name] : {std::pair{&compressed, "compressed indices"}, std::pair{&plain, "plain indices"}, std::pair{&values, "values"}}) {
    if (std::string p = part_problem(*part, name); !p.empty()) return layout + " " + p;
  }
  if (!is_index_dtype(compressed.dtype) || plain.dtype != compressed.dtype || compressed.sizes.empty() ||
      plain.sizes.size() != compressed.sizes.size()) {
    return layout + " indices are " + std::string(dtype_name(compressed.dtype)) + " " + format_shape(compressed.sizes) + " and " +
           std::string(dtype_name(plain.dtype)) + " " + format_shape(plain.sizes) +
           ", expected two int32 or int64 tensors with the same batch dimensions";
  }
  const std::size_t batch = compressed.sizes.size() - 1;
  const bool blocked = t.layout == TensorLayout::kSparseBsr || t.layout == TensorLayout::kSparseBsc;
  const bool by_row = t.layout == TensorLayout::kSparseCsr || t.layout == TensorLayout::kSparseBsr;
  const std::int64_t nnz = plain.sizes.back();
  if (values.sizes.size() < batch + 1 + (blocked ? 2 : 0) || values.sizes[batch] != nnz) {
    return layout + " values have shape " + format_shape(values.sizes) + ", expected " + std::to_string(nnz) +
           " stored " + (blocked ? "blocks" : "elements") + " after " + std::to_string(batch) + " batch dimension(s)";
  }
  const std::size_t dense_dims = values.sizes.size() - batch - 1 - (blocked ? 2 : 0);
  if (t.sizes.size() != batch + 2 + dense_dims) {
    return layout + " shape " + format_shape(t.sizes) + " has " + std::to_string(t.sizes.size()) + " dimensions, expected " +
           std::to_string(batch + 2 + dense_dims) + " from values " + format_shape(values.sizes);
  }
  const std::int64_t rows = t.sizes[batch], cols = t.sizes[batch + 1];
  std::int64_t block_rows = 1, block_cols = 1;
  if (blocked) {
    block_rows = values.sizes[batch + 1];
    block_cols = values.sizes[batch + 2];
    if (block_rows <= 0 || block_cols <= 0 || rows % block_rows != 0 || cols % block_cols != 0) {
      return layout + " blocks of " + format_shape({block_rows, block_cols}) + " do not tile the shape " + format_shape(t.sizes);
    }
  }
  const std::int64_t compressed_count = by_row ? rows / block_rows : cols / block_cols;
  if (compressed.sizes.back() != compressed_count + 1) {
    return layout + " compressed indices have " + std::to_string(compressed.sizes.back()) + " entries, expected " +
           std::to_string(compressed_count + 1) + " (one more than the " + (by_row ? "rows" : "columns") +
           (blocked ? " of blocks" : "") + " of " + format_shape(t.sizes) + ")";
  }
  return "";
}

std::string check_quantization(const TensorRef& t) {
  const Quantization& q = *t.quantization;
  if (!dtype_is_quantized(t.dtype)) {
    return "quantization parameters on a " + std::string(dtype_name(t.dtype)) + " tensor, expected a quantized dtype";
  }
  if (!q.per_channel()) return "";
  if (q.axis < 0 || static_cast<std::size_t>(q.axis) >= t.sizes.size()) {
    return q.scheme + " axis " + std::to_string(q.axis) + " is outside the shape " + format_shape(t.sizes);
  }
  const std::int64_t channels = t.sizes[static_cast<std::size_t>(q.axis)];
  for (auto [part, name] : {std::pair{q.scales.get(), "scales"}, std::pair{q.zero_points.get(), "zero points"}}) {
    if (!part) return q.scheme + " has no " + name;
    if (std::string p = part_problem(*part, name); !p.empty()) return q.scheme + " " + p;
    if (part->sizes.size() != 1 || part->sizes[0] != channels) {
      return q.scheme + " " + name + " have shape " + format_shape(part->sizes) + ", expected [" + std::to_string(channels) +
             "] (dimension " + std::to_string(q.axis) + " of " + format_shape(t.sizes) + ")";
    }
  }
  return "";
}
}  // namespace

}  // namespace ckpt
