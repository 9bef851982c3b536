#pragma once
// The checkpoint tree: a neutral, read-only model of what a checkpoint holds. Values are
// owned by a ValueArena (so shared and even cyclic references from a pickle cannot leak or
// recurse on destruction); readers fill them, everyone else sees `const Value&`.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reader/tensor_ref.hpp"

namespace ckpt {

enum class ValueKind {
  kNone, kBool, kInt, kFloat, kStr, kBytes,
  kTuple, kList, kSet, kDict,
  kTensor,   // a lazy tensor reference
  kNdarray,  // a small numpy array, bytes kept in memory
  kDType,    // torch.float32 ...
  kDevice,   // torch.device('cuda:0')
  kGlobal,   // a class or function named by the pickle but not called
  kObject,   // an instance the pickle would build by calling a global: kept inert
  kStorage,  // a storage saved on its own (its TensorRef spans the whole storage)
};

const char* to_string(ValueKind kind);

class Value;

struct DictEntry {
  const Value* key;
  const Value* value;
};

struct Ndarray {
  std::string dtype;  // numpy name: "float32", "int64", ...
  std::vector<std::int64_t> shape;
  bool fortran_order = false;
  std::string bytes;
};

class Value {
 public:
  ValueKind kind = ValueKind::kNone;

  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0.0;
  // kStr (UTF-8), kBytes (raw), kDType/kDevice (name), kGlobal/kObject (module.qualname),
  // kInt beyond 64 bits (decimal digits, see `big_integer`).
  std::string text;
  bool big_integer = false;

  std::vector<const Value*> items;   // tuple, list, set; appended items of an object
  std::vector<DictEntry> entries;    // dict; set items of an object
  std::vector<DictEntry> attributes; // instance state set on a dict (PyTorch's `_metadata`)
  bool ordered = false;              // collections.OrderedDict

  TensorRef tensor;
  std::unique_ptr<Ndarray> ndarray;  // kNdarray only (rare: kept out of line)

  const Value* args = nullptr;   // kObject: arguments of the call
  const Value* state = nullptr;  // kObject: state given by BUILD

  // What Python type this was, when the kind alone does not say: "torch.Size",
  // "numpy.float64", "argparse.Namespace"'s base, ...
  std::string note;

  // Dict lookup by string key; nullptr when absent or not a dict.
  const Value* find(std::string_view key) const;
  const Value* metadata() const;  // the `_metadata` attribute of a state dict, or nullptr
  bool is_container() const;
};

class ValueArena {
 public:
  Value* make(ValueKind kind);
  std::size_t size() const { return size_; }

  // Memory the values take, approximately: each value, plus what readers charge for the
  // items, entries and text they give it. Readers compare it with a budget from the input size.
  void charge(std::uint64_t bytes) { charged_ += bytes; }
  std::uint64_t charged() const { return charged_; }

 private:
  static constexpr std::size_t kChunk = 256;
  std::vector<std::unique_ptr<Value[]>> chunks_;
  std::size_t size_ = 0;
  std::uint64_t charged_ = 0;
};

}  // namespace ckpt

#include "reader/path.hpp"

namespace ckpt {

struct ValueChild {
  PathComponent component;  // how the child is reached, for its Path
  const Value* value;
};

// A child as children_of lists it, with its path component not yet rendered (no key
// copied): walkers that keep a child list per level of a deep tree hold these.
struct ChildRef {
  enum class Via { kIndex, kKey, kKeyItself, kAttribute, kArgs, kState };
  Via via;
  std::int64_t index;  // kIndex
  const Value* key;    // kKey, kAttribute: the dict key
  const Value* value;
  PathComponent component() const;
};
std::vector<ChildRef> child_refs_of(const Value& value);

// The values a value refers to, in order: sequence items, dict values (and keys that are
// themselves containers), instance attributes (`._metadata`), an object's call arguments
// and state (`.lr` for a dict state). Every walker of the tree uses this one definition.
std::vector<ValueChild> children_of(const Value& value);

// The named members of a dict, or of a LibTorch archive object (its BUILD state dict);
// nullptr for anything else. member_of finds one by string key.
const std::vector<DictEntry>* members_of(const Value& value);
const Value* member_of(const Value& value, std::string_view key);

// A path component for a dict key: ['name'], [3], or a rendering for unusual keys.
PathComponent key_component(const Value& key);

Path child_path(const Path& parent, const PathComponent& component);

}  // namespace ckpt
