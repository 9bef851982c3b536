#include "reader/known_globals.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <cstring>

#include "reader/dtype.hpp"
#include "reader/utf8.hpp"

namespace ckpt {

namespace {
constexpr std::string_view kKnownGlobals[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_sparse_csr_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._tensor._rebuild_from_type_v2",
    "torch.Tensor",
    "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout",
    // quantization schemes and sparse layouts, named by quantized and sparse rebuilds
    "torch.per_tensor_affine",
    "torch.per_tensor_symmetric",
    "torch.per_channel_affine",
    "torch.per_channel_symmetric",
    "torch.per_channel_affine_float_qparams",
    "torch.sparse_coo",
    "torch.sparse_csr",
    "torch.sparse_csc",
    "torch.sparse_bsr",
    "torch.sparse_bsc",
    "torch.Size",
    "torch.device",
    "torch.storage.UntypedStorage",
    "torch.UntypedStorage",
    "builtins.set",
    "builtins.frozenset",
    "builtins.bytearray",
    "builtins.complex",
    "_codecs.encode",
    "numpy.core.multiarray.scalar",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar",
    "numpy._core.multiarray._reconstruct",
    "numpy.ndarray",
    "numpy.dtype",
    "torch.jit._pickle.build_intlist",
    "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist",
    "torch.jit._pickle.build_tensorlist",
    "torch.jit._pickle.build_tensor_from_id",
    "torch.jit._pickle.restore_type_tag",
};

// What torch.distributed.checkpoint's FileSystemWriter pickles into `.metadata`, in every
// version that wrote one: its dataclasses (1.13's prototype under _shard.checkpoint; 2.0-2.2
// took TensorProperties from _shard.sharded_tensor), and the checkpoint id a save records
// (a pathlib path: pathlib._local on Python 3.13). Data only in a `.metadata`; anywhere else
// they are findings like any unknown global.
constexpr std::string_view kDcpMetadataClasses[] = {
    "torch.distributed.checkpoint.metadata.Metadata",
    "torch.distributed.checkpoint.metadata.TensorStorageMetadata",
    "torch.distributed.checkpoint.metadata.BytesStorageMetadata",
    "torch.distributed.checkpoint.metadata.ChunkStorageMetadata",
    "torch.distributed.checkpoint.metadata.MetadataIndex",
    "torch.distributed.checkpoint.metadata.TensorProperties",
    "torch.distributed.checkpoint.metadata._MEM_FORMAT_ENCODING",
    "torch.distributed.checkpoint.metadata.MEM_FORMAT_ENCODING",
    "torch.distributed.checkpoint.metadata.StorageMeta",
    "torch.distributed.checkpoint.filesystem._StorageInfo",
    "torch.distributed._shard.checkpoint.metadata.Metadata",
    "torch.distributed._shard.checkpoint.metadata.TensorStorageMetadata",
    "torch.distributed._shard.checkpoint.metadata.BytesStorageMetadata",
    "torch.distributed._shard.checkpoint.metadata.ChunkStorageMetadata",
    "torch.distributed._shard.checkpoint.metadata.MetadataIndex",
    "torch.distributed._shard.checkpoint.filesystem._StorageInfo",
    "torch.distributed._shard.sharded_tensor.metadata.TensorProperties",
    "torch.distributed._shard.sharded_tensor.metadata.MEM_FORMAT_ENCODING",
    "pathlib.PosixPath",
    "pathlib._local.PosixPath",
};

constexpr std::array<std::string_view, 24> kDangerousPrefixes{
    "os.", "posix.", "nt.", "subprocess.", "sys.", "shutil.", "socket.", "importlib.", "pickle.", "_pickle.",
    "marshal.", "runpy.", "pty.", "ctypes.", "code.", "webbrowser.", "multiprocessing.", "torch.hub.",
    "torch.serialization.", "torch.storage._load_from_bytes", "torch.load", "torch.jit.load", "pip.", "commands.",
};

constexpr std::array<std::string_view, 13> kDangerousBuiltins{
    "eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr",
    "globals", "locals", "input", "breakpoint", "execfile",
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string_view after_last_dot(std::string_view name) {
  auto dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

bool is_torch_storage_class(std::string_view name) {
  if (!starts_with(name, "torch.")) return false;
  std::string_view cls = name.substr(6);
  return dtype_from_storage_class(cls).has_value();
}

bool is_torch_dtype(std::string_view name) {
  return starts_with(name, "torch.") && name.find('.', 6) == std::string_view::npos &&
         dtype_from_torch_name(name.substr(6)).has_value();
}

const Value& arg(const Value& args, std::size_t i, const GlobalCall& ctx, std::string_view fn) {
  if (i >= args.items.size()) {
    ctx.fail(std::string(fn) + ": expected at least " + std::to_string(i + 1) + " arguments, got " +
             std::to_string(args.items.size()));
  }
  return *args.items[i];
}

std::int64_t int_arg(const Value& v, const GlobalCall& ctx, std::string_view what) {
  if (v.kind == ValueKind::kBool) return v.boolean ? 1 : 0;
  if (v.kind != ValueKind::kInt || v.big_integer) ctx.fail(std::string(what) + ": expected an integer, got a " + to_string(v.kind));
  return v.integer;
}

std::vector<std::int64_t> int_tuple(const Value& v, const GlobalCall& ctx, std::string_view what) {
  if (v.kind != ValueKind::kTuple && v.kind != ValueKind::kList) {
    ctx.fail(std::string(what) + ": expected a tuple of integers, got a " + to_string(v.kind));
  }
  if (v.items.size() > 64) ctx.fail(std::string(what) + ": " + std::to_string(v.items.size()) + " dimensions, more than 64");
  std::vector<std::int64_t> out;
  out.reserve(v.items.size());
  for (const Value* item : v.items) out.push_back(int_arg(*item, ctx, what));
  return out;
}

Value* rebuild_tensor(const Value& args, const GlobalCall& ctx, std::string_view fn) {
  const Value& storage = arg(args, 0, ctx, fn);
  if (storage.kind != ValueKind::kStorage) {
    ctx.fail(std::string(fn) + ": first argument is a " + to_string(storage.kind) + ", expected a storage");
  }
  Value* t = ctx.arena.make(ValueKind::kTensor);
  t->tensor.storage = storage.tensor.storage;
  t->tensor.dtype = storage.tensor.dtype;
  t->tensor.storage_offset = int_arg(arg(args, 1, ctx, fn), ctx, "storage offset");
  t->tensor.sizes = int_tuple(arg(args, 2, ctx, fn), ctx, "size");
  t->tensor.strides = int_tuple(arg(args, 3, ctx, fn), ctx, "stride");
  if (t->tensor.sizes.size() != t->tensor.strides.size()) {
    ctx.fail(std::string(fn) + ": size has " + std::to_string(t->tensor.sizes.size()) + " dimensions but stride has " +
             std::to_string(t->tensor.strides.size()));
  }
  if (args.items.size() > 4 && args.items[4]->kind == ValueKind::kBool) t->tensor.requires_grad = args.items[4]->boolean;
  return t;
}

// PyTorch >= 2.1 for dtypes without a typed storage class (float8, uint16/32/64, complex32,
// bits): _rebuild_tensor_v3(untyped storage, offset, size, stride, requires_grad,
// backward_hooks, dtype[, metadata]). The offset counts elements of `dtype`, as in v2.
Value* rebuild_tensor_v3(const Value& args, const GlobalCall& ctx, std::string_view fn) {
  const Value& dtype = arg(args, 6, ctx, fn);
  if (dtype.kind != ValueKind::kDType) {
    ctx.fail(std::string(fn) + ": seventh argument is a " + to_string(dtype.kind) + ", expected a torch dtype");
  }
  Value* t = rebuild_tensor(args, ctx, fn);
  t->tensor.dtype = *dtype_from_torch_name(dtype.text);
  return t;
}

Value* rebuild_parameter(const Value& args, const GlobalCall& ctx, std::string_view fn) {
  const Value& data = arg(args, 0, ctx, fn);
  if (data.kind != ValueKind::kTensor) ctx.fail(std::string(fn) + ": first argument is a " + to_string(data.kind) + ", expected a tensor");
  Value* p = ctx.arena.make(ValueKind::kTensor);
  p->tensor = data.tensor;
  p->tensor.is_parameter = true;
  const Value& requires_grad = arg(args, 1, ctx, fn);
  p->tensor.requires_grad = requires_grad.kind == ValueKind::kBool ? requires_grad.boolean : true;
  return p;
}

// _rebuild_qtensor(storage, offset, size, stride, (qscheme, scale, zero_point) or
// (qscheme, scales, zero_points, axis), requires_grad, backward_hooks): a quantized
// tensor's integers, and how they map to real numbers.
Value* rebuild_qtensor(const Value& args, const GlobalCall& ctx, std::string_view fn) {
  Value* t = rebuild_tensor(args, ctx, fn);
  if (!dtype_is_quantized(t->tensor.dtype)) {
    ctx.fail(std::string(fn) + ": storage holds " + std::string(dtype_name(t->tensor.dtype)) + ", expected a quantized storage");
  }
  const Value& params = arg(args, 4, ctx, fn);
  if (params.kind != ValueKind::kTuple || params.items.empty() || params.items[0]->kind != ValueKind::kGlobal) {
    ctx.fail(std::string(fn) + ": quantizer parameters are a " + to_string(params.kind) + ", expected (qscheme, ...)");
  }
  auto q = std::make_shared<Quantization>();
  q->scheme = params.items[0]->text.substr(params.items[0]->text.rfind('.') + 1);
  if (q->scheme == "per_tensor_affine") {
    if (params.items.size() != 3) ctx.fail(std::string(fn) + ": per_tensor_affine expects (qscheme, scale, zero_point)");
    const Value& scale = *params.items[1];
    if (scale.kind != ValueKind::kFloat && scale.kind != ValueKind::kInt) ctx.fail(std::string(fn) + ": scale is not a number");
    q->scale = scale.kind == ValueKind::kFloat ? scale.real : static_cast<double>(scale.integer);
    q->zero_point = int_arg(*params.items[2], ctx, "zero point");
  } else if (q->scheme == "per_channel_affine" || q->scheme == "per_channel_affine_float_qparams") {
    if (params.items.size() != 4) ctx.fail(std::string(fn) + ": " + q->scheme + " expects (qscheme, scales, zero_points, axis)");
    for (int i : {1, 2}) {
      if (params.items[static_cast<std::size_t>(i)]->kind != ValueKind::kTensor) {
        ctx.fail(std::string(fn) + ": per-channel " + (i == 1 ? "scales" : "zero points") + " are a " +
                 to_string(params.items[static_cast<std::size_t>(i)]->kind) + ", expected a tensor");
      }
    }
    q->scales = std::make_shared<TensorRef>(params.items[1]->tensor);
    q->zero_points = std::make_shared<TensorRef>(params.items[2]->tensor);
    q->axis = int_arg(*params.items[3], ctx, "axis");
  } else {
    ctx.fail(std::string(fn) + ": quantization scheme '" + params.items[0]->text +
             "', expected per_tensor_affine or per_channel_affine (the schemes torch.save writes)");
  }
  t->tensor.quantization = std::move(q);
  t->tensor.requires_grad = args.items.size() > 5 && args.items[5]->kind == ValueKind::kBool && args.items[5]->boolean;
  return t;
}

// _rebuild_sparse_tensor(layout, data) and PyTorch 1.x's _rebuild_sparse_csr_tensor(layout,
// data): COO data is (indices, values, size[, is_coalesced]), the compressed layouts'
// (compressed indices, plain indices, values, size). The parts are ordinary tensors.
Value* rebuild_sparse(const Value& args, const GlobalCall& ctx, std::string_view fn) {
  const Value& layout_value = arg(args, 0, ctx, fn);
  std::optional<TensorLayout> layout;
  if (layout_value.kind == ValueKind::kGlobal) layout = layout_from_torch_name(layout_value.text);
  if (!layout || *layout == TensorLayout::kStrided) {
    ctx.fail(std::string(fn) + ": layout is '" + layout_value.text + "', expected a sparse layout (torch.sparse_coo, ...)");
  }
  const Value& data = arg(args, 1, ctx, fn);
  if (data.kind != ValueKind::kTuple) ctx.fail(std::string(fn) + ": data is a " + to_string(data.kind) + ", expected a tuple");
  const bool coo = *layout == TensorLayout::kSparseCoo;
  const std::size_t tensors = coo ? 2 : 3;
  if (data.items.size() < tensors + 1 || data.items.size() > tensors + (coo ? 2 : 1)) {
    ctx.fail(std::string(fn) + ": " + std::string(layout_name(*layout)) + " data has " + std::to_string(data.items.size()) +
             " items, expected " + (coo ? "(indices, values, size[, is_coalesced])" : "(compressed indices, plain indices, values, size)"));
  }
  Value* t = ctx.arena.make(ValueKind::kTensor);
  t->tensor.layout = *layout;
  for (std::size_t i = 0; i < tensors; ++i) {
    const Value& part = *data.items[i];
    if (part.kind != ValueKind::kTensor) {
      ctx.fail(std::string(fn) + ": item " + std::to_string(i) + " of the data is a " + to_string(part.kind) + ", expected a tensor");
    }
    t->tensor.parts.push_back(part.tensor);
  }
  t->tensor.dtype = t->tensor.parts.back().dtype;
  t->tensor.sizes = int_tuple(*data.items[tensors], ctx, "sparse size");
  if (coo && data.items.size() == 4 && data.items[3]->kind == ValueKind::kBool) t->tensor.coalesced = data.items[3]->boolean;
  return t;
}

// _rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad): a tensor of the meta
// device, which has a dtype and a shape and never any data.
Value* rebuild_meta(const Value& args, const GlobalCall& ctx, std::string_view fn) {
  const Value& dtype = arg(args, 0, ctx, fn);
  if (dtype.kind != ValueKind::kDType) ctx.fail(std::string(fn) + ": first argument is a " + to_string(dtype.kind) + ", expected a torch dtype");
  Value* t = ctx.arena.make(ValueKind::kTensor);
  t->tensor.meta = true;
  t->tensor.dtype = *dtype_from_torch_name(dtype.text);
  t->tensor.sizes = int_tuple(arg(args, 1, ctx, fn), ctx, "size");
  t->tensor.strides = int_tuple(arg(args, 2, ctx, fn), ctx, "stride");
  if (t->tensor.sizes.size() != t->tensor.strides.size()) {
    ctx.fail(std::string(fn) + ": size has " + std::to_string(t->tensor.sizes.size()) + " dimensions but stride has " +
             std::to_string(t->tensor.strides.size()));
  }
  t->tensor.requires_grad = args.items.size() > 3 && args.items[3]->kind == ValueKind::kBool && args.items[3]->boolean;
  return t;
}

bool is_tensor_rebuild(std::string_view name) {
  return starts_with(name, "torch._utils._rebuild_") && classify_global(name) == GlobalTrust::kKnown;
}

// _rebuild_from_type_v2(func, type, args, state): a tensor subclass, or a torch.Tensor with
// Python attributes. `func(*args)` is one of the rebuilds above; the class is recorded by
// name, never instantiated (an unknown class is a finding of its own, as for any global),
// and `state` is kept as data.
Value* rebuild_from_type_v2(const Value& args, const GlobalCall& ctx, std::string_view fn) {
  const Value& func = arg(args, 0, ctx, fn);
  // Any other function is not called: the call stays an inert object, and an unknown
  // function is a finding of its own (os.system here is what a hostile file would try).
  if (func.kind != ValueKind::kGlobal || !is_tensor_rebuild(func.text)) return nullptr;
  const Value& type = arg(args, 1, ctx, fn);
  if (type.kind != ValueKind::kGlobal) ctx.fail(std::string(fn) + ": class is a " + to_string(type.kind) + ", expected a class");
  const Value& inner = arg(args, 2, ctx, fn);
  if (inner.kind != ValueKind::kTuple) ctx.fail(std::string(fn) + ": arguments are a " + to_string(inner.kind) + ", expected a tuple");
  Value* t = call_known_global(func.text, inner, ctx);
  if (!t || t->kind != ValueKind::kTensor) ctx.fail(std::string(fn) + ": " + func.text + " did not rebuild a tensor");
  if (type.text == "torch.nn.parameter.Parameter") {
    t->tensor.is_parameter = true;
  } else if (type.text != "torch.Tensor") {
    t->tensor.python_class = type.text;
  }
  const Value& state = arg(args, 3, ctx, fn);
  if (state.kind != ValueKind::kNone) t->state = &state;
  return t;
}

// numpy type strings as numpy pickles them ("f8", "i4", "b1", "u1", "c16") -> numpy name.
std::string numpy_dtype_name(std::string_view code) {
  if (code.size() < 2) return code == "?" ? "bool" : "";
  const char kind = code[0];
  const std::string bytes(code.substr(1));
  if (kind == 'f' && (bytes == "2" || bytes == "4" || bytes == "8")) return "float" + std::to_string(std::stoi(bytes) * 8);
  if (kind == 'i' && (bytes == "1" || bytes == "2" || bytes == "4" || bytes == "8")) return "int" + std::to_string(std::stoi(bytes) * 8);
  if (kind == 'u' && (bytes == "1" || bytes == "2" || bytes == "4" || bytes == "8")) return "uint" + std::to_string(std::stoi(bytes) * 8);
  if (kind == 'b' && bytes == "1") return "bool";
  if (kind == 'c' && (bytes == "8" || bytes == "16")) return "complex" + std::to_string(std::stoi(bytes) * 8);
  return "";
}

std::size_t numpy_itemsize(const std::string& name) {
  if (name == "bool") return 1;
  std::size_t bits = 0;
  for (char c : name) {
    if (c >= '0' && c <= '9') bits = bits * 10 + static_cast<std::size_t>(c - '0');
  }
  return bits / 8;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float value;
  if (exp == 0) {
    value = std::ldexp(static_cast<float>(mant), -24);
  } else if (exp == 31) {
    value = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    value = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  }
  return sign ? -value : value;
}

// Bytes of a numpy scalar in native (little-endian) order.
std::string ordered_bytes(const std::string& raw, bool big_endian) {
  return big_endian ? std::string(raw.rbegin(), raw.rend()) : raw;
}

Value* numpy_scalar(const Value& args, const GlobalCall& ctx) {
  const Value& dtype = arg(args, 0, ctx, "numpy scalar");
  const Value& data = arg(args, 1, ctx, "numpy scalar");
  if (dtype.kind != ValueKind::kObject || dtype.text != "numpy.dtype" || dtype.note.empty()) return nullptr;
  if (data.kind != ValueKind::kBytes) return nullptr;  // object scalars: kept inert
  const std::string& name = dtype.note;
  if (data.text.size() != numpy_itemsize(name)) {
    ctx.fail("numpy scalar of type " + name + " has " + std::to_string(data.text.size()) + " bytes, expected " +
             std::to_string(numpy_itemsize(name)));
  }
  const std::string raw = ordered_bytes(data.text, dtype.boolean);
  Value* out = nullptr;
  if (name == "bool") {
    out = ctx.arena.make(ValueKind::kBool);
    out->boolean = raw[0] != 0;
  } else if (name[0] == 'f') {
    out = ctx.arena.make(ValueKind::kFloat);
    if (raw.size() == 2) {
      std::uint16_t h;
      std::memcpy(&h, raw.data(), 2);
      out->real = half_to_float(h);
    } else if (raw.size() == 4) {
      float f;
      std::memcpy(&f, raw.data(), 4);
      out->real = f;
    } else {
      std::memcpy(&out->real, raw.data(), 8);
    }
  } else if (name[0] == 'i' || name[0] == 'u') {
    out = ctx.arena.make(ValueKind::kInt);
    std::uint64_t bits = 0;
    std::memcpy(&bits, raw.data(), raw.size());
    if (name[0] == 'i' && raw.size() < 8 && (bits >> (raw.size() * 8 - 1)) & 1) bits |= ~std::uint64_t{0} << (raw.size() * 8);
    if (name == "uint64" && bits > static_cast<std::uint64_t>(INT64_MAX)) {
      out->big_integer = true;
      out->text = std::to_string(bits);
    } else {
      out->integer = static_cast<std::int64_t>(bits);
    }
  } else {
    return nullptr;  // complex scalars: kept inert
  }
  out->note = "numpy." + name;
  return out;
}

Value* codecs_encode(const Value& args, const GlobalCall& ctx) {
  const Value& text = arg(args, 0, ctx, "_codecs.encode");
  if (text.kind != ValueKind::kStr) ctx.fail("_codecs.encode: expected a string to encode");
  std::string encoding = args.items.size() > 1 && args.items[1]->kind == ValueKind::kStr ? args.items[1]->text : "utf-8";
  Value* out = ctx.arena.make(ValueKind::kBytes);
  if (encoding == "latin1" || encoding == "latin-1" || encoding == "iso-8859-1") {
    if (!utf8_to_latin1(text.text, out->text)) ctx.fail("_codecs.encode: text has characters outside latin-1");
  } else if (encoding == "utf-8" || encoding == "utf8") {
    out->text = text.text;
  } else {
    ctx.fail("_codecs.encode: unsupported encoding '" + encoding + "'");
  }
  return out;
}

Value* ordered_dict(const Value& args, const GlobalCall& ctx) {
  Value* d = ctx.arena.make(ValueKind::kDict);
  d->ordered = true;
  if (!args.items.empty()) {
    const Value& pairs = *args.items[0];
    if (pairs.kind != ValueKind::kList && pairs.kind != ValueKind::kTuple) ctx.fail("OrderedDict: expected a list of pairs");
    for (const Value* pair : pairs.items) {
      if ((pair->kind != ValueKind::kTuple && pair->kind != ValueKind::kList) || pair->items.size() != 2) {
        ctx.fail("OrderedDict: expected (key, value) pairs");
      }
      d->entries.push_back({pair->items[0], pair->items[1]});
    }
  }
  return d;
}
}  // namespace

void GlobalCall::fail(const std::string& what) const {
  error(error_context, what);
  std::abort();  // unreachable: `error` throws
}

GlobalTrust classify_global(std::string_view name) {
  for (auto known : kKnownGlobals) {
    if (name == known) return GlobalTrust::kKnown;
  }
  if (is_torch_storage_class(name) || is_torch_dtype(name)) return GlobalTrust::kKnown;
  if (starts_with(name, "__torch__.")) return GlobalTrust::kTorchScript;
  for (auto dcp : kDcpMetadataClasses) {
    if (name == dcp) return GlobalTrust::kDcpMetadata;
  }
  return GlobalTrust::kUnknown;
}

bool is_dangerous_global(std::string_view name) {
  for (auto prefix : kDangerousPrefixes) {
    if (starts_with(name, prefix)) return true;
  }
  if (starts_with(name, "builtins.") || starts_with(name, "__builtin__.")) {
    std::string_view fn = after_last_dot(name);
    for (auto b : kDangerousBuiltins) {
      if (fn == b) return true;
    }
  }
  return false;
}

Value* known_global_value(std::string_view name, ValueArena& arena) {
  if (is_torch_dtype(name)) {
    Value* d = arena.make(ValueKind::kDType);
    d->text = std::string(dtype_name(*dtype_from_torch_name(name.substr(6))));
    return d;
  }
  return nullptr;
}

Value* call_known_global(std::string_view name, const Value& args, const GlobalCall& ctx) {
  if (name == "collections.OrderedDict") return ordered_dict(args, ctx);
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(args, ctx, after_last_dot(name));
  }
  if (name == "torch._utils._rebuild_tensor_v3") return rebuild_tensor_v3(args, ctx, after_last_dot(name));
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    return rebuild_parameter(args, ctx, after_last_dot(name));
  }
  if (name == "torch._utils._rebuild_qtensor") return rebuild_qtensor(args, ctx, after_last_dot(name));
  if (name == "torch._utils._rebuild_sparse_tensor" || name == "torch._utils._rebuild_sparse_csr_tensor") {
    return rebuild_sparse(args, ctx, after_last_dot(name));
  }
  if (name == "torch._utils._rebuild_meta_tensor_no_storage") return rebuild_meta(args, ctx, after_last_dot(name));
  if (name == "torch._tensor._rebuild_from_type_v2") return rebuild_from_type_v2(args, ctx, after_last_dot(name));
  if (name == "torch.serialization._get_layout") {  // _get_layout("torch.sparse_coo"): the layout global it names
    const Value& layout = arg(args, 0, ctx, "_get_layout");
    if (layout.kind != ValueKind::kStr || !layout_from_torch_name(layout.text)) {
      ctx.fail("_get_layout: expected the name of a torch layout, such as 'torch.sparse_coo'");
    }
    Value* g = ctx.arena.make(ValueKind::kGlobal);
    g->text = layout.text.rfind("torch.", 0) == 0 ? layout.text : "torch." + layout.text;
    return g;
  }
  if (name == "torch.Size") {
    const Value& dims = arg(args, 0, ctx, "torch.Size");
    Value* t = ctx.arena.make(ValueKind::kTuple);
    int_tuple(dims, ctx, "torch.Size");
    t->items = dims.items;
    t->note = "torch.Size";
    return t;
  }
  if (name == "torch.device") {
    const Value& type = arg(args, 0, ctx, "torch.device");
    if (type.kind != ValueKind::kStr) ctx.fail("torch.device: expected a device string");
    Value* d = ctx.arena.make(ValueKind::kDevice);
    d->text = type.text;
    if (args.items.size() > 1 && args.items[1]->kind == ValueKind::kInt) d->text += ":" + std::to_string(args.items[1]->integer);
    return d;
  }
  if (name == "builtins.set" || name == "builtins.frozenset") {
    Value* s = ctx.arena.make(ValueKind::kSet);
    if (!args.items.empty()) {
      const Value& items = *args.items[0];
      if (items.kind != ValueKind::kList && items.kind != ValueKind::kTuple && items.kind != ValueKind::kSet) ctx.fail("set: expected a list of items");
      s->items = items.items;
    }
    if (name == "builtins.frozenset") s->note = "frozenset";
    return s;
  }
  if (name == "builtins.bytearray") {
    if (args.items.empty()) return ctx.arena.make(ValueKind::kBytes);
    if (args.items[0]->kind == ValueKind::kBytes) {
      Value* b = ctx.arena.make(ValueKind::kBytes);
      b->text = args.items[0]->text;
      b->note = "bytearray";
      return b;
    }
    return codecs_encode(args, ctx);
  }
  if (name == "_codecs.encode") return codecs_encode(args, ctx);
  if (name == "numpy.core.multiarray.scalar" || name == "numpy._core.multiarray.scalar") return numpy_scalar(args, ctx);
  if (name == "numpy.dtype") {
    const Value& code = arg(args, 0, ctx, "numpy.dtype");
    Value* d = ctx.arena.make(ValueKind::kObject);
    d->text = "numpy.dtype";
    d->args = &args;
    if (code.kind == ValueKind::kStr) d->note = numpy_dtype_name(code.text);
    return d;
  }
  if (name == "numpy.core.multiarray._reconstruct" || name == "numpy._core.multiarray._reconstruct") {
    Value* a = ctx.arena.make(ValueKind::kObject);
    a->text = "numpy.ndarray";
    a->args = &args;
    return a;
  }
  if (name == "torch.jit._pickle.build_intlist" || name == "torch.jit._pickle.build_doublelist" ||
      name == "torch.jit._pickle.build_boollist" || name == "torch.jit._pickle.build_tensorlist" ||
      name == "torch.jit._pickle.restore_type_tag") {
    return const_cast<Value*>(&arg(args, 0, ctx, after_last_dot(name)));
  }
  return nullptr;
}

bool build_known_object(Value& target, const Value& state, const GlobalCall& ctx) {
  if (target.text == "numpy.dtype") {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags)
    if (state.kind == ValueKind::kTuple && state.items.size() >= 2 && state.items[1]->kind == ValueKind::kStr) {
      target.boolean = state.items[1]->text == ">";
      target.state = &state;
      return true;
    }
    return false;
  }
  if (target.text == "numpy.ndarray") {
    // (version, shape, dtype, is_fortran, raw bytes); object arrays carry a list instead of bytes.
    if (state.kind != ValueKind::kTuple || state.items.size() != 5) return false;
    const Value& dtype = *state.items[2];
    const Value& raw = *state.items[4];
    if (dtype.kind != ValueKind::kObject || dtype.text != "numpy.dtype" || dtype.note.empty() || raw.kind != ValueKind::kBytes) {
      return false;
    }
    std::vector<std::int64_t> shape = int_tuple(*state.items[1], ctx, "numpy array shape");
    std::uint64_t count = 1;
    for (auto d : shape) {
      if (d < 0 || __builtin_mul_overflow(count, static_cast<std::uint64_t>(d), &count)) ctx.fail("numpy array: invalid shape");
    }
    const std::size_t itemsize = numpy_itemsize(dtype.note);
    if (count > raw.text.size() || count * itemsize != raw.text.size()) {
      ctx.fail("numpy array of " + std::to_string(count) + " " + dtype.note + " elements carries " +
               std::to_string(raw.text.size()) + " bytes, expected " + std::to_string(count * itemsize));
    }
    target.kind = ValueKind::kNdarray;
    target.ndarray = std::make_unique<Ndarray>();
    target.ndarray->dtype = dtype.note;
    target.ndarray->shape = std::move(shape);
    target.ndarray->fortran_order = state.items[3]->kind == ValueKind::kBool && state.items[3]->boolean;
    target.ndarray->bytes = raw.text;
    if (dtype.boolean && itemsize > 1) {  // big-endian data: store native order
      for (std::size_t i = 0; i < target.ndarray->bytes.size(); i += itemsize) {
        std::reverse(target.ndarray->bytes.begin() + static_cast<std::ptrdiff_t>(i),
                     target.ndarray->bytes.begin() + static_cast<std::ptrdiff_t>(i + itemsize));
      }
    }
    target.note = "numpy.ndarray";
    return true;
  }
  return false;
}

}  // namespace ckpt
