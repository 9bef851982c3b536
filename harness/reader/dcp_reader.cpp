// torch.distributed.checkpoint directories (FileSystemWriter): `.metadata` is a pickle of
// torch.distributed.checkpoint.metadata.Metadata, read with its dataclasses allowed as data
// (known_globals.cpp) and nothing else; every key of the flattened state dict is a tensor in
// chunks or a pickled object, both torch.save records at a byte range of a `.distcp` file. The
// tree rebuilds the nesting the user saved from the planner's mapping, as DCP's own load
// does; tensors stay chunked references (chunked_tensor.hpp), pickled objects (an epoch, a
// hyper-parameter) are read at once, each record once. Everything `.metadata` says is checked
// against itself and the files' sizes (coverage, records inside and not sharing bytes); what
// does not hold is an integrity finding, and only the tensors and objects it names are lost.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "reader/checkpoint_builder.hpp"
#include "reader/chunked_tensor.hpp"
#include "reader/format_readers.hpp"
#include "reader/read_error.hpp"
#include "reader/zip_archive.hpp"

namespace ckpt {

namespace {
namespace fs = std::filesystem;

constexpr std::string_view kMetadataModules[] = {"torch.distributed.checkpoint.metadata.",
                                                 "torch.distributed._shard.checkpoint.metadata."};

class MetadataReader {
 public:
  explicit MetadataReader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw ReadError(ReadErrorKind::kPickle, file_, where, what);
  }

  // `value` as an instance of the DCP dataclass `name` ("TensorStorageMetadata"), in any
  // version's module; its fields are then read with field().
  bool is(const Value& value, std::string_view name) const {
    if (value.kind != ValueKind::kObject) return false;
    for (auto module : kMetadataModules) {
      if (value.text.size() == module.size() + name.size() && value.text.compare(0, module.size(), module) == 0 &&
          value.text.compare(module.size(), name.size(), name) == 0) {
        return true;
      }
    }
    return value.text == "torch.distributed.checkpoint.filesystem." + std::string(name) ||
           value.text == "torch.distributed._shard.checkpoint.filesystem." + std::string(name);
  }
  void expect(const Value& value, std::string_view name, const std::string& where) const {
    if (!is(value, name)) {
      fail(where, "expected a " + std::string(name) + ", found " +
                      (value.kind == ValueKind::kObject ? "a " + value.text : std::string("a ") + to_string(value.kind)));
    }
  }

  // A dataclass field, from the BUILD state (a dict, or (dict, slots) for slotted classes);
  // nullptr when absent (fields newer versions added have defaults).
  const Value* field(const Value& object, std::string_view name) const {
    const Value* state = object.state;
    if (state && state->kind == ValueKind::kTuple && state->items.size() == 2) {
      for (const Value* part : state->items) {
        if (const Value* v = part->kind == ValueKind::kDict ? part->find(name) : nullptr) return v;
      }
      return nullptr;
    }
    return state && state->kind == ValueKind::kDict ? state->find(name) : nullptr;
  }
  const Value& required(const Value& object, std::string_view name, const std::string& where) const {
    const Value* v = field(object, name);
    if (!v) fail(where, "has no '" + std::string(name) + "'");
    return *v;
  }

  std::vector<std::int64_t> ints(const Value& v, const std::string& where) const {
    if (v.kind != ValueKind::kTuple && v.kind != ValueKind::kList) {
      fail(where, std::string("expected a torch.Size, found a ") + to_string(v.kind));
    }
    if (v.items.size() > 64) fail(where, std::to_string(v.items.size()) + " dimensions, more than 64");
    std::vector<std::int64_t> out;
    for (const Value* item : v.items) {
      if (item->kind != ValueKind::kInt || item->big_integer || item->integer < 0) {
        fail(where, "expected a torch.Size of non-negative integers");
      }
      out.push_back(item->integer);
    }
    return out;
  }
  std::uint64_t count(const Value& v, const std::string& where) const {
    if (v.kind != ValueKind::kInt || v.big_integer || v.integer < 0) fail(where, "expected a non-negative integer");
    return static_cast<std::uint64_t>(v.integer);
  }
  const std::string& text(const Value& v, const std::string& where) const {
    if (v.kind != ValueKind::kStr) fail(where, std::string("expected a string, found a ") + to_string(v.kind));
    return v.text;
  }

