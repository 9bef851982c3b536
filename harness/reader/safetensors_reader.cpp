// safetensors: u64 little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the byte buffer. A sharded set is named by "*.safetensors.index.json".
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "reader/checkpoint_builder.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"

namespace ckpt {

namespace {
// Objects as std::map: ordered_json finds a key by a linear search at every insert, which
// made a header of n tensors cost n^2. The order of the entries that matter is kept aside.
using Json = nlohmann::json;
constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit
constexpr int kMaxJsonDepth = 64;  // headers and indexes nest 3 deep; dump() of deeper values recurses

struct ParsedJson {
  Json value;
  std::vector<std::string> order;  // names of the entries of interest, in file order
};

// nlohmann's DOM builder, watched: the nesting is bounded and the keys of interest are
// noted in file order. (Its callback parser would do both, but at the end of every object
// it searches the parent object for a discarded member: n^2 for a header of n tensors.)
class WatchedDomParser {
 public:
  WatchedDomParser(Json& result, ParsedJson& out, const std::string& file, std::uint64_t base, ReadErrorKind kind,
                   const std::string& ordered_member)
      : dom_(result, true), out_(out), file_(file), base_(base), kind_(kind), ordered_member_(ordered_member) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& text) { return dom_.number_float(v, text); }
  bool string(Json::string_t& v) { return dom_.string(v); }
  bool binary(Json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) { return enter() && dom_.start_object(n); }
  bool end_object() { --depth_; return dom_.end_object(); }
  bool start_array(std::size_t n) { return enter() && dom_.start_array(n); }
  bool end_array() { --depth_; return dom_.end_array(); }
  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& e) {
    return dom_.parse_error(position, token, e);  // throws it
  }
  bool key(Json::string_t& key) {
    if (depth_ == 1) {
      member_ = key;
      if (!ordered_member_.empty() && !top_level_.insert(key).second) twice(key);
    }
    if (ordered_member_.empty() ? depth_ == 1 : depth_ == 2 && member_ == ordered_member_) {
      if (!seen_.insert(key).second) twice(key);
      out_.order.push_back(key);
    }
    return dom_.key(key);
  }

