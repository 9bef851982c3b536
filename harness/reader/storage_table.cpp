#include "reader/storage_table.hpp"

#include "reader/dtype.hpp"

namespace ckpt {

namespace {
std::string storage_class_of(const Value& type) {
  if (type.kind != ValueKind::kGlobal) return "";
  const std::string& name = type.text;
  for (std::string_view prefix : {"torch.storage.", "torch."}) {
    if (name.compare(0, prefix.size(), prefix) == 0) return name.substr(prefix.size());
  }
  return "";
}
}  // namespace

Value* StorageTable::resolve(const Value& pid, ByteCursor& at, ValueArena& arena) {
  const bool legacy = form_ == IdForm::kLegacy;
  const std::size_t arity = legacy ? 6 : 5;
  if (pid.kind != ValueKind::kTuple || pid.items.size() != arity || pid.items[0]->kind != ValueKind::kStr ||
      pid.items[0]->text != "storage") {
    const std::string form = legacy ? "('storage', type, key, location, numel, view_metadata)"
                                    : "('storage', type, key, location, numel)";
    const std::string found = pid.kind == ValueKind::kTuple ? "a tuple of " + std::to_string(pid.items.size()) + " item(s)"
                                                            : std::string("a ") + to_string(pid.kind);
    at.fail(ReadErrorKind::kPickle, "persistent id: expected " + form + " as torch.load unpacks it in this format, found " + found);
  }
  const Value& type = *pid.items[1];
  const Value& key = *pid.items[2];
  const Value& location = *pid.items[3];
  const Value& numel = *pid.items[4];
  const std::string cls = storage_class_of(type);
  auto dtype = dtype_from_storage_class(cls);
  if (!dtype) at.fail(ReadErrorKind::kPickle, "persistent id names '" + type.text + "', expected a torch storage type");
  if (key.kind != ValueKind::kStr) at.fail(ReadErrorKind::kPickle, "persistent id: storage key is not a string");
  if (location.kind != ValueKind::kStr) at.fail(ReadErrorKind::kPickle, "persistent id: location is not a string");
  if (numel.kind != ValueKind::kInt || numel.big_integer || numel.integer < 0) {
    at.fail(ReadErrorKind::kPickle, "persistent id: element count is not a non-negative integer");
  }
  if (legacy && pid.items[5]->kind != ValueKind::kNone) {
    at.fail(ReadErrorKind::kUnsupported, "storage views (pre-0.4 view metadata) are not supported");
  }

  std::shared_ptr<StorageRef>& slot = storages_[key.text];
  if (!slot) {
    slot = std::make_shared<StorageRef>();
    slot->key = key.text;
    slot->dtype = *dtype;
    slot->numel = static_cast<std::uint64_t>(numel.integer);
    slot->location = location.text;
    locate_(*slot, at);
  } else if (slot->dtype != *dtype || slot->numel != static_cast<std::uint64_t>(numel.integer)) {
    at.fail(ReadErrorKind::kTensor, "storage '" + key.text + "' is referenced with two different types or sizes");
  }
  Value* v = arena.make(ValueKind::kStorage);
  v->tensor.storage = slot;
  v->tensor.dtype = *dtype;
  v->tensor.sizes = {static_cast<std::int64_t>(slot->numel)};
  v->tensor.strides = {1};
  return v;
}

std::shared_ptr<StorageRef> StorageTable::find(const std::string& key) const {
  auto it = storages_.find(key);
  return it == storages_.end() ? nullptr : it->second;
}

}  // namespace ckpt