  // TensorProperties' dtype: its state is the tuple (dtype, layout, requires_grad,
  // memory format, pin_memory) its __getstate__ gives, or a dict in writers without one.
  DType dtype(const Value& properties, const std::string& where) const {
    expect(properties, "TensorProperties", where);
    const Value* dtype = nullptr;
    if (properties.state && properties.state->kind == ValueKind::kTuple && !properties.state->items.empty()) {
      dtype = properties.state->items[0];
    } else {
      dtype = field(properties, "dtype");
    }
    if (!dtype || dtype->kind != ValueKind::kDType) fail(where + ".dtype", "expected a torch dtype");
    const auto parsed = dtype_from_torch_name(dtype->text);
    if (!parsed) fail(where + ".dtype", "unknown dtype " + dtype->text);
    return *parsed;
  }

 private:
  std::string file_;
};

// Where a record lies: _StorageInfo(relative_path, offset, length).
struct RecordPlace {
  std::string file;
  std::uint64_t offset = 0, length = 0;
  std::string transforms;  // PyTorch >= 2.7's transform descriptors ("stream.zstd/1"), joined
};

// The record of each (key, chunk offsets) from storage_data, keyed "key" for objects.
using RecordIndex = std::map<std::pair<std::string, std::vector<std::int64_t>>, RecordPlace>;

RecordIndex index_records(const MetadataReader& m, const Value& storage_data) {
  RecordIndex out;
  if (storage_data.kind != ValueKind::kDict) m.fail("storage_data", std::string("expected a dict, found a ") + to_string(storage_data.kind));
  for (const auto& e : storage_data.entries) {
    const std::string where = "storage_data";
    m.expect(*e.key, "MetadataIndex", where);
    const std::string fqn = m.text(m.required(*e.key, "fqn", where), where + " key");
    const Value* offset = m.field(*e.key, "offset");
    std::vector<std::int64_t> offsets;
    const bool tensor = offset && offset->kind != ValueKind::kNone;
    if (tensor) offsets = m.ints(*offset, where + "['" + fqn + "'].offset");
    const std::string at = where + "['" + fqn + "']";
    m.expect(*e.value, "_StorageInfo", at);
    RecordPlace place;
    place.file = m.text(m.required(*e.value, "relative_path", at), at + ".relative_path");
    place.offset = m.count(m.required(*e.value, "offset", at), at + ".offset");
    place.length = m.count(m.required(*e.value, "length", at), at + ".length");
    if (const Value* transforms = m.field(*e.value, "transform_descriptors"); transforms && transforms->kind != ValueKind::kNone) {
      for (const Value* t : transforms->items) place.transforms += (place.transforms.empty() ? "" : ", ") + m.text(*t, at);
    }
    out[{fqn, tensor ? offsets : std::vector<std::int64_t>{-1}}] = place;
  }
  return out;
}

// A file name beside `.metadata`: DCP writes "__<rank>_<n>.distcp"; a path that leaves the
// directory is refused.
bool plain_name(const std::string& file) {
  return !file.empty() && file != "." && file != ".." && file.find('/') == std::string::npos &&
         file.find('\\') == std::string::npos && file.find('\0') == std::string::npos;
}

// What is wrong with the chunks of a tensor of `shape`, or "": each inside the shape, no two
// overlapping, together covering every element.
std::string coverage_problem(const std::vector<std::int64_t>& shape, const std::vector<TensorChunk>& chunks,
                             std::string& chunk_text, std::uint64_t& pair_budget) {
  auto volume = [](const std::vector<std::int64_t>& sizes) {
    unsigned __int128 v = 1;
    for (auto s : sizes) v *= static_cast<std::uint64_t>(s);
    return v;
  };
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const TensorChunk& c = chunks[i];
    if (c.offsets.size() != shape.size() || c.sizes.size() != shape.size()) {
      chunk_text = "chunk " + std::to_string(i) + " (" + c.text() + ")";
      return "has " + std::to_string(c.sizes.size()) + " dimensions, the tensor " + std::to_string(shape.size());
    }
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (c.offsets[d] > shape[d] || c.sizes[d] > shape[d] - c.offsets[d]) {
        chunk_text = "chunk " + std::to_string(i) + " (" + c.text() + ")";
        return "lies outside the tensor's shape " + format_shape(shape) + " in dimension " + std::to_string(d);
      }
    }
  }
  // Pairs of chunks that hold elements; a tensor of more chunks than the budget allows pairs
  // is not checked for overlaps (a finding says so) rather than taking quadratic time.
  std::vector<std::size_t> holding;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (volume(chunks[i].sizes) > 0) holding.push_back(i);
  }
  const std::uint64_t pairs = static_cast<std::uint64_t>(holding.size()) * (holding.size() ? holding.size() - 1 : 0) / 2;
  if (pairs > pair_budget) {
    chunk_text = "";
    return "has " + std::to_string(holding.size()) + " chunks, more than the reader checks for overlaps";
  }
  pair_budget -= pairs;
  for (std::size_t a = 0; a < holding.size(); ++a) {
    for (std::size_t b = a + 1; b < holding.size(); ++b) {
      const std::size_t i = holding[a], j = holding[b];
      bool meet = true;
      for (std::size_t d = 0; meet && d < shape.size(); ++d) {
        meet = chunks[i].offsets[d] < chunks[j].offsets[d] + chunks[j].sizes[d] &&
               chunks[j].offsets[d] < chunks[i].offsets[d] + chunks[i].sizes[d];
      }
      if (meet) {
        chunk_text = "chunks " + std::to_string(i) + " (" + chunks[i].text() + ") and " + std::to_string(j) + " (" +
                     chunks[j].text() + ")";
        return "overlap: an element would be read twice";
      }
    }
  }
  unsigned __int128 covered = 0;
  for (const auto& c : chunks) covered += volume(c.sizes);
  if (covered != volume(shape)) {
    chunk_text = "";
    return "its " + std::to_string(chunks.size()) + " chunk(s) cover " + std::to_string(static_cast<std::uint64_t>(covered)) +
           " of its " + std::to_string(static_cast<std::uint64_t>(volume(shape))) +
           " elements: a hole (a rank's shard was not saved?)";
  }
  return "";
}

