#include "differential/describe_checkpoint.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "reader/read_error.hpp"
#include "tensor/materialize.hpp"

namespace ckpt::test {

namespace {
using Json = nlohmann::json;  // sorted keys, like json.dumps(sort_keys=True)

std::string float_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

Json path_key(const Value& key) {
  switch (key.kind) {
    case ValueKind::kStr: return key.text;
    case ValueKind::kInt: return key.integer;
    case ValueKind::kBool: return key.boolean;
    case ValueKind::kFloat: return "<key:float>";
    case ValueKind::kNone: return "<key:NoneType>";
    default: return std::string("<key:") + to_string(key.kind) + ">";
  }
}

class Describer {
 public:
  std::string run(const Value& root) {
    visit(root, Json::array());
    return out_;
  }

 private:
  void emit(Json line) { out_ += line.dump(-1, ' ', true) + "\n"; }

  void visit(const Value& v, const Json& path) {
    Json d;
    d["path"] = path;
    auto child = [&path](Json component) {
      Json p = path;
      p.push_back(std::move(component));
      return p;
    };
    const std::string numpy = v.note.rfind("numpy.", 0) == 0 ? v.note.substr(6) : "";
    switch (v.kind) {
      case ValueKind::kNone: d["kind"] = "none"; break;
      case ValueKind::kBool: d["kind"] = "bool"; d["value"] = v.boolean; break;
      case ValueKind::kInt: d["kind"] = "int"; d["value"] = v.big_integer ? v.text : std::to_string(v.integer); break;
      case ValueKind::kFloat: d["kind"] = "float"; d["value"] = float_text(v.real); break;
      case ValueKind::kStr: d["kind"] = "str"; d["value"] = v.text; break;
      case ValueKind::kBytes: d["kind"] = "bytes"; d["hex"] = hex(v.text); break;
      case ValueKind::kDType: d["kind"] = "dtype"; d["value"] = v.text; break;
      case ValueKind::kDevice: d["kind"] = "device"; d["value"] = v.text; break;
      case ValueKind::kNdarray:
        d["kind"] = "ndarray";
        d["dtype"] = v.ndarray->dtype;
        d["shape"] = v.ndarray->shape;
        d["sha256"] = sha256_hex(v.ndarray->bytes.data(), v.ndarray->bytes.size());
        break;
      case ValueKind::kTensor: {
        describe_tensor(v.tensor, path);
        if (v.state && v.state->kind == ValueKind::kDict) {  // Python attributes of the tensor
          for (const auto& e : v.state->entries) visit(*e.value, child(path_key(*e.key)));
        }
        return;
      }
      case ValueKind::kTuple:
      case ValueKind::kList:
      case ValueKind::kSet: {
        d["kind"] = to_string(v.kind);
        d["size"] = v.items.size();
        emit(d);
        for (std::size_t i = 0; i < v.items.size(); ++i) visit(*v.items[i], child(i));
        return;
      }
      case ValueKind::kDict: {
        d["kind"] = "dict";
        d["size"] = v.entries.size();
        d["ordered"] = v.ordered;
        emit(d);
        for (const auto& e : v.entries) visit(*e.value, child(path_key(*e.key)));
        if (const Value* meta = v.metadata()) visit(*meta, child("@_metadata"));
        return;
      }
      case ValueKind::kObject: {
        d["kind"] = "object";
        d["class"] = v.text;
        emit(d);
        if (v.state && v.state->kind == ValueKind::kDict) {
          for (const auto& e : v.state->entries) visit(*e.value, child(path_key(*e.key)));
        }
        return;
      }
      default: d["kind"] = to_string(v.kind); break;
    }
    if (!numpy.empty() && v.kind != ValueKind::kNdarray) d["numpy"] = numpy;
    emit(d);
  }