 private:
  bool enter() {
    if (++depth_ > kMaxJsonDepth) {
      throw ReadError(ReadErrorKind::kLimit, file_, "byte " + std::to_string(base_),
                      "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    return true;
  }
  [[noreturn]] void twice(const std::string& key) {
    throw ReadError(kind_, file_, "byte " + std::to_string(base_), "the name '" + key + "' is given twice");
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  ParsedJson& out_;
  const std::string& file_;
  std::uint64_t base_;
  ReadErrorKind kind_;
  const std::string& ordered_member_;
  int depth_ = 0;
  std::string member_;  // the top-level key being read
  std::unordered_set<std::string> seen_, top_level_;
};

// Parses `text`; `order` gets the keys of the top-level object, or of its member
// `ordered_member` when given. A name given twice is refused: readers differ on which wins.
ParsedJson parse_json(std::string_view text, const std::string& file, std::uint64_t base, ReadErrorKind kind,
                      const std::string& ordered_member = "") {
  ParsedJson out;
  WatchedDomParser parser(out.value, out, file, base, kind, ordered_member);
  try {
    Json::sax_parse(text.begin(), text.end(), &parser);
  } catch (const Json::parse_error& e) {
    throw ReadError(kind, file, "byte " + std::to_string(base + (e.byte > 0 ? e.byte - 1 : 0)),
                    std::string("malformed JSON: ") + e.what());
  } catch (const Json::exception& e) {  // out_of_range.406: a number beyond double (1e400)
    throw ReadError(kind, file, "byte " + std::to_string(base), std::string("malformed JSON: ") + e.what());
  }
  return out;
}

struct Span {
  std::uint64_t begin, end;
  std::string name;
};
}  // namespace

bool looks_like_safetensors(const ByteSource& s) {
  if (s.size() < 10) return false;
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | s.data()[i];
  return n >= 2 && n <= s.size() - 8 && s.data()[8] == '{';
}

bool looks_like_safetensors_index(const ByteSource& s) {
  std::size_t i = 0;
  while (i < s.size() && std::isspace(s.data()[i])) ++i;
  if (i >= s.size() || s.data()[i] != '{') return false;
  std::string_view head(reinterpret_cast<const char*>(s.data()), std::min<std::size_t>(s.size(), 1u << 20));
  return head.find("\"weight_map\"") != std::string_view::npos;
}

Checkpoint read_safetensors(std::shared_ptr<const ByteSource> source, const ReadOptions& options) {
  const std::string& file = source->name();
  ByteCursor cursor(source->view(0, source->size()), file);
  const std::uint64_t header_len = cursor.u64("header length");
  if (header_len > kMaxHeaderBytes) {
    cursor.fail_at(0, ReadErrorKind::kLimit, "header of " + std::to_string(header_len) + " bytes, over the 100 MiB limit");
  }
  std::string_view header_text = cursor.take(header_len, "JSON header");
  const std::uint64_t buffer_start = 8 + header_len;
  const std::uint64_t buffer_size = source->size() - buffer_start;
  ParsedJson parsed = parse_json(header_text, file, 8, ReadErrorKind::kSafetensors);
  const Json& header = parsed.value;
  if (!header.is_object()) throw ReadError(ReadErrorKind::kSafetensors, file, "header", "expected a JSON object");

  CheckpointBuilder builder(file, CheckpointFormat::kSafetensors, source->size());
  Value* root = builder.arena().make(ValueKind::kDict);
  root->ordered = true;
  std::vector<Span> spans;
  for (const std::string& name : parsed.order) {
    const Json* it = &header.at(name);
    const std::string where = "header entry '" + name + "'";
    auto fail = [&](const std::string& what) { throw ReadError(ReadErrorKind::kSafetensors, file, where, what); };
    if (name == "__metadata__") {
      if (!it->is_object()) fail("expected an object of string values");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail("metadata value '" + m.key() + "' is not a string");
        builder.set_property("__metadata__." + m.key(), m->get<std::string>());
      }
      continue;
    }
    const Json& info = *it;
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets")) {
      fail("expected {\"dtype\", \"shape\", \"data_offsets\"}");
    }
    if (!info["dtype"].is_string()) fail("dtype is not a string");
    const std::string dtype_text = info["dtype"].get<std::string>();
    auto dtype = dtype_from_safetensors(dtype_text);
    if (!dtype) {
      throw ReadError(ReadErrorKind::kUnsupported, file, where, "dtype '" + dtype_text + "' is not supported");
    }
    if (!info["shape"].is_array() || info["shape"].size() > 64) fail("shape is not an array of at most 64 dimensions");
    TensorRef tensor;
    tensor.dtype = *dtype;
    std::uint64_t numel = 1;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned()) fail("shape holds a value that is not a non-negative integer");
      const auto dim = d.get<std::uint64_t>();
      if (dim > (std::uint64_t{1} << 62) || __builtin_mul_overflow(numel, dim, &numel)) fail("shape overflows");
      tensor.sizes.push_back(static_cast<std::int64_t>(dim));
    }
    const Json& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
      fail("data_offsets is not [begin, end]");
    }
    const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    if (begin > end || end > buffer_size) {
      fail("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] lie outside the " +
           std::to_string(buffer_size) + "-byte data buffer");
    }
    std::uint64_t expected;
    if (__builtin_mul_overflow(numel, dtype_itemsize(*dtype), &expected) || end - begin != expected) {
      fail("holds " + std::to_string(end - begin) + " bytes, but shape and dtype need " + std::to_string(numel) + " x " +
           std::to_string(dtype_itemsize(*dtype)) + " bytes");
    }
    std::int64_t stride = 1;
    tensor.strides.assign(tensor.sizes.size(), 0);
    for (std::size_t d = tensor.sizes.size(); d-- > 0;) {
      tensor.strides[d] = stride;
      // After a 0 dimension the element count no longer bounds the strides: check them.
      if (d > 0 && __builtin_mul_overflow(stride, std::max<std::int64_t>(tensor.sizes[d], 1), &stride)) {
        fail("shape overflows");
      }
    }
    auto storage = std::make_shared<StorageRef>();
    storage->key = name;
    storage->dtype = *dtype;
    storage->numel = numel;
    storage->location = "cpu";
    storage->set_data_offset(buffer_start + begin);
    storage->nbytes = expected;
    storage->source = source;
    tensor.storage = storage;
    spans.push_back({begin, end, name});

    Value* key = builder.arena().make(ValueKind::kStr);
    key->text = name;
    Value* value = builder.arena().make(ValueKind::kTensor);
    value->tensor = std::move(tensor);
    root->entries.push_back({key, value});
  }
  // As the reference implementation: tensors tile the buffer, no overlap, no hole.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::uint64_t covered = 0;
  for (const auto& s : spans) {
    if (s.begin != covered) {
      throw ReadError(ReadErrorKind::kSafetensors, file, "header entry '" + s.name + "'",
                      s.begin < covered ? "data overlaps the previous tensor's bytes"
                                        : "leaves a gap of " + std::to_string(s.begin - covered) + " bytes before it");
    }
    covered = s.end;
  }
  if (covered != buffer_size) {
    throw ReadError(ReadErrorKind::kSafetensors, file, "data buffer",
                    std::to_string(buffer_size - covered) + " bytes after the last tensor belong to no tensor");
  }
  builder.set_root(root);
  return builder.finish(options);
}