// The nested containers DCP's load rebuilds from the planner's mapping (set_element in
// torch/distributed/checkpoint/_traverse.py): dicts for string keys, lists for indices.
struct Node {
  enum class Kind { kUnset, kDict, kList, kLeaf } kind = Kind::kUnset;
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> keys;  // insertion order
  std::unordered_map<std::string, std::size_t> key_index;           // key -> its place in `keys`
  std::vector<std::unique_ptr<Node>> items;
  const Value* leaf = nullptr;
};

struct PathPart {
  bool index = false;
  std::string key;
  std::uint64_t position = 0;
};

class NestingBuilder {
 public:
  // `keys`: the checkpoint's flattened keys. Every position of a list holds a key of its own
  // or a gap DCP fills with None, so the nodes of the whole tree are bounded by a multiple
  // of them: a mapping that asks for more is no state dict's.
  explicit NestingBuilder(std::size_t keys) : budget_(4 * keys + 16) { root_.kind = Node::Kind::kDict; }

  // Puts `value` where `path` says; "" when it could, else why not (nothing is changed then).
  std::string place(const std::vector<PathPart>& path, const Value* value) {
    if (std::string problem = conflict(path); !problem.empty()) return problem;
    Node* at = &root_;
    for (std::size_t i = 0; i < path.size(); ++i) {
      Node* child = child_of(*at, path[i]);
      if (i + 1 == path.size()) {
        child->kind = Node::Kind::kLeaf;
        child->leaf = value;
      } else {
        if (child->kind == Node::Kind::kUnset) child->kind = path[i + 1].index ? Node::Kind::kList : Node::Kind::kDict;
        at = child;
      }
    }
    return "";
  }