  void describe_tensor(const TensorRef& t, const Json& path) {
    Json d;
    d["path"] = path;
    d["dtype"] = std::string(dtype_name(t.dtype));
    d["shape"] = t.sizes;
    d["requires_grad"] = t.requires_grad;
    d["parameter"] = t.is_parameter;
    if (!t.python_class.empty()) d["class"] = t.python_class;
    auto part_path = [&path](const char* name) {
      Json p = path;
      p.push_back(name);
      return p;
    };
    if (t.is_sparse()) {
      d["kind"] = "sparse";
      d["layout"] = std::string(layout_name(t.layout));
      emit(d);
      static const char* kCoo[] = {"@indices", "@values"};
      static const char* kCompressed[] = {"@compressed_indices", "@plain_indices", "@values"};
      const char* const* names = t.layout == TensorLayout::kSparseCoo ? kCoo : kCompressed;
      for (std::size_t i = 0; i < t.parts.size(); ++i) describe_tensor(t.parts[i], part_path(names[i]));
      return;
    }
    d["kind"] = "tensor";
    d["stride"] = t.strides;
    d["offset"] = t.storage_offset;
    if (t.meta) {
      d["meta"] = true;
      emit(d);
      return;
    }
    if (t.chunks) {  // DCP's load assembles each tensor in a storage of its own, contiguous
      d["storage_nbytes"] = t.nbytes();
      if (t.nbytes() == 0) {
        d["storage"] = nullptr;
      } else {
        d["storage"] = groups_.size();
        groups_.emplace(reinterpret_cast<const StorageRef*>(t.chunks.get()), groups_.size());
      }
      const at::Tensor tensor = materialize(t);
      d["sha256"] = sha256_hex(tensor.data_ptr(), tensor.numel() * tensor.element_size());
      emit(d);
      return;
    }
    d["storage_nbytes"] = t.storage->nbytes;
    if (t.storage->nbytes == 0) {
      d["storage"] = nullptr;
    } else {
      auto [it, inserted] = groups_.emplace(t.storage.get(), groups_.size());
      d["storage"] = it->second;
    }
    if (t.quantization) {
      const Quantization& q = *t.quantization;
      d["qscheme"] = q.scheme;
      if (q.per_channel()) {
        d["q_axis"] = q.axis;
      } else {
        d["q_scale"] = float_text(q.scale);
        d["q_zero_point"] = std::to_string(q.zero_point);
      }
      const std::string bytes = gathered_bytes(t);  // int_repr()
      d["sha256"] = sha256_hex(bytes.data(), bytes.size());
      emit(d);
      if (q.per_channel()) {
        describe_tensor(*q.scales, part_path("@scales"));
        describe_tensor(*q.zero_points, part_path("@zero_points"));
      }
      return;
    }
    try {
      const at::Tensor tensor = materialize(t).contiguous();
      d["sha256"] = sha256_hex(tensor.data_ptr(), tensor.numel() * tensor.element_size());
    } catch (const ReadError& e) {
      if (e.kind() != ReadErrorKind::kUnsupported) throw;
      const std::string bytes = gathered_bytes(t);  // a dtype this LibTorch cannot compute with
      d["sha256"] = sha256_hex(bytes.data(), bytes.size());
    }
    emit(d);
  }

  // The tensor's elements in row-major order, gathered from the storage's bytes by the view's
  // strides (what .contiguous() gives), in native byte order.
  static std::string gathered_bytes(const TensorRef& t) {
    const std::size_t itemsize = dtype_itemsize(t.dtype);
    const std::uint8_t* base = t.storage->source->private_data() + t.storage->data_offset();
    const std::size_t unit = dtype_is_complex(t.dtype) ? itemsize / 2 : itemsize;
    std::string out;
    out.reserve(t.numel() * itemsize);
    std::vector<std::int64_t> index(t.sizes.size(), 0);
    for (std::uint64_t n = 0; n < t.numel(); ++n) {
      std::int64_t element = t.storage_offset;
      for (std::size_t dim = 0; dim < index.size(); ++dim) element += index[dim] * t.strides[dim];
      std::string bytes(reinterpret_cast<const char*>(base) + element * static_cast<std::int64_t>(itemsize), itemsize);
      if (t.storage->big_endian) {
        for (std::size_t i = 0; i < itemsize; i += unit) std::reverse(bytes.begin() + i, bytes.begin() + i + unit);
      }
      out += bytes;
      for (std::size_t dim = index.size(); dim-- > 0;) {  // the next index, last dimension fastest
        if (++index[dim] < t.sizes[dim]) break;
        index[dim] = 0;
      }
    }
    return out;
  }

  std::string out_;
  std::map<const StorageRef*, std::size_t> groups_;
};
}  // namespace

std::string sha256_hex(const void* data, std::size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr);
  return hex(std::string(reinterpret_cast<char*>(digest), length));
}

std::string describe_checkpoint(const Checkpoint& checkpoint) { return Describer().run(checkpoint.root()); }

}  // namespace ckpt::test