Checkpoint read_safetensors_index(std::shared_ptr<const ByteSource> source, const ReadOptions& options) {
  const std::string& file = source->name();
  ParsedJson parsed = parse_json(source->view(0, source->size()), file, 0, ReadErrorKind::kSafetensors, "weight_map");
  const Json& index = parsed.value;
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw ReadError(ReadErrorKind::kSafetensors, file, "", "expected an index with a \"weight_map\" object");
  }
  const std::filesystem::path dir = std::filesystem::path(file).parent_path();
  CheckpointBuilder builder(file, CheckpointFormat::kSafetensorsIndex, source->size());
  if (index.contains("metadata") && index["metadata"].is_object()) {
    for (auto m = index["metadata"].begin(); m != index["metadata"].end(); ++m) {
      builder.set_property("metadata." + m.key(), m->is_string() ? m->get<std::string>() : m->dump());
    }
  }
  std::map<std::string, Checkpoint> shards;
  Value* root = builder.arena().make(ValueKind::kDict);
  root->ordered = true;
  std::vector<std::shared_ptr<ValueArena>> keep_alive;
  const Json& map = index["weight_map"];
  for (const std::string& name : parsed.order) {
    const Json* it = &map.at(name);
    const std::string where = "weight_map['" + name + "']";
    if (!it->is_string()) throw ReadError(ReadErrorKind::kSafetensors, file, where, "expected a shard file name");
    const std::string shard = it->get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos || shard == "..") {
      throw ReadError(ReadErrorKind::kSafetensors, file, where,
                      "shard '" + shard + "' must be a file name beside the index, without directories");
    }
    auto found = shards.find(shard);
    if (found == shards.end()) {
      auto shard_source = ByteSource::map_file((dir / shard).string(), options.max_file_bytes, options.confine_to);
      // Sniffed first: an index naming an index (itself, say) must not recurse until the stack ends.
      if (looks_like_safetensors_index(*shard_source)) {
        throw ReadError(ReadErrorKind::kSafetensors, file, where, "shard '" + shard + "' is not a safetensors file");
      }
      Checkpoint part = read_checkpoint(std::move(shard_source), options);
      if (part.format() != CheckpointFormat::kSafetensors) {
        throw ReadError(ReadErrorKind::kSafetensors, file, where, "shard '" + shard + "' is not a safetensors file");
      }
      found = shards.emplace(shard, std::move(part)).first;
    }
    const Value* tensor = found->second.root().find(name);
    if (!tensor) {
      throw ReadError(ReadErrorKind::kSafetensors, file, where, "shard '" + shard + "' has no tensor named '" + name + "'");
    }
    Value* key = builder.arena().make(ValueKind::kStr);
    key->text = name;
    Value* value = builder.arena().make(ValueKind::kTensor);
    value->tensor = tensor->tensor;  // shares the shard's StorageRef and so its mapped file
    root->entries.push_back({key, value});
  }
  builder.set_property("shards", std::to_string(shards.size()));
  builder.set_root(root);
  return builder.finish(options);
}

}  // namespace ckpt