  const Value* build(ValueArena& arena) const { return to_value(root_, arena); }

 private:
  // Why `path` cannot be placed in the tree as it is, or "": checked before anything is made.
  std::string conflict(const std::vector<PathPart>& path) const {
    const Node* at = &root_;
    std::uint64_t new_nodes = 0;
    for (std::size_t i = 0; i < path.size(); ++i) {
      const PathPart& part = path[i];
      const Node* child = nullptr;
      if (at->kind == Node::Kind::kDict) {
        if (part.index) return "indexes a dict by the number " + std::to_string(part.position);
        auto found = at->key_index.find(part.key);
        if (found != at->key_index.end()) child = at->keys[found->second].second.get();
        else ++new_nodes;
      } else {
        if (!part.index) return "keys a list by the string '" + part.key + "'";
        if (part.position < at->items.size()) {
          child = at->items[part.position].get();
        } else {
          new_nodes += part.position + 1 - at->items.size();
          if (new_nodes > budget_) return "list position " + std::to_string(part.position) + " leaves more gaps than the checkpoint has keys";
        }
      }
      if (new_nodes > budget_) return "nests more containers than the checkpoint has keys";
      const bool last = i + 1 == path.size();
      if (!child) {  // all below is new: a list gains every position up to the one asked for
        for (std::size_t j = i + 1; j < path.size() && new_nodes <= budget_; ++j) {
          new_nodes += path[j].index ? std::min<std::uint64_t>(path[j].position, budget_) + 1 : 1;
        }
        if (new_nodes <= budget_) return "";
        for (std::size_t j = i + 1; j < path.size(); ++j) {
          if (path[j].index) return "list position " + std::to_string(path[j].position) + " leaves more gaps than the checkpoint has keys";
        }
        return "nests more containers than the checkpoint has keys";
      }
      if (last) return child->kind == Node::Kind::kUnset ? "" : "puts a value where another already is";
      const Node::Kind want = path[i + 1].index ? Node::Kind::kList : Node::Kind::kDict;
      if (child->kind != Node::Kind::kUnset && child->kind != want) return "nests a key where a value or another container already is";
      at = child;
    }
    return "";
  }

  Node* child_of(Node& parent, const PathPart& part) {
    if (parent.kind == Node::Kind::kDict) {
      auto [found, added] = parent.key_index.emplace(part.key, parent.keys.size());
      if (added) {
        parent.keys.emplace_back(part.key, std::make_unique<Node>());
        --budget_;
      }
      return parent.keys[found->second].second.get();
    }
    while (parent.items.size() <= part.position) {
      parent.items.push_back(std::make_unique<Node>());
      --budget_;
    }
    return parent.items[part.position].get();
  }

  static const Value* to_value(const Node& node, ValueArena& arena) {
    switch (node.kind) {
      case Node::Kind::kLeaf: return node.leaf;
      case Node::Kind::kUnset: return arena.make(ValueKind::kNone);  // a list gap: DCP's None
      case Node::Kind::kDict: {
        Value* dict = arena.make(ValueKind::kDict);
        for (const auto& [key, child] : node.keys) {
          Value* k = arena.make(ValueKind::kStr);
          k->text = key;
          dict->entries.push_back({k, to_value(*child, arena)});
        }
        return dict;
      }
      case Node::Kind::kList: {
        Value* list = arena.make(ValueKind::kList);
        for (const auto& child : node.items) list->items.push_back(to_value(*child, arena));
        return list;
      }
    }
    return nullptr;
  }

  std::uint64_t budget_;  // nodes the tree may still gain
  Node root_;
};

// Where the planner's mapping puts `fqn` in the nesting the user saved. A mapping that is not
// a path (a foreign object in planner_data) leaves the key where it is, flat, and says why in
// `problem`.
std::vector<PathPart> path_of(const std::string& fqn, const Value* planner_data, std::string& problem) {
  const Value* mapped = planner_data && planner_data->kind == ValueKind::kDict ? planner_data->find(fqn) : nullptr;
  const std::vector<PathPart> flat{{false, fqn, 0}};
  if (!mapped) return flat;  // saved without flattening, or not a nested key
  const std::string found = mapped->kind == ValueKind::kObject || mapped->kind == ValueKind::kGlobal
                                ? "a " + mapped->text
                                : std::string("a ") + to_string(mapped->kind);
  if ((mapped->kind != ValueKind::kTuple && mapped->kind != ValueKind::kList) || mapped->items.empty() ||
      mapped->items.size() > 1000) {
    problem = "planner_data holds " + found + " where a tuple of keys and indices was expected; the key stays flat";
    return flat;
  }
  std::vector<PathPart> out;
  for (const Value* part : mapped->items) {
    if (part->kind == ValueKind::kStr) {
      out.push_back({false, part->text, 0});
    } else if (part->kind == ValueKind::kInt && !part->big_integer && part->integer >= 0) {
      out.push_back({true, "", static_cast<std::uint64_t>(part->integer)});
    } else {
      problem = std::string("planner_data's path holds a ") + to_string(part->kind) +
                " where keys (strings) and indices were expected; the key stays flat";
      return flat;
    }
  }
  return out;
}

std::string path_text(const std::vector<PathPart>& path) {
  std::string out;
  for (const auto& p : path) out += p.index ? "[" + std::to_string(p.position) + "]" : "['" + p.key + "']";
  return out;
}
}  // namespace

Checkpoint read_dcp(const std::string& directory, const ReadOptions& options) {
  const std::string metadata_file = (fs::path(directory) / ".metadata").string();
  return read_dcp_metadata(ByteSource::map_file(metadata_file, options.max_file_bytes, options.confine_to), directory,
                           options);
}

Checkpoint read_dcp_metadata(std::shared_ptr<const ByteSource> source, const std::string& directory,
                             const ReadOptions& options) {
  const std::string& metadata_file = source->name();
  CheckpointBuilder builder(directory, CheckpointFormat::kDcp, source->size());
  ByteCursor cursor(source->view(0, source->size()), metadata_file);
  ValueArena& arena = builder.arena();
  Unpickler unpickler(cursor, arena, nullptr);  // `.metadata` holds no persistent ids
  unpickler.trust_dcp_metadata_classes();
  const Value* metadata = unpickler.load();
  builder.add_unknown_globals(unpickler.unknown_globals(), "`.metadata`");

  const MetadataReader m(metadata_file);
  m.expect(*metadata, "Metadata", "the pickle");
  const Value& entries = m.required(*metadata, "state_dict_metadata", "Metadata");
  if (entries.kind != ValueKind::kDict) m.fail("state_dict_metadata", "expected a dict");
  const Value* planner_data = m.field(*metadata, "planner_data");
  const Value* storage_data = m.field(*metadata, "storage_data");
  if (!storage_data || storage_data->kind == ValueKind::kNone) {
    m.fail("storage_data", "is empty: a checkpoint of FileSystemWriter says where every record lies");
  }
  const RecordIndex records = index_records(m, *storage_data);
  const auto files = std::make_shared<DcpFiles>(directory, options.max_file_bytes, options.confine_to);

  // Records that share bytes with another record of their file: DCP never writes them, and
  // one record named by many keys would be read, and held, many times over.
  std::set<std::pair<std::string, std::uint64_t>> overlapping;
  {
    std::vector<const RecordPlace*> places;
    for (const auto& [key, place] : records) places.push_back(&place);
    std::sort(places.begin(), places.end(), [](const RecordPlace* a, const RecordPlace* b) {
      return std::tie(a->file, a->offset, a->length) < std::tie(b->file, b->offset, b->length);
    });
    const RecordPlace* reach = nullptr;  // of the records so far in this file, the one ending last
    for (const RecordPlace* p : places) {
      if (reach && reach->file == p->file && p->length > 0 && p->offset < reach->offset + reach->length) {
        overlapping.insert({p->file, p->offset});
        overlapping.insert({reach->file, reach->offset});
      }
      if (!reach || reach->file != p->file || p->offset + p->length > reach->offset + reach->length) reach = p;
    }
  }
  // Each file's size, by stat: a record is checked to lie inside its file without reading it.
  std::map<std::string, std::optional<std::uint64_t>> file_sizes;
  auto size_of = [&](const std::string& file) -> std::optional<std::uint64_t> {
    auto found = file_sizes.find(file);
    if (found != file_sizes.end()) return found->second;
    struct stat st {};
    std::optional<std::uint64_t> size;
    if (plain_name(file) && ::stat((fs::path(directory) / file).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      size = static_cast<std::uint64_t>(st.st_size);
    }
    return file_sizes[file] = size;
  };
  // Why a record cannot be read where `.metadata` says, or "".
  auto record_problem = [&](const RecordPlace& place) -> std::string {
    if (!plain_name(place.file)) return "its file '" + place.file + "' is not a name beside `.metadata`";
    const auto size = size_of(place.file);
    if (!size) return "its file " + place.file + " is missing";
    if (place.offset > *size || place.length > *size - place.offset) {
      return "its record (" + std::to_string(place.length) + " bytes at byte " + std::to_string(place.offset) +
             ") runs past the end of " + place.file + " (" + std::to_string(*size) + " bytes)";
    }
    if (overlapping.count({place.file, place.offset})) {
      return "its record (" + std::to_string(place.length) + " bytes at byte " + std::to_string(place.offset) + ") overlaps another record of " +
             place.file + " (a writer never shares bytes between records)";
    }
    if (!place.transforms.empty()) return "its record is transformed (" + place.transforms + "), which this reader does not undo";
    return "";
  };

  NestingBuilder nesting(entries.entries.size());
  std::uint64_t pair_budget = std::uint64_t{1} << 27;  // chunk pairs compared for overlaps, in the whole checkpoint
  std::map<std::tuple<std::string, std::uint64_t, std::uint64_t>, const Value*> objects_read;  // a record named twice is read once
  for (const auto& e : entries.entries) {
    const std::string fqn = m.text(*e.key, "state_dict_metadata key");
    const std::string where = "state_dict_metadata['" + fqn + "']";
    std::string path_problem;
    const std::vector<PathPart> path = path_of(fqn, planner_data, path_problem);
    if (!path_problem.empty()) builder.add_integrity_finding({fqn, "", "", path_problem});
    const Value* value = nullptr;
    if (m.is(*e.value, "BytesStorageMetadata")) {
      // A pickled object (an epoch, a hyperparameter, a param group's names): read now.
      auto found = records.find({fqn, {-1}});
      if (found == records.end()) m.fail(where, "has no record in storage_data");
      const RecordPlace& place = found->second;
      const auto key = std::make_tuple(place.file, place.offset, place.length);
      if (std::string problem = record_problem(place); !problem.empty()) {
        builder.add_integrity_finding({fqn, "", place.file, problem});
        value = arena.make(ValueKind::kNone);
      } else if (auto read = objects_read.find(key); read != objects_read.end()) {
        value = read->second;
      } else {
        const std::string record = (fs::path(directory) / place.file).string() + " bytes " + std::to_string(place.offset) +
                                   "+" + std::to_string(place.length);
        try {
          auto bytes = ByteSource::slice(files->open(place.file), place.offset, place.length, record);
          if (!ZipArchive::looks_like_zip(*bytes)) {
            throw ReadError(ReadErrorKind::kUnsupported, record, "", "the record is not a torch.save archive");
          }
          Checkpoint part = read_torch_zip(std::move(bytes), options);
          value = &part.root();
          builder.adopt(std::move(part), path_text(path));
        } catch (const ReadError& error) {  // this object is lost, the rest reads
          builder.add_integrity_finding({fqn, "", place.file, error.what()});
          value = arena.make(ValueKind::kNone);
        }
        objects_read[key] = value;
      }
    } else {
      m.expect(*e.value, "TensorStorageMetadata", where);
      Value* tensor = arena.make(ValueKind::kTensor);
      TensorRef& t = tensor->tensor;
      t.dtype = m.dtype(m.required(*e.value, "properties", where), where + ".properties");
      t.sizes = m.ints(m.required(*e.value, "size", where), where + ".size");
      t.strides.assign(t.sizes.size(), 1);
      for (std::size_t d = t.sizes.size(); d-- > 1;) {
        if (__builtin_mul_overflow(t.strides[d], std::max<std::int64_t>(1, t.sizes[d]), &t.strides[d - 1]) ||
            t.strides[d - 1] > (std::int64_t{1} << 58)) {
          m.fail(where + ".size", "the global shape " + format_shape(t.sizes) + " has implausibly many elements");
        }
      }
      auto chunked = std::make_shared<ChunkedTensor>();
      chunked->key = fqn;
      chunked->files = files;
      const Value& chunks = m.required(*e.value, "chunks", where);
      if (chunks.kind != ValueKind::kList) m.fail(where + ".chunks", "expected a list");
      for (std::size_t i = 0; i < chunks.items.size(); ++i) {
        const std::string at = where + ".chunks[" + std::to_string(i) + "]";
        m.expect(*chunks.items[i], "ChunkStorageMetadata", at);
        TensorChunk c;
        c.offsets = m.ints(m.required(*chunks.items[i], "offsets", at), at + ".offsets");
        c.sizes = m.ints(m.required(*chunks.items[i], "sizes", at), at + ".sizes");
        auto found = records.find({fqn, c.offsets});
        if (found == records.end()) {
          builder.add_integrity_finding({fqn, "chunk " + std::to_string(i) + " (" + c.text() + ")", "",
                                         "storage_data says nowhere where its record lies"});
          if (chunked->damage.empty()) chunked->damage = "chunk " + std::to_string(i) + " has no record";
        } else {
          c.file = found->second.file;
          c.offset = found->second.offset;
          c.length = found->second.length;
          std::string problem = record_problem(found->second);
          // A record holds its tensor's bytes: one shorter than the chunk's elements is not it.
          unsigned __int128 data_bytes = dtype_itemsize(t.dtype);
          for (auto size : c.sizes) data_bytes *= static_cast<std::uint64_t>(size);
          if (problem.empty() && data_bytes > c.length) {
            problem = "its record (" + std::to_string(c.length) + " bytes) is shorter than the chunk's elements";
          }
          if (!problem.empty()) {
            builder.add_integrity_finding({fqn, "chunk " + std::to_string(i) + " (" + c.text() + ")", c.file, problem});
            if (chunked->damage.empty()) chunked->damage = "chunk " + std::to_string(i) + ": " + problem;
          }
        }
        chunked->chunks.push_back(std::move(c));
      }
      std::string chunk_text;
      if (std::string problem = coverage_problem(t.sizes, chunked->chunks, chunk_text, pair_budget); !problem.empty()) {
        builder.add_integrity_finding({fqn, chunk_text, "", problem});
        if (chunked->damage.empty()) chunked->damage = (chunk_text.empty() ? "" : chunk_text + ": ") + problem;
      }
      t.chunks = std::move(chunked);
      value = tensor;
    }
    if (std::string problem = nesting.place(path, value); !problem.empty()) {
      // As DCP's own load could not rebuild it either: kept under its flattened key if it can be.
      builder.add_integrity_finding({fqn, "", "", "planner_data's path " + path_text(path) + " " + problem});
      const bool already_flat = path.size() == 1 && !path[0].index && path[0].key == fqn;
      if (already_flat || !nesting.place({{false, fqn, 0}}, value).empty()) {
        builder.add_integrity_finding({fqn, "", "", "left out: its flattened key is taken too"});
      }
    }
  }
  std::set<std::string> data_files;
  for (const auto& [key, place] : records) data_files.insert(place.file);
  builder.set_property("files", std::to_string(data_files.size()));
  builder.set_root(nesting.build(arena));
  return builder.finish(options);
}

}  // namespace ckpt
